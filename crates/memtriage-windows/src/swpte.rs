//! The kernel's software-PTE layout: where `PageFileLow` is, whether invalid PTEs are
//! swizzled, and the invalid-PTE mask that unswizzles them.

use memtriage_paging::{AddressSpace, SoftwarePteFormat};
use memtriage_symbols::Profile;

/// The software-PTE layout of the kernel at `base` described by `profile`, with a sentence
/// saying where each part came from (for the discovery steps).
///
/// - Bit positions: `_MMPTE_SOFTWARE.PageFileLow` and `.SwizzleBit` of the profile; a profile
///   without `_MMPTE_SOFTWARE` gets the layout of every L1TF-updated build
///   ([`SoftwarePteFormat::SWIZZLED`]).
/// - Mask: `MiState.Hardware.InvalidPteMask` (Windows 10 and 11), else `MiInvalidPteMask`
///   (Windows 7 and 8.1), read through `space`; 0 when the profile has neither symbol.
pub fn software_pte_format(
    space: &AddressSpace,
    profile: &Profile,
    base: u64,
) -> (SoftwarePteFormat, String) {
    let bit = |field: &str| {
        profile
            .field("_MMPTE_SOFTWARE", field)
            .ok()
            .and_then(|f| f.bits)
            .and_then(|(pos, _)| u8::try_from(pos).ok())
    };
    let (mut format, layout) = match bit("PageFileLow") {
        Some(low) => (
            SoftwarePteFormat {
                page_file_low_bit: low,
                swizzle_bit: bit("SwizzleBit"),
                invalid_pte_mask: 0,
            },
            "_MMPTE_SOFTWARE of the profile",
        ),
        None => (
            SoftwarePteFormat::SWIZZLED,
            "assumed: the profile has no _MMPTE_SOFTWARE",
        ),
    };
    let mask_va = profile
        .symbol("MiState")
        .zip(
            profile
                .offset("_MI_SYSTEM_INFORMATION", "Hardware.InvalidPteMask")
                .ok(),
        )
        .map(|(rva, off)| {
            (
                "MiState.Hardware.InvalidPteMask",
                base.wrapping_add(rva).wrapping_add(off),
            )
        })
        .or_else(|| {
            profile
                .symbol("MiInvalidPteMask")
                .map(|rva| ("MiInvalidPteMask", base.wrapping_add(rva)))
        });
    let mask = match mask_va {
        Some((name, va)) => match space.read_u64(va) {
            Ok(mask) => {
                format = format.with_invalid_pte_mask(mask);
                format!("{name} = {mask:#x}")
            }
            Err(e) => format!("{name} unreadable ({e}), taken as 0"),
        },
        None => "invalid-PTE mask unknown (no MiState in the profile), taken as 0".into(),
    };
    let swizzle = match format.swizzle_bit {
        Some(b) => format!("SwizzleBit {b}"),
        None => "no swizzling".into(),
    };
    (
        format,
        format!(
            "PageFileLow at bit {}, {swizzle} ({layout}); {mask}",
            format.page_file_low_bit
        ),
    )
}
