//! docs/plugins.md's yarascan column table is exactly the row type's columns.
#![allow(clippy::unwrap_used)]

use memtriage_report::{ColumnKind, Row};
use memtriage_yara::YaraRow;

fn kind(k: ColumnKind) -> &'static str {
    match k {
        ColumnKind::Text => "text",
        ColumnKind::Int => "integer",
        ColumnKind::Hex => "hex string",
        ColumnKind::Bool => "boolean",
        ColumnKind::Time => "time",
    }
}

#[test]
fn docs_list_every_yarascan_column() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins.md"),
    )
    .unwrap();
    let section = docs
        .split("## YARA scanning (`yarascan`, `report --yara`)")
        .nth(1)
        .unwrap();
    let documented: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    let expected: Vec<String> = YaraRow::columns()
        .iter()
        .map(|c| format!("| `{}` | {} | {} |", c.name, kind(c.kind), c.doc))
        .collect();
    assert_eq!(documented, expected);
}
