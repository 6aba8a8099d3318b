//! The per-process memory map: one inline SVG along the user address space.
//!
//! Regions are laid out left to right in address order. The axis is compressed so that small
//! regions stay visible: a region is `MIN_WIDTH` pixels plus `LOG_STEP` pixels per doubling of
//! its size above one page, unmapped space between regions is a fixed-width break, and the
//! result is stretched to the page width when it is narrower. Colour is the VMMap category;
//! reserved regions are pale and dashed; private regions have a mark in the lane under the bar;
//! image regions are labelled with their file name; findings are triangles above the bar at
//! their address. Every region has a `<title>` (start, end, size, category, state, protection,
//! file) that browsers show on hover.

use std::fmt::{self, Write};

use super::category;
use super::escape::Esc;
use super::units::bytes;
use crate::model::{Finding, Region};

/// Width in pixels of the smallest (one page) region.
const MIN_WIDTH: f64 = 6.0;
/// Extra width in pixels per doubling of a region's size above one page.
const LOG_STEP: f64 = 4.0;
/// Width of the break drawn for unmapped space between two regions.
const GAP_WIDTH: f64 = 10.0;
/// Width the drawing is stretched to when its natural width is smaller.
const TARGET_WIDTH: f64 = 1100.0;
/// Left and right margin.
const MARGIN: f64 = 8.0;
/// Top of the region bar (finding markers go above it).
const BAR_Y: f64 = 22.0;
/// Height of the region bar.
const BAR_H: f64 = 34.0;
/// Height of the private-memory lane under the bar.
const LANE_H: f64 = 5.0;
/// Height of one row of image labels.
const LABEL_ROW: f64 = 13.0;
/// Rows of image labels at most (labels that do not fit are left to the hover title).
const LABEL_ROWS: usize = 4;
/// Estimated width of one label character at the label font size.
const CHAR_W: f64 = 6.2;

/// One finding placed on the map: its anchor id in the page, rule, severity and address.
#[derive(Debug, Clone, Copy)]
pub struct Marker<'a> {
    /// The `id` of the finding's entry in the findings list.
    pub anchor: &'a str,
    /// The finding.
    pub finding: &'a Finding,
}

/// One region's place on the compressed axis.
struct Slot<'a> {
    region: &'a Region,
    x: f64,
    w: f64,
    /// True when unmapped space separates this region from the previous one.
    after_gap: bool,
}

fn natural_width(r: &Region) -> f64 {
    let size = r
        .end
        .0
        .saturating_sub(r.start.0)
        .saturating_add(1)
        .max(4096);
    let doublings = (size as f64 / 4096.0).log2().max(0.0);
    MIN_WIDTH + LOG_STEP * doublings
}

/// Places the regions (sorted by start) on the axis; returns the slots and the total width.
fn layout(regions: &[Region]) -> (Vec<Slot<'_>>, f64) {
    let mut widths: Vec<(f64, bool)> = Vec::with_capacity(regions.len());
    let mut prev_end: Option<u64> = None;
    let mut fixed = 0.0;
    let mut scalable = 0.0;
    for r in regions {
        let after_gap = prev_end.is_some_and(|e| r.start.0 > e.saturating_add(1));
        let w = natural_width(r);
        scalable += w;
        fixed += if after_gap { GAP_WIDTH } else { 1.0 };
        widths.push((w, after_gap));
        prev_end = Some(r.end.0);
    }
    let inner = TARGET_WIDTH - 2.0 * MARGIN;
    let stretch = if scalable + fixed < inner && scalable > 0.0 {
        (inner - fixed) / scalable
    } else {
        1.0
    };
    let mut x = MARGIN;
    let mut slots = Vec::with_capacity(regions.len());
    for (i, (r, (w, after_gap))) in regions.iter().zip(widths).enumerate() {
        if i > 0 {
            x += if after_gap { GAP_WIDTH } else { 1.0 };
        }
        let w = w * stretch;
        slots.push(Slot {
            region: r,
            x,
            w,
            after_gap,
        });
        x += w;
    }
    (slots, (x + MARGIN).max(TARGET_WIDTH))
}

