//! The process tree and, per process, its memory map, VMMap totals and modules.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use super::category;
use super::escape::{Esc, EscOpt};
use super::memmap::{write_memory_map, Marker};
use super::page::{finding_anchor, process_anchor};
use super::units::bytes;
use crate::model::{Process, Report};
use crate::table::tree_order;
use crate::RegionCategory;

/// Writes the process tree: one row per process, children indented under their parent.
pub fn write_tree(out: &mut String, report: &Report) -> fmt::Result {
    write!(
        out,
        r#"<section id="processes"><h2>Process tree ({})</h2><table class="tree"><thead><tr><th>pid</th><th>ppid</th><th>name</th><th>path</th><th>command line</th><th>created</th><th>exited</th><th>threads</th><th>findings</th></tr></thead><tbody>"#,
        report.processes.len()
    )?;
    let nodes: Vec<(u64, u64)> = report.processes.iter().map(|p| (p.pid, p.ppid)).collect();
    for (i, depth) in tree_order(&nodes) {
        let Some(p) = report.processes.get(i) else {
            continue;
        };
        let findings = report
            .findings
            .iter()
            .filter(|f| f.pid == Some(p.pid))
            .count();
        write!(
            out,
            r##"<tr data-pid="{pid}"><td class="num">{pid}</td><td class="num">{ppid}</td><td class="name" style="padding-left:{pad:.1}rem"><a href="#{anchor}">{name}</a>{wow}{hidden}</td><td class="wrap mono">{path}</td><td class="wrap mono">{cmd}</td><td class="mono time">{created}</td><td class="mono time">{exited}</td><td class="num">{threads}</td><td class="num">{findings}</td></tr>"##,
            pid = p.pid,
            ppid = p.ppid,
            pad = 0.5 + 1.2 * f64::from(depth.min(30)),
            anchor = process_anchor(i),
            name = Esc(&p.name),
            wow = if p.wow64 {
                r#"<span class="flag">WoW64</span>"#
            } else {
                ""
            },
            hidden = hidden_flag(p),
            path = EscOpt(p.image_path.as_deref()),
            cmd = EscOpt(p.command_line.as_deref()),
            created = EscOpt(p.create_time.as_deref()),
            exited = EscOpt(p.exit_time.as_deref()),
            threads = p.threads,
        )?;
    }
    out.push_str("</tbody></table></section>");
    Ok(())
}

/// The `hidden` flag of a process, its tooltip naming the process views that saw it.
fn hidden_flag(p: &Process) -> String {
    if !p.hidden {
        return String::new();
    }
    let views: Vec<&str> = p.views.iter().map(|v| v.name()).collect();
    if views.is_empty() {
        return r#"<span class="flag hidden">hidden</span>"#.to_owned();
    }
    format!(
        r#"<span class="flag hidden" title="seen by: {}">hidden</span>"#,
        views.join(", ")
    )
}

