//! Root-cause errors: what is wrong with the capture comes first, the discovery chain behind
//! `-v`.
//!
//! Kernel discovery reports every step it tried ("no DTB; tried: dtb:crash-dump-header
//! [failed]: …; dtb:scan [failed]: …"). When the capture itself explains the failure (it holds
//! no physical memory, or its header promises pages the file does not hold), that explanation
//! is the root cause and comes first; the steps are kept for `-v`.

use crate::failure::Failure;
use memtriage_analysis::{AnalysisError, Session};
use memtriage_dump::RootCause;

/// What the capture itself says is wrong with it (no physical memory, pages missing from the
/// file), as the evidence layer determined it.
pub fn capture_cause(session: &Session) -> Option<RootCause> {
    session.memory().metadata().root_cause
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
        None => match message.split_once(": tried ") {
            // Typed discovery errors name the methods a stage tried:
            // "no kernel page tables (DTB) found: tried a, b, c; give --dtb".
            Some((summary, rest)) => {
                let (list, advice) = rest.split_once("; ").unwrap_or((rest, ""));
                let mut steps: Vec<String> = list.split(", ").map(str::to_owned).collect();
                steps.reverse();
                let summary = if advice.is_empty() {
                    summary.to_owned()
                } else {
                    format!("{summary}; {advice}")
                };
                (summary, steps)
            }
            None => (message.to_owned(), Vec::new()),
        },
    }
}

/// The root cause of a kernel-discovery failure (without the file name) and the steps tried:
/// the capture's own cause first when it has one, then the discovery summary.
pub fn kernel_cause(session: &Session, message: &str) -> (String, Vec<String>) {
    let message = message
        .strip_prefix("kernel not found: ")
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
}