/// The file name part of a Windows or POSIX path.
pub fn base_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// Writes the memory-map SVG of one process (`regions` sorted by start).
///
/// A map that fits the target width scales with the page (class `fit`); a wider one (many
/// regions) keeps its natural size and scrolls.
pub fn write_memory_map(
    out: &mut String,
    pid: u64,
    regions: &[Region],
    markers: &[Marker<'_>],
) -> fmt::Result {
    let (slots, width) = layout(regions);
    let label_top = BAR_Y + BAR_H + LANE_H + 4.0;
    let mut labels = String::new();
    let rows = write_labels(&mut labels, &slots, label_top)?;
    let axis_y = label_top + LABEL_ROW * rows as f64 + 12.0;
    let height = if slots.is_empty() {
        BAR_Y + BAR_H + 8.0
    } else {
        axis_y + 5.0
    };
    let fit = if width <= TARGET_WIDTH { " fit" } else { "" };
    write!(
        out,
        r#"<svg class="memmap{fit}" data-pid="{pid}" xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="memory map of pid {pid}">"#
    )?;
    if slots.is_empty() {
        write!(
            out,
            r#"<text class="empty" x="{MARGIN}" y="{:.0}">no user-space regions</text></svg>"#,
            BAR_Y + BAR_H / 2.0
        )?;
        return Ok(());
    }
    for s in &slots {
        write_region(out, s, markers)?;
    }
    out.push_str(&labels);
    write_axis(out, &slots, axis_y)?;
    // Least severe first, so that the most severe marker of an address is drawn on top.
    let mut ordered: Vec<&Marker<'_>> = markers.iter().collect();
    ordered.sort_by_key(|m| m.finding.severity);
    for m in ordered {
        write_marker(out, &slots, m)?;
    }
    out.push_str("</svg>");
    Ok(())
}

fn write_region(out: &mut String, s: &Slot<'_>, markers: &[Marker<'_>]) -> fmt::Result {
    let r = s.region;
    let cat = r.category;
    let reserved = r.state == crate::RegionState::Reserved;
    let flagged = markers.iter().any(|m| contains(r, m.finding));
    if s.after_gap {
        // Two slanted strokes: unmapped space left out of the drawing.
        let gx = s.x - GAP_WIDTH / 2.0;
        write!(
            out,
            r#"<path class="gap" d="M{:.1} {:.1}l3 -8M{:.1} {:.1}l3 -8"/>"#,
            gx - 3.0,
            BAR_Y + BAR_H / 2.0 + 4.0,
            gx,
            BAR_Y + BAR_H / 2.0 + 4.0
        )?;
    }
    let size = r.end.0.saturating_sub(r.start.0).saturating_add(1);
    write!(
        out,
        r#"<rect class="region {}{}{}" data-start="{}" x="{:.1}" y="{BAR_Y}" width="{:.1}" height="{BAR_H}"><title>{} – {} ({})
{} · {} · {} · {}{}"#,
        category::class(cat),
        if reserved { " reserved" } else { "" },
        if flagged { " flagged" } else { "" },
        r.start,
        s.x,
        s.w,
        r.start,
        r.end,
        bytes(size),
        Esc(r.category.name()),
        Esc(r.state.name()),
        Esc(&r.protection),
        r.r#type,
        if r.private { " · private" } else { "" },
    )?;
    if r.commit_charge > 0 {
        write!(
            out,
            " · {} committed",
            bytes(r.commit_charge.saturating_mul(4096))
        )?;
    }
    if let Some(file) = &r.file {
        write!(out, "\n{}", Esc(file))?;
    }
    out.push_str("</title></rect>");
    if r.private {
        write!(
            out,
            r#"<rect class="priv" x="{:.1}" y="{:.1}" width="{:.1}" height="{LANE_H}"/>"#,
            s.x,
            BAR_Y + BAR_H + 1.0,
            s.w
        )?;
    }
    Ok(())
}

