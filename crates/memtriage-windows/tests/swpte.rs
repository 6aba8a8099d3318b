//! The kernel's software-PTE layout: bit positions from the profile's `_MMPTE_SOFTWARE`, the
//! invalid-PTE mask read from `MiState.Hardware.InvalidPteMask`, the L1TF-era layout assumed
//! for a profile without them.
#![allow(clippy::unwrap_used)]

use memtriage_dump::PhysicalMemory;
use memtriage_fixtures::{build, isf_path, testdata_isf_dir, Scenario};
use memtriage_paging::{AddressSpace, SoftwarePteFormat};
use memtriage_symbols::Profile;
use memtriage_windows::swpte::software_pte_format;
use std::sync::Arc;

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn layout_and_mask_come_from_the_profile_and_the_kernel() {
    let sc = Scenario {
        extra_processes: 0,
        vads_per_process: 12,
        wow64: false,
        ..Scenario::new(19041, 5)
    };
    let mut cap = build(&sc, &testdata_isf_dir()).unwrap();
    let isf = Profile::from_isf_path(&isf_path(&testdata_isf_dir(), 19041).unwrap()).unwrap();
    let kbase = hex(&cap.truth.system.kernel_base);
    let dtb = hex(&cap.truth.system.dtb);
    // Plant a mask at MiState.Hardware.InvalidPteMask (RVA and offsets from the ISF).
    let mask_va = kbase
        + isf.symbol("MiState").unwrap()
        + isf
            .offset("_MI_SYSTEM_INFORMATION", "Hardware.InvalidPteMask")
            .unwrap();
    let probe = AddressSpace::new(Arc::new(cap.memory.clone()), dtb);
    let mask_pa = probe.translate(mask_va).unwrap().pa;
    let mask = 0x0000_0008_0000_0000u64;
    cap.memory.write_u64(mask_pa, mask);
    let mem: Arc<dyn PhysicalMemory> = Arc::new(cap.memory.clone());
    let space = AddressSpace::new(mem, dtb);

    let (format, detail) = software_pte_format(&space, &isf, kbase);
    assert_eq!(
        format,
        SoftwarePteFormat {
            page_file_low_bit: 12,
            swizzle_bit: Some(4),
            invalid_pte_mask: mask,
        }
    );
    assert!(
        detail.contains("_MMPTE_SOFTWARE of the profile"),
        "{detail}"
    );
    assert!(
        detail.contains("MiState.Hardware.InvalidPteMask = 0x800000000"),
        "{detail}"
    );

    // A profile without _MMPTE_SOFTWARE and MiState: the L1TF-era layout, mask 0.
    let mut bare = isf.clone();
    bare.types.remove("_MMPTE_SOFTWARE");
    bare.symbols.remove("MiState");
    let (format, detail) = software_pte_format(&space, &bare, kbase);
    assert_eq!(format, SoftwarePteFormat::SWIZZLED);
    assert!(detail.contains("assumed"), "{detail}");
    assert!(detail.contains("taken as 0"), "{detail}");

    // A profile of the pre-L1TF layout (PageFileLow at bit 1, no SwizzleBit).
    let mut legacy = bare.clone();
    let mut sw = isf.types["_MMPTE_SOFTWARE"].clone();
    sw.fields.remove("SwizzleBit");
    if let Some((_, memtriage_symbols::FieldType::Bitfield { bit_position, .. })) =
        sw.fields.get_mut("PageFileLow")
    {
        *bit_position = 1;
    }
    legacy.types.insert("_MMPTE_SOFTWARE".into(), sw);
    let (format, _) = software_pte_format(&space, &legacy, kbase);
    assert_eq!(format, SoftwarePteFormat::LEGACY);
}
