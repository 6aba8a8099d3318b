//! The built-in plugins and the registry the CLI builds its subcommands from.

use crate::detect::{image_identity, image_list_membership, malfind, unlinked_modules};
use crate::regions::gaps;
use crate::session::ProcessDetail;
use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{filetime_to_iso, tree_order, Cell, Column, ColumnKind, Table};
use memtriage_windows::kmodule::kernel_modules;
use memtriage_windows::process::Process;

/// Every built-in plugin, in the order `--help` lists them.
pub fn registry() -> Vec<Box<dyn Plugin>> {
    vec![
        Box::new(PsList),
        Box::new(PsScan),
        Box::new(PsTree),
        Box::new(Threads),
        Box::new(Modules),
        Box::new(VadInfo),
        Box::new(VmMap),
        Box::new(DllList),
        Box::new(CmdLine),
        Box::new(EnVars),
        Box::new(LdrModules),
        Box::new(MalFind),
    ]
}

fn col(name: &str, kind: ColumnKind) -> Column {
    Column::new(name, kind)
}

fn time(ft: u64) -> Cell {
    filetime_to_iso(ft).map_or(Cell::Null, Cell::Time)
}

fn opt_text(s: Option<&str>) -> Cell {
    s.map_or(Cell::Null, |s| Cell::Text(s.to_string()))
}

fn opt_hex(v: Option<u64>) -> Cell {
    v.map_or(Cell::Null, Cell::Hex)
}

fn process_columns() -> Vec<Column> {
    vec![
        col("pid", ColumnKind::Int),
        col("ppid", ColumnKind::Int),
        col("name", ColumnKind::Text),
        col("offset", ColumnKind::Hex),
        col("threads", ColumnKind::Int),
        col("handles", ColumnKind::Int),
        col("session_id", ColumnKind::Int),
        col("wow64", ColumnKind::Bool),
        col("create_time", ColumnKind::Time),
        col("exit_time", ColumnKind::Time),
        col("image_path", ColumnKind::Text),
        col("dtb", ColumnKind::Hex),
        col("peb", ColumnKind::Hex),
    ]
}

fn process_row(p: &Process) -> Vec<Cell> {
    vec![
        Cell::UInt(p.pid),
        Cell::UInt(p.ppid),
        Cell::Text(p.name.clone()),
        Cell::Hex(p.eprocess),
        p.active_threads.map_or(Cell::Null, Cell::from),
        p.handle_count.map_or(Cell::Null, Cell::from),
        p.session_id.map_or(Cell::Null, Cell::from),
        Cell::Bool(p.wow64()),
        time(p.create_time),
        time(p.exit_time),
        opt_text(p.image_path.as_deref()),
        Cell::Hex(p.dtb),
        Cell::Hex(p.peb),
    ]
}

/// Active processes and (for plugins that want them) the hidden ones, filtered by `--pid`.
fn selected<'a>(
    session: &'a Session,
    options: &PluginOptions,
    with_hidden: bool,
) -> Result<Vec<&'a ProcessDetail>, AnalysisError> {
    let mut out: Vec<&ProcessDetail> = session.details()?.iter().collect();
    if with_hidden {
        out.extend(session.unlisted()?.iter().filter(|d| d.hidden));
    }
    out.retain(|d| options.wants(d.process.pid));
    Ok(out)
}

/// `pslist`: the active process list (ActiveProcessLinks).
pub struct PsList;
impl Plugin for PsList {
    fn name(&self) -> &'static str {
        "pslist"
    }
    fn about(&self) -> &'static str {
        "List processes on the active process list (ActiveProcessLinks)"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let list = session.processes()?;
        let mut t = Table::new("pslist", process_columns());
        for p in list.processes.iter().filter(|p| options.wants(p.pid)) {
            t.push(process_row(p));
        }
        Ok(PluginOutput::with_warnings(t, list.warnings.clone()))
    }
}

/// `psscan`: processes found by scanning physical memory for `Proc` pool blocks.
pub struct PsScan;
impl Plugin for PsScan {
    fn name(&self) -> &'static str {
        "psscan"
    }
    fn about(&self) -> &'static str {
        "Scan physical memory for process objects; mark each in-list, hidden or exited"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let listed: std::collections::HashSet<u64> = session
            .processes()?
            .processes
            .iter()
            .filter_map(|p| p.eprocess_pa)
            .collect();
        let mut cols = vec![
            col("offset_physical", ColumnKind::Hex),
            col("status", ColumnKind::Text),
        ];
        cols.extend(process_columns());
        let mut t = Table::new("psscan", cols);
        let mut findings = Vec::new();
        for s in session.scanned()? {
            let p = &s.process;
            if !options.wants(p.pid) {
                continue;
            }
            let pa = p.eprocess_pa.unwrap_or(0);
            let status = if listed.contains(&pa) {
                "in-list"
            } else if p.exited() {
                "exited"
            } else {
                findings.push(crate::detect::hidden_process_finding(p));
                "hidden"
            };
            let mut row = vec![Cell::Hex(pa), Cell::Text(status.into())];
            row.extend(process_row(p));
            t.push(row);
        }
        Ok(PluginOutput {
            table: t,
            findings,
            warnings: Vec::new(),
        })
    }
}

