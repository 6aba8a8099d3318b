//! Where a Windows build keeps the page-file fields of a software PTE (`_MMPTE_SOFTWARE`).

use crate::{SoftwareState, PTE_PRESENT, PTE_PROTOTYPE, PTE_TRANSITION};

/// The page-file fields of a non-present, non-prototype, non-transition Windows PTE.
///
/// `PageFileHigh` (the page index in the page file) is bits 32..=63 in every x64 build.
/// `PageFileLow` (the 4-bit page-file number) moved from bits 1..=4 to bits 12..=15 with the
/// 2018 L1TF updates, which also added `SwizzleBit` (bit 4): an invalid PTE whose swizzle bit
/// is clear has its high half XORed with the high half of the kernel's invalid-PTE mask
/// (`MiState.Hardware.InvalidPteMask`, `MiInvalidPteMask` on Windows 7 and 8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SoftwarePteFormat {
    /// First bit of `PageFileLow` (1 before the L1TF updates, 12 after).
    pub page_file_low_bit: u8,
    /// Bit position of `SwizzleBit`, when the build has one.
    pub swizzle_bit: Option<u8>,
    /// The kernel's invalid-PTE mask (0 when unknown or when the CPU needs none).
    pub invalid_pte_mask: u64,
}

impl Default for SoftwarePteFormat {
    fn default() -> Self {
        Self::SWIZZLED
    }
}

impl SoftwarePteFormat {
    /// The layout of every x64 build updated for L1TF (Windows 7 SP1 to 11, 2018 onwards):
    /// `PageFileLow` at bits 12..=15, `SwizzleBit` at bit 4, mask unknown (0).
    pub const SWIZZLED: SoftwarePteFormat = SoftwarePteFormat {
        page_file_low_bit: 12,
        swizzle_bit: Some(4),
        invalid_pte_mask: 0,
    };

    /// The layout before the L1TF updates: `PageFileLow` at bits 1..=4, no swizzling.
    pub const LEGACY: SoftwarePteFormat = SoftwarePteFormat {
        page_file_low_bit: 1,
        swizzle_bit: None,
        invalid_pte_mask: 0,
    };

    /// The same layout with the kernel's invalid-PTE mask.
    pub fn with_invalid_pte_mask(self, mask: u64) -> Self {
        SoftwarePteFormat {
            invalid_pte_mask: mask,
            ..self
        }
    }

    /// Whether `entry` is stored swizzled (its swizzle bit is clear).
    pub fn is_swizzled(&self, entry: u64) -> bool {
        self.swizzle_bit
            .is_some_and(|bit| entry.checked_shr(u32::from(bit)).unwrap_or(0) & 1 == 0)
    }

    /// `PageFileHigh` of `entry`, unswizzled.
    pub fn page_file_high(&self, entry: u64) -> u64 {
        let high = entry >> 32;
        if self.is_swizzled(entry) {
            high ^ (self.invalid_pte_mask >> 32)
        } else {
            high
        }
    }

    /// `PageFileLow` (the page-file number, 0..=15) of `entry`.
    pub fn page_file_low(&self, entry: u64) -> u8 {
        (entry
            .checked_shr(u32::from(self.page_file_low_bit))
            .unwrap_or(0)
            & 0xF) as u8
    }

    /// Classify a non-present entry. `None` for a present entry (bit 0 set) or a transition
    /// entry (bit 11 set, bit 10 clear), whose frame is still in RAM.
    pub fn classify(&self, entry: u64) -> Option<SoftwareState> {
        if entry & PTE_PRESENT != 0 {
            return None;
        }
        if entry == 0 {
            return Some(SoftwareState::Unmapped);
        }
        if entry & PTE_PROTOTYPE != 0 {
            return Some(SoftwareState::Prototype { raw: entry });
        }
        if entry & PTE_TRANSITION != 0 {
            return None;
        }
        let high = self.page_file_high(entry);
        if high != 0 {
            Some(SoftwareState::PageFile {
                file: self.page_file_low(entry),
                offset: high,
            })
        } else {
            Some(SoftwareState::DemandZero { raw: entry })
        }
    }
}
