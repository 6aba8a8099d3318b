//! Loading and compiling YARA rules: one file, or every `*.yar`/`*.yara` file of a directory.

use std::path::{Path, PathBuf};

use crate::severity::meta_severity;

/// Why rules could not be loaded. Each is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum YaraError {
    /// The rules file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A directory holds no rules file.
    #[error("{path}: no .yar or .yara file in this directory")]
    NoRules {
        /// The directory.
        path: String,
    },
    /// yara-x refused a rule: `FILE:LINE:COL: message`.
    #[error("{path}:{line}:{column}: {message}")]
    Compile {
        /// The rules file.
        path: String,
        /// Line of the error (1-based).
        line: usize,
        /// Column of the error (1-based, in characters).
        column: usize,
        /// yara-x's title and label, e.g. `syntax error: expecting ...`.
        message: String,
    },
}

/// Compiled rules (compiled once per run and shared by every scan), with the files they came
/// from and the warnings met while loading them.
pub struct RuleSet {
    rules: yara_x::Rules,
    files: Vec<PathBuf>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("files", &self.files)
            .field("rules", &self.rules.iter().len())
            .finish()
    }
}

/// The namespace of the rules of a single file: yara-x's (and so Volatility 3's) default.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Whether `path` names a rules file by its extension (`.yar` or `.yara`, any case).
fn is_rules_file(path: &Path) -> bool {
    path.is_file()
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"))
}

/// The files to compile and their namespaces: a file alone is namespace `default`; the
/// rules files of a directory (not recursive) are sorted by name and each is a namespace
/// named after its file stem.
fn sources(path: &Path) -> Result<Vec<(PathBuf, String)>, YaraError> {
    let io = |source| YaraError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(vec![(path.to_path_buf(), DEFAULT_NAMESPACE.to_owned())]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let p = entry.map_err(io)?.path();
        if is_rules_file(&p) {
            files.push(p);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(YaraError::NoRules {
            path: path.display().to_string(),
        });
    }
    Ok(files
        .into_iter()
        .map(|p| {
            let ns = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (p, ns)
        })
        .collect())
}

/// 1-based (line, column in characters) of byte `offset` in `text`.
fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(before.get(line_start..).unwrap_or_default())
        .chars()
        .count()
        + 1;
    (line, column)
}

/// One line for a compile error of `text` (the contents of `path`).
fn compile_error(path: &Path, text: &[u8], e: &yara_x::errors::CompileError) -> YaraError {
    let label = e.labels().next();
    let offset = label
        .as_ref()
        .map_or(0, |l| usize::try_from(l.span().0.start).unwrap_or(0));
    let (line, column) = line_column(text, offset);
    let title = e.title().to_owned();
    let message = match label.as_ref().map(|l| l.text().trim()) {
        Some(t) if !t.is_empty() && t != title => format!("{title}: {t}"),
        _ => title,
    };
    YaraError::Compile {
        path: path.display().to_string(),
        line,
        column,
        message: message.replace(['\n', '\r'], " "),
    }
}

/// A meta value as text (strings as they are, bytes lossy).
pub fn meta_text(value: &yara_x::MetaValue<'_>) -> String {
    match value {
        yara_x::MetaValue::Integer(i) => i.to_string(),
        yara_x::MetaValue::Float(f) => f.to_string(),
        yara_x::MetaValue::Bool(b) => b.to_string(),
        yara_x::MetaValue::String(s) => (*s).to_owned(),
        yara_x::MetaValue::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

impl RuleSet {
    /// Compiles the rules at `path` (a file, or a directory of `*.yar`/`*.yara` files).
    /// Includes are refused (every rule must be in the files given).
    pub fn load(path: &Path) -> Result<RuleSet, YaraError> {
        let sources = sources(path)?;
        let mut compiler = yara_x::Compiler::new();
        compiler.enable_includes(false);
        let mut files = Vec::new();
        for (file, namespace) in &sources {
            let text = std::fs::read(file).map_err(|source| YaraError::Io {
                path: file.display().to_string(),
                source,
            })?;
            compiler.new_namespace(namespace);
            let origin = file.display().to_string();
            let code = yara_x::SourceCode::from(text.as_slice()).with_origin(origin);
            if let Err(e) = compiler.add_source(code) {
                return Err(compile_error(file, &text, &e));
            }
            files.push(file.clone());
        }
        let rules = compiler.build();
        let mut warnings = Vec::new();
        for rule in rules.iter() {
            let meta: Vec<(String, String)> = rule
                .metadata()
                .map(|(k, v)| (k.to_owned(), meta_text(&v)))
                .collect();
            let (_, bad) = meta_severity(meta.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            if let Some(bad) = bad {
                warnings.push(format!(
                    "{}: rule {}.{}: meta severity \"{bad}\" is not low, medium, high or critical; medium is used",
                    path.display(),
                    rule.namespace(),
                    rule.identifier()
                ));
            }
        }
        Ok(RuleSet {
            rules,
            files,
            warnings,
        })
    }

    /// The compiled rules.
    pub fn rules(&self) -> &yara_x::Rules {
        &self.rules
    }

    /// The rules files compiled, in namespace order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Warnings met while loading (meta values that name no severity).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.iter().len()
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let t = b"rule a {\n  condition: tru\n}";
        assert_eq!(line_column(t, 0), (1, 1));
        assert_eq!(line_column(t, 9), (2, 1));
        assert_eq!(line_column(t, 13), (2, 5));
        assert_eq!(line_column("é\nxé y".as_bytes(), 7), (2, 4));
    }
}
