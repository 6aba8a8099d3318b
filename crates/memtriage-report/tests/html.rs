//! The HTML page: capture strings cannot inject markup, and the committed sample's page shows
//! every process, every finding and one memory map per process.

use std::path::Path;

use memtriage_report::{
    read_report, write_fleet_index, write_report_html, Finding, FleetEntry, Hex, Image, Module,
    Process, Region, RegionType, Report, Severity,
};

fn html(report: &Report) -> String {
    let mut out = Vec::new();
    write_report_html(&mut out, report).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("the page is UTF-8")
}

const SCRIPT: &str = "<script>alert(1)</script>";
const ATTR: &str = r#"x" onmouseover="alert(2)" data-x='y'"#;

fn hostile_report() -> Report {
    let mut r = Report::new(Image {
        path: format!("C:\\cases\\{SCRIPT}.dmp"),
        format: "raw".into(),
        size: 1,
        sha256: Some(ATTR.into()),
    });
    r.processes.push(Process {
        pid: 1337,
        ppid: 4,
        name: SCRIPT.into(),
        image_path: Some(ATTR.into()),
        command_line: Some(format!("cmd.exe /c \"{SCRIPT}\" '{ATTR}'")),
        regions: vec![Region {
            start: Hex(0x10000),
            end: Hex(0x1ffff),
            r#type: RegionType::Image,
            // Category and state are closed vocabularies (types): no capture text reaches them.
            category: memtriage_report::RegionCategory::Image,
            state: memtriage_report::RegionState::Committed,
            protection: SCRIPT.into(),
            private: false,
            commit_charge: 1,
            file: Some(format!("C:\\x\\{SCRIPT}{ATTR}.dll")),
        }],
        modules: vec![Module {
            base: Hex(0x10000),
            size: Hex(0x10000),
            name: SCRIPT.into(),
            path: ATTR.into(),
            in_load: true,
            in_mem: false,
            in_init: true,
        }],
        ..Process::default()
    });
    r.findings.push(
        Finding::new(SCRIPT, Severity::High, ATTR)
            .with_process(1337, SCRIPT)
            .with_range(0x10000, 0x10fff)
            .with_evidence(SCRIPT, ATTR)
            .with_mitre(format!("T1055\"><a href=\"javascript:alert(3)\">{SCRIPT}")),
    );
    r.warnings.push(format!("{SCRIPT}{ATTR}"));
    r
}

#[test]
fn capture_strings_cannot_inject_markup() {
    let page = html(&hostile_report());
    let lower = page.to_ascii_lowercase();
    // The page has no script element and no event handler attribute of its own, so any such
    // text would be an injection.
    assert!(!lower.contains("<script"), "script tag injected");
    assert!(!lower.contains("onmouseover=\""), "attribute injected");
    assert!(
        !lower.contains("href=\"javascript:"),
        "javascript: link injected"
    );
    assert!(
        !page.contains(ATTR),
        "attribute-breaking quotes written raw"
    );
    // The strings are shown, escaped.
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("x&quot; onmouseover=&quot;alert(2)&quot; data-x=&#x27;y&#x27;"));
    // A malformed technique id is shown as text, not as a link.
    assert!(!lower.contains("href=\"t1055"));
    assert!(!lower.contains("attack.mitre.org"));
    // Every `<` in the page starts one of the page's own tags.
    let own_tags = [
        "!doctype", "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3",
        "dl", "dt", "dd", "div", "a", "span", "section", "p", "article", "code", "table", "thead",
        "tbody", "tr", "th", "td", "svg", "rect", "path", "text", "line", "footer", "ul", "li",
    ];
    for (i, _) in page.match_indices('<') {
        let rest = page.get(i + 1..).unwrap_or("");
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect::<String>()
            .to_ascii_lowercase();
        assert!(
            own_tags.contains(&name.as_str()),
            "unexpected tag <{name}> at byte {i}"
        );
    }
}

