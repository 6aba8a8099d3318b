//! Build the full [`Report`] of a capture: system, processes with regions and modules,
//! kernel modules, findings and warnings.

use crate::crossview::CrossView;
use crate::detect::{all_findings, image_list_membership};
use crate::session::ProcessDetail;
use crate::{AnalysisError, Session};
use memtriage_report::{
    filetime_to_iso, Coverage, Hex, Image, KernelModule, Module, Process, Region, Report, System,
    Tool,
};
use memtriage_windows::kmodule::kernel_modules;

/// The `system` block of a report (also used by `info`).
pub fn system_block(session: &Session) -> Result<System, AnalysisError> {
    let k = session.kernel()?;
    Ok(System {
        build: Some(k.build),
        version: Some(version_string(k.build, k.nt_version)),
        dtb: Some(Hex(k.dtb)),
        kernel_base: Some(Hex(k.base)),
        pdb_guid: k.pdb.as_ref().map(|p| p.guid_age()),
        profile: Some(k.profile_summary()),
        system_time: k.system_time.and_then(filetime_to_iso),
        processors: k.processors,
    })
}

/// A human name for a build: "Windows 10 2004–22H2 (19041)".
pub fn version_string(build: u32, nt: Option<(u32, u32)>) -> String {
    let name = memtriage_symbols::release_name(build).unwrap_or("Windows");
    match nt {
        Some((ma, mi)) => format!("{name} (NT {ma}.{mi}, build {build})"),
        None => format!("{name} (build {build})"),
    }
}

fn process_entry(d: &ProcessDetail, cross: &CrossView) -> Process {
    let p = &d.process;
    let peb = d.peb.as_ref();
    Process {
        pid: p.pid,
        ppid: p.ppid,
        name: p.name.clone(),
        image_path: p.image_path.clone(),
        command_line: peb.and_then(|p| p.command_line.clone()),
        create_time: filetime_to_iso(p.create_time),
        exit_time: filetime_to_iso(p.exit_time),
        offset: Hex(p.eprocess),
        wow64: p.wow64(),
        hidden: d.hidden,
        threads: d.threads.len() as u64,
        regions: d
            .regions
            .iter()
            .map(|r| Region {
                start: Hex(r.vad.start),
                end: Hex(r.vad.end),
                r#type: r.mem_type,
                category: r.category,
                state: r.state,
                protection: r.vad.protection.name(),
                private: r.vad.private,
                commit_charge: r.vad.commit_charge,
                file: r.vad.file.clone(),
            })
            .collect(),
        modules: modules(d),
        views: cross.views_of(p),
    }
}

/// A process's modules: every loader entry (64- and 32-bit lists), then every image mapping
/// that no loader list holds (all three flags false; name and path from the VAD's file).
/// Without loader data (PEB or Ldr unreadable, or a profile without loader offsets) the flags
/// would be unknown rather than false, so image mappings are then not added.
fn modules(d: &ProcessDetail) -> Vec<Module> {
    let mut out: Vec<Module> = d
        .peb
        .iter()
        .chain(d.peb32.iter())
        .flat_map(|peb| {
            peb.modules.iter().map(|m| Module {
                base: Hex(m.base),
                size: Hex(m.size),
                name: m.name.clone(),
                path: m.path.clone(),
                in_load: m.in_load,
                in_mem: m.in_mem,
                in_init: m.in_init,
            })
        })
        .collect();
    if out.is_empty() {
        return out;
    }
    for (r, lists) in image_list_membership(d) {
        if lists.in_load || lists.in_mem || lists.in_init {
            continue;
        }
        let path = r.vad.file.clone().unwrap_or_default();
        let name = path.rsplit('\\').next().unwrap_or_default().to_owned();
        out.push(Module {
            base: Hex(r.vad.start),
            size: Hex(r.vad.size()),
            name,
            path,
            in_load: false,
            in_mem: false,
            in_init: false,
        });
    }
    out
}

/// Build the report. `sha256` is the capture's hash when the caller computed one.
pub fn build_report(session: &Session, sha256: Option<String>) -> Result<Report, AnalysisError> {
    let meta = session.memory().metadata();
    let mut report = Report::new(Image {
        path: session.path().display().to_string(),
        format: meta.format.name().to_string(),
        size: meta.file_size,
        sha256,
    });
    report.tool = Tool {
        name: "memtriage".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    report.system = system_block(session)?;
    let k = session.kernel()?;
    let cross = session.cross_view()?;
    for d in session.details()?.iter().chain(session.unlisted()?.iter()) {
        report.processes.push(process_entry(d, cross));
    }
    report.coverage = Coverage {
        fast: session.fast(),
        views: cross.coverage.clone(),
    };
    if let Some(head) = k.ps_loaded_module_list {
        let (mods, warnings) = kernel_modules(&k.space, &k.layout, head);
        report.kernel_modules = mods
            .into_iter()
            .map(|m| KernelModule {
                base: Hex(m.base),
                size: Hex(m.size),
                name: m.name,
                path: m.path,
            })
            .collect();
        report.warnings.extend(warnings);
    }
    report.findings = all_findings(session)?;
    let mut warnings = session.warnings();
    warnings.append(&mut report.warnings);
    warnings.dedup();
    report.warnings = warnings;
    report.sort();
    Ok(report)
}
