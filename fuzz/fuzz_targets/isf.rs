//! The ISF (Volatility 3 symbol table JSON) loader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtriage_symbols::Profile;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Profile::from_isf_bytes(data) {
        let _ = p.field("_EPROCESS", "ActiveProcessLinks");
        let _ = p.field("_EPROCESS", "Pcb.DirectoryTableBase");
        let _ = p.size_of("_EPROCESS");
        let _ = p.symbol("PsActiveProcessHead");
    }
});
