//! The fleet index: one `index.html` listing the pages of several captures.

use std::fmt::{self, Write};

use super::escape::Esc;
use super::page::{severity_counts, write_head};
use crate::model::{Report, Severity};

/// One capture of a fleet run, as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetEntry {
    /// The capture path as given on the command line.
    pub capture: String,
    /// What happened to it.
    pub outcome: FleetOutcome,
}

/// The result of one capture of a fleet run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetOutcome {
    /// A page was written.
    Page {
        /// The page's file name, relative to the index (e.g. `host1.dmp.report.html`).
        page: String,
        /// Findings per severity, highest first.
        findings: [(Severity, usize); 4],
        /// Number of processes.
        processes: usize,
        /// Number of warnings.
        warnings: usize,
    },
    /// The capture could not be analysed.
    Failed {
        /// The one-line error.
        error: String,
    },
}

impl FleetEntry {
    /// The entry of a capture whose report was written to `page` (relative to the index).
    pub fn page(capture: impl Into<String>, page: impl Into<String>, report: &Report) -> Self {
        FleetEntry {
            capture: capture.into(),
            outcome: FleetOutcome::Page {
                page: page.into(),
                findings: severity_counts(report),
                processes: report.processes.len(),
                warnings: report.warnings.len(),
            },
        }
    }

    /// The entry of a capture that failed with `error`.
    pub fn failed(capture: impl Into<String>, error: impl Into<String>) -> Self {
        FleetEntry {
            capture: capture.into(),
            outcome: FleetOutcome::Failed {
                error: error.into(),
            },
        }
    }
}

/// Writes the index page of a fleet run into `out`: one row per capture with a link to its page
/// and its finding counts per severity.
pub fn write_index(out: &mut String, entries: &[FleetEntry]) -> fmt::Result {
    write_head(out, "memtriage fleet index")?;
    write!(
        out,
        r#"<header><h1>memtriage fleet index</h1><p class="muted">{} capture(s) · {} {}</p></header><table class="fleet"><thead><tr><th>capture</th><th>high</th><th>medium</th><th>low</th><th>info</th><th>processes</th><th>warnings</th></tr></thead><tbody>"#,
        entries.len(),
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION")
    )?;
    for e in entries {
        match &e.outcome {
            FleetOutcome::Page {
                page,
                findings,
                processes,
                warnings,
            } => {
                write!(
                    out,
                    r#"<tr><td class="mono"><a href="{}">{}</a></td>"#,
                    Esc(&relative_href(page)),
                    Esc(&e.capture)
                )?;
                for (sev, n) in findings {
                    if *n > 0 {
                        write!(
                            out,
                            r#"<td class="num"><span class="sev sev-{sev}">{n}</span></td>"#
                        )?;
                    } else {
                        out.push_str(r#"<td class="num">0</td>"#);
                    }
                }
                write!(
                    out,
                    r#"<td class="num">{processes}</td><td class="num">{warnings}</td></tr>"#
                )?;
            }
            FleetOutcome::Failed { error } => write!(
                out,
                r#"<tr><td class="mono">{}</td><td colspan="6" class="no">failed: {}</td></tr>"#,
                Esc(&e.capture),
                Esc(error)
            )?,
        }
    }
    out.push_str("</tbody></table></body></html>\n");
    Ok(())
}

/// A page file name as a relative link: percent-encodes what a URL path cannot hold as is, and
/// prefixes `./` so that a name such as `javascript:x` stays a relative path.
fn relative_href(page: &str) -> String {
    let mut s = String::from("./");
    for b in page.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_are_relative_and_encoded() {
        assert_eq!(relative_href("a b.html"), "./a%20b.html");
        assert_eq!(relative_href("javascript:x"), "./javascript%3Ax");
        assert_eq!(relative_href("x\"<.html"), "./x%22%3C.html");
    }
}