/// Writes the per-process sections (memory map, totals, modules), in report order.
pub fn write_process_sections(out: &mut String, report: &Report) -> fmt::Result {
    out.push_str(r#"<section id="memory"><h2>Memory maps</h2>"#);
    write_legend(out)?;
    for (i, p) in report.processes.iter().enumerate() {
        write_process(out, report, i, p)?;
    }
    out.push_str("</section>");
    Ok(())
}

fn write_legend(out: &mut String) -> fmt::Result {
    out.push_str(r#"<div class="legend">"#);
    for c in category::DRAWN {
        write!(
            out,
            r#"<span class="{}">{}</span>"#,
            category::class(c),
            c.name()
        )?;
    }
    out.push_str(
        r#"<span class="c-private reserved">reserved (pale, dashed)</span><span class="priv">private (mark under the bar)</span><span class="muted">▼ finding · ⁄⁄ unmapped space · widths grow with log2(size)</span></div>"#,
    );
    Ok(())
}

fn write_process(out: &mut String, report: &Report, index: usize, p: &Process) -> fmt::Result {
    write!(
        out,
        r#"<article class="process" id="{}" data-pid="{}"><h3>{} <span class="muted">pid {} · ppid {} · {} regions · {} modules · EPROCESS {}</span></h3>"#,
        process_anchor(index),
        p.pid,
        Esc(&p.name),
        p.pid,
        p.ppid,
        p.regions.len(),
        p.modules.len(),
        p.offset
    )?;
    let anchors: Vec<(String, usize)> = report
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.pid.is_some_and(|pid| {
                report
                    .process_for(pid, f.process.as_deref())
                    .is_some_and(|q| std::ptr::eq(q, p))
            })
        })
        .map(|(fi, _)| (finding_anchor(fi), fi))
        .collect();
    let markers: Vec<Marker<'_>> = anchors
        .iter()
        .filter_map(|(anchor, fi)| {
            report.findings.get(*fi).map(|finding| Marker {
                anchor: anchor.as_str(),
                finding,
            })
        })
        .collect();
    if !markers.is_empty() {
        out.push_str("<p>Findings: ");
        for (n, m) in markers.iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            write!(
                out,
                r##"<a href="#{}"><span class="sev sev-{}">{}</span> {}</a>"##,
                Esc(m.anchor),
                m.finding.severity,
                m.finding.severity,
                Esc(&m.finding.rule)
            )?;
        }
        out.push_str("</p>");
    }
    out.push_str(r#"<div class="mapbox">"#);
    write_memory_map(out, p.pid, &p.regions, &markers)?;
    out.push_str("</div>");
    out.push_str(r#"<div class="tables">"#);
    if !p.regions.is_empty() {
        write_totals(out, p)?;
    }
    if !p.modules.is_empty() {
        write_modules(out, p)?;
    }
    out.push_str("</div>");
    out.push_str("</article>");
    Ok(())
}

/// Size, committed, private and reserved bytes of one category.
#[derive(Default)]
struct Totals {
    regions: u64,
    size: u64,
    committed: u64,
    private: u64,
    reserved: u64,
}

fn write_totals(out: &mut String, p: &Process) -> fmt::Result {
    let mut totals: BTreeMap<RegionCategory, Totals> = BTreeMap::new();
    for r in &p.regions {
        let t = totals.entry(r.category).or_default();
        let size = r.end.0.saturating_sub(r.start.0).saturating_add(1);
        let committed = r.commit_charge.saturating_mul(4096);
        t.regions += 1;
        t.size = t.size.saturating_add(size);
        t.committed = t.committed.saturating_add(committed);
        if r.private {
            t.private = t.private.saturating_add(committed);
        }
        if r.state == crate::RegionState::Reserved {
            t.reserved = t.reserved.saturating_add(size);
        }
    }
    out.push_str(r#"<table class="totals"><thead><tr><th>category</th><th>regions</th><th>size</th><th>committed</th><th>private</th><th>reserved</th></tr></thead><tbody>"#);
    let mut all = Totals::default();
    for (c, t) in &totals {
        write!(
            out,
            r#"<tr><td><span class="sw {}"></span>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            category::class(*c),
            c.name(),
            t.regions,
            bytes(t.size),
            bytes(t.committed),
            bytes(t.private),
            bytes(t.reserved)
        )?;
        all.regions += t.regions;
        all.size = all.size.saturating_add(t.size);
        all.committed = all.committed.saturating_add(t.committed);
        all.private = all.private.saturating_add(t.private);
        all.reserved = all.reserved.saturating_add(t.reserved);
    }
    write!(
        out,
        r#"<tr><th>Total</th><th class="num">{}</th><th class="num">{}</th><th class="num">{}</th><th class="num">{}</th><th class="num">{}</th></tr></tbody></table>"#,
        all.regions,
        bytes(all.size),
        bytes(all.committed),
        bytes(all.private),
        bytes(all.reserved)
    )
}

fn yes_no(v: bool) -> &'static str {
    if v {
        r#"<span class="yes">✓</span>"#
    } else {
        r#"<span class="no">✗</span>"#
    }
}

fn write_modules(out: &mut String, p: &Process) -> fmt::Result {
    out.push_str(r#"<table class="modules"><thead><tr><th>base</th><th>size</th><th>name</th><th>path</th><th title="InLoadOrderModuleList">load</th><th title="InMemoryOrderModuleList">mem</th><th title="InInitializationOrderModuleList">init</th></tr></thead><tbody>"#);
    for m in &p.modules {
        write!(
            out,
            r#"<tr><td class="mono">{}</td><td class="num">{}</td><td>{}</td><td class="wrap mono">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            m.base,
            bytes(m.size.0),
            Esc(&m.name),
            Esc(&m.path),
            yes_no(m.in_load),
            yes_no(m.in_mem),
            yes_no(m.in_init)
        )?;
    }
    out.push_str("</tbody></table>");
    Ok(())
}
