//! Windows layer of memtriage: kernel discovery and object readers.
//!
//! [`Kernel::discover`] finds the DTB, the kernel image, its build and PDB identity, and picks
//! a [`memtriage_symbols::Profile`]; the readers then rebuild processes ([`process`]), threads
//! ([`thread`]), kernel modules ([`kmodule`]), VAD trees ([`vad`]), PEBs and loader lists
//! ([`peb`]), and find processes hidden from the active list by scanning pool memory
//! ([`poolscan`]). Every list and tree walk is bounded and cycle-checked; readers return
//! partial results with warnings instead of failing the whole run.
#![forbid(unsafe_code)]

pub mod discovery;
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
pub mod warning;

pub use discovery::{DiscoveryStep, Kernel, Overrides};
pub use layout::Layout;
pub use warning::{Structure, Warning};

use memtriage_paging::{TranslateError, VirtError};

/// Errors of the Windows layer.
#[derive(Debug, thiserror::Error)]
pub enum WinError {
    /// Kernel discovery failed; the message lists what was tried and what each step saw.
    #[error("kernel discovery failed: {0}")]
    Discovery(String),
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

/// Whether `va` is a canonical kernel-half address (4-level paging).
pub fn is_kernel_address(va: u64) -> bool {
    va >= 0xFFFF_8000_0000_0000
}

/// Whether `va` is a canonical user-half address (4-level paging), not null.
pub fn is_user_address(va: u64) -> bool {
    va != 0 && va < 0x0000_8000_0000_0000
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
