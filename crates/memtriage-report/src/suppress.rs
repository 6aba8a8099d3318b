//! Finding suppression lists (TOML).

use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use toml::Spanned;

use crate::error::ReportError;
use crate::model::Finding;

/// Largest suppression file accepted (1 MiB).
const MAX_FILE_SIZE: u64 = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    suppress: Vec<Spanned<EntryDoc>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    rule: Option<Spanned<String>>,
    process: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    reason: Option<String>,
}

/// One `[[suppress]]` entry. A finding is suppressed when every pattern the entry sets matches.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// Glob on the finding's rule id (required; `*` for every rule).
    pub rule: String,
    /// Glob on the process name, if set.
    pub process: Option<String>,
    /// Glob on the process image path, if set.
    pub path: Option<String>,
    /// Why the entry exists (free text).
    pub reason: Option<String>,
    /// 1-based line of the entry in its file.
    pub line: usize,
    rule_m: GlobMatcher,
    process_m: Option<GlobMatcher>,
    path_m: Option<GlobMatcher>,
}

impl Suppression {
    /// True when the entry matches a finding with rule `rule` in a process with the given name
    /// and image path. A pattern on a name or path that is unknown (`None`) does not match.
    pub fn matches(&self, rule: &str, name: Option<&str>, path: Option<&str>) -> bool {
        fn opt(m: Option<&GlobMatcher>, v: Option<&str>) -> bool {
            match (m, v) {
                (None, _) => true,
                (Some(m), Some(v)) => m.is_match(v),
                (Some(_), None) => false,
            }
        }
        self.rule_m.is_match(rule)
            && opt(self.process_m.as_ref(), name)
            && opt(self.path_m.as_ref(), path)
    }
}

/// A list of suppressions read from a TOML file:
///
/// ```toml
/// [[suppress]]
/// rule = "rwx_private"      # required, glob
/// process = "java*.exe"     # optional, glob on the process name
/// path = '*\jre\*'          # optional, glob on the process image path
/// reason = "JIT compiler"   # optional, free text
/// ```
///
/// Globs are case-insensitive; `*` matches any run of characters including `\` and `/`, `?`
/// one character, `[…]` a class, and `\` is a literal character (Windows paths).
#[derive(Debug, Clone, Default)]
pub struct SuppressionList {
    /// The entries, in file order.
    pub entries: Vec<Suppression>,
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

fn compile(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    Ok(GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .backslash_escape(false)
        .build()?
        .compile_matcher())
}

impl SuppressionList {
    /// Reads and parses a suppression file. Errors name the file and, for content errors, the
    /// line.
    pub fn from_path(path: &Path) -> Result<Self, ReportError> {
        let io = |source| ReportError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut text = String::new();
        file.take(MAX_FILE_SIZE + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_FILE_SIZE {
            return Err(ReportError::TooLarge {
                path: path.to_path_buf(),
                size: text.len() as u64,
                limit: MAX_FILE_SIZE,
            });
        }
        Self::parse(&text, path)
    }

    /// Parses suppression TOML `text`; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ReportError> {
        let err = |offset: usize, message: String| ReportError::Suppression {
            path: PathBuf::from(path),
            line: line_of(text, offset),
            message,
        };
        let doc: FileDoc = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            err(offset, e.message().trim().to_owned())
        })?;
        let mut entries = Vec::with_capacity(doc.suppress.len());
        for spanned in doc.suppress {
            let entry_start = spanned.span().start;
            let entry = spanned.into_inner();
            let glob = |field: &str, v: &Spanned<String>| {
                compile(v.get_ref()).map_err(|e| {
                    err(
                        v.span().start,
                        format!("invalid {field} pattern {:?}: {}", v.get_ref(), e.kind()),
                    )
                })
            };
            let Some(rule) = entry.rule else {
                return Err(err(
                    entry_start,
                    "suppress entry has no `rule` (use rule = \"*\" to match every rule)"
                        .to_owned(),
                ));
            };
            let rule_m = glob("rule", &rule)?;
            let process_m = entry
                .process
                .as_ref()
                .map(|p| glob("process", p))
                .transpose()?;
            let path_m = entry.path.as_ref().map(|p| glob("path", p)).transpose()?;
            entries.push(Suppression {
                rule: rule.into_inner(),
                process: entry.process.map(Spanned::into_inner),
                path: entry.path.map(Spanned::into_inner),
                reason: entry.reason,
                line: line_of(text, entry_start),
                rule_m,
                process_m,
                path_m,
            });
        }
        Ok(SuppressionList { entries })
    }

    /// Splits `findings` into the kept ones (order preserved) and the number suppressed.
    ///
    /// `lookup(pid)` returns the process name and image path of a pid (either may be `None`).
    /// When it has no name, the finding's own `process` is used. Findings without a pid have
    /// no image path, and a name only if the finding carries one.
    pub fn apply(
        &self,
        findings: Vec<Finding>,
        lookup: impl Fn(u64) -> (Option<String>, Option<String>),
    ) -> (Vec<Finding>, u64) {
        if self.entries.is_empty() {
            return (findings, 0);
        }
        let mut kept = Vec::with_capacity(findings.len());
        let mut suppressed = 0u64;
        for f in findings {
            let (name, path) = match f.pid {
                Some(pid) => lookup(pid),
                None => (None, None),
            };
            let name = name.or_else(|| f.process.clone());
            if self
                .entries
                .iter()
                .any(|e| e.matches(&f.rule, name.as_deref(), path.as_deref()))
            {
                suppressed += 1;
            } else {
                kept.push(f);
            }
        }
        (kept, suppressed)
    }
}
