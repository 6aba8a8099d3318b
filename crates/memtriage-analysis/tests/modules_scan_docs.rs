//! docs/plugins.md's `modules --scan` column table is exactly what `ScannedModuleRow` declares.
//!
//! Regenerate after changing the row:
//! `MEMTRIAGE_UPDATE_DOCS=1 cargo test -p memtriage-analysis --test modules_scan_docs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_analysis::plugins::ScannedModuleRow;
use memtriage_report::{ColumnKind, Row};
use std::fmt::Write;
use std::path::Path;

const BEGIN: &str = "<!-- modules-scan-columns:begin (generated from ScannedModuleRow; see crates/memtriage-analysis/tests/modules_scan_docs.rs) -->\n";
const END: &str = "<!-- modules-scan-columns:end -->";

fn kind_name(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Text => "text",
        ColumnKind::Int => "integer",
        ColumnKind::Hex => "hex string",
        ColumnKind::Bool => "boolean",
        ColumnKind::Time => "time (ISO-8601 UTC)",
    }
}

#[test]
fn the_scanned_view_columns_are_documented() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins.md");
    let doc = std::fs::read_to_string(&path).expect("docs/plugins.md");
    let mut generated = String::from("| column | kind | meaning |\n|---|---|---|\n");
    for c in ScannedModuleRow::columns() {
        assert!(!c.doc.is_empty(), "{} has no doc", c.name);
        let _ = writeln!(
            generated,
            "| `{}` | {} | {} |",
            c.name,
            kind_name(c.kind),
            c.doc
        );
    }
    let (Some(a), Some(b)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/plugins.md lacks the modules --scan column markers");
    };
    let current = &doc[a + BEGIN.len()..b];
    if current != generated {
        if std::env::var_os("MEMTRIAGE_UPDATE_DOCS").is_some() {
            let updated = format!("{}{generated}{}", &doc[..a + BEGIN.len()], &doc[b..]);
            std::fs::write(&path, updated).expect("write docs/plugins.md");
        } else {
            panic!("docs/plugins.md's modules --scan columns are stale: run with MEMTRIAGE_UPDATE_DOCS=1");
        }
    }
}
