//! Kernel discovery with layout validation on 4 GiB captures (raw images, memory-mapped like
//! the CLI reads them):
//! - `bundled_20348`: build 20348 (a bundled family, exact PDB): the five stages plus every
//!   check of the chosen layout (target: at most 100 ms);
//! - `located_27000`: build 27000 (in no family, unknown GUID) with the 20348 layout: every
//!   bundled table is tried and the layout is located from memory (target: at most 2 s).
//!
//! Both: 150 processes, ~135 VADs and ~14 modules per user process, seed 1, low stub present.
//!
//! `cargo bench -p memtriage-windows --bench discovery`

#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::unwrap_used)] // a bench's setup may unwrap

use criterion::{criterion_group, criterion_main, Criterion};
use memtriage_dump::PhysicalMemory;
use memtriage_fixtures::{build_with_profile, isf_path, testdata_isf_dir, Scenario};
use memtriage_symbols::{MatchKind, Profile};
use memtriage_windows::{Kernel, Overrides};
use std::sync::Arc;
use std::time::Duration;

fn capture(tag: &str, sc: &Scenario, layout: &Profile) -> Arc<dyn PhysicalMemory> {
    let dir = std::env::temp_dir().join(format!("memtriage-bench-disc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.raw"));
    let cap = build_with_profile(sc, layout).unwrap();
    cap.write_raw(&path).unwrap();
    drop(cap);
    let mem = Arc::from(memtriage_dump::open(&path).unwrap());
    // The mapping stays valid after the file is unlinked.
    std::fs::remove_dir_all(&dir).ok();
    mem
}

fn scale(build: u32) -> Scenario {
    Scenario {
        extra_processes: 136,
        vads_per_process: 135,
        extra_modules: 11,
        physical_mib: 4096,
        ..Scenario::new(build, 1)
    }
}

fn benches(c: &mut Criterion) {
    let layout = Profile::from_isf_path(&isf_path(&testdata_isf_dir(), 20348).unwrap()).unwrap();
    let bundled = capture("bundled-20348", &scale(20348), &layout);
    let unknown = capture(
        "located-27000",
        &Scenario {
            unknown_guid: true,
            ..scale(27000)
        },
        &layout,
    );
    // What is measured is what the names say.
    let k = Kernel::discover(bundled.clone(), &Overrides::default()).unwrap();
    assert_eq!(k.match_kind, MatchKind::ExactPdb);
    let k = Kernel::discover(unknown.clone(), &Overrides::default()).unwrap();
    assert_eq!(k.match_kind, MatchKind::LocatedFromMemory);

    let mut g = c.benchmark_group("discovery_with_validation");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("bundled_20348_4g", |b| {
        b.iter(|| Kernel::discover(bundled.clone(), &Overrides::default()).unwrap())
    });
    g.bench_function("located_27000_4g", |b| {
        b.iter(|| Kernel::discover(unknown.clone(), &Overrides::default()).unwrap())
    });
    g.finish();
}

criterion_group!(discovery, benches);
criterion_main!(discovery);