/// `pstree`: the process tree (parent → children) of the active list.
pub struct PsTree;
impl Plugin for PsTree {
    fn name(&self) -> &'static str {
        "pstree"
    }
    fn about(&self) -> &'static str {
        "Show the process tree (indented table, nested children in JSON)"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let list = session.processes()?;
        let procs: Vec<&Process> = list
            .processes
            .iter()
            .filter(|p| options.wants(p.pid))
            .collect();
        let nodes: Vec<(u64, u64)> = procs.iter().map(|p| (p.pid, p.ppid)).collect();
        let mut t = Table::new("pstree", process_columns());
        for (i, depth) in tree_order(&nodes) {
            if let Some(p) = procs.get(i) {
                t.push_at_depth(depth, process_row(p));
            }
        }
        Ok(PluginOutput::with_warnings(t, list.warnings.clone()))
    }
}

/// `threads`: every thread of every process.
pub struct Threads;
impl Plugin for Threads {
    fn name(&self) -> &'static str {
        "threads"
    }
    fn about(&self) -> &'static str {
        "List threads: id, start address, TEB, create time, stack range"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::new(
            "threads",
            vec![
                col("pid", ColumnKind::Int),
                col("process", ColumnKind::Text),
                col("tid", ColumnKind::Int),
                col("ethread", ColumnKind::Hex),
                col("start_address", ColumnKind::Hex),
                col("teb", ColumnKind::Hex),
                col("create_time", ColumnKind::Time),
                col("stack_base", ColumnKind::Hex),
                col("stack_limit", ColumnKind::Hex),
                col("stack32_base", ColumnKind::Hex),
                col("stack32_limit", ColumnKind::Hex),
            ],
        );
        for d in selected(session, options, false)? {
            for th in &d.threads {
                t.push(vec![
                    Cell::UInt(d.process.pid),
                    Cell::Text(d.process.name.clone()),
                    Cell::UInt(th.tid),
                    Cell::Hex(th.ethread),
                    Cell::Hex(th.start_address),
                    Cell::Hex(th.teb),
                    time(th.create_time),
                    opt_hex(th.stack_base),
                    opt_hex(th.stack_limit),
                    opt_hex(th.stack32.map(|s| s.0)),
                    opt_hex(th.stack32.map(|s| s.1)),
                ]);
            }
        }
        Ok(PluginOutput::table(t))
    }
}

/// `modules`: kernel modules from PsLoadedModuleList.
pub struct Modules;
impl Plugin for Modules {
    fn name(&self) -> &'static str {
        "modules"
    }
    fn about(&self) -> &'static str {
        "List kernel modules (PsLoadedModuleList)"
    }
    fn run(
        &self,
        session: &Session,
        _options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let k = session.kernel()?;
        let mut t = Table::new(
            "modules",
            vec![
                col("base", ColumnKind::Hex),
                col("size", ColumnKind::Hex),
                col("name", ColumnKind::Text),
                col("path", ColumnKind::Text),
                col("entry", ColumnKind::Hex),
            ],
        );
        let Some(head) = k.ps_loaded_module_list else {
            return Err(AnalysisError::Plugin(format!(
                "{}: PsLoadedModuleList not found",
                session.path().display()
            )));
        };
        let (mods, warnings) = kernel_modules(&k.space, &k.layout, head);
        for m in mods {
            t.push(vec![
                Cell::Hex(m.base),
                Cell::Hex(m.size),
                Cell::Text(m.name),
                Cell::Text(m.path),
                Cell::Hex(m.entry),
            ]);
        }
        Ok(PluginOutput::with_warnings(t, warnings))
    }
}

