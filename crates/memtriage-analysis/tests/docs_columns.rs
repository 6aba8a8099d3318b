//! docs/plugins.md's column reference is exactly what the plugins' typed rows declare.
//!
//! Regenerate after changing a row: `MEMTRIAGE_UPDATE_DOCS=1 cargo test -p memtriage-analysis --test docs_columns`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_analysis::plugins::columns_markdown;
use memtriage_analysis::registry;
use std::path::Path;

const BEGIN: &str = "<!-- columns:begin (generated from the plugins' row types; see crates/memtriage-analysis/tests/docs_columns.rs) -->\n";
const END: &str = "<!-- columns:end -->";

#[test]
fn plugin_docs_list_the_declared_columns() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/plugins.md");
    let doc = std::fs::read_to_string(&path).expect("docs/plugins.md");
    let generated = columns_markdown(&registry());
    let (Some(a), Some(b)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/plugins.md lacks the generated column section markers");
    };
    let current = &doc[a + BEGIN.len()..b];
    if current != generated {
        if std::env::var_os("MEMTRIAGE_UPDATE_DOCS").is_some() {
            let updated = format!("{}{generated}{}", &doc[..a + BEGIN.len()], &doc[b..]);
            std::fs::write(&path, updated).expect("write docs/plugins.md");
        } else {
            panic!("docs/plugins.md's column section is stale: run with MEMTRIAGE_UPDATE_DOCS=1");
        }
    }
    // Every column has a one-line doc.
    for p in registry() {
        for c in p.columns() {
            assert!(!c.doc.is_empty(), "{}.{} has no doc", p.name(), c.name);
        }
    }
}
