//! Subcommand dispatch.

use crate::args::{
    Cli, Command, DiffArgs, Format, InfoArgs, OverrideArgs, PluginArgs, ReportArgs, ReportFormat,
    ReportTable, RulesArgs, VtopArgs,
};
use crate::diagnose;
use crate::failure::Failure;
use crate::fleet;
use crate::generate;
use crate::layout;
use crate::output::{emit, resolve, resolve_report, to_stdout, write, Progress};
use clap::{Args, CommandFactory, FromArgMatches};
use memtriage_analysis::report::{build_report, system_block};
use memtriage_analysis::{registry, Plugin, PluginOptions, Session, SessionOptions};
use memtriage_paging::{level_name, AddressSpace, PageFiles};
use memtriage_report::{
    diff, fail_on, read_report, wrap_to_width, write_diff_json, write_diff_table,
    write_report_json, write_report_jsonl, write_report_table_with, write_table_with, Cell, Column,
    ColumnKind, Finding, JsonlOptions, Report, Severity, SuppressionList, Table, TextLayout,
};
use memtriage_windows::Overrides;
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// The whole command line: the built-in commands plus one subcommand per registered plugin.
pub fn command(plugins: &[Box<dyn Plugin>]) -> clap::Command {
    let mut cmd = Cli::command();
    for p in plugins {
        cmd =
            cmd.subcommand(PluginArgs::augment_args(clap::Command::new(p.name())).about(p.about()));
    }
    cmd
}

/// Parse the command line, run, report any failure on stderr (one line; the steps behind it
/// with `-v`); returns the exit code.
pub fn run() -> u8 {
    let plugins = registry();
    let matches = match command(&plugins).try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(&e),
    };
    let verbose = matches.get_flag("verbose");
    crate::remote::set_verbose(verbose);
    match dispatch(&plugins, &matches) {
        Ok(code) => code,
        Err(failure) => {
            report_failure(&failure, verbose);
            2
        }
    }
}

/// Prints `failure`: `memtriage: error: LINE`, then with `-v` one line per step tried
/// (innermost first); without `-v` the line says how many steps `-v` would show.
pub fn report_failure(failure: &Failure, verbose: bool) {
    if failure.steps.is_empty() {
        eprintln!("memtriage: error: {}", failure.line);
    } else if verbose {
        eprintln!("memtriage: error: {}", failure.line);
        for step in &failure.steps {
            eprintln!("memtriage:   tried {step}");
        }
    } else {
        eprintln!(
            "memtriage: error: {} (-v shows the {} steps tried)",
            failure.line,
            failure.steps.len()
        );
    }
}

/// Help and version go to stdout (exit 0); usage errors get the one error prefix and exit 2.
fn usage_error(e: &clap::Error) -> u8 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // `memtriage` alone: the help, on stderr, exit 2.
            let _ = e.print();
            2
        }
        _ => {
            let text = e.render().to_string();
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            eprint!("memtriage: error: {text}");
            2
        }
    }
}

