//! Every bundled profile gives the thread walker both `_ETHREAD` start fields
//! (Win32StartAddress and StartAddress), at the offsets testdata/layouts/offsets.json states
//! for that build (unbacked_thread and the `threads` table depend on them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_windows::layout::Layout;
use serde_json::Value;
use std::path::Path;

#[test]
fn every_bundled_build_reads_both_thread_start_fields() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/layouts/offsets.json");
    let offsets: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let builds = offsets["builds"].as_object().unwrap();
    let mut checked = 0;
    for (build, entry) in builds {
        let build: u32 = build.parse().unwrap();
        let Some(profile) = memtriage_symbols::bundled::by_build(build) else {
            continue;
        };
        let layout = Layout::new(&profile).unwrap();
        let thread = layout.thread.as_ref().expect("thread layout");
        let fields = &entry["structs"]["_ETHREAD"]["fields"];
        for (name, loc) in [
            ("Win32StartAddress", thread.et_win32_start),
            ("StartAddress", thread.et_start),
        ] {
            let loc = loc.unwrap_or_else(|| panic!("{build}: no _ETHREAD.{name}"));
            assert_eq!(
                loc.offset,
                fields[name]["offset"].as_u64().unwrap(),
                "{build}: _ETHREAD.{name}"
            );
            assert_eq!(loc.size, 8, "{build}: _ETHREAD.{name} size");
        }
        assert!(
            !layout.missing.iter().any(|m| m.contains("thread start")),
            "{build}: {:?}",
            layout.missing
        );
        checked += 1;
    }
    assert_eq!(checked, 15, "bundled builds with an offsets.json entry");
}
