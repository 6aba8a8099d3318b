//! Subcommand dispatch.

use crate::args::{
    Cli, Command, DiffArgs, Format, InfoArgs, OverrideArgs, PluginArgs, ReportArgs, ReportFormat,
    ReportTable, RulesArgs, VtopArgs,
};
use crate::output::{resolve, resolve_report, to_stdout, write, Progress};
use clap::{Args, CommandFactory, FromArgMatches};
use memtriage_analysis::report::{build_report, system_block};
use memtriage_analysis::{registry, Plugin, PluginOptions, Session, SessionOptions};
use memtriage_paging::{level_name, AddressSpace};
use memtriage_report::{
    diff, fail_on, read_report, write_diff_json, write_diff_table, write_report_json,
    write_report_jsonl, write_report_table, Cell, Column, ColumnKind, Finding, JsonlOptions,
    Report, Severity, SuppressionList, Table,
};
use memtriage_windows::Overrides;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Parse the command line and run; returns the exit code or a one-line error.
pub fn run() -> Result<u8, String> {
    let plugins = registry();
    let mut cmd = Cli::command();
    for p in &plugins {
        cmd =
            cmd.subcommand(PluginArgs::augment_args(clap::Command::new(p.name())).about(p.about()));
    }
    let matches = cmd.get_matches();
    let Some((name, sub)) = matches.subcommand() else {
        return Err("no command given (see --help)".into());
    };
    if let Some(plugin) = plugins.iter().find(|p| p.name() == name) {
        let args = PluginArgs::from_arg_matches(sub).map_err(|e| e.to_string())?;
        return run_plugin(plugin.as_ref(), &args);
    }
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Info(a) => info(&a),
        Command::Vtop(a) => vtop(&a),
        Command::Report(a) => report(&a),
        Command::Diff(a) => diff_cmd(&a),
        Command::Rules(a) => rules(&a),
    }
}

fn overrides(o: &OverrideArgs) -> Overrides {
    Overrides {
        dtb: o.dtb,
        kernel_base: o.kernel_base,
        isf: o.isf.clone(),
        pdb: o.pdb.clone(),
        build: o.build,
        la57: o.la57,
    }
}

fn open_session(image: &Path, o: &OverrideArgs) -> Result<Session, String> {
    Session::open(
        image,
        SessionOptions {
            overrides: overrides(o),
            user_dtb: o.user_dtb,
        },
    )
    .map_err(|e| e.to_string())
}

fn print_warnings(warnings: &[String], quiet: bool) {
    if quiet {
        return;
    }
    let mut seen = std::collections::HashSet::new();
    for w in warnings {
        if seen.insert(w) {
            eprintln!("memtriage: warning: {w}");
        }
    }
}

fn run_plugin(plugin: &dyn Plugin, args: &PluginArgs) -> Result<u8, String> {
    let session = open_session(&args.capture.image, &args.capture.overrides)?;
    let format = resolve(args.output.format);
    let total = session.memory().total_bytes();
    let progress = if matches!(plugin.name(), "psscan" | "ldrmodules" | "malfind") {
        Some(Progress::bytes(
            "scanning",
            total,
            session.scan_progress.clone(),
            args.output.quiet,
        ))
    } else {
        None
    };
    let options = PluginOptions {
        pids: args.pid.clone(),
        wow64: args.wow64,
    };
    let out = plugin.run(&session, &options).map_err(|e| e.to_string())?;
    drop(progress);
    let mut warnings = session.warnings();
    warnings.extend(out.warnings.iter().cloned());
    print_warnings(&warnings, args.output.quiet);
    to_stdout(|w| {
        write(w, &out.table, format)?;
        if !out.findings.is_empty() && format == Format::Table {
            writeln!(w)?;
            write(w, &findings_table(&out.findings), format)?;
        }
        Ok(())
    })?;
    Ok(match args.fail_on {
        Some(level) if fail_on(&out.findings, level) => 1,
        _ => 0,
    })
}