#[test]
fn fleet_index_escapes_and_links_relatively() {
    let report = hostile_report();
    let entries = [
        FleetEntry::page(SCRIPT, "a\"b.report.html", &report),
        FleetEntry::failed(ATTR, SCRIPT),
    ];
    let mut out = Vec::new();
    write_fleet_index(&mut out, &entries).expect("writing to a Vec cannot fail");
    let page = String::from_utf8(out).expect("UTF-8");
    assert!(!page.to_ascii_lowercase().contains("<script"));
    assert!(!page.contains(ATTR));
    assert!(page.contains(r#"href="./a%22b.report.html""#));
    // One high finding in the hostile report.
    assert!(page.contains(r#"<span class="sev sev-high">1</span>"#));
}

fn sample() -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/samples/win10-19041.report.json");
    read_report(&path).expect("the committed sample report reads")
}

#[test]
fn sample_page_shows_every_process_finding_and_map() {
    let report = sample();
    let page = html(&report);
    assert!(
        page.len() <= 3 * 1024 * 1024,
        "page is {} bytes",
        page.len()
    );
    // The sample's known shape (fixtures/samples/win10-19041.truth.json): one process per
    // truth process, one finding per planted anomaly.
    let truth: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/samples/win10-19041.truth.json"),
        )
        .expect("the sample truth"),
    )
    .expect("the sample truth is JSON");
    assert_eq!(
        report.processes.len(),
        truth["processes"].as_array().map_or(0, Vec::len)
    );
    assert_eq!(
        report.findings.len(),
        truth["anomalies"].as_array().map_or(0, Vec::len)
    );
    assert_eq!(
        page.matches(r#"<svg class="memmap"#).count(),
        report.processes.len()
    );
    for p in &report.processes {
        assert!(
            page.contains(&format!(r#"<tr data-pid="{}">"#, p.pid)),
            "pid {} missing from the tree",
            p.pid
        );
        // The process's SVG holds one rect per region.
        let start = page
            .find(&format!(r#"data-pid="{}" xmlns="#, p.pid))
            .expect("the process has a memory map");
        let svg = page.get(start..).unwrap_or("");
        let svg = svg.get(..svg.find("</svg>").unwrap_or(0)).unwrap_or("");
        assert_eq!(
            svg.matches(r#"<rect class="region "#).count(),
            p.regions.len(),
            "pid {}",
            p.pid
        );
        for r in &p.regions {
            assert!(svg.contains(&format!(r#"data-start="{}""#, r.start)));
        }
        for m in &p.modules {
            assert!(page.contains(&format!(r#"<td class="mono">{}</td>"#, m.base)));
        }
    }
    for (i, f) in report.findings.iter().enumerate() {
        assert!(
            page.contains(&format!(r#"id="finding-{i}" data-rule="{}""#, f.rule)),
            "finding {i} ({}) missing",
            f.rule
        );
    }
    // Findings inside a user region get a marker on that process's map: all but the hidden
    // process and the process_lineage findings (their address is an EPROCESS, in kernel space),
    // the kernel findings (no pid) and a thread started outside every VAD.
    let in_user_regions = report
        .findings
        .iter()
        .filter(|f| {
            let Some(a) = f.address else { return false };
            report
                .processes
                .iter()
                .filter(|p| Some(p.pid) == f.pid)
                .flat_map(|p| &p.regions)
                .any(|r| r.start <= a && a <= r.end)
        })
        .count();
    assert!(in_user_regions > 0);
    assert_eq!(
        page.matches(r#"<path class="marker"#).count(),
        in_user_regions
    );
    // Most severe first: every high card comes before every medium card.
    let last_high = page
        .rfind(r#"class="finding high""#)
        .expect("high findings");
    let first_medium = page
        .find(r#"class="finding medium""#)
        .expect("medium findings");
    assert!(last_high < first_medium);
    // No external resource: nothing is loaded from elsewhere; the only absolute links are
    // ATT&CK technique pages.
    assert!(!page.contains("src="));
    assert!(!page.contains("<link"));
    assert!(!page.contains("url("));
    assert!(!page.contains("@import"));
    for (i, _) in page.match_indices("href=\"") {
        let target = page.get(i + 6..).unwrap_or("");
        assert!(
            target.starts_with('#') || target.starts_with("https://attack.mitre.org/techniques/T"),
            "unexpected link {}",
            target.get(..60).unwrap_or(target)
        );
    }
}
