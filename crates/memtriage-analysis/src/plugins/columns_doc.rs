//! The column reference of docs/plugins.md, rendered from the plugins' row declarations.

use crate::Plugin;
use memtriage_report::ColumnKind;
use std::fmt::Write;

fn kind_name(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Text => "text",
        ColumnKind::Int => "integer",
        ColumnKind::Hex => "hex string",
        ColumnKind::Bool => "boolean",
        ColumnKind::Time => "time (ISO-8601 UTC)",
    }
}

/// Markdown: one section per plugin with a `column | kind | meaning` table.
pub fn columns_markdown(plugins: &[Box<dyn Plugin>]) -> String {
    let mut out = String::new();
    for p in plugins {
        let _ = writeln!(out, "### `{}`\n", p.name());
        let _ = writeln!(out, "{}.\n", p.about());
        out.push_str("| column | kind | meaning |\n|---|---|---|\n");
        for c in p.columns() {
            let _ = writeln!(out, "| `{}` | {} | {} |", c.name, kind_name(c.kind), c.doc);
        }
        out.push('\n');
    }
    out
}