fn findings_table(findings: &[Finding]) -> Table {
    let mut t = Table::new(
        "findings",
        vec![
            Column::new("severity", ColumnKind::Text),
            Column::new("rule", ColumnKind::Text),
            Column::new("pid", ColumnKind::Int),
            Column::new("process", ColumnKind::Text),
            Column::new("address", ColumnKind::Hex),
            Column::new("description", ColumnKind::Text),
        ],
    );
    for f in findings {
        t.push(vec![
            Cell::Text(f.severity.to_string()),
            Cell::Text(f.rule.clone()),
            f.pid.map_or(Cell::Null, Cell::UInt),
            f.process.clone().map_or(Cell::Null, Cell::Text),
            f.address.map_or(Cell::Null, |h| Cell::Hex(h.0)),
            Cell::Text(f.description.clone()),
        ]);
    }
    t
}

fn hex(v: u64) -> Value {
    Value::String(format!("{v:#x}"))
}

fn info(a: &InfoArgs) -> Result<u8, String> {
    let session = open_session(&a.capture.image, &a.capture.overrides)?;
    let mem = session.memory();
    let meta = mem.metadata();
    let ranges = mem.ranges();
    let mut doc = json!({
        "image": a.capture.image.display().to_string(),
        "format": meta.format.name(),
        "file_size": meta.file_size,
        "physical_ranges": {
            "count": ranges.len(),
            "total_bytes": mem.total_bytes(),
            "first": ranges.first().map(|r| json!({"start": hex(r.start), "end": hex(r.end())})),
            "last": ranges.last().map(|r| json!({"start": hex(r.start), "end": hex(r.end())})),
        },
    });
    if let Some(h) = &meta.crash_dump {
        doc["crash_dump"] = json!({
            "dump_type": h.dump_type,
            "major_version": h.major_version,
            "minor_version": h.minor_version,
            "directory_table_base": hex(h.directory_table_base),
            "pfn_database": hex(h.pfn_database),
            "ps_loaded_module_list": hex(h.ps_loaded_module_list),
            "ps_active_process_head": hex(h.ps_active_process_head),
            "machine_image_type": hex(u64::from(h.machine_image_type)),
            "number_processors": h.number_processors,
            "bugcheck_code": hex(u64::from(h.bugcheck_code)),
            "bugcheck_parameters": h.bugcheck_parameters.iter().map(|v| hex(*v)).collect::<Vec<_>>(),
            "kd_debugger_data_block": hex(h.kd_debugger_data_block),
            "system_time": memtriage_report::filetime_to_iso(h.system_time),
            "number_of_pages": h.number_of_pages,
            "runs": h.runs.iter().map(|(b, c)| json!({"base_page": hex(*b), "page_count": hex(*c)})).collect::<Vec<_>>(),
        });
    }
    if let Some(t) = &meta.triage {
        doc["triage"] = json!({
            "driver_count": t.driver_count,
            "data_block_count": t.data_block_count,
            "note": "a triage dump holds no full physical memory image",
        });
    }
    if let Some(c) = &meta.elf_cpu {
        doc["elf_cpu"] = json!({"cr0": hex(c.cr0), "cr3": hex(c.cr3), "cr4": hex(c.cr4)});
    }
    let mut warnings = meta.warnings.clone();
    if ranges.is_empty() {
        doc["kernel"] = json!({"error": "the capture holds no physical memory"});
    } else {
        match (session.kernel(), system_block(&session)) {
            (Ok(k), Ok(sys)) => {
                doc["kernel"] = json!({
                    "dtb": hex(k.dtb),
                    "dtb_source": k.dtb_source,
                    "kernel_base": hex(k.base),
                    "build": k.build,
                    "nt_build_number": k.nt_build_number.map(|n| hex(u64::from(n))),
                    "version": sys.version,
                    "pdb_guid": k.pdb.as_ref().map(|p| p.guid.clone()),
                    "pdb_age": k.pdb.as_ref().map(|p| p.age),
                    "profile": k.profile.source.name,
                    "profile_match": format!("{:?}", k.match_kind),
                    "processors": k.processors,
                    "system_time": sys.system_time,
                    "ps_active_process_head": k.ps_active_process_head.map(hex),
                    "ps_loaded_module_list": k.ps_loaded_module_list.map(hex),
                    "system_eprocess": hex(k.system_eprocess),
                    "steps": k.steps,
                });
                warnings.extend(k.warnings.iter().cloned());
            }
            (Err(e), _) | (_, Err(e)) => {
                doc["kernel"] = json!({"error": e.to_string()});
                warnings.push(format!("kernel not found: {e}"));
            }
        }
    }
    doc["warnings"] = json!(warnings);
    let format = resolve(a.format);
    to_stdout(|w| match format {
        Format::Json | Format::Jsonl => {
            if format == Format::Json {
                serde_json::to_writer_pretty(&mut *w, &doc)?;
            } else {
                serde_json::to_writer(&mut *w, &doc)?;
            }
            writeln!(w)
        }
        Format::Table | Format::Csv => {
            let mut t = Table::new(
                "info",
                vec![
                    Column::new("field", ColumnKind::Text),
                    Column::new("value", ColumnKind::Text),
                ],
            );
            flatten("", &doc, &mut t);
            write(w, &t, format)
        }
    })?;
    Ok(0)
}