/// `vadinfo`: every VAD of every process.
pub struct VadInfo;
impl Plugin for VadInfo {
    fn name(&self) -> &'static str {
        "vadinfo"
    }
    fn about(&self) -> &'static str {
        "List each process's VADs: range, type, protection, commit charge, tag, file"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::new(
            "vadinfo",
            vec![
                col("pid", ColumnKind::Int),
                col("process", ColumnKind::Text),
                col("node", ColumnKind::Hex),
                col("start", ColumnKind::Hex),
                col("end", ColumnKind::Hex),
                col("vad_type", ColumnKind::Int),
                col("protection", ColumnKind::Text),
                col("private", ColumnKind::Bool),
                col("commit_charge", ColumnKind::Int),
                col("tag", ColumnKind::Text),
                col("file", ColumnKind::Text),
            ],
        );
        let mut warnings = Vec::new();
        for d in selected(session, options, false)? {
            warnings.extend(d.warnings.iter().cloned());
            for v in &d.vads {
                t.push(vec![
                    Cell::UInt(d.process.pid),
                    Cell::Text(d.process.name.clone()),
                    Cell::Hex(v.node),
                    Cell::Hex(v.start),
                    Cell::Hex(v.end),
                    Cell::UInt(u64::from(v.vad_type)),
                    Cell::Text(v.protection.clone()),
                    Cell::Bool(v.private),
                    Cell::UInt(v.commit_charge),
                    Cell::Text(v.tag.clone()),
                    opt_text(v.file.as_deref()),
                ]);
            }
        }
        Ok(PluginOutput::with_warnings(t, warnings))
    }
}

/// `vmmap`: regions classified like Sysinternals VMMap, with Free/Unusable gaps and a summary.
pub struct VmMap;
impl Plugin for VmMap {
    fn name(&self) -> &'static str {
        "vmmap"
    }
    fn about(&self) -> &'static str {
        "Classify each process's user space like VMMap (Image, Mapped File, Heap, Stack, ...) with a summary"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::new(
            "vmmap",
            vec![
                col("pid", ColumnKind::Int),
                col("process", ColumnKind::Text),
                col("start", ColumnKind::Hex),
                col("end", ColumnKind::Hex),
                col("size", ColumnKind::Hex),
                col("category", ColumnKind::Text),
                col("type", ColumnKind::Text),
                col("state", ColumnKind::Text),
                col("protection", ColumnKind::Text),
                col("committed", ColumnKind::Hex),
                col("valid_pages", ColumnKind::Int),
                col("transition_pages", ColumnKind::Int),
                col("pagefile_pages", ColumnKind::Int),
                col("demand_zero_pages", ColumnKind::Int),
                col("details", ColumnKind::Text),
            ],
        );
        for d in selected(session, options, false)? {
            let mut rows: Vec<(u64, Vec<Cell>)> = Vec::new();
            let mut summary: std::collections::BTreeMap<&str, (u64, u64, u64)> = Default::default();
            for r in &d.regions {
                let size = r.vad.size();
                let committed = if r.vad.private {
                    r.vad.commit_charge.saturating_mul(0x1000)
                } else {
                    r.pte_pages() * 0x1000
                };
                let e = summary.entry(r.category).or_default();
                e.0 += size;
                e.1 += committed;
                if r.vad.private {
                    e.2 += committed;
                }
                rows.push((
                    r.vad.start,
                    vec![
                        Cell::UInt(d.process.pid),
                        Cell::Text(d.process.name.clone()),
                        Cell::Hex(r.vad.start),
                        Cell::Hex(r.vad.end),
                        Cell::Hex(size),
                        Cell::Text(r.category.into()),
                        Cell::Text(r.mem_type.into()),
                        Cell::Text(r.state.into()),
                        Cell::Text(r.vad.protection.clone()),
                        Cell::Hex(committed),
                        Cell::UInt(r.valid_pages),
                        Cell::UInt(r.transition_pages),
                        Cell::UInt(r.pagefile_pages),
                        Cell::UInt(r.demand_zero_pages),
                        Cell::Text(r.details.clone()),
                    ],
                ));
            }
            for g in gaps(&d.regions, 0x7FFF_FFFF_0000) {
                let size = g.end - g.start + 1;
                summary.entry(g.category).or_default().0 += size;
                rows.push((
                    g.start,
                    vec![
                        Cell::UInt(d.process.pid),
                        Cell::Text(d.process.name.clone()),
                        Cell::Hex(g.start),
                        Cell::Hex(g.end),
                        Cell::Hex(size),
                        Cell::Text(g.category.into()),
                        Cell::Null,
                        Cell::Text(
                            if g.category == "Free" {
                                "FREE"
                            } else {
                                "RESERVED"
                            }
                            .into(),
                        ),
                        Cell::Null,
                        Cell::Hex(0),
                        Cell::UInt(0),
                        Cell::UInt(0),
                        Cell::UInt(0),
                        Cell::UInt(0),
                        Cell::Null,
                    ],
                ));
            }
            rows.sort_by_key(|(s, _)| *s);
            t.rows.extend(rows.into_iter().map(|(_, r)| r));
            for (cat, (size, committed, private)) in summary {
                t.push(vec![
                    Cell::UInt(d.process.pid),
                    Cell::Text(d.process.name.clone()),
                    Cell::Null,
                    Cell::Null,
                    Cell::Hex(size),
                    Cell::Text(format!("Total: {cat}")),
                    Cell::Null,
                    Cell::Null,
                    Cell::Null,
                    Cell::Hex(committed),
                    Cell::Null,
                    Cell::Null,
                    Cell::Null,
                    Cell::Null,
                    Cell::Text(format!("private {private:#x}; Managed Heap is not recognised (no CLR heap detection)")),
                ]);
            }
        }
        Ok(PluginOutput::table(t))
    }
}

