//! JSON, JSON Lines (ECS), human table and CSV writers.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use crate::model::{Finding, Process, Report, Severity};
use crate::table::{
    render_aligned, tree_order, truncate_to_width, wrap_to_width, Cell, Column, ColumnKind, Table,
    TextLayout,
};

// ---------------------------------------------------------------------------------------------
// JSON

/// Writes `report` as pretty JSON (two-space indent) followed by a newline.
pub fn write_report_json(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

/// The JSON object of one row, keyed by column name.
fn row_object(table: &Table, row: &[Cell]) -> Map<String, Value> {
    // Keys in alphabetical order whatever serde_json's features (see `crate::canonical`).
    let sorted: std::collections::BTreeMap<String, Value> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.clone(), Table::cell(row, i).to_json()))
        .collect();
    sorted.into_iter().collect()
}

/// Writes `table` as pretty JSON followed by a newline:
/// `{"title": …, "columns": [{"name", "kind"}…], "rows": [{column: value…}…]}`.
///
/// Rows are objects keyed by column name (Hex cells as `"0x…"` strings, missing cells as
/// `null`). For a tree table each row also has a `children` array holding its child rows.
pub fn write_table_json(w: &mut dyn Write, table: &Table) -> io::Result<()> {
    if table.is_tree() {
        let doc = crate::canonical::sorted(json!({
            "title": table.title,
            "columns": table.columns,
            "rows": nest_rows(table),
        }));
        serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::from)?;
    } else {
        // Flat tables are streamed row by row (same bytes as the document above, keys in
        // alphabetical order), so a table of a million rows never exists twice in memory.
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            columns: Value,
            rows: Rows<'a>,
            title: &'a str,
        }
        struct Rows<'a>(&'a Table);
        impl serde::Serialize for Rows<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeSeq;
                let mut seq = s.serialize_seq(Some(self.0.rows.len()))?;
                for r in &self.0.rows {
                    seq.serialize_element(&row_object(self.0, r))?;
                }
                seq.end()
            }
        }
        let doc = Doc {
            // Through a Value, like the tree form: keys sorted.
            columns: crate::canonical::sorted(
                serde_json::to_value(&table.columns).map_err(io::Error::from)?,
            ),
            rows: Rows(table),
            title: &table.title,
        };
        serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::from)?;
    }
    w.write_all(b"\n")
}

/// Builds nested row objects from the pre-order rows and depths of a tree table.
fn nest_rows(table: &Table) -> Vec<Value> {
    // stack[d] holds the open row at depth d; closing a row moves it into its parent.
    let mut roots: Vec<Value> = Vec::new();
    let mut stack: Vec<Map<String, Value>> = Vec::new();
    fn close(stack: &mut Vec<Map<String, Value>>, roots: &mut Vec<Value>) {
        if let Some(done) = stack.pop() {
            let done = Value::Object(done);
            match stack.last_mut() {
                Some(parent) => {
                    if let Some(Value::Array(c)) = parent.get_mut("children") {
                        c.push(done);
                    }
                }
                None => roots.push(done),
            }
        }
    }
    for (i, row) in table.rows.iter().enumerate() {
        // A depth may not skip levels: clamp it to one below the current open row.
        let depth = (table.depth(i) as usize).min(stack.len());
        while stack.len() > depth {
            close(&mut stack, &mut roots);
        }
        let mut obj = row_object(table, row);
        obj.insert("children".to_owned(), Value::Array(Vec::new()));
        stack.push(obj);
    }
    while !stack.is_empty() {
        close(&mut stack, &mut roots);
    }
    roots
}

// ---------------------------------------------------------------------------------------------
// JSON Lines (ECS)

/// Options of the JSON Lines writer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonlOptions {
    /// Value of `host.name` in every event (omitted when `None`).
    pub host_name: Option<String>,
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        map.insert(key.to_owned(), v);
    }
}

fn opt_str(v: Option<&String>) -> Option<Value> {
    v.map(|s| Value::String(s.clone()))
}

/// The Elastic Common Schema version the JSON Lines events follow (`ecs.version` of every
/// event). `tests/ecs/check.sh` validates the events against the field definitions of this
/// version (the `@elastic/ecs` npm package of the same version).
pub const ECS_VERSION: &str = "9.4.0";

