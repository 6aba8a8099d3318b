//! Windows layer of memtriage: kernel discovery and object readers.
//!
//! [`Kernel::discover`] finds the DTB, the kernel image, its build and PDB identity, and picks
//! a [`memtriage_symbols::Profile`]; the readers then rebuild processes ([`process`]), threads
//! ([`thread`]), kernel modules ([`kmodule`]), VAD trees ([`vad`]), PEBs and loader lists
//! ([`peb`]), and find processes hidden from the active list by scanning pool memory
//! ([`poolscan`]) or in the cheap views of [`crossview`] (PspCidTable, csrss.exe's handles,
//! thread owners; handle tables in [`handles`]). Every list and tree walk is bounded and cycle-checked; readers return
//! partial results with warnings instead of failing the whole run.
#![forbid(unsafe_code)]

pub mod crossview;
pub mod discovery;
pub mod driver_object;
pub mod driverscan;
pub mod handles;
pub mod kernel_images;
pub mod kmodule;
pub mod layout;
pub mod list;
pub mod pe;
pub mod peb;
pub mod poolscan;
pub mod process;
pub mod protection;
pub mod swpte;
pub mod thread;
pub mod vad;
pub mod validate;
pub mod warning;

pub use discovery::{DiscoveryError, DiscoveryStep, Kernel, Overrides};
pub use layout::Layout;
pub use warning::{Structure, Warning};

use memtriage_paging::{PagingMode, TranslateError, VirtError};

/// Errors of the Windows layer.
#[derive(Debug, thiserror::Error)]
pub enum WinError {
    /// Kernel discovery failed; one line naming the stage and the cause.
    #[error("kernel not found: {0}")]
    Discovery(#[from] discovery::DiscoveryError),
    /// The profile lacks a type or field the walker needs.
    #[error(transparent)]
    Symbol(#[from] memtriage_symbols::SymbolError),
    /// A virtual read failed.
    #[error(transparent)]
    Virt(#[from] VirtError),
    /// A translation failed.
    #[error(transparent)]
    Translate(#[from] TranslateError),
    /// Something read from the capture does not make sense.
    #[error("{0}")]
    Invalid(String),
}

/// Result type of the Windows layer.
pub type Result<T> = std::result::Result<T, WinError>;

/// Upper bound on entries of any list walk (processes, threads, modules, loader entries).
pub const MAX_LIST_ENTRIES: usize = 100_000;

/// The paging mode whose address halves the walkers' plausibility checks use: the 4-level
/// halves, the stricter test (every 4-level kernel address is also a 5-level one). Code that
/// knows the capture's mode uses [`PagingMode::is_kernel`] / [`PagingMode::is_user`] of that
/// mode instead; these are the only definitions of the ranges.
pub const WALKER_RANGES: PagingMode = PagingMode::Level4;

/// Whether `va` is a kernel-half address ([`WALKER_RANGES`]).
pub fn is_kernel_address(va: u64) -> bool {
    WALKER_RANGES.is_kernel(va)
}

/// Whether `va` is a user-half address ([`WALKER_RANGES`]), not null.
pub fn is_user_address(va: u64) -> bool {
    WALKER_RANGES.is_user(va)
}

/// Bytes from a capture as text: printable ASCII kept, anything else escaped as `\xNN`, so names
/// from attacker-controlled memory cannot carry control characters.
pub fn escape_ascii(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for &c in raw {
        if (0x20..0x7f).contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("\\x{c:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_ascii_keeps_printable_and_escapes_the_rest() {
        assert_eq!(escape_ascii(b"VadS"), "VadS");
        assert_eq!(escape_ascii(b"Pro\xe3"), "Pro\\xe3");
        assert_eq!(escape_ascii(b"a\x1b[31m\x00"), "a\\x1b[31m\\x00");
        assert_eq!(process::image_file_name(b"lsass.exe\0junk"), "lsass.exe");
    }
}
