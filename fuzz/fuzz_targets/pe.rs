//! In-memory PE parsing of kernel discovery: the input is mapped at a kernel address.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtriage_fuzz::{map_at_kernel_va, MAP_DTB, MAP_VA};
use memtriage_paging::AddressSpace;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let mem = Arc::new(map_at_kernel_va(data));
    let space = AddressSpace::new(mem, MAP_DTB);
    if let Some(info) = memtriage_windows::pe::read_pe(&space, MAP_VA) {
        let _ = info.export_rva("PsLoadedModuleList");
    }
    let head = &data[..data.len().min(4096)];
    let _ = memtriage_windows::pe::pe_signature_offset(head);
    let _ = memtriage_windows::pe::section_names(head);
});
