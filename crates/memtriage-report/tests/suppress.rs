//! Suppression list parsing, matching and error reporting.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use memtriage_report::*;

const FILE: &str = r#"# Known-good JIT compilers.
[[suppress]]
rule = "rwx_private"
process = "java*.exe"
path = "*\\jre\\*"
reason = "JIT"

[[suppress]]
rule = "ldr_*"
reason = "every unlinked-module finding, any process"
"#;

fn list() -> SuppressionList {
    SuppressionList::parse(FILE, Path::new("s.toml")).unwrap()
}

#[test]
fn parses_entries_with_lines() {
    let l = list();
    assert_eq!(l.entries.len(), 2);
    let e = &l.entries[0];
    assert_eq!(e.rule, "rwx_private");
    assert_eq!(e.process.as_deref(), Some("java*.exe"));
    assert_eq!(e.path.as_deref(), Some(r"*\jre\*"));
    assert_eq!(e.reason.as_deref(), Some("JIT"));
    assert_eq!(e.line, 2);
    assert_eq!(l.entries[1].line, 8);
    assert_eq!(l.entries[1].process, None);
}

#[test]
fn matching_rules() {
    let l = list();
    let e = &l.entries[0];
    let java = Some(r"C:\Program Files\Java\jre\bin\java.exe");
    assert!(e.matches("rwx_private", Some("java.exe"), java));
    // Case-insensitive on every field.
    assert!(e.matches(
        "RWX_PRIVATE",
        Some("JAVAW.EXE"),
        Some(r"c:\PROGRAM FILES\JAVA\JRE\BIN\JAVAW.EXE")
    ));
    // Every set pattern must match.
    assert!(!e.matches("rwx_private", Some("java.exe"), Some(r"C:\Temp\java.exe")));
    assert!(!e.matches("rwx_private", Some("notepad.exe"), java));
    assert!(!e.matches("rwx_image", Some("java.exe"), java));
    // An unknown name or path never matches a pattern on it.
    assert!(!e.matches("rwx_private", None, java));
    assert!(!e.matches("rwx_private", Some("java.exe"), None));
    // A rule-only entry matches any process, known or not.
    let any = &l.entries[1];
    assert!(any.matches("ldr_unlinked", None, None));
    assert!(!any.matches("xldr_unlinked", None, None));
}

#[test]
fn apply_counts_and_keeps_order() {
    let findings = vec![
        Finding::new("rwx_private", Severity::High, "a").with_process(1337, "java.exe"),
        Finding::new("rwx_private", Severity::High, "b").with_process(666, "evil.exe"),
        Finding::new("ldr_unlinked", Severity::Medium, "c").with_process(666, "evil.exe"),
        Finding::new("rwx_private", Severity::High, "d"),
        Finding::new("hidden_process", Severity::High, "e").with_process(666, "evil.exe"),
    ];
    let lookup = |pid: u64| match pid {
        1337 => (
            Some("java.exe".to_owned()),
            Some(r"C:\Program Files\Java\jre\bin\java.exe".to_owned()),
        ),
        666 => (
            Some("evil.exe".to_owned()),
            Some(r"C:\Users\x\evil.exe".to_owned()),
        ),
        _ => (None, None),
    };
    let (kept, n) = list().apply(findings, lookup);
    assert_eq!(n, 2);
    let kept: Vec<&str> = kept.iter().map(|f| f.description.as_str()).collect();
    assert_eq!(kept, vec!["b", "d", "e"]);
}

#[test]
fn report_apply_suppressions_uses_process_table() {
    let mut r = common::sample_report();
    r.suppressed = 1;
    r.apply_suppressions(&list());
    assert!(r.findings.is_empty());
    assert_eq!(r.suppressed, 2);
}

#[test]
fn finding_process_name_is_the_fallback() {
    // No lookup result: the finding's own process name is used.
    let l = SuppressionList::parse(
        "[[suppress]]\nrule = \"*\"\nprocess = \"java.exe\"\n",
        Path::new("s.toml"),
    )
    .unwrap();
    let f = vec![Finding::new("x", Severity::Low, "d").with_process(5, "java.exe")];
    let (kept, n) = l.apply(f, |_| (None, None));
    assert_eq!((kept.len(), n), (0, 1));
}

fn err(text: &str) -> String {
    SuppressionList::parse(text, Path::new("conf/s.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn errors_name_file_and_line() {
    assert_eq!(
        err("[[suppress]]\nrule = \"a\"\n\n[[suppress]]\nprocess = \"x.exe\"\n"),
        "conf/s.toml:4: suppress entry has no `rule` (use rule = \"*\" to match every rule)"
    );
    let e = err("[[suppress]]\nrule = \"a\"\nproces = \"x.exe\"\n");
    assert!(
        e.starts_with("conf/s.toml:3: unknown field `proces`"),
        "{e}"
    );
    let e = err("[[suppress]]\nrule = \"a\"\npath = \"[abc\"\n");
    assert!(
        e.starts_with("conf/s.toml:3: invalid path pattern \"[abc\""),
        "{e}"
    );
    let e = err("[[suppress]]\nrule = \"a\"\nreason = \"unterminated\n");
    assert!(e.starts_with("conf/s.toml:3: "), "{e}");
    let e = err("[[suppres]]\nrule = \"a\"\n");
    assert!(
        e.starts_with("conf/s.toml:1: unknown field `suppres`"),
        "{e}"
    );
    let e = err("[[suppress]]\nrule = 5\n");
    assert!(e.starts_with("conf/s.toml:2: "), "{e}");
}

#[test]
fn from_path_reads_files_and_names_missing_ones() {
    let dir = std::env::temp_dir().join(format!("memtriage-report-supp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("ok.toml");
    std::fs::write(&p, FILE).unwrap();
    assert_eq!(SuppressionList::from_path(&p).unwrap().entries.len(), 2);

    let missing = dir.join("missing.toml");
    let e = SuppressionList::from_path(&missing).unwrap_err();
    assert!(matches!(e, ReportError::Io { .. }));
    assert!(
        e.to_string().starts_with(&missing.display().to_string()),
        "{e}"
    );

    let big = dir.join("big.toml");
    std::fs::write(&big, "#".repeat((1 << 20) + 1)).unwrap();
    assert!(matches!(
        SuppressionList::from_path(&big).unwrap_err(),
        ReportError::TooLarge { .. }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_file_suppresses_nothing() {
    let l = SuppressionList::parse("", Path::new("e.toml")).unwrap();
    let f = vec![Finding::new("x", Severity::Low, "d")];
    assert_eq!(l.apply(f.clone(), |_| (None, None)), (f, 0));
}
