//! Root-cause errors: what is wrong with the capture comes first, the discovery chain behind
//! `-v`.
//!
//! Kernel discovery reports every step it tried ("no DTB; tried: dtb:crash-dump-header
//! [failed]: …; dtb:scan [failed]: …"). When the capture itself explains the failure (it holds
//! no physical memory, or its header promises pages the file does not hold), that explanation
//! is the root cause and comes first; the steps are kept for `-v`.

use crate::failure::Failure;
use memtriage_analysis::{AnalysisError, Session};

/// Why a capture cannot be analysed, judged from the capture alone (before any discovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureCause {
    /// No physical range is readable (triage dump, header-only dump).
    NoPhysicalMemory {
        /// What the capture holds instead (the capture's own warning), if it says.
        detail: Option<String>,
    },
    /// The capture lacks part of what its header promises (e.g. a truncated bitmap dump).
    MissingPages {
        /// The capture's warning, first clause only.
        detail: String,
    },
}

impl std::fmt::Display for CaptureCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaptureCause::NoPhysicalMemory { detail: None } => {
                f.write_str("the capture holds no physical memory")
            }
            CaptureCause::NoPhysicalMemory { detail: Some(d) } => {
                write!(f, "the capture holds no physical memory ({d})")
            }
            CaptureCause::MissingPages { detail } => f.write_str(detail),
        }
    }
}

/// The first clause of a capture warning (up to the first `;`), e.g. "the bitmap marks 512
/// pages present that the file (1048576 bytes) does not hold".
fn first_clause(warning: &str) -> String {
    warning
        .split(';')
        .next()
        .unwrap_or(warning)
        .trim()
        .to_owned()
}

/// What the capture itself says is wrong with it, if anything.
pub fn capture_cause(session: &Session) -> Option<CaptureCause> {
    let memory = session.memory();
    let meta = memory.metadata();
    let first_warning = meta.warnings.first().map(|w| first_clause(w));
    if memory.ranges().is_empty() {
        let detail = if meta.triage.is_some() {
            Some("a triage dump: header, driver list and crashing thread only".to_owned())
        } else {
            first_warning
        };
        return Some(CaptureCause::NoPhysicalMemory { detail });
    }
    meta.warnings
        .iter()
        .find(|w| w.contains("does not hold"))
        .map(|w| CaptureCause::MissingPages {
            detail: first_clause(w),
        })
}

/// Splits a kernel-discovery message into its summary and the steps it tried
/// (`"no DTB; tried: a [failed]: x; b [failed]: y"` → `("no DTB", ["b [failed]: y", "a …"])`,
/// innermost — the last tried — first).
pub fn split_steps(message: &str) -> (String, Vec<String>) {
    match message.split_once("; tried: ") {
        Some((summary, tried)) => {
            let mut steps: Vec<String> = Vec::new();
            for part in tried.split("; ") {
                // A step starts with `name [ok|failed]`; other pieces continue the previous one.
                let starts_step = part.contains(" [failed]") || part.contains(" [ok]");
                match steps.last_mut() {
                    Some(last) if !starts_step => {
                        last.push_str("; ");
                        last.push_str(part);
                    }
                    _ => steps.push(part.to_owned()),
                }
            }
            steps.reverse();
            (summary.to_owned(), steps)
        }
        None => (message.to_owned(), Vec::new()),
    }
}

/// The root cause of a kernel-discovery failure (without the file name) and the steps tried:
/// the capture's own cause first when it has one, then the discovery summary.
pub fn kernel_cause(session: &Session, message: &str) -> (String, Vec<String>) {
    let message = message
        .strip_prefix("kernel discovery failed: ")
        .unwrap_or(message);
    let (summary, steps) = split_steps(message);
    let cause = match (capture_cause(session), innermost_failure(&steps)) {
        (Some(cause), _) => format!("{cause}; kernel not found ({summary})"),
        (None, Some(detail)) => format!("{detail} (kernel not found: {summary})"),
        (None, None) => format!("kernel not found: {summary}"),
    };
    (cause, steps)
}

/// What the innermost failed step saw: the detail of the first `[failed]` step in `steps`
/// (innermost first), e.g. "profile has no type _EPROCESS".
pub fn innermost_failure(steps: &[String]) -> Option<&str> {
    steps
        .iter()
        .find_map(|s| s.split_once(" [failed]: ").map(|(_, detail)| detail))
}

/// The one-line failure for `err` met while analysing `session`'s capture: the file name,
/// the capture's own root cause first when it has one, the discovery steps behind `-v`.
pub fn explain(session: &Session, err: &AnalysisError) -> Failure {
    match err {
        AnalysisError::Kernel { message, .. } => {
            let (cause, steps) = kernel_cause(session, message);
            Failure {
                line: format!("{}: {cause}", session.path().display()),
                steps,
            }
        }
        other => Failure::new(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_split_innermost_first() {
        let (summary, steps) = split_steps(
            "no DTB; tried: dtb:crash-dump-header [failed]: 0x1ad000 is not in the capture; \
             dtb:low-stub [failed]: no PROCESSOR_START_BLOCK; dtb:scan [failed]: scanned low \
             64 MiB: 0 candidates; none validated",
        );
        assert_eq!(summary, "no DTB");
        assert_eq!(
            steps,
            vec![
                "dtb:scan [failed]: scanned low 64 MiB: 0 candidates; none validated",
                "dtb:low-stub [failed]: no PROCESSOR_START_BLOCK",
                "dtb:crash-dump-header [failed]: 0x1ad000 is not in the capture",
            ]
        );
        assert_eq!(split_steps("plain"), ("plain".to_owned(), Vec::new()));
        assert_eq!(
            innermost_failure(&steps),
            Some("scanned low 64 MiB: 0 candidates; none validated")
        );
        let ok_then_failed = vec![
            "profile:validate [failed]: x.json: profile has no type _EPROCESS".to_owned(),
            "build:NtBuildNumber [ok]: 0xf0004a61 → build 19041".to_owned(),
        ];
        assert_eq!(
            innermost_failure(&ok_then_failed),
            Some("x.json: profile has no type _EPROCESS")
        );
        assert_eq!(innermost_failure(&ok_then_failed[1..]), None);
    }

    #[test]
    fn first_clause_stops_at_the_semicolon() {
        assert_eq!(
            first_clause("the bitmap marks 3 pages present that the file does not hold; x; y"),
            "the bitmap marks 3 pages present that the file does not hold"
        );
    }
}
