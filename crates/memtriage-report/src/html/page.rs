//! The page skeleton: document head, header block, kernel modules, warnings and footer.

use std::fmt::{self, Write};

use super::escape::{Esc, EscOpt};
use super::findings::write_findings;
use super::processes::{write_process_sections, write_tree};
use super::style::CSS;
use super::units::bytes;
use crate::model::{Report, Severity};

/// The `id` of a process's section (its index in [`Report::processes`]; pids can repeat).
pub fn process_anchor(index: usize) -> String {
    format!("proc-{index}")
}

/// The `id` of a finding's card (its index in [`Report::findings`]).
pub fn finding_anchor(index: usize) -> String {
    format!("finding-{index}")
}

/// Opens the document: doctype, head with the title and the inline style sheet, body.
pub fn write_head(out: &mut String, title: &str) -> fmt::Result {
    write!(
        out,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="color-scheme" content="light dark"><title>{}</title><style>{CSS}</style></head><body>"#,
        Esc(title)
    )
}

/// Counts of findings per severity, highest first.
pub fn severity_counts(report: &Report) -> [(Severity, usize); 4] {
    let mut counts = [
        (Severity::High, 0),
        (Severity::Medium, 0),
        (Severity::Low, 0),
        (Severity::Info, 0),
    ];
    for f in &report.findings {
        if let Some((_, n)) = counts.iter_mut().find(|(s, _)| *s == f.severity) {
            *n += 1;
        }
    }
    counts
}

/// Writes the whole report page into `out`.
pub fn write_page(out: &mut String, report: &Report) -> fmt::Result {
    write_head(
        out,
        &format!("memtriage report: {}", file_name(&report.image.path)),
    )?;
    write_header(out, report)?;
    write_findings(out, report)?;
    write_tree(out, report)?;
    write_process_sections(out, report)?;
    write_kernel_modules(out, report)?;
    write_warnings(out, report)?;
    write!(
        out,
        r#"<footer>{} {} · schema {} · self-contained page: no script, no external resource.</footer></body></html>"#,
        Esc(&report.tool.name),
        Esc(&report.tool.version),
        Esc(&report.schema)
    )?;
    out.push('\n');
    Ok(())
}

/// The last component of a path as given on the command line.
pub fn file_name(path: &str) -> &str {
    super::memmap::base_name(path)
}

fn write_header(out: &mut String, report: &Report) -> fmt::Result {
    let s = &report.system;
    write!(
        out,
        r#"<header><h1>memtriage report · {}</h1><dl class="meta">"#,
        Esc(file_name(&report.image.path))
    )?;
    let mut row = |k: &str, v: &dyn fmt::Display, mono: bool| {
        write!(
            out,
            r#"<dt>{k}</dt><dd{}>{v}</dd>"#,
            if mono { r#" class="mono""# } else { "" }
        )
    };
    row("image", &Esc(&report.image.path), true)?;
    row("format", &Esc(&report.image.format), false)?;
    row(
        "size",
        &format_args!("{} ({} bytes)", bytes(report.image.size), report.image.size),
        false,
    )?;
    if let Some(sha) = &report.image.sha256 {
        row("SHA-256", &Esc(sha), true)?;
    }
    row(
        "build",
        &s.build.map_or_else(|| "–".to_owned(), |b| b.to_string()),
        false,
    )?;
    row("version", &EscOpt(s.version.as_deref()), false)?;
    row("profile", &EscOpt(s.profile.as_deref()), false)?;
    row("kernel PDB", &EscOpt(s.pdb_guid.as_deref()), true)?;
    row(
        "kernel base",
        &s.kernel_base
            .map_or_else(|| "–".to_owned(), |v| v.to_string()),
        true,
    )?;
    row(
        "DTB",
        &s.dtb.map_or_else(|| "–".to_owned(), |v| v.to_string()),
        true,
    )?;
    row("system time", &EscOpt(s.system_time.as_deref()), true)?;
    row(
        "processors",
        &s.processors
            .map_or_else(|| "–".to_owned(), |n| n.to_string()),
        false,
    )?;
    row(
        "memtriage",
        &format_args!("{} {}", Esc(&report.tool.name), Esc(&report.tool.version)),
        false,
    )?;
    row("schema", &Esc(&report.schema), true)?;
    out.push_str(r#"</dl><div class="summary">"#);
    for (sev, n) in severity_counts(report) {
        write!(
            out,
            r##"<a class="pill" href="#findings"><span class="sev sev-{sev}">{sev}</span> {n}</a>"##
        )?;
    }
    write!(
        out,
        r##"<a class="pill" href="#processes">{} processes ({} hidden)</a><a class="pill" href="#kernel-modules">{} kernel modules</a><a class="pill" href="#warnings">{} warnings</a></div></header>"##,
        report.processes.len(),
        report.processes.iter().filter(|p| p.hidden).count(),
        report.kernel_modules.len(),
        report.warnings.len()
    )
}

fn write_kernel_modules(out: &mut String, report: &Report) -> fmt::Result {
    write!(
        out,
        r#"<section id="kernel-modules"><h2>Kernel modules ({})</h2><table><thead><tr><th>base</th><th>size</th><th>name</th><th>path</th></tr></thead><tbody>"#,
        report.kernel_modules.len()
    )?;
    for m in &report.kernel_modules {
        write!(
            out,
            r#"<tr><td class="mono">{}</td><td class="num">{}</td><td>{}</td><td class="wrap mono">{}</td></tr>"#,
            m.base,
            bytes(m.size.0),
            Esc(&m.name),
            Esc(&m.path)
        )?;
    }
    out.push_str("</tbody></table></section>");
    Ok(())
}

fn write_warnings(out: &mut String, report: &Report) -> fmt::Result {
    write!(
        out,
        r#"<section id="warnings"><h2>Warnings ({})</h2>"#,
        report.warnings.len()
    )?;
    if report.warnings.is_empty() {
        out.push_str(r#"<p class="muted">None: the analysis met no problem.</p>"#);
    } else {
        out.push_str(r#"<ul class="warn">"#);
        for w in &report.warnings {
            write!(out, "<li>{}</li>", Esc(w))?;
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    Ok(())
}