fn flatten(prefix: &str, v: &Value, t: &mut Table) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, t);
            }
        }
        Value::Array(a) if a.iter().all(|x| x.is_object()) && !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, t);
            }
        }
        Value::Null => t.push(vec![Cell::Text(prefix.to_string()), Cell::Null]),
        Value::String(s) => t.push(vec![Cell::Text(prefix.to_string()), Cell::Text(s.clone())]),
        other => t.push(vec![
            Cell::Text(prefix.to_string()),
            Cell::Text(other.to_string()),
        ]),
    }
}

fn vtop(a: &VtopArgs) -> Result<u8, String> {
    let session = open_session(&a.capture.image, &a.capture.overrides)?;
    let space: AddressSpace = match (a.capture.overrides.dtb, a.pid) {
        (Some(dtb), _) => AddressSpace::with_mode(
            session.memory().clone(),
            dtb & !0xFFF,
            memtriage_windows::discovery::paging_mode(
                session.memory().as_ref(),
                &overrides(&a.capture.overrides),
            ),
        ),
        (None, pid) => {
            let k = session.kernel().map_err(|e| e.to_string())?;
            match pid {
                None => k.space.clone(),
                Some(pid) => {
                    let list = session.processes().map_err(|e| e.to_string())?;
                    let p = list
                        .processes
                        .iter()
                        .find(|p| p.pid == pid)
                        .ok_or_else(|| {
                            format!(
                                "{}: no process with pid {pid} on the active list",
                                a.capture.image.display()
                            )
                        })?;
                    session.process_space(k, p)
                }
            }
        }
    };
    let walk = space.walk(a.address);
    let steps: Vec<Value> = walk
        .steps
        .iter()
        .map(|s| {
            let e = s.entry;
            let mut flags = Vec::new();
            for (bit, name) in [(0, "P"), (1, "W"), (2, "U"), (5, "A"), (6, "D"), (7, "PS"), (10, "PROTO"), (11, "TRANS"), (63, "NX")] {
                if e >> bit & 1 == 1 {
                    flags.push(name);
                }
            }
            json!({"level": level_name(s.level), "index": s.index, "entry_pa": hex(s.entry_pa), "entry": hex(e), "flags": flags.join(" ")})
        })
        .collect();
    let mut doc = json!({"va": hex(a.address), "dtb": hex(space.dtb()), "levels": steps});
    match &walk.result {
        Ok(t) => {
            doc["pa"] = hex(t.pa);
            doc["page_size"] = json!(format!("{:?}", t.page_size));
            doc["state"] = json!(format!("{:?}", t.state));
            doc["writable"] = json!(t.writable);
            doc["user"] = json!(t.user);
            doc["nx"] = json!(t.nx);
            doc["in_capture"] = json!(space.memory().contains(t.pa));
        }
        Err(e) => {
            doc["error"] = json!(e.to_string());
            if let memtriage_paging::TranslateError::NotPresent { software, .. } = e {
                doc["software_state"] = serde_json::to_value(software).unwrap_or(Value::Null);
            }
        }
    }
    let format = resolve(a.format);
    to_stdout(|w| match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *w, &doc)?;
            writeln!(w)
        }
        Format::Jsonl => {
            serde_json::to_writer(&mut *w, &doc)?;
            writeln!(w)
        }
        Format::Table | Format::Csv => {
            let mut t = Table::new(
                format!("vtop {:#x} (DTB {:#x})", a.address, space.dtb()),
                vec![
                    Column::new("level", ColumnKind::Text),
                    Column::new("index", ColumnKind::Int),
                    Column::new("entry_pa", ColumnKind::Hex),
                    Column::new("entry", ColumnKind::Hex),
                    Column::new("flags", ColumnKind::Text),
                ],
            );
            for s in &walk.steps {
                t.push(vec![
                    Cell::Text(level_name(s.level).into()),
                    Cell::UInt(u64::from(s.index)),
                    Cell::Hex(s.entry_pa),
                    Cell::Hex(s.entry),
                    Cell::Text(
                        steps
                            .iter()
                            .find(|x| x["level"] == level_name(s.level))
                            .and_then(|x| x["flags"].as_str())
                            .unwrap_or("")
                            .into(),
                    ),
                ]);
            }
            write(w, &t, format)?;
            if format == Format::Csv {
                // CSV holds the walk only, so that every record has the header's fields; the
                // translation is in the other formats.
                return Ok(());
            }
            match &walk.result {
                Ok(t) => writeln!(
                    w,
                    "=> physical {:#x} ({:?} page, {:?})",
                    t.pa, t.page_size, t.state
                ),
                Err(e) => writeln!(w, "=> not translated: {e}"),
            }
        }
    })?;
    Ok(0)
}

