//! The schema and `read_report` (which `memtriage diff` uses) accept the same documents: every
//! case below is checked both ways, against the schema file with format assertions on, and by
//! reading it back. Ranges that end before they start cannot be expressed in JSON Schema; those
//! are refused by `read_report` only, as docs/report.md says.
#![allow(clippy::unwrap_used)]

mod common;

use memtriage_report::serde_json::{self, json, Value};
use memtriage_report::*;

fn schema_accepts(v: &Value) -> bool {
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    validator.is_valid(v)
}

fn read_accepts(v: &Value, name: &str) -> Result<(), String> {
    let dir =
        std::env::temp_dir().join(format!("memtriage-contract-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("r.json");
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    let r = read_report(&p).map(|_| ()).map_err(|e| e.to_string());
    std::fs::remove_dir_all(&dir).unwrap();
    r
}

fn sample() -> Value {
    let mut out = Vec::new();
    write_report_json(&mut out, &common::sample_report()).unwrap();
    serde_json::from_slice(&out).unwrap()
}

type Edit = fn(&mut Value);

/// (name, edit, accepted by the schema, accepted by read_report).
const CASES: &[(&str, Edit, bool, bool)] = &[
    ("unchanged", |_| {}, true, true),
    (
        "hex zero",
        |v| v["system"]["dtb"] = json!("0x0"),
        true,
        true,
    ),
    (
        "uppercase hex",
        |v| v["system"]["dtb"] = json!("0x1AA000"),
        false,
        false,
    ),
    (
        "leading zeros",
        |v| v["processes"][1]["regions"][0]["start"] = json!("0x0001000"),
        false,
        false,
    ),
    (
        "17 hex digits",
        |v| v["system"]["dtb"] = json!("0x10000000000000000"),
        false,
        false,
    ),
    (
        "impossible date",
        |v| v["system"]["system_time"] = json!("2024-13-45T99:99:99Z"),
        false,
        false,
    ),
    (
        "30 February",
        |v| v["processes"][1]["create_time"] = json!("2024-02-30T10:00:00Z"),
        false,
        false,
    ),
    (
        "29 February of a leap year",
        |v| v["processes"][1]["create_time"] = json!("2024-02-29T10:00:00Z"),
        true,
        true,
    ),
    (
        "fraction",
        |v| v["system"]["system_time"] = json!("2024-01-17T21:20:00.1234567Z"),
        true,
        true,
    ),
    (
        "unknown top-level field",
        |v| v["extra"] = json!(1),
        false,
        false,
    ),
    (
        "unknown region field",
        |v| v["processes"][1]["regions"][0]["color"] = json!("red"),
        false,
        false,
    ),
    (
        "unknown state",
        |v| v["processes"][1]["regions"][0]["state"] = json!("FREEISH"),
        false,
        false,
    ),
    (
        "reserved state",
        |v| v["processes"][1]["regions"][0]["state"] = json!("RESERVED"),
        true,
        true,
    ),
    (
        "unknown protection",
        |v| v["processes"][1]["regions"][0]["protection"] = json!("RWX"),
        false,
        false,
    ),
    (
        "guard protection",
        |v| v["processes"][1]["regions"][0]["protection"] = json!("PAGE_READWRITE|PAGE_GUARD"),
        true,
        true,
    ),
    (
        "unknown category",
        |v| v["processes"][1]["regions"][0]["category"] = json!("Page Table"),
        false,
        false,
    ),
    (
        "unknown type",
        |v| v["processes"][1]["regions"][0]["type"] = json!("heap"),
        false,
        false,
    ),
    (
        "unknown image format",
        |v| v["image"]["format"] = json!("vmem"),
        false,
        false,
    ),
    (
        "elf-core format",
        |v| v["image"]["format"] = json!("elf-core"),
        true,
        true,
    ),
    (
        "evidence of the wrong type",
        |v| v["findings"][0]["evidence"]["commit_charge"] = json!("1"),
        false,
        false,
    ),
    (
        "unknown evidence of a built-in rule",
        |v| v["findings"][0]["evidence"]["note"] = json!("x"),
        false,
        false,
    ),
    (
        "missing evidence of a built-in rule",
        |v| {
            v["findings"][0]["evidence"]
                .as_object_mut()
                .unwrap()
                .remove("detected_by");
        },
        false,
        false,
    ),
    (
        "any evidence of a plugin rule",
        |v| {
            v["findings"][0]["rule"] = json!("my_plugin_rule");
            v["findings"][0]["evidence"] = json!({"anything": [1, "two"]});
        },
        true,
        true,
    ),
    (
        "region ending before its start",
        |v| {
            v["processes"][1]["regions"][0]["start"] = json!("0x2000");
            v["processes"][1]["regions"][0]["end"] = json!("0x1fff");
        },
        true,
        false,
    ),
    (
        "finding ending before its address",
        |v| v["findings"][0]["end"] = json!("0x1"),
        true,
        false,
    ),
    (
        "one-byte region",
        |v| {
            v["processes"][1]["regions"][0]["start"] = json!("0x2000");
            v["processes"][1]["regions"][0]["end"] = json!("0x2000");
        },
        true,
        true,
    ),
];

#[test]
fn schema_and_read_report_agree() {
    for (i, (name, edit, schema_ok, read_ok)) in CASES.iter().enumerate() {
        let mut v = sample();
        edit(&mut v);
        assert_eq!(schema_accepts(&v), *schema_ok, "{name}: schema");
        let read = read_accepts(&v, &i.to_string());
        assert_eq!(read.is_ok(), *read_ok, "{name}: read_report: {read:?}");
    }
}

#[test]
fn invalid_reports_name_the_value() {
    let mut v = sample();
    v["processes"][1]["regions"][0]["state"] = json!("FREEISH");
    let e = read_accepts(&v, "named").unwrap_err();
    // Region states are a type: the typed read names the value, its line and the allowed ones.
    assert!(
        e.contains(": unknown variant `FREEISH`, expected one of `COMMITTED`, `RESERVED`, `FREE`"),
        "{e}"
    );
    let mut v = sample();
    v["findings"][0]["end"] = json!("0x1");
    let e = read_accepts(&v, "range").unwrap_err();
    assert!(
        e.ends_with(": /findings/0/end: end 0x1 is before address 0x7ff000000000"),
        "{e}"
    );
}
