//! Kernel discovery and the process-list, VAD, PEB/loader-list, thread and kernel-module
//! walkers (memtriage-windows) over a fixture capture whose hot pages are mutated by the fuzz
//! input.
//!
//! Input: records of `[page selector u16][offset u16][len u8][len bytes]`; each XORs its bytes
//! into one of the fixture's "hot" physical pages (page tables, `_EPROCESS`es, VAD nodes,
//! PEBs, loader entries, list heads), wrapping inside the page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtriage_dump::SparseMemory;
use memtriage_fuzz::Overlay;
use memtriage_paging::AddressSpace;
use memtriage_windows::peb::{read_peb, PebLayout};
use memtriage_windows::{kmodule, process, thread, vad, Kernel, Overrides};
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

struct Fixture {
    memory: Arc<SparseMemory>,
    hot: Vec<u64>,
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut scenario = memtriage_fixtures::Scenario::new(19041, 7);
        scenario.physical_mib = 32;
        scenario.extra_processes = 0;
        scenario.vads_per_process = 8;
        let cap = memtriage_fixtures::build(&scenario, &memtriage_fixtures::testdata_isf_dir())
            .expect("fixture");
        let memory = Arc::new(cap.memory);
        let t = &cap.truth;
        let kdtb = hex(&t.system.dtb).unwrap_or(0);
        let kspace = AddressSpace::new(memory.clone(), kdtb);
        let mut hot = BTreeSet::new();
        let mut add_va = |space: &AddressSpace, va: u64| {
            if let Ok(tr) = space.translate(va) {
                hot.insert(tr.pa >> 12);
            }
            // The page-table pages on the way.
            for step in space.walk(va).steps {
                hot.insert(step.entry_pa >> 12);
            }
        };
        for s in [
            &t.system.ps_active_process_head,
            &t.system.ps_loaded_module_list,
            &t.system.ps_initial_system_process,
        ] {
            if let Some(va) = hex(s) {
                add_va(&kspace, va);
            }
        }
        for m in &t.kernel_modules {
            if let Some(va) = hex(&m.base) {
                add_va(&kspace, va);
            }
        }
        for p in &t.processes {
            if let Some(va) = hex(&p.eprocess) {
                add_va(&kspace, va);
            }
            for r in &p.regions {
                if let Some(va) = hex(&r.node) {
                    add_va(&kspace, va);
                }
            }
            for th in &p.threads {
                if let Some(va) = hex(&th.ethread) {
                    add_va(&kspace, va);
                }
            }
            let pspace = kspace.with_dtb(hex(&p.dtb).unwrap_or(0));
            if let Some(peb) = p.peb.as_deref().and_then(hex) {
                add_va(&pspace, peb);
                // PEB.Ldr and the loader entries live in the process heap right after.
                for i in 1..4 {
                    add_va(&pspace, peb + i * 0x1000);
                }
            }
        }
        Fixture {
            memory,
            hot: hot.into_iter().collect(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    if f.hot.is_empty() {
        return;
    }
    let mut overlay = Overlay::new(f.memory.clone());
    let mut rest = data;
    while rest.len() >= 5 {
        let sel = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        let off = u16::from_le_bytes([rest[2], rest[3]]) as usize;
        let len = (rest[4] as usize).min(rest.len() - 5);
        overlay.xor(f.hot[sel % f.hot.len()], off, &rest[5..5 + len]);
        rest = &rest[5 + len..];
    }
    let Ok(kernel) = Kernel::discover(Arc::new(overlay), &Overrides::default()) else {
        return;
    };
    let (space, layout) = (&kernel.space, &*kernel.layout);
    if let Some(head) = kernel.ps_loaded_module_list {
        let _ = kmodule::kernel_modules(space, layout, head);
    }
    let list = process::walk_active_list(space, layout, kernel.system_eprocess);
    let peb_layout = PebLayout::native(layout);
    for p in &list.processes {
        let pspace = kernel.process_space(p.dtb);
        let _ = vad::vads(space, layout, p.eprocess);
        if let Some(pl) = &peb_layout {
            let _ = read_peb(&pspace, pl, p.peb);
        }
        let _ = thread::threads(space, &pspace, layout, p);
    }
});