/// Image regions get their file name under the bar, on the first row where it fits; returns
/// the number of rows used.
fn write_labels(out: &mut String, slots: &[Slot<'_>], top: f64) -> Result<usize, fmt::Error> {
    let mut used = 0;
    let mut row_end = [f64::MIN; LABEL_ROWS];
    let mut previous: Option<&str> = None;
    for s in slots {
        let r = s.region;
        if r.category != crate::RegionCategory::Image {
            previous = None;
            continue;
        }
        let Some(file) = r.file.as_deref() else {
            continue;
        };
        // Adjacent regions of one image share the label of the first.
        if previous == Some(file) && !s.after_gap {
            continue;
        }
        previous = Some(file);
        let name = base_name(file);
        let text_w = name.chars().count() as f64 * CHAR_W;
        let x = s.x + 1.0;
        let Some(row) = row_end.iter().position(|&end| x >= end + 6.0) else {
            continue;
        };
        if let Some(end) = row_end.get_mut(row) {
            *end = x + text_w;
        }
        used = used.max(row + 1);
        let y = top + LABEL_ROW * (row as f64 + 1.0) - 3.0;
        write!(
            out,
            r#"<line class="leader" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/><text class="label" x="{:.1}" y="{y:.1}">{}</text>"#,
            BAR_Y + BAR_H,
            y + 2.0,
            x + 2.0,
            Esc(name)
        )?;
    }
    Ok(used)
}

/// Start addresses of the first region and of every region after a break, where they fit.
fn write_axis(out: &mut String, slots: &[Slot<'_>], y: f64) -> fmt::Result {
    let mut last_end = f64::MIN;
    for (i, s) in slots.iter().enumerate() {
        if i > 0 && !s.after_gap {
            continue;
        }
        let text = s.region.start.to_string();
        let w = text.len() as f64 * CHAR_W;
        if s.x < last_end + 8.0 {
            continue;
        }
        last_end = s.x + w;
        write!(
            out,
            r#"<text class="axis" x="{:.1}" y="{y:.1}">{text}</text>"#,
            s.x
        )?;
    }
    Ok(())
}

fn contains(r: &Region, f: &Finding) -> bool {
    f.address.is_some_and(|a| r.start <= a && a <= r.end)
}

/// A triangle above the bar at the finding's address, linking to the finding.
fn write_marker(out: &mut String, slots: &[Slot<'_>], m: &Marker<'_>) -> fmt::Result {
    let f = m.finding;
    let (Some(addr), Some(s)) = (f.address, slots.iter().find(|s| contains(s.region, f))) else {
        return Ok(());
    };
    let span = s.region.end.0.saturating_sub(s.region.start.0).max(1) as f64;
    let frac = (addr.0.saturating_sub(s.region.start.0)) as f64 / span;
    let x = s.x + (s.w * frac).clamp(3.0, s.w.max(3.0));
    write!(
        out,
        r##"<a href="#{}"><path class="marker sev-{}" d="M{:.1} {:.1}l-6 -12h12z"><title>{} ({}) at {}</title></path></a>"##,
        Esc(m.anchor),
        f.severity,
        x,
        BAR_Y - 2.0,
        Esc(&f.rule),
        f.severity,
        addr
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex::Hex;
    use crate::model::RegionType;

    fn region(start: u64, end: u64) -> Region {
        Region {
            start: Hex(start),
            end: Hex(end),
            r#type: RegionType::Private,
            category: crate::RegionCategory::PrivateData,
            state: crate::RegionState::Committed,
            protection: "PAGE_READWRITE".into(),
            private: true,
            commit_charge: 1,
            file: None,
        }
    }

    #[test]
    fn small_regions_keep_a_minimum_width() {
        // One page next to 2 TiB: the page is still at least MIN_WIDTH wide.
        let regions = [region(0x1000, 0x1fff), region(0x10000, 0x200_0000_ffff)];
        let (slots, _) = layout(&regions);
        let [a, b] = slots.as_slice() else {
            panic!("two slots expected");
        };
        assert!(a.w >= MIN_WIDTH);
        assert!(b.after_gap);
        // 2 TiB is 29 doublings above a page: 6 + 4 * 29 = 122 before stretching.
        let stretch = a.w / MIN_WIDTH;
        assert!((b.w / stretch - 122.0).abs() < 0.01, "{}", b.w / stretch);
        assert!(b.x > a.x + a.w);
    }

    #[test]
    fn base_names() {
        assert_eq!(base_name(r"C:\Windows\System32\ntdll.dll"), "ntdll.dll");
        assert_eq!(base_name("/usr/lib/x.so"), "x.so");
        assert_eq!(base_name("plain"), "plain");
    }
}