/// Fields shared by every event: `@timestamp`, `ecs.version`, `host`, and `memtriage.schema` /
/// `.image`.
fn base_event(report: &Report, opts: &JsonlOptions) -> (Map<String, Value>, Map<String, Value>) {
    let mut ev = Map::new();
    ev.insert("ecs".to_owned(), json!({ "version": ECS_VERSION }));
    insert_opt(
        &mut ev,
        "@timestamp",
        opt_str(report.system.system_time.as_ref()),
    );
    if let Some(host) = &opts.host_name {
        ev.insert("host".to_owned(), json!({ "name": host }));
    }
    let mut mt = Map::new();
    mt.insert("schema".to_owned(), json!(report.schema));
    let mut image = Map::new();
    image.insert("path".to_owned(), json!(report.image.path));
    image.insert("format".to_owned(), json!(report.image.format));
    insert_opt(&mut image, "sha256", opt_str(report.image.sha256.as_ref()));
    mt.insert("image".to_owned(), Value::Object(image));
    (ev, mt)
}

/// ECS `process.*` of a process (pid, name, parent.pid, executable, command_line, start, end).
fn ecs_process(p: &Process) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("pid".to_owned(), json!(p.pid));
    m.insert("name".to_owned(), json!(p.name));
    m.insert("parent".to_owned(), json!({ "pid": p.ppid }));
    insert_opt(&mut m, "executable", opt_str(p.image_path.as_ref()));
    insert_opt(&mut m, "command_line", opt_str(p.command_line.as_ref()));
    insert_opt(&mut m, "start", opt_str(p.create_time.as_ref()));
    insert_opt(&mut m, "end", opt_str(p.exit_time.as_ref()));
    m
}

/// Numeric `event.severity` of a severity (info 1, low 2, medium 3, high 4).
fn severity_number(s: Severity) -> u64 {
    match s {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
    }
}

fn process_event(report: &Report, p: &Process, opts: &JsonlOptions) -> Value {
    let (mut ev, mut mt) = base_event(report, opts);
    ev.insert(
        "event".to_owned(),
        json!({
            "kind": "event",
            "category": ["process"],
            "type": ["info"],
            "module": "memtriage",
            "dataset": "memtriage.process",
        }),
    );
    ev.insert("process".to_owned(), Value::Object(ecs_process(p)));
    mt.insert("offset".to_owned(), json!(p.offset));
    mt.insert("wow64".to_owned(), json!(p.wow64));
    mt.insert("hidden".to_owned(), json!(p.hidden));
    mt.insert("threads".to_owned(), json!(p.threads));
    mt.insert("region_count".to_owned(), json!(p.regions.len()));
    mt.insert("module_count".to_owned(), json!(p.modules.len()));
    ev.insert("memtriage".to_owned(), Value::Object(mt));
    Value::Object(ev)
}

fn finding_event(report: &Report, f: &Finding, opts: &JsonlOptions) -> Value {
    let (mut ev, mut mt) = base_event(report, opts);
    ev.insert(
        "event".to_owned(),
        json!({
            "kind": "alert",
            "category": ["malware"],
            "type": ["info"],
            "module": "memtriage",
            "dataset": "memtriage.finding",
            "severity": severity_number(f.severity),
        }),
    );
    ev.insert("message".to_owned(), json!(f.description));
    ev.insert(
        "rule".to_owned(),
        json!({ "id": f.rule, "name": f.rule, "ruleset": "memtriage" }),
    );
    if !f.mitre.is_empty() {
        ev.insert(
            "threat".to_owned(),
            json!({ "framework": "MITRE ATT&CK", "technique": { "id": f.mitre } }),
        );
    }
    if let Some(pid) = f.pid {
        let mut proc_map = match report.process_for(pid, f.process.as_deref()) {
            Some(p) => ecs_process(p),
            None => {
                let mut m = Map::new();
                m.insert("pid".to_owned(), json!(pid));
                m
            }
        };
        // The finding's own process name wins (it is what the detector saw).
        insert_opt(&mut proc_map, "name", opt_str(f.process.as_ref()));
        ev.insert("process".to_owned(), Value::Object(proc_map));
    }
    mt.insert("severity".to_owned(), json!(f.severity));
    insert_opt(&mut mt, "address", f.address.map(|a| json!(a)));
    insert_opt(&mut mt, "end", f.end.map(|a| json!(a)));
    mt.insert("evidence".to_owned(), json!(f.evidence));
    ev.insert("memtriage".to_owned(), Value::Object(mt));
    Value::Object(ev)
}