fn dispatch(plugins: &[Box<dyn Plugin>], matches: &clap::ArgMatches) -> Result<u8, Failure> {
    let Some((name, sub)) = matches.subcommand() else {
        return Err("no command given (see --help)".into());
    };
    if let Some(plugin) = plugins.iter().find(|p| p.name() == name) {
        let args = PluginArgs::from_arg_matches(sub).map_err(|e| e.to_string())?;
        return run_plugin(plugin.as_ref(), &args);
    }
    let cli = Cli::from_arg_matches(matches).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Info(a) => info(&a),
        Command::Vtop(a) => vtop(&a),
        Command::Report(a) => report(&a, matches.get_flag("verbose")),
        Command::Diff(a) => diff_cmd(&a),
        Command::Rules(a) => rules(&a),
        Command::Yarascan(a) => crate::yarascan::yarascan(&a),
        Command::Completions(a) => {
            let mut cmd = command(plugins);
            to_stdout(|w| {
                generate::completions(&mut cmd, a.shell, w);
                Ok(())
            })?;
            Ok(0)
        }
        Command::Man => {
            let cmd = command(plugins);
            to_stdout(|w| generate::man(&cmd, w))?;
            Ok(0)
        }
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

pub(crate) fn open_session(image: &Path, o: &OverrideArgs) -> Result<Session, Failure> {
    let options = SessionOptions {
        overrides: overrides(o),
        user_dtb: o.user_dtb,
        page_files: PageFiles::open(&o.pagefile).map_err(|e| e.to_string())?,
        fast: false,
    };
    let session = if let Some(remote) = crate::remote::open(image, options.clone()) {
        remote.map_err(Failure::new)?
    } else {
        match &o.vmware_meta {
            Some(meta) => {
                let open = memtriage_dump::OpenOptions {
                    vmware_meta: Some(meta.clone()),
                };
                let capture = memtriage_dump::open_with(image, &open).map_err(|e| e.to_string())?;
                Session::from_memory(image, std::sync::Arc::from(capture), options)
            }
            None => Session::open(image, options).map_err(|e| Failure::new(e.to_string()))?,
        }
    };
    // Captures of other architectures stop here, for every command (info and triage dumps too).
    memtriage_windows::discovery::require_x64(session.memory().metadata())
        .map_err(|e| Failure::new(format!("{}: {e}", image.display())))?;
    Ok(session)
}

/// A warning when `--build` contradicts the NtBuildNumber read from the capture.
pub(crate) fn build_warning(session: &Session, o: &OverrideArgs) -> Option<String> {
    let asked = o.build?;
    let k = session.kernel().ok()?;
    let read = k.nt_build_number? & 0xFFFF;
    (read != asked)
        .then(|| format!("--build {asked} contradicts the capture's NtBuildNumber (build {read})"))
}

/// Fails with exit 2 when a `--pid` names no process: neither on the active list nor found
/// by the pool scan (scanned only when the list lacks it).
pub(crate) fn check_pids(session: &Session, pids: &[u64]) -> Result<(), Failure> {
    let listed = session
        .processes()
        .map_err(|e| diagnose::explain(session, &e))?;
    for &pid in pids {
        if listed.processes.iter().any(|p| p.pid == pid) {
            continue;
        }
        let scanned = session
            .scanned()
            .map_err(|e| diagnose::explain(session, &e))?;
        if !scanned.iter().any(|s| s.process.pid == pid) {
            return Err(Failure::new(format!(
                "{}: no process with pid {pid} (not on the active list, not found by the pool scan)",
                session.path().display()
            )));
        }
    }
    Ok(())
}

pub(crate) fn print_warnings(warnings: &[String], quiet: bool) {
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

fn run_plugin(plugin: &dyn Plugin, args: &PluginArgs) -> Result<u8, Failure> {
    let session = open_session(&args.capture.image, &args.capture.overrides)?;
    let format = resolve(args.output.format);
    if !args.pid.is_empty() {
        check_pids(&session, &args.pid)?;
    }
    let total = session.memory().total_bytes();
    let progress = if plugin.needs().pool_scan {
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
        scan: args.scan,
    };
    let out = plugin
        .run(&session, &options)
        .map_err(|e| diagnose::explain(&session, &e))?;
    drop(progress);
    crate::remote::print_stats(&args.capture.image);
    let mut warnings = session.warnings();
    warnings.extend(out.warnings.iter().cloned());
    warnings.extend(build_warning(&session, &args.capture.overrides));
    print_warnings(&warnings, args.output.quiet);
    emit(format, |w, width| match width {
        Some(width) => {
            let (shown, layout) = layout::for_humans(&out.table, width);
            write_table_with(w, &shown, &layout)?;
            if !out.findings.is_empty() {
                writeln!(w)?;
                write_table_with(
                    w,
                    &findings_table(&out.findings),
                    &TextLayout::width(Some(width)),
                )?;
            }
            Ok(())
        }
        None => write(w, &out.table, format),
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

fn info(a: &InfoArgs) -> Result<u8, Failure> {
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
            "first": ranges.first().map(|r| inclusive_range(r.start, r.end())),
            "last": ranges.last().map(|r| inclusive_range(r.start, r.end())),
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
    if let Some(v) = &meta.vmware {
        doc["vmware"] = json!({
            "metadata_file": v.metadata_file,
            "version": v.version,
            "vcpus": v.vcpus,
            "regions": v.regions.iter().map(|r| json!({"ppn": hex(r.ppn), "page_num": hex(r.page_num), "pages": r.pages})).collect::<Vec<_>>(),
        });
    }
    if !session.page_files().is_empty() {
        doc["page_files"] = json!(session
            .page_files()
            .iter()
            .map(|f| json!({"number": f.number(), "path": f.path().display().to_string(), "size": f.len()}))
            .collect::<Vec<_>>());
    }
    if let Some(h) = &meta.hibernation {
        doc["hibernation"] = json!({
            "header": h.header,
            "windows": h.header.layout.windows(),
            "system_time": memtriage_report::filetime_to_iso(h.header.system_time),
            "sets": h.sets,
        });
    }
    let mut warnings = meta.warnings.clone();
    if ranges.is_empty() {
        let cause = diagnose::capture_cause(&session)
            .map(|c| c.to_string())
            .unwrap_or_else(|| "the capture holds no physical memory".to_owned());
        doc["kernel"] = json!({ "error": cause });
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
                    "profile_match": k.match_kind.name(),
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
                let (cause, steps) = match &e {
                    memtriage_analysis::AnalysisError::Kernel { message, .. } => {
                        diagnose::kernel_cause(&session, message)
                    }
                    other => (other.to_string(), Vec::new()),
                };
                doc["kernel"] = json!({"error": cause, "steps_tried": steps});
                warnings.push(cause);
            }
        }
    }
    warnings.extend(build_warning(&session, &a.capture.overrides));
    doc["warnings"] = json!(warnings);
    let doc = memtriage_report::sorted_json(doc);
    let format = resolve(a.format);
    emit(format, |w, width| match format {
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
                "info",
                vec![
                    Column::new("field", ColumnKind::Text),
                    Column::new("value", ColumnKind::Text),
                ],
            );
            flatten("", &doc, &mut t);
            match width {
                Some(width) => {
                    write_table_with(w, &wrap_values(&t, width), &TextLayout::width(Some(width)))
                }
                None => write(w, &t, format),
            }
        }
    })?;
    Ok(0)
}

/// An inclusive physical range: `end` is the last byte (as everywhere in memtriage's output).
fn inclusive_range(start: u64, end_exclusive: u64) -> Value {
    json!({"start": hex(start), "end": hex(end_exclusive.saturating_sub(1).max(start))})
}

/// The `info` field/value table with long values (errors, warnings, steps) wrapped onto
/// continuation rows (empty field) so that every line fits `width`.
fn wrap_values(t: &Table, width: usize) -> Table {
    let field_width = t
        .rows
        .iter()
        .filter_map(|r| r.first())
        .map(|c| c.to_plain().chars().count())
        .max()
        .unwrap_or(0)
        .max("field".len());
    let room = width.saturating_sub(field_width + 2).max(20);
    let mut out = Table::new(t.title.clone(), t.columns.clone());
    for row in &t.rows {
        match (row.first(), row.get(1)) {
            (Some(field), Some(Cell::Text(value))) if value.chars().count() > room => {
                for (i, line) in wrap_to_width(value, room).into_iter().enumerate() {
                    let f = if i == 0 {
                        field.clone()
                    } else {
                        Cell::Text(String::new())
                    };
                    out.push(vec![f, Cell::Text(line)]);
                }
            }
            _ => out.push(row.clone()),
        }
    }
    out
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

fn vtop(a: &VtopArgs) -> Result<u8, Failure> {
    let session = open_session(&a.capture.image, &a.capture.overrides)?;
    let space: AddressSpace = match (a.capture.overrides.dtb, a.pid) {
        (Some(dtb), _) => AddressSpace::with_mode(
            session.memory().clone(),
            dtb & !0xFFF,
            memtriage_windows::discovery::paging_mode(
                session.memory().as_ref(),
                &overrides(&a.capture.overrides),
            ),
        )
        .with_page_files(session.page_files().clone()),
        (None, pid) => {
            let k = session
                .kernel()
                .map_err(|e| diagnose::explain(&session, &e))?;
            match pid {
                None => k.space.clone(),
                Some(pid) => {
                    let list = session
                        .processes()
                        .map_err(|e| diagnose::explain(&session, &e))?;
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
            let mut step = json!({"level": level_name(s.level), "index": s.index, "entry_pa": hex(s.entry_pa), "entry": hex(e), "flags": flags.join(" ")});
            if let Some((file, page)) = s.page_file {
                // a paged-out table: entry_pa is the entry's byte offset in that page file
                step["page_file"] = json!({"file": file, "page": page});
            }
            step
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
            if let Some(p) = space.paged_out(e) {
                doc["page_file"] = serde_json::to_value(&p).unwrap_or(Value::Null);
            }
            if let memtriage_paging::TranslateError::NotPresent { software, .. } = e {
                doc["software_state"] = serde_json::to_value(software).unwrap_or(Value::Null);
            }
        }
    }
    let doc = memtriage_report::sorted_json(doc);
    let format = resolve(a.format);
    emit(format, |w, width| match format {
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
            for (s, v) in walk.steps.iter().zip(&steps) {
                t.push(vec![
                    Cell::Text(level_name(s.level).into()),
                    Cell::UInt(u64::from(s.index)),
                    Cell::Hex(s.entry_pa),
                    Cell::Hex(s.entry),
                    Cell::Text(v["flags"].as_str().unwrap_or("").into()),
                ]);
            }
            if format == Format::Csv {
                return write(w, &t, format);
            }
            write_table_with(w, &t, &TextLayout::width(width))?;
            match &walk.result {
                Ok(t) => writeln!(
                    w,
                    "=> physical {:#x} ({:?} page, {:?})",
                    t.pa, t.page_size, t.state
                ),
                Err(e) => match space.paged_out(e) {
                    Some(p) => writeln!(w, "=> {p}"),
                    None => writeln!(w, "=> not translated: {e}"),
                },
            }
        }
    })?;
    Ok(0)
}

fn sha256_file(path: &Path) -> Result<String, Failure> {
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
    yara: Option<&memtriage_yara::RuleSet>,
    quiet: bool,
) -> Result<Report, Failure> {
    crate::remote::check_hash(path, a.hash)?;
    let session = open_session(path, &a.overrides)?.with_fast(a.fast);
    // A fast report scans nothing: no progress bar.
    let progress = (!a.fast).then(|| {
        Progress::bytes(
            "scanning",
            session.memory().total_bytes(),
            session.scan_progress.clone(),
            quiet,
        )
    });
    let hash = if a.hash {
        Some(sha256_file(path)?)
    } else {
        None
    };
    let mut report = build_report(&session, hash).map_err(|e| diagnose::explain(&session, &e))?;
    drop(progress);
    if let Some(rules) = yara {
        crate::yarascan::add_yara_findings(&session, &mut report, rules, a.yara.yara_timeout)?;
    }
    report
        .warnings
        .extend(build_warning(&session, &a.overrides));
    crate::remote::print_stats(path);
    if let Some(list) = suppress {
        report.apply_suppressions(list);
    }
    Ok(report)
}

/// Writes one report in `format`; tables are laid out for `width` columns when given.
fn write_one(
    w: &mut dyn Write,
    report: &Report,
    format: ReportFormat,
    table: ReportTable,
    jsonl: &JsonlOptions,
    width: Option<usize>,
) -> std::io::Result<()> {
    use memtriage_report::ReportTableKind as Kind;
    match format {
        ReportFormat::Json => write_report_json(w, report),
        ReportFormat::Jsonl => write_report_jsonl(w, report, jsonl),
        ReportFormat::Table => write_report_table_with(w, report, &TextLayout::width(width)),
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

/// The file name suffix of a fleet report in `format`.
fn report_extension(format: ReportFormat) -> &'static str {
    match format {
        ReportFormat::Json => "report.json",
        ReportFormat::Jsonl => "report.jsonl",
        ReportFormat::Table => "report.txt",
        ReportFormat::Csv => "findings.csv",
        ReportFormat::Html => "report.html",
    }
}

/// Writes `DIR/index.html`, the list of a fleet's HTML pages with their finding counts.
fn write_html_index(dir: &Path, entries: &[memtriage_report::FleetEntry]) -> Result<(), String> {
    let out = dir.join("index.html");
    let mut f = std::fs::File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    memtriage_report::write_fleet_index(&mut f, entries)
        .map_err(|e| format!("{}: {e}", out.display()))
}

/// `report`: one capture to stdout, or a fleet (several captures, directories, `--output-dir`);
/// `verbose` shows the steps behind each failed capture.
fn report(a: &ReportArgs, verbose: bool) -> Result<u8, Failure> {
    let inputs = fleet::expand(&a.images)?;
    if !a.output.quiet {
        for reason in &inputs.skipped {
            eprintln!("memtriage: skipped {reason}");
        }
        for dir in &inputs.empty_dirs {
            eprintln!("memtriage: warning: no captures in {}", dir.display());
        }
    }
    let images = inputs.captures;
    let suppress = match &a.suppress {
        Some(p) => Some(SuppressionList::from_path(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let yara = match &a.yara.yara {
        Some(p) => Some(crate::yarascan::load_rules(p)?),
        None => None,
    };
    let format = resolve_report(a.output.format);
    let table = a.output.table;
    let jsonl = JsonlOptions {
        host_name: a.host.clone(),
    };
    let threshold = a.fail_on;
    let hits = |r: &Report| threshold.is_some_and(|t: Severity| fail_on(&r.findings, t));
    if let Some(dir) = &a.output_dir {
        fleet::prepare_output_dir(dir)?;
    }
    if let ([image], None) = (images.as_slice(), &a.output_dir) {
        let report = one_report(image, a, suppress.as_ref(), yara.as_ref(), a.output.quiet)?;
        print_warnings(&report.warnings, a.output.quiet);
        // Tables are laid out for the terminal; the other formats are written as they are.
        let layout_as = if format == ReportFormat::Table {
            Format::Table
        } else {
            Format::Json
        };
        emit(layout_as, |w, width| {
            write_one(w, &report, format, table, &jsonl, width)
        })?;
        return Ok(if hits(&report) { 1 } else { 0 });
    }
    if a.output_dir.is_none() && format != ReportFormat::Jsonl {
        return Err("several captures need --output-dir DIR (one report per capture) or --format jsonl (one stream)".into());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(fleet::jobs(a.jobs, images.len()))
        .build()
        .map_err(|e| e.to_string())?;
    let single = images.len() == 1;
    let results: Vec<Result<Report, Failure>> = pool.install(|| {
        use rayon::prelude::*;
        images
            .par_iter()
            .map(|p| {
                one_report(
                    p,
                    a,
                    suppress.as_ref(),
                    yara.as_ref(),
                    !single || a.output.quiet,
                )
            })
            .collect()
    });
    let names = fleet::report_names(&images);
    let mut failed = 0;
    let mut any_hit = false;
    let mut stream: Vec<u8> = Vec::new();
    let mut index: Vec<memtriage_report::FleetEntry> = Vec::new();
    for ((path, result), name) in images.iter().zip(&results).zip(&names) {
        let report = match result {
            Ok(report) => report,
            Err(failure) => {
                failed += 1;
                report_failure(failure, verbose);
                index.push(memtriage_report::FleetEntry::failed(
                    path.display().to_string(),
                    failure.line.clone(),
                ));
                continue;
            }
        };
        any_hit |= hits(report);
        match &a.output_dir {
            Some(dir) => {
                let page = format!("{name}.{}", report_extension(format));
                let out = dir.join(&page);
                let written = std::fs::File::create(&out).and_then(|mut f| {
                    write_one(&mut f, report, format, table, &jsonl, None)?;
                    f.flush()
                });
                written.map_err(|e| format!("{}: {e}", out.display()))?;
                index.push(memtriage_report::FleetEntry::page(
                    path.display().to_string(),
                    page,
                    report,
                ));
                if !a.output.quiet {
                    eprintln!("memtriage: {} → {}", path.display(), out.display());
                }
            }
            None => write_one(&mut stream, report, format, table, &jsonl, None)
                .map_err(|e| e.to_string())?,
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

fn diff_cmd(a: &DiffArgs) -> Result<u8, Failure> {
    let old = read_report(&a.old).map_err(|e| e.to_string())?;
    let new = read_report(&a.new).map_err(|e| e.to_string())?;
    let d = diff(&old, &new);
    let format = resolve(a.format);
    emit(format, |w, _| match format {
        Format::Table => write_diff_table(w, &d),
        Format::Json => write_diff_json(w, &d),
        Format::Jsonl => memtriage_report::write_diff_jsonl(w, &d),
        Format::Csv => memtriage_report::write_diff_csv(w, &d),
    })?;
    Ok(if d.is_empty() { 0 } else { 1 })
}

memtriage_report::row! {
    /// One detection rule.
    struct RuleRow {
        /// Stable rule id.
        rule: &'static str,
        /// Every severity the rule can raise, lowest first.
        severity: String,
        /// MITRE ATT&CK technique ids.
        mitre: String,
        /// What the rule flags.
        summary: &'static str,
    }
}

fn rules(a: &RulesArgs) -> Result<u8, Failure> {
    let mut t = Table::of::<RuleRow>("rules");
    for rule in memtriage_analysis::detect::rules() {
        let severities: Vec<&str> = rule.severities.iter().map(|s| s.as_str()).collect();
        t.push_row(RuleRow {
            rule: rule.id,
            severity: severities.join(","),
            mitre: rule.mitre.join(","),
            summary: rule.summary,
        });
    }
    let format = resolve(a.format);
    emit(format, |w, width| match width {
        Some(width) => write_table_with(w, &t, &TextLayout::width(Some(width))),
        None => write(w, &t, format),
    })?;
    Ok(0)
}
