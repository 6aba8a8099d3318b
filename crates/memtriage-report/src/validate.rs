//! Checking a report document before it is read back: the JSON Schema of the report plus the
//! rules a JSON Schema cannot express.
//!
//! [`crate::read_report`] (and so `memtriage diff`) accepts exactly the documents that pass
//! [`check_report_value`]: those valid against `docs/schema/report.schema.json` (with format
//! assertions on, so `date-time` values must be real dates) whose ranges do not end before they
//! start and whose times are calendar dates.

use std::sync::OnceLock;

use serde_json::Value;

use crate::hex::Hex;

/// Why a report document is not acceptable: where (a JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer of the offending value (`/processes/1/regions/0/end`), `(root)` for the
    /// document itself.
    pub pointer: String,
    /// What is wrong, one line.
    pub message: String,
}

fn validator() -> Result<&'static jsonschema::Validator, Violation> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: Value =
                serde_json::from_str(crate::REPORT_SCHEMA).map_err(|e| e.to_string())?;
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| Violation {
            pointer: String::new(),
            message: format!("the embedded report schema does not compile: {e}"),
        })
}

/// One line of at most 200 characters (schema messages quote whole values).
fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > 200 {
        format!("{}…", flat.chars().take(199).collect::<String>())
    } else {
        flat
    }
}

/// Checks a report document: the report schema first, then the range and date rules. Returns
/// the first violation found.
pub fn check_report_value(doc: &Value) -> Result<(), Violation> {
    if let Some(e) = validator()?.iter_errors(doc).next() {
        let pointer = e.instance_path().to_string();
        return Err(Violation {
            pointer: if pointer.is_empty() {
                "(root)".to_owned()
            } else {
                pointer
            },
            message: one_line(&e.to_string()),
        });
    }
    check_ranges(doc)?;
    check_times(doc, String::new())
}

fn hex_at(doc: &Value, key: &str) -> Option<u64> {
    doc.get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Hex>().ok())
        .map(Hex::get)
}

fn ordered(doc: &Value, start: &str, end: &str, pointer: String) -> Result<(), Violation> {
    match (hex_at(doc, start), hex_at(doc, end)) {
        (Some(s), Some(e)) if e < s => Err(Violation {
            pointer,
            message: format!("{end} {e:#x} is before {start} {s:#x}"),
        }),
        _ => Ok(()),
    }
}

/// Regions and findings: `end` (the last byte) is not before `start` / `address`.
fn check_ranges(doc: &Value) -> Result<(), Violation> {
    let list = |key: &str| doc.get(key).and_then(Value::as_array).cloned();
    for (pi, p) in list("processes").unwrap_or_default().iter().enumerate() {
        let regions = p.get("regions").and_then(Value::as_array);
        for (ri, r) in regions.into_iter().flatten().enumerate() {
            ordered(
                r,
                "start",
                "end",
                format!("/processes/{pi}/regions/{ri}/end"),
            )?;
        }
    }
    for (fi, f) in list("findings").unwrap_or_default().iter().enumerate() {
        ordered(f, "address", "end", format!("/findings/{fi}/end"))?;
    }
    Ok(())
}

/// Every time field (by the schema's field names) is a calendar date-time.
fn check_times(doc: &Value, pointer: String) -> Result<(), Violation> {
    const TIME_FIELDS: [&str; 3] = ["system_time", "create_time", "exit_time"];
    match doc {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{pointer}/{k}");
                if let (true, Some(s)) = (TIME_FIELDS.contains(&k.as_str()), v.as_str()) {
                    let format = time::format_description::well_known::Rfc3339;
                    if time::OffsetDateTime::parse(s, &format).is_err() {
                        return Err(Violation {
                            pointer: here,
                            message: format!("{} is not a valid date-time", one_line(s)),
                        });
                    }
                }
                check_times(v, here)?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_times(v, format!("{pointer}/{i}"))),
        _ => Ok(()),
    }
}