fn write_line(w: &mut dyn Write, v: &Value) -> io::Result<()> {
    let v = crate::canonical::sorted(v.clone());
    serde_json::to_writer(&mut *w, &v).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

/// Writes `report` as JSON Lines for SIEM ingestion: one self-contained ECS event per process
/// (`event.kind: "event"`), then one per finding (`event.kind: "alert"`), in report order.
/// See docs/report.md for the field mapping.
pub fn write_report_jsonl(
    w: &mut dyn Write,
    report: &Report,
    opts: &JsonlOptions,
) -> io::Result<()> {
    for p in &report.processes {
        write_line(w, &process_event(report, p, opts))?;
    }
    for f in &report.findings {
        write_line(w, &finding_event(report, f, opts))?;
    }
    Ok(())
}

/// Writes `table` as JSON Lines: one object per row keyed by column name; tree tables add a
/// `depth` key (unless a column already has that name).
pub fn write_table_jsonl(w: &mut dyn Write, table: &Table) -> io::Result<()> {
    let add_depth = table.is_tree() && !table.columns.iter().any(|c| c.name == "depth");
    for (i, row) in table.rows.iter().enumerate() {
        let mut obj = row_object(table, row);
        if add_depth {
            obj.insert("depth".to_owned(), json!(table.depth(i)));
        }
        write_line(w, &Value::Object(obj))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Neutralises a text cell for spreadsheets (CSV injection): a cell starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading `'`, so that spreadsheet programs show
/// it as text instead of evaluating it as a formula.
pub fn csv_safe_text(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// The CSV field of a cell: text from a capture through [`csv_safe_text`], the rest as
/// [`Cell::to_plain`] (numbers, `0x…` hex, booleans and times cannot start a formula).
fn csv_field(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) | Cell::Time(s) => csv_safe_text(s).into_owned(),
        other => other.to_plain(),
    }
}

/// Writes `table` as CSV (RFC 4180 quoting): a header row of column names, then one record per
/// row (`Null` is an empty field, Hex is `0x…`, text neutralised against CSV injection by
/// [`csv_safe_text`]). Tree tables get a trailing `depth` column (unless a column already has
/// that name).
pub fn write_table_csv(w: &mut dyn Write, table: &Table) -> io::Result<()> {
    let add_depth = table.is_tree() && !table.columns.iter().any(|c| c.name == "depth");
    let mut csv = csv::WriterBuilder::new()
        .flexible(false)
        .from_writer(&mut *w);
    let mut header: Vec<String> = table
        .columns
        .iter()
        .map(|c| csv_safe_text(&c.name).into_owned())
        .collect();
    if add_depth {
        header.push("depth".to_owned());
    }
    csv.write_record(&header).map_err(csv_err)?;
    for (i, row) in table.rows.iter().enumerate() {
        let mut rec: Vec<String> = (0..table.columns.len())
            .map(|c| csv_field(Table::cell(row, c)))
            .collect();
        if add_depth {
            rec.push(table.depth(i).to_string());
        }
        csv.write_record(&rec).map_err(csv_err)?;
    }
    csv.flush()
}

fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Human tables

/// Escapes control characters (newlines, escape sequences …) so that text from a capture cannot
/// break the layout or drive the terminal.
fn escape_text(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        if ch.is_control() {
            out.extend(ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    out
}

fn cell_display(cell: &Cell) -> String {
    match cell {
        Cell::Null => "-".to_owned(),
        Cell::Text(s) | Cell::Time(s) => escape_text(s),
        other => other.to_plain(),
    }
}

/// Writes aligned rows (see [`render_aligned`]) with header names escaped.
fn write_aligned_with(
    w: &mut dyn Write,
    columns: &[Column],
    rows: &[Vec<String>],
    indent: &dyn Fn(usize) -> usize,
    details: &[Vec<String>],
    max_width: Option<usize>,
) -> io::Result<()> {
    let columns: Vec<Column> = columns
        .iter()
        .map(|c| Column::new(escape_text(&c.name), c.kind))
        .collect();
    for line in render_aligned(&columns, rows, indent, details, max_width) {
        writeln!(w, "{line}")?;
    }
    Ok(())
}

/// Writes `table` for humans: the title (when not empty), then aligned columns (header, a line
/// of dashes, rows; `Null` shown as `-`). A tree table indents its first column by two spaces
/// per depth level.
pub fn write_table(w: &mut dyn Write, table: &Table) -> io::Result<()> {
    write_table_with(w, table, &TextLayout::default())
}

/// Writes `table` like [`write_table`], laid out by `layout`: text cells cut with `…` to fit
/// `layout.max_width`, and `layout.detail_columns` printed on their own lines under each row
/// (one line per `\n` in the cell, control characters escaped).
pub fn write_table_with(w: &mut dyn Write, table: &Table, layout: &TextLayout) -> io::Result<()> {
    if !table.title.is_empty() {
        let title = escape_text(&table.title);
        match layout.max_width {
            Some(max) => writeln!(w, "{}", truncate_to_width(&title, max))?,
            None => writeln!(w, "{title}")?,
        }
    }
    let grid: Vec<usize> = (0..table.columns.len())
        .filter(|&c| {
            table
                .columns
                .get(c)
                .is_some_and(|col| !layout.is_detail(&col.name))
        })
        .collect();
    let columns: Vec<Column> = grid
        .iter()
        .filter_map(|&c| table.columns.get(c).cloned())
        .collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            grid.iter()
                .map(|&c| cell_display(Table::cell(r, c)))
                .collect()
        })
        .collect();
    let details: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|r| {
            (0..table.columns.len())
                .filter(|&c| {
                    table
                        .columns
                        .get(c)
                        .is_some_and(|col| layout.is_detail(&col.name))
                })
                .flat_map(|c| {
                    Table::cell(r, c)
                        .to_plain()
                        .lines()
                        .filter(|l| !l.is_empty())
                        .map(escape_text)
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .collect();
    write_aligned_with(
        w,
        &columns,
        &rows,
        &|i| table.depth(i) as usize,
        &details,
        layout.max_width,
    )
}

fn col(name: &str, kind: ColumnKind) -> Column {
    Column::new(name, kind)
}

/// The process tree of a report as a tree [`Table`] (pid, ppid, name, threads, wow64, hidden,
/// create_time, offset), children under their parent (by ppid), siblings in report order.
pub fn processes_table(report: &Report) -> Table {
    let mut t = Table::new(
        "Processes",
        vec![
            col("pid", ColumnKind::Int),
            col("ppid", ColumnKind::Int),
            col("name", ColumnKind::Text),
            col("threads", ColumnKind::Int),
            col("wow64", ColumnKind::Bool),
            col("hidden", ColumnKind::Bool),
            col("create_time", ColumnKind::Time),
            col("offset", ColumnKind::Hex),
        ],
    );
    let nodes: Vec<(u64, u64)> = report.processes.iter().map(|p| (p.pid, p.ppid)).collect();
    for (i, depth) in tree_order(&nodes) {
        if let Some(p) = report.processes.get(i) {
            t.push_at_depth(
                depth,
                vec![
                    Cell::UInt(p.pid),
                    Cell::UInt(p.ppid),
                    Cell::Text(p.name.clone()),
                    Cell::UInt(p.threads),
                    Cell::Bool(p.wow64),
                    Cell::Bool(p.hidden),
                    p.create_time.clone().map_or(Cell::Null, Cell::Time),
                    Cell::Hex(p.offset.0),
                ],
            );
        }
    }
    t
}

/// The findings of a report as a flat [`Table`] (severity, rule, pid, process, address, end,
/// description, mitre), in report order.
pub fn findings_table(report: &Report) -> Table {
    let mut t = Table::new(
        "Findings",
        vec![
            col("severity", ColumnKind::Text),
            col("rule", ColumnKind::Text),
            col("pid", ColumnKind::Int),
            col("process", ColumnKind::Text),
            col("address", ColumnKind::Hex),
            col("end", ColumnKind::Hex),
            col("description", ColumnKind::Text),
            col("mitre", ColumnKind::Text),
        ],
    );
    for f in &report.findings {
        t.push(vec![
            Cell::Text(f.severity.to_string()),
            Cell::Text(f.rule.clone()),
            f.pid.into(),
            f.process.clone().into(),
            f.address.into(),
            f.end.into(),
            Cell::Text(f.description.clone()),
            Cell::Text(f.mitre.join(",")),
        ]);
    }
    t
}

/// The kernel modules of a report as a flat [`Table`] (base, size, name, path).
pub fn kernel_modules_table(report: &Report) -> Table {
    let mut t = Table::new(
        "Kernel modules",
        vec![
            col("base", ColumnKind::Hex),
            col("size", ColumnKind::Hex),
            col("name", ColumnKind::Text),
            col("path", ColumnKind::Text),
        ],
    );
    for m in &report.kernel_modules {
        t.push(vec![
            m.base.into(),
            m.size.into(),
            Cell::Text(m.name.clone()),
            Cell::Text(m.path.clone()),
        ]);
    }
    t
}

fn opt_display<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| escape_text(&v.to_string()))
}

/// Writes the human summary of `report`: header, system block, process tree, findings
/// (severity, rule, pid, process, address range, description), counts and warnings.
pub fn write_report_table(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    write_report_table_with(w, report, &TextLayout::default())
}

/// Writes the human summary of `report` like [`write_report_table`], its process and finding
/// tables laid out by `layout` (text cells cut with `…` to fit `layout.max_width`).
pub fn write_report_table_with(
    w: &mut dyn Write,
    report: &Report,
    layout: &TextLayout,
) -> io::Result<()> {
    writeln!(
        w,
        "{} {} report ({})",
        escape_text(&report.tool.name),
        escape_text(&report.tool.version),
        escape_text(&report.schema)
    )?;
    writeln!(
        w,
        "Image: {} ({}, {} bytes)",
        escape_text(&report.image.path),
        escape_text(&report.image.format),
        report.image.size
    )?;
    if let Some(sha) = &report.image.sha256 {
        writeln!(w, "SHA-256: {}", escape_text(sha))?;
    }
    let s = &report.system;
    writeln!(w)?;
    writeln!(w, "System")?;
    let sys: [(&str, String); 8] = [
        ("build", opt_display(s.build)),
        ("version", opt_display(s.version.as_ref())),
        ("dtb", opt_display(s.dtb)),
        ("kernel_base", opt_display(s.kernel_base)),
        ("pdb_guid", opt_display(s.pdb_guid.as_ref())),
        ("profile", opt_display(s.profile.as_ref())),
        ("system_time", opt_display(s.system_time.as_ref())),
        ("processors", opt_display(s.processors)),
    ];
    for (k, v) in sys {
        writeln!(w, "  {k:<12} {v}")?;
    }

    writeln!(w)?;
    writeln!(w, "Processes ({})", report.processes.len())?;
    let mut procs = processes_table(report);
    procs.title.clear();
    write_table_with(w, &procs, layout)?;

    writeln!(w)?;
    writeln!(
        w,
        "Findings ({}, {} suppressed)",
        report.findings.len(),
        report.suppressed
    )?;
    let columns = [
        col("severity", ColumnKind::Text),
        col("rule", ColumnKind::Text),
        col("pid", ColumnKind::Int),
        col("process", ColumnKind::Text),
        // A range of addresses: never cut (Hex columns keep their width).
        col("address", ColumnKind::Hex),
        col("description", ColumnKind::Text),
    ];
    let rows: Vec<Vec<String>> = report
        .findings
        .iter()
        .map(|f| {
            let range = match (f.address, f.end) {
                (Some(a), Some(e)) => format!("{a}-{e}"),
                (Some(a), None) => a.to_string(),
                (None, Some(e)) => format!("-{e}"),
                (None, None) => "-".to_owned(),
            };
            vec![
                f.severity.to_string(),
                escape_text(&f.rule),
                opt_display(f.pid),
                opt_display(f.process.as_ref()),
                range,
                escape_text(&f.description),
            ]
        })
        .collect();
    write_aligned_with(w, &columns, &rows, &|_| 0, &[], layout.max_width)?;

    writeln!(w)?;
    let mut by_sev = [0usize; 4];
    for f in &report.findings {
        if let Some(n) = by_sev.get_mut(f.severity as usize) {
            *n += 1;
        }
    }
    let summary = format!(
        "Summary: {} processes ({} hidden), {} kernel modules, {} findings (high {}, medium {}, low {}, info {}), {} suppressed, {} warnings",
        report.processes.len(),
        report.processes.iter().filter(|p| p.hidden).count(),
        report.kernel_modules.len(),
        report.findings.len(),
        by_sev[3],
        by_sev[2],
        by_sev[1],
        by_sev[0],
        report.suppressed,
        report.warnings.len()
    );
    write_wrapped(w, &summary, "", "  ", layout.max_width)?;
    if !report.warnings.is_empty() {
        writeln!(w)?;
        writeln!(w, "Warnings ({})", report.warnings.len())?;
        for warning in &report.warnings {
            write_wrapped(w, &escape_text(warning), "  - ", "    ", layout.max_width)?;
        }
    }
    Ok(())
}

/// Writes `text` after `first` (the first line's prefix), wrapped to `max_width` with
/// continuation lines starting with `rest`; one line when there is no limit.
fn write_wrapped(
    w: &mut dyn Write,
    text: &str,
    first: &str,
    rest: &str,
    max_width: Option<usize>,
) -> io::Result<()> {
    let Some(max) = max_width else {
        return writeln!(w, "{first}{text}");
    };
    let room = max.saturating_sub(first.chars().count().max(rest.chars().count()));
    for (i, line) in wrap_to_width(text, room).iter().enumerate() {
        writeln!(w, "{}{line}", if i == 0 { first } else { rest })?;
    }
    Ok(())
}
