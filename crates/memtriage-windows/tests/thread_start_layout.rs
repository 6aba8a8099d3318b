//! Every bundled profile with `_ETHREAD` offsets gives the thread walker both start fields
//! (Win32StartAddress and StartAddress), at the offsets testdata/layouts/offsets.json states
//! for that build (unbacked_thread and the `threads` table depend on them); one without
//! `_ETHREAD` offsets says that threads are not read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_windows::layout::Layout;
use serde_json::Value;
use std::path::Path;

#[test]
fn every_bundled_build_reads_both_thread_start_fields() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/layouts/offsets.json");
    let offsets: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let builds = offsets["builds"].as_object().unwrap();
    let mut checked = Vec::new();
    for (build, entry) in builds {
        let build: u32 = build.parse().unwrap();
        let Some(profile) = memtriage_symbols::bundled::by_build(build) else {
            continue;
        };
        let layout = Layout::new(&profile).unwrap();
        let Some(thread) = layout.thread.as_ref() else {
            // A table without _ETHREAD offsets (docs/profiles.md): threads are not read at
            // all, and the layout says so.
            assert!(
                layout
                    .missing
                    .iter()
                    .any(|m| m.starts_with("threads not read")),
                "{build}: {:?}",
                layout.missing
            );
            continue;
        };
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
        checked.push(build);
    }
    // The eight builds bundled from real ISFs at least; tables derived from other sources may
    // lack _ETHREAD offsets (checked above to say so).
    for build in [7601, 9600, 14393, 17763, 18362, 19041, 20348, 22000] {
        assert!(checked.contains(&build), "{build} not checked: {checked:?}");
    }
}