fn expand_images(images: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in images {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn sha256_file(path: &Path) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn one_report(
    path: &Path,
    a: &ReportArgs,
    suppress: Option<&SuppressionList>,
    quiet: bool,
) -> Result<Report, String> {
    let session = open_session(path, &a.overrides)?;
    let progress = Progress::bytes(
        "scanning",
        session.memory().total_bytes(),
        session.scan_progress.clone(),
        quiet,
    );
    let hash = if a.hash {
        Some(sha256_file(path)?)
    } else {
        None
    };
    let mut report = build_report(&session, hash).map_err(|e| e.to_string())?;
    drop(progress);
    if let Some(list) = suppress {
        report.apply_suppressions(list);
    }
    Ok(report)
}

fn write_one(
    w: &mut dyn Write,
    report: &Report,
    format: ReportFormat,
    table: ReportTable,
    jsonl: &JsonlOptions,
) -> std::io::Result<()> {
    use memtriage_report::ReportTableKind as Kind;
    match format {
        ReportFormat::Json => write_report_json(w, report),
        ReportFormat::Jsonl => write_report_jsonl(w, report, jsonl),
        ReportFormat::Table => write_report_table(w, report),
        ReportFormat::Csv => {
            let kind = match table {
                ReportTable::Findings => Kind::Findings,
                ReportTable::Processes => Kind::Processes,
                ReportTable::Regions => Kind::Regions,
                ReportTable::Modules => Kind::Modules,
                ReportTable::KernelModules => Kind::KernelModules,
            };
            write(
                w,
                &memtriage_report::report_table(report, kind),
                Format::Csv,
            )
        }
        ReportFormat::Html => memtriage_report::write_report_html(w, report),
    }
}

fn report(a: &ReportArgs) -> Result<u8, String> {
    let images = expand_images(&a.images)?;
    let suppress = match &a.suppress {
        Some(p) => Some(SuppressionList::from_path(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let format = resolve_report(a.output.format);
    let table = a.output.table;
    let jsonl = JsonlOptions {
        host_name: a.host.clone(),
    };
    let threshold = a.fail_on;
    let hits = |r: &Report| threshold.is_some_and(|t: Severity| fail_on(&r.findings, t));
    if images.len() == 1 {
        let report = one_report(&images[0], a, suppress.as_ref(), a.output.quiet)?;
        print_warnings(&report.warnings, a.output.quiet);
        to_stdout(|w| write_one(w, &report, format, table, &jsonl))?;
        return Ok(if hits(&report) { 1 } else { 0 });
    }
    if a.output_dir.is_none() && format != ReportFormat::Jsonl {
        return Err("several captures need --output-dir DIR (one report per capture) or --format jsonl (one stream)".into());
    }
    if let Some(dir) = &a.output_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.jobs.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let results: Vec<(PathBuf, Result<Report, String>)> = pool.install(|| {
        use rayon::prelude::*;
        images
            .par_iter()
            .map(|p| (p.clone(), one_report(p, a, suppress.as_ref(), true)))
            .collect()
    });
    let mut failed = 0;
    let mut any_hit = false;
    let mut stream: Vec<u8> = Vec::new();
    let mut index: Vec<memtriage_report::FleetEntry> = Vec::new();
    for (path, r) in &results {
        match r {
            Ok(report) => {
                any_hit |= hits(report);
                match &a.output_dir {
                    Some(dir) => {
                        let name = path
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| "capture".into());
                        let ext = match format {
                            ReportFormat::Json => "report.json",
                            ReportFormat::Jsonl => "report.jsonl",
                            ReportFormat::Table => "report.txt",
                            ReportFormat::Csv => "findings.csv",
                            ReportFormat::Html => "report.html",
                        };
                        let out = dir.join(format!("{name}.{ext}"));
                        let mut f = std::fs::File::create(&out)
                            .map_err(|e| format!("{}: {e}", out.display()))?;
                        write_one(&mut f, report, format, table, &jsonl)
                            .map_err(|e| format!("{}: {e}", out.display()))?;
                        index.push(memtriage_report::FleetEntry::page(
                            path.display().to_string(),
                            format!("{name}.{ext}"),
                            report,
                        ));
                        if !a.output.quiet {
                            eprintln!("memtriage: {} → {}", path.display(), out.display());
                        }
                    }
                    None => write_one(&mut stream, report, format, table, &jsonl)
                        .map_err(|e| e.to_string())?,
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("memtriage: error: {e}");
                index.push(memtriage_report::FleetEntry::failed(
                    path.display().to_string(),
                    e.clone(),
                ));
            }
        }
    }
    if let (ReportFormat::Html, Some(dir)) = (format, &a.output_dir) {
        write_html_index(dir, &index)?;
    }
    if !stream.is_empty() {
        to_stdout(|w| w.write_all(&stream))?;
    }
    Ok(if failed > 0 {
        2
    } else if any_hit {
        1
    } else {
        0
    })
}

/// Writes `DIR/index.html`, the list of a fleet's HTML pages with their finding counts.
fn write_html_index(dir: &Path, entries: &[memtriage_report::FleetEntry]) -> Result<(), String> {
    let out = dir.join("index.html");
    let mut f = std::fs::File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    memtriage_report::write_fleet_index(&mut f, entries)
        .map_err(|e| format!("{}: {e}", out.display()))
}

fn diff_cmd(a: &DiffArgs) -> Result<u8, String> {
    let old = read_report(&a.old).map_err(|e| e.to_string())?;
    let new = read_report(&a.new).map_err(|e| e.to_string())?;
    let d = diff(&old, &new);
    let format = resolve(a.format);
    to_stdout(|w| match format {
        Format::Table => write_diff_table(w, &d),
        Format::Json => write_diff_json(w, &d),
        Format::Jsonl => memtriage_report::write_diff_jsonl(w, &d),
        Format::Csv => memtriage_report::write_diff_csv(w, &d),
    })?;
    Ok(if d.is_empty() { 0 } else { 1 })
}

fn rules(a: &RulesArgs) -> Result<u8, String> {
    let mut t = Table::new(
        "rules",
        vec![
            Column::new("rule", ColumnKind::Text),
            Column::new("severity", ColumnKind::Text),
            Column::new("mitre", ColumnKind::Text),
        ],
    );
    for (id, sev, mitre) in memtriage_analysis::detect::RULES {
        t.push(vec![
            Cell::Text((*id).into()),
            Cell::Text((*sev).into()),
            Cell::Text(mitre.join(",")),
        ]);
    }
    let format = resolve(a.format);
    to_stdout(|w| write(w, &t, format))?;
    Ok(0)
}
