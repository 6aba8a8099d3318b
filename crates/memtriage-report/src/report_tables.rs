//! Flat tables of a report's lists, as `report --format csv --table …` writes them.

use crate::model::Report;
use crate::table::{Cell, Column, ColumnKind, Table};
use crate::writers::{findings_table, kernel_modules_table};

/// The tables of a report that `report --format csv` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReportTableKind {
    /// One row per finding ([`findings_table`]).
    #[default]
    Findings,
    /// One row per process ([`process_list_table`]).
    Processes,
    /// One row per user-space region ([`regions_table`]).
    Regions,
    /// One row per user-mode module ([`modules_table`]).
    Modules,
    /// One row per kernel module ([`kernel_modules_table`]).
    KernelModules,
}

/// The flat table of `kind` built from `report`.
pub fn report_table(report: &Report, kind: ReportTableKind) -> Table {
    match kind {
        ReportTableKind::Findings => findings_table(report),
        ReportTableKind::Processes => process_list_table(report),
        ReportTableKind::Regions => regions_table(report),
        ReportTableKind::Modules => modules_table(report),
        ReportTableKind::KernelModules => kernel_modules_table(report),
    }
}

fn col(name: &str, kind: ColumnKind) -> Column {
    Column::new(name, kind)
}

/// Every process as one flat row (pid, ppid, name, image_path, command_line, create_time,
/// exit_time, threads, wow64, hidden, offset), in report order.
pub fn process_list_table(report: &Report) -> Table {
    let mut t = Table::new(
        "Processes",
        vec![
            col("pid", ColumnKind::Int),
            col("ppid", ColumnKind::Int),
            col("name", ColumnKind::Text),
            col("image_path", ColumnKind::Text),
            col("command_line", ColumnKind::Text),
            col("create_time", ColumnKind::Time),
            col("exit_time", ColumnKind::Time),
            col("threads", ColumnKind::Int),
            col("wow64", ColumnKind::Bool),
            col("hidden", ColumnKind::Bool),
            col("offset", ColumnKind::Hex),
        ],
    );
    for p in &report.processes {
        t.push(vec![
            Cell::UInt(p.pid),
            Cell::UInt(p.ppid),
            Cell::Text(p.name.clone()),
            p.image_path.clone().into(),
            p.command_line.clone().into(),
            p.create_time.clone().map_or(Cell::Null, Cell::Time),
            p.exit_time.clone().map_or(Cell::Null, Cell::Time),
            Cell::UInt(p.threads),
            Cell::Bool(p.wow64),
            Cell::Bool(p.hidden),
            p.offset.into(),
        ]);
    }
    t
}

/// Every user-space region with its process (pid, process, start, end, type, category, state,
/// protection, private, commit_charge, file), processes in report order.
pub fn regions_table(report: &Report) -> Table {
    let mut t = Table::new(
        "Regions",
        vec![
            col("pid", ColumnKind::Int),
            col("process", ColumnKind::Text),
            col("start", ColumnKind::Hex),
            col("end", ColumnKind::Hex),
            col("type", ColumnKind::Text),
            col("category", ColumnKind::Text),
            col("state", ColumnKind::Text),
            col("protection", ColumnKind::Text),
            col("private", ColumnKind::Bool),
            col("commit_charge", ColumnKind::Int),
            col("file", ColumnKind::Text),
        ],
    );
    for p in &report.processes {
        for r in &p.regions {
            t.push(vec![
                Cell::UInt(p.pid),
                Cell::Text(p.name.clone()),
                r.start.into(),
                r.end.into(),
                Cell::Text(r.r#type.to_string()),
                Cell::Text(r.category.name().to_owned()),
                Cell::Text(r.state.name().to_owned()),
                Cell::Text(r.protection.clone()),
                Cell::Bool(r.private),
                Cell::UInt(r.commit_charge),
                r.file.clone().into(),
            ]);
        }
    }
    t
}

/// Every user-mode module with its process (pid, process, base, size, name, path, in_load,
/// in_mem, in_init), processes in report order.
pub fn modules_table(report: &Report) -> Table {
    let mut t = Table::new(
        "Modules",
        vec![
            col("pid", ColumnKind::Int),
            col("process", ColumnKind::Text),
            col("base", ColumnKind::Hex),
            col("size", ColumnKind::Hex),
            col("name", ColumnKind::Text),
            col("path", ColumnKind::Text),
            col("in_load", ColumnKind::Bool),
            col("in_mem", ColumnKind::Bool),
            col("in_init", ColumnKind::Bool),
        ],
    );
    for p in &report.processes {
        for m in &p.modules {
            t.push(vec![
                Cell::UInt(p.pid),
                Cell::Text(p.name.clone()),
                m.base.into(),
                m.size.into(),
                Cell::Text(m.name.clone()),
                Cell::Text(m.path.clone()),
                Cell::Bool(m.in_load),
                Cell::Bool(m.in_mem),
                Cell::Bool(m.in_init),
            ]);
        }
    }
    t
}
