//! One line a finding, as ruff and compilers print them: `path:line:col: severity[CODE] message`.

use super::{Report, View};
use crate::finding::Finding;

/// `path:line:col: severity[CODE] message`, without a line break; a finding about a live
/// environment (no file) starts with where it is instead.
pub fn line(f: &Finding, view: &View) -> String {
    let place = if f.loc.is_file() {
        format!("{}:{}:{}", view.path(&f.loc.path), f.loc.line, f.loc.column)
    } else {
        super::human::whereabouts(f)
    };
    format!("{place}: {}[{}] {}", f.severity, f.code(), f.message.replace(['\n', '\r'], " "))
}

pub fn render(report: &Report, view: &View) -> String {
    let mut out = String::new();
    if view.statistics {
        out.push_str(&super::human::statistics(report, view));
    } else {
        for f in report.in_full(view) {
            out.push_str(&line(f, view));
            out.push('\n');
        }
    }
    if view.show_ignored {
        out.push_str(&super::human::ignored(report, view));
    }
    if !view.quiet {
        out.push_str(&super::human::existing(report, view));
        out.push_str(&super::human::summary(report));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Loc;
    use crate::rules::registry;

    #[test]
    fn a_line_names_the_file_or_the_environment() {
        let view = View::default();
        let in_file = Finding::new(
            &registry::CR502,
            Loc {
                line: 3,
                column: 7,
                ..Loc::file("a/b.json")
            },
            "bound\nto x",
        );
        assert_eq!(line(&in_file, &view), "a/b.json:3:7: error[CR502] bound to x");
        let mut live = Finding::new(&registry::CR611, Loc::none(), "no connection").flow("Daily", "ABC");
        live.environment = Some("Prod".into());
        assert_eq!(
            line(&live, &view),
            "in environment `Prod`, flow `Daily` (abc): error[CR611] no connection"
        );
    }
}
