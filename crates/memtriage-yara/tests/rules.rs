//! Loading rules: files and directories, namespaces, one-line compile errors, severity meta.
#![allow(clippy::unwrap_used)]

use memtriage_yara::{RuleSet, YaraError};

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_directory_compiles_each_rules_file_in_its_own_namespace() {
    let d = tempfile::tempdir().unwrap();
    // The same rule name in two files: fine, they are two namespaces.
    write(d.path(), "b_second.yara", "rule same { condition: true }");
    write(d.path(), "a_first.YAR", "rule same { condition: false }");
    write(d.path(), "notes.txt", "not a rule");
    std::fs::create_dir(d.path().join("sub")).unwrap();
    write(&d.path().join("sub"), "deeper.yar", "rule x {");
    let set = RuleSet::load(d.path()).unwrap();
    assert_eq!(set.len(), 2);
    let names: Vec<String> = set
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a_first.YAR", "b_second.yara"]);
    let ns: Vec<(String, String)> = set
        .rules()
        .iter()
        .map(|r| (r.namespace().to_owned(), r.identifier().to_owned()))
        .collect();
    assert_eq!(
        ns,
        [
            ("a_first".to_owned(), "same".to_owned()),
            ("b_second".to_owned(), "same".to_owned())
        ]
    );
}

#[test]
fn a_file_is_the_default_namespace() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "one.txt",
        "rule r : t1 t2 { meta: severity = \"urgent\" condition: true }",
    );
    let set = RuleSet::load(&f).unwrap();
    let r = set.rules().iter().next().unwrap();
    assert_eq!((r.namespace(), r.identifier()), ("default", "r"));
    assert_eq!(
        set.warnings(),
        [format!(
            "{}: rule default.r: meta severity \"urgent\" is not low, medium, high or critical; medium is used",
            f.display()
        )]
    );
}

#[test]
fn compile_errors_are_one_line_with_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "broken.yar",
        "rule ok { condition: true }\n\nrule bad {\n  strings:\n    $a = \"x\"\n  condition:\n    $b\n}\n",
    );
    let e = RuleSet::load(&f).unwrap_err();
    assert!(
        matches!(
            e,
            YaraError::Compile {
                line: 7,
                column: 5,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}:7:5: unknown pattern `$b`: this pattern is not declared in the `strings` section",
            f.display()
        )
    );
    assert!(!e.to_string().contains('\n'));
    // Includes are refused.
    let f = write(
        d.path(),
        "inc.yar",
        "include \"other.yar\"\nrule r { condition: true }\n",
    );
    let e = RuleSet::load(&f).unwrap_err();
    assert!(
        matches!(
            e,
            YaraError::Compile {
                line: 1,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn missing_and_empty_inputs_are_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    assert_eq!(
        RuleSet::load(d.path()).unwrap_err().to_string(),
        format!(
            "{}: no .yar or .yara file in this directory",
            d.path().display()
        )
    );
    let missing = d.path().join("missing.yar");
    assert_eq!(
        RuleSet::load(&missing).unwrap_err().to_string(),
        format!(
            "{}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    // Disabled modules: a memory buffer is not a file.
    let f = write(
        d.path(),
        "pe.yar",
        "import \"pe\"\nrule r { condition: pe.is_pe }\n",
    );
    assert_eq!(
        RuleSet::load(&f).unwrap_err().to_string(),
        format!(
            "{}:1:1: unknown module `pe`: module `pe` not found",
            f.display()
        )
    );
}
