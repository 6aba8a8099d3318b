//! Shared fixtures of the report tests.
#![allow(dead_code)]

use memtriage_report::*;

/// A small, fully populated report with hand-checked values.
pub fn sample_report() -> Report {
    let mut r = Report::new(Image {
        path: "mem.raw".into(),
        format: "raw".into(),
        size: 1_073_741_824,
        sha256: Some("ab".repeat(32)),
    });
    r.tool.version = "0.1.0".into();
    r.system = System {
        build: Some(19041),
        version: Some("10.0.19041".into()),
        dtb: Some(Hex(0x1aa000)),
        kernel_base: Some(Hex(0xfffff8057c600000)),
        pdb_guid: Some("1C9875F76C8F0FBF3EB691A6C1B9B8C91".into()),
        profile: Some("ntkrnlmp-19041".into()),
        system_time: filetime_to_iso(133_500_000_000_000_000),
        processors: Some(2),
    };
    r.processes = vec![
        Process {
            pid: 4,
            ppid: 0,
            name: "System".into(),
            offset: Hex(0xffffa0000a000040),
            threads: 120,
            ..Process::default()
        },
        Process {
            pid: 1337,
            ppid: 4,
            name: "java.exe".into(),
            image_path: Some(r"C:\Program Files\Java\jre\bin\java.exe".into()),
            command_line: Some(r#""java.exe" -jar app.jar"#.into()),
            create_time: Some("2024-01-17T21:19:00Z".into()),
            exit_time: None,
            offset: Hex(0xffffa0000b000080),
            wow64: false,
            hidden: false,
            threads: 12,
            regions: vec![Region {
                start: Hex(0x7ff000000000),
                end: Hex(0x7ff000000fff),
                r#type: RegionType::Private,
                category: RegionCategory::PrivateData,
                state: RegionState::Committed,
                protection: "PAGE_EXECUTE_READWRITE".into(),
                private: true,
                commit_charge: 1,
                file: None,
            }],
            modules: vec![Module {
                base: Hex(0x7ff600000000),
                size: Hex(0x2000),
                name: "java.exe".into(),
                path: r"C:\Program Files\Java\jre\bin\java.exe".into(),
                in_load: true,
                in_mem: true,
                in_init: false,
            }],
            views: Vec::new(),
        },
        Process {
            pid: 666,
            ppid: 1337,
            name: "evil.exe".into(),
            offset: Hex(0xffffa0000c0000c0),
            hidden: true,
            threads: 1,
            ..Process::default()
        },
    ];
    r.kernel_modules = vec![KernelModule {
        base: Hex(0xfffff8057c600000),
        size: Hex(0x1046000),
        name: "ntoskrnl.exe".into(),
        path: r"\SystemRoot\system32\ntoskrnl.exe".into(),
    }];
    r.findings = vec![Finding::new(
        "rwx_private",
        Severity::High,
        "private executable and writable memory",
    )
    .with_process(1337, "java.exe")
    .with_range(0x7ff000000000, 0x7ff000000fff)
    .with_evidence("protection", "PAGE_EXECUTE_READWRITE")
    .with_evidence("commit_charge", 1)
    .with_evidence("detected_by", "vad_protection")
    .with_evidence("type", "private")
    .with_mitre("T1055")];
    r.warnings = vec!["process 999: PEB unreadable".into()];
    r
}
