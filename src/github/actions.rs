//! The Actions step summary (`$GITHUB_STEP_SUMMARY`) and step outputs (`$GITHUB_OUTPUT`).

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};

use crate::finding::Counts;

/// Appends `text` to the file (both files are shared by every step of a job, so never truncate).
fn append(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The step outputs, in the `name=value` lines that `$GITHUB_OUTPUT` takes.
pub fn outputs(counts: Counts, changed: bool) -> String {
    format!("errors={}\nwarnings={}\nchanged={changed}\n", counts.errors, counts.warnings)
}

/// Writes the summary and the outputs to the files Actions names in the environment, when set.
pub fn write(summary_markdown: &str, counts: Counts, changed: bool) -> Result<()> {
    if let Some(p) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        append(Path::new(&p), &format!("{}\n", summary_markdown.trim_end()))?;
    }
    if let Some(p) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        append(Path::new(&p), &outputs(counts, changed))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines() {
        let c = Counts {
            errors: 2,
            warnings: 1,
            infos: 4,
        };
        assert_eq!(outputs(c, true), "errors=2\nwarnings=1\nchanged=true\n");
    }
}
