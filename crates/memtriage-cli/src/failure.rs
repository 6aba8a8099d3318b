//! The one error a command ends with: a one-line root cause, and the steps behind it.

/// Why a command failed: `line` is printed as `memtriage: error: LINE` (file name, root cause);
/// `steps` (what was tried on the way, e.g. each kernel-discovery step) only with `-v`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}")]
pub struct Failure {
    /// File name and root cause, one line.
    pub line: String,
    /// The chain of attempted steps, innermost cause first, shown behind `-v`.
    pub steps: Vec<String>,
}

impl Failure {
    /// A failure with no steps behind it.
    pub fn new(line: impl Into<String>) -> Self {
        Failure {
            line: line.into(),
            steps: Vec::new(),
        }
    }
}

impl From<String> for Failure {
    fn from(line: String) -> Self {
        Failure::new(line)
    }
}

impl From<&str> for Failure {
    fn from(line: &str) -> Self {
        Failure::new(line)
    }
}
