//! One line a finding, as ruff and compilers print them: `path:line:col: severity[CODE] message`.

use super::{Report, View};

pub fn render(report: &Report, view: &View) -> String {
    let mut out = String::new();
    if view.statistics {
        out.push_str(&super::human::statistics(report, view));
    } else {
        for f in report.in_full(view) {
            out.push_str(&format!(
                "{}:{}:{}: {}[{}] {}\n",
                view.path(&f.loc.path),
                f.loc.line,
                f.loc.column,
                f.severity,
                f.code(),
                f.message.replace(['\n', '\r'], " ")
            ));
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
