//! CSV output: cells from a capture cannot run as spreadsheet formulas, and every report table
//! is rectangular.

use std::path::Path;

use memtriage_report::{
    csv_safe_text, read_report, report_table, write_table_csv, Cell, Column, ColumnKind,
    ReportTableKind, Table,
};

fn csv(table: &Table) -> String {
    let mut out = Vec::new();
    write_table_csv(&mut out, table).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn formula_cells_are_neutralised() {
    let mut t = Table::new(
        "t",
        vec![
            Column::new("text", ColumnKind::Text),
            Column::new("int", ColumnKind::Int),
        ],
    );
    for s in [
        "=cmd|' /C calc'!A0",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "a=b",
        "",
    ] {
        t.push(vec![Cell::Text(s.into()), Cell::Int(-5)]);
    }
    assert_eq!(
        csv(&t),
        concat!(
            "text,int\n",
            "'=cmd|' /C calc'!A0,-5\n",
            "'+1+1,-5\n",
            "'-2+3,-5\n",
            "'@SUM(A1),-5\n",
            "'\tx,-5\n",
            "\"'\rx\",-5\n",
            "a=b,-5\n",
            ",-5\n",
        )
    );
    assert_eq!(csv_safe_text("notepad.exe"), "notepad.exe");
    assert_eq!(csv_safe_text("=1"), "'=1");
}

#[test]
fn report_tables_are_rectangular() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/samples/win10-19041.report.json");
    let report = read_report(&path).expect("sample report");
    let regions: usize = report.processes.iter().map(|p| p.regions.len()).sum();
    let modules: usize = report.processes.iter().map(|p| p.modules.len()).sum();
    for (kind, columns, rows) in [
        (ReportTableKind::Findings, 8, report.findings.len()),
        (ReportTableKind::Processes, 11, report.processes.len()),
        (ReportTableKind::Regions, 11, regions),
        (ReportTableKind::Modules, 9, modules),
        (
            ReportTableKind::KernelModules,
            4,
            report.kernel_modules.len(),
        ),
    ] {
        let text = csv(&report_table(&report, kind));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(text.as_bytes());
        assert_eq!(reader.headers().expect("header").len(), columns, "{kind:?}");
        let records: Vec<csv::StringRecord> = reader
            .records()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{kind:?}: not rectangular: {e}"));
        assert_eq!(records.len(), rows, "{kind:?}");
    }
    assert_eq!(regions, 206);
}