/// `dlllist`: loader entries in InLoadOrder (all entries, with list membership).
pub struct DllList;
impl Plugin for DllList {
    fn name(&self) -> &'static str {
        "dlllist"
    }
    fn about(&self) -> &'static str {
        "List each process's DLLs from the PEB loader lists (InLoadOrder first)"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::new(
            "dlllist",
            vec![
                col("pid", ColumnKind::Int),
                col("process", ColumnKind::Text),
                col("base", ColumnKind::Hex),
                col("size", ColumnKind::Hex),
                col("entry_point", ColumnKind::Hex),
                col("name", ColumnKind::Text),
                col("path", ColumnKind::Text),
                col("load_count", ColumnKind::Int),
                col("load_time", ColumnKind::Time),
                col("in_load", ColumnKind::Bool),
                col("in_mem", ColumnKind::Bool),
                col("in_init", ColumnKind::Bool),
            ],
        );
        if options.wow64 {
            t.title = "dlllist (WoW64 32-bit loader lists)".into();
        }
        for d in selected(session, options, false)? {
            let peb = if options.wow64 { &d.peb32 } else { &d.peb };
            let Some(peb) = peb else { continue };
            for m in &peb.modules {
                t.push(vec![
                    Cell::UInt(d.process.pid),
                    Cell::Text(d.process.name.clone()),
                    Cell::Hex(m.base),
                    Cell::Hex(m.size),
                    Cell::Hex(m.entry_point),
                    Cell::Text(m.name.clone()),
                    Cell::Text(m.path.clone()),
                    m.load_count.map_or(Cell::Null, Cell::UInt),
                    m.load_time.map_or(Cell::Null, time),
                    Cell::Bool(m.in_load),
                    Cell::Bool(m.in_mem),
                    Cell::Bool(m.in_init),
                ]);
            }
        }
        Ok(PluginOutput::table(t))
    }
}

/// `cmdline`: each process's command line and image path from its PEB.
pub struct CmdLine;
impl Plugin for CmdLine {
    fn name(&self) -> &'static str {
        "cmdline"
    }
    fn about(&self) -> &'static str {
        "Show each process's command line, image path and current directory (PEB)"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::new(
            "cmdline",
            vec![
                col("pid", ColumnKind::Int),
                col("process", ColumnKind::Text),
                col("command_line", ColumnKind::Text),
                col("image_path", ColumnKind::Text),
                col("current_directory", ColumnKind::Text),
            ],
        );
        for d in selected(session, options, false)? {
            let peb = d.peb.as_ref();
            t.push(vec![
                Cell::UInt(d.process.pid),
                Cell::Text(d.process.name.clone()),
                opt_text(peb.and_then(|p| p.command_line.as_deref())),
                opt_text(peb.and_then(|p| p.image_path.as_deref())),
                opt_text(peb.and_then(|p| p.current_directory.as_deref())),
            ]);
        }
        Ok(PluginOutput::table(t))
    }
}

/// `envars`: each process's environment block.
pub struct EnVars;
impl Plugin for EnVars {
    fn name(&self) -> &'static str {
        "envars"
    }
    fn about(&self) -> &'static str {
        "Show each process's environment variables (PEB)"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::new(
            "envars",
            vec![
                col("pid", ColumnKind::Int),
                col("process", ColumnKind::Text),
                col("variable", ColumnKind::Text),
                col("value", ColumnKind::Text),
            ],
        );
        for d in selected(session, options, false)? {
            let Some(peb) = &d.peb else { continue };
            for (k, v) in &peb.environment {
                t.push(vec![
                    Cell::UInt(d.process.pid),
                    Cell::Text(d.process.name.clone()),
                    Cell::Text(k.clone()),
                    Cell::Text(v.clone()),
                ]);
            }
        }
        Ok(PluginOutput::table(t))
    }
}

