//! A report diff as rows: one JSON object per line (JSON Lines) or one CSV record per change.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::diff::{ReportDiff, DIFF_SCHEMA_VERSION};
use crate::table::{Cell, Column, ColumnKind, Table};
use crate::writers::write_table_csv;

fn line(w: &mut dyn Write, v: &Value) -> io::Result<()> {
    let v = crate::canonical::sorted(v.clone());
    serde_json::to_writer(&mut *w, &v).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

/// Writes `diff` as JSON Lines: one object per added, removed or changed item, in the order
/// findings (added, removed, changed) then processes (added, removed, changed). Every object has
/// `schema` (`memtriage-diff/1`), `change` (`added` | `removed` | `changed`) and `item`
/// (`finding` | `process`); added and removed items carry the whole `finding` or `process`;
/// changed ones carry their key (`rule`, `pid`, `address` or `pid`, `offset`, `name`) and
/// `changes` (`[{field, old, new}]`). An empty diff writes nothing.
pub fn write_diff_jsonl(w: &mut dyn Write, diff: &ReportDiff) -> io::Result<()> {
    let s = DIFF_SCHEMA_VERSION;
    for (change, list) in [
        ("added", &diff.added_findings),
        ("removed", &diff.removed_findings),
    ] {
        for f in list {
            line(
                w,
                &json!({"schema": s, "change": change, "item": "finding", "finding": f}),
            )?;
        }
    }
    for c in &diff.changed_findings {
        line(
            w,
            &json!({"schema": s, "change": "changed", "item": "finding", "rule": c.rule,
                    "pid": c.pid, "address": c.address, "changes": c.changes}),
        )?;
    }
    for (change, list) in [
        ("added", &diff.added_processes),
        ("removed", &diff.removed_processes),
    ] {
        for p in list {
            line(
                w,
                &json!({"schema": s, "change": change, "item": "process", "process": p}),
            )?;
        }
    }
    for c in &diff.changed_processes {
        line(
            w,
            &json!({"schema": s, "change": "changed", "item": "process", "pid": c.pid,
                    "offset": c.offset, "name": c.name, "changes": c.changes}),
        )?;
    }
    Ok(())
}

/// A JSON value as one CSV cell: strings as they are, anything else as compact JSON.
fn value_cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::String(s) => Cell::Text(s.clone()),
        other => Cell::Text(other.to_string()),
    }
}

/// `diff` as a flat table: columns change, item, rule, pid, process, address, field, old, new.
/// Added and removed items are one row each (field, old and new empty; `address` is a finding's
/// address or a process's EPROCESS offset); a changed item is one row per changed field, with
/// old and new as text (strings as they are, other values as compact JSON).
pub fn diff_table(diff: &ReportDiff) -> Table {
    let mut t = Table::new(
        "Diff",
        [
            "change", "item", "rule", "pid", "process", "address", "field",
        ]
        .into_iter()
        .map(|n| {
            let kind = match n {
                "pid" => ColumnKind::Int,
                "address" => ColumnKind::Hex,
                _ => ColumnKind::Text,
            };
            Column::new(n, kind)
        })
        .chain([
            Column::new("old", ColumnKind::Text),
            Column::new("new", ColumnKind::Text),
        ])
        .collect(),
    );
    let text = |s: &str| Cell::Text(s.to_owned());
    for (change, list) in [
        ("added", &diff.added_findings),
        ("removed", &diff.removed_findings),
    ] {
        for f in list {
            t.push(vec![
                text(change),
                text("finding"),
                text(&f.rule),
                f.pid.into(),
                f.process.clone().into(),
                f.address.into(),
                Cell::Null,
                Cell::Null,
                Cell::Null,
            ]);
        }
    }
    for c in &diff.changed_findings {
        for ch in &c.changes {
            t.push(vec![
                text("changed"),
                text("finding"),
                text(&c.rule),
                c.pid.into(),
                Cell::Null,
                c.address.into(),
                text(&ch.field),
                value_cell(&ch.old),
                value_cell(&ch.new),
            ]);
        }
    }
    for (change, list) in [
        ("added", &diff.added_processes),
        ("removed", &diff.removed_processes),
    ] {
        for p in list {
            t.push(vec![
                text(change),
                text("process"),
                Cell::Null,
                Cell::UInt(p.pid),
                text(&p.name),
                p.offset.into(),
                Cell::Null,
                Cell::Null,
                Cell::Null,
            ]);
        }
    }
    for c in &diff.changed_processes {
        for ch in &c.changes {
            t.push(vec![
                text("changed"),
                text("process"),
                Cell::Null,
                Cell::UInt(c.pid),
                text(&c.name),
                c.offset.into(),
                text(&ch.field),
                value_cell(&ch.old),
                value_cell(&ch.new),
            ]);
        }
    }
    t
}

/// Writes `diff` as rectangular CSV: [`diff_table`] through the CSV writer (header row, one
/// record per row, text cells guarded against formula injection).
pub fn write_diff_csv(w: &mut dyn Write, diff: &ReportDiff) -> io::Result<()> {
    write_table_csv(w, &diff_table(diff))
}
