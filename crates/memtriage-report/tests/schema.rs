//! Serialized reports validate against docs/schema/report.schema.json, and bad ones do not.
#![allow(clippy::unwrap_used)]

mod common;

use memtriage_report::serde_json::{self, json, Value};
use memtriage_report::*;

fn schema() -> Value {
    // The file in docs/ and the embedded copy are the same text.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/schema/report.schema.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(text, REPORT_SCHEMA);
    serde_json::from_str(&text).unwrap()
}

fn errors(instance: &Value) -> Vec<String> {
    let schema = schema();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn sample_value() -> Value {
    let mut out = Vec::new();
    write_report_json(&mut out, &common::sample_report()).unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn schema_is_a_valid_2020_12_schema() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    jsonschema::draft202012::meta::validate(&schema).unwrap();
}

#[test]
fn sample_report_validates() {
    assert_eq!(errors(&sample_value()), Vec::<String>::new());
}

#[test]
fn empty_report_validates() {
    // Empty lists and unknown system facts; the capture format is one of the schema's.
    let r = Report::new(Image {
        format: "raw".into(),
        ..Image::default()
    });
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(errors(&v), Vec::<String>::new());
}

#[test]
fn sorted_report_with_every_option_set_validates() {
    let mut r = common::sample_report();
    r.processes[1].exit_time = filetime_to_iso(1);
    r.processes[1].regions[0].file = Some("x.dll".into());
    r.processes[1].regions[0].r#type = RegionType::Mapped;
    r.suppressed = 3;
    r.sort();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(errors(&v), Vec::<String>::new());
}

/// Applies `edit` to the sample report's JSON and returns the validation errors.
fn errors_after(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut v = sample_value();
    edit(&mut v);
    errors(&v)
}

#[test]
fn numeric_address_fails() {
    let errs = errors_after(|v| v["findings"][0]["address"] = json!(140_668_768_878_592u64));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].ends_with("at /findings/0/address"), "{errs:?}");
    let errs = errors_after(|v| v["processes"][0]["offset"] = json!(4096));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].ends_with("at /processes/0/offset"), "{errs:?}");
}

#[test]
fn malformed_hex_strings_fail() {
    for bad in ["0XFF", "0xFF", "ff", "0x", "0x10000000000000000", "0x-1"] {
        let errs = errors_after(|v| v["system"]["dtb"] = json!(bad));
        assert!(!errs.is_empty(), "{bad} must fail");
    }
}

#[test]
fn other_violations_fail() {
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "severity",
            Box::new(|v| v["findings"][0]["severity"] = json!("critical")),
        ),
        (
            "region type",
            Box::new(|v| v["processes"][1]["regions"][0]["type"] = json!("heap")),
        ),
        (
            "schema",
            Box::new(|v| v["schema"] = json!("memtriage-report/2")),
        ),
        (
            "missing",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("warnings");
            }),
        ),
        ("extra", Box::new(|v| v["system"]["bogus"] = json!(1))),
        (
            "time",
            Box::new(|v| v["system"]["system_time"] = json!("2024-01-17 21:20:00")),
        ),
        (
            "negative pid",
            Box::new(|v| v["processes"][0]["pid"] = json!(-1)),
        ),
        (
            "mitre",
            Box::new(|v| v["findings"][0]["mitre"] = json!(["process injection"])),
        ),
        ("sha256", Box::new(|v| v["image"]["sha256"] = json!("ABC"))),
    ];
    for (name, edit) in cases {
        assert!(!errors_after(edit).is_empty(), "{name} must fail");
    }
}