/// `ldrmodules`: every image region and its presence on each loader list.
pub struct LdrModules;
impl Plugin for LdrModules {
    fn name(&self) -> &'static str {
        "ldrmodules"
    }
    fn about(&self) -> &'static str {
        "Show every image mapping and whether each PEB loader list has it (finds unlinked DLLs)"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let k = session.kernel()?;
        let mut t = Table::new(
            "ldrmodules",
            vec![
                col("pid", ColumnKind::Int),
                col("process", ColumnKind::Text),
                col("base", ColumnKind::Hex),
                col("in_load", ColumnKind::Bool),
                col("in_init", ColumnKind::Bool),
                col("in_mem", ColumnKind::Bool),
                col("mapped_path", ColumnKind::Text),
            ],
        );
        let mut findings = Vec::new();
        for d in selected(session, options, true)? {
            for (r, [load, mem, init]) in image_list_membership(d) {
                t.push(vec![
                    Cell::UInt(d.process.pid),
                    Cell::Text(d.process.name.clone()),
                    Cell::Hex(r.vad.start),
                    Cell::Bool(load),
                    Cell::Bool(init),
                    Cell::Bool(mem),
                    opt_text(r.vad.file.as_deref()),
                ]);
            }
            findings.extend(unlinked_modules(&session.process_space(k, &d.process), d));
        }
        Ok(PluginOutput {
            table: t,
            findings,
            warnings: Vec::new(),
        })
    }
}

fn disassemble(bytes: &[u8], ip: u64, max: usize) -> String {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    let mut decoder = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    let mut out = Vec::new();
    let mut text = String::new();
    while decoder.can_decode() && out.len() < max {
        let ins = decoder.decode();
        text.clear();
        fmt.format(&ins, &mut text);
        out.push(format!("{:#x}: {text}", ins.ip()));
    }
    out.join("; ")
}

/// `malfind`: suspicious executable private/mapped memory, with a hexdump and disassembly.
pub struct MalFind;
impl Plugin for MalFind {
    fn name(&self) -> &'static str {
        "malfind"
    }
    fn about(&self) -> &'static str {
        "Find injected code: RWX private memory and executable non-image memory holding a PE"
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let k = session.kernel()?;
        let mut t = Table::new(
            "malfind",
            vec![
                col("pid", ColumnKind::Int),
                col("process", ColumnKind::Text),
                col("start", ColumnKind::Hex),
                col("end", ColumnKind::Hex),
                col("rule", ColumnKind::Text),
                col("protection", ColumnKind::Text),
                col("type", ColumnKind::Text),
                col("hexdump", ColumnKind::Text),
                col("disassembly", ColumnKind::Text),
            ],
        );
        let mut findings = Vec::new();
        for d in selected(session, options, true)? {
            let space = session.process_space(k, &d.process);
            for f in malfind(&space, d) {
                let start = f.address.map(|h| h.0).unwrap_or(0);
                let mut head = [0u8; 64];
                let ok = space.read_exact(start, &mut head).is_ok();
                let hexdump = if ok {
                    head.iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    String::new()
                };
                let disasm = if ok {
                    disassemble(&head, start, 8)
                } else {
                    String::new()
                };
                t.push(vec![
                    Cell::UInt(d.process.pid),
                    Cell::Text(d.process.name.clone()),
                    Cell::Hex(start),
                    opt_hex(f.end.map(|h| h.0)),
                    Cell::Text(f.rule.clone()),
                    opt_text(f.evidence.get("protection").and_then(|v| v.as_str())),
                    opt_text(f.evidence.get("type").and_then(|v| v.as_str())),
                    Cell::Text(hexdump),
                    Cell::Text(disasm),
                ]);
                findings.push(f);
            }
        }
        Ok(PluginOutput {
            table: t,
            findings,
            warnings: Vec::new(),
        })
    }
}

/// All findings of every detector over the whole session (used by `report`).
pub fn all_findings(session: &Session) -> Result<Vec<memtriage_report::Finding>, AnalysisError> {
    let k = session.kernel()?;
    let mut out = Vec::new();
    let all: Vec<&ProcessDetail> = session
        .details()?
        .iter()
        .chain(session.unlisted()?.iter())
        .collect();
    for d in &all {
        let space = session.process_space(k, &d.process);
        out.extend(malfind(&space, d));
        out.extend(unlinked_modules(&space, d));
        out.extend(image_identity(d));
    }
    for d in session.unlisted()?.iter().filter(|d| d.hidden) {
        out.push(crate::detect::hidden_process_finding(&d.process));
    }
    Ok(out)
}
