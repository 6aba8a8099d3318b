//! Model helpers: sorting, severities, fail_on, reading saved reports.
#![allow(clippy::unwrap_used)]

mod common;

use memtriage_report::*;

#[test]
fn severity_order_parse_and_names() {
    assert!(Severity::Info < Severity::Low);
    assert!(Severity::Low < Severity::Medium);
    assert!(Severity::Medium < Severity::High);
    assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
    assert_eq!("medium".parse::<Severity>(), Ok(Severity::Medium));
    assert!("critical".parse::<Severity>().is_err());
    assert_eq!(Severity::Low.to_string(), "low");
}

#[test]
fn fail_on_threshold() {
    let f = vec![
        Finding::new("a", Severity::Low, "x"),
        Finding::new("b", Severity::Medium, "y"),
    ];
    assert!(fail_on(&f, Severity::Info));
    assert!(fail_on(&f, Severity::Medium));
    assert!(!fail_on(&f, Severity::High));
    assert!(!fail_on(&[], Severity::Info));
}

#[test]
fn sort_is_deterministic() {
    let mut r = common::sample_report();
    r.processes.reverse();
    r.processes[0].regions = vec![
        Region {
            start: Hex(0x2000),
            end: Hex(0x2fff),
            r#type: RegionType::Image,
            category: RegionCategory::Image,
            state: RegionState::Committed,
            protection: "PAGE_READONLY".into(),
            private: false,
            commit_charge: 0,
            file: Some("a.dll".into()),
        },
        Region {
            start: Hex(0x1000),
            end: Hex(0x1fff),
            r#type: RegionType::Private,
            category: RegionCategory::Heap,
            state: RegionState::Committed,
            protection: "PAGE_READWRITE".into(),
            private: true,
            commit_charge: 1,
            file: None,
        },
    ];
    r.findings = vec![
        Finding::new("z", Severity::Low, "1")
            .with_process(10, "a")
            .with_address(0x10),
        Finding::new("b", Severity::Low, "2")
            .with_process(10, "a")
            .with_address(0x10),
        Finding::new("a", Severity::Low, "3")
            .with_process(10, "a")
            .with_address(0x5),
        Finding::new("a", Severity::Low, "4").with_process(2, "b"),
        Finding::new("k", Severity::Low, "5"),
    ];
    r.sort();
    let pids: Vec<u64> = r.processes.iter().map(|p| p.pid).collect();
    assert_eq!(pids, vec![4, 666, 1337]);
    let starts: Vec<Hex> = r.processes[1].regions.iter().map(|x| x.start).collect();
    assert_eq!(starts, vec![Hex(0x1000), Hex(0x2000)]);
    let order: Vec<&str> = r.findings.iter().map(|f| f.description.as_str()).collect();
    // (pid, address, rule) with "no pid" first.
    assert_eq!(order, vec!["5", "4", "3", "2", "1"]);
}

#[test]
fn read_report_checks_file_and_schema() {
    let dir = std::env::temp_dir().join(format!("memtriage-report-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let r = common::sample_report();
    let p = dir.join("r.json");
    let mut out = Vec::new();
    write_report_json(&mut out, &r).unwrap();
    std::fs::write(&p, &out).unwrap();
    assert_eq!(read_report(&p).unwrap(), r);

    let v2 = dir.join("v2.json");
    std::fs::write(&v2, r#"{"schema": "memtriage-report/2"}"#).unwrap();
    let e = read_report(&v2).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}: unsupported report schema \"memtriage-report/2\" (expected \"memtriage-report/1\")",
            v2.display()
        )
    );

    let bad = dir.join("bad.json");
    let text = String::from_utf8(out)
        .unwrap()
        .replace("\"0x1aa000\"", "1744896");
    std::fs::write(&bad, text).unwrap();
    let e = read_report(&bad).unwrap_err();
    match &e {
        ReportError::Json { line, .. } => assert_eq!(*line, 16, "{e}"),
        other => panic!("unexpected {other}"),
    }
    // "dtb" is on line 16 of the pretty JSON, its value starts at column 18.
    assert_eq!(
        e.to_string(),
        format!(
            "{}:16:18: invalid type: integer `1744896`, expected a \"0x…\" hexadecimal string",
            bad.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
