//! Driver images found by their PE headers: page-aligned `MZ` pages in the mapped kernel
//! half of the kernel address space, with a PE32+ header of a native (kernel-mode) image.
//!
//! Only ranges the page tables map are read ([`AddressSpace::scan_ranges`], table budget
//! bounded), two bytes per page, the whole page only behind an `MZ`; at most
//! [`MAX_PAGES`] pages are probed.

use crate::pe::pe_signature_offset;
use memtriage_paging::{AddressSpace, RangeState};

/// Most kernel pages probed for an `MZ` (64 GiB of mappings).
pub const MAX_PAGES: u64 = 16 * 1024 * 1024;
/// Most page tables read to enumerate the kernel half.
const MAX_TABLES: usize = 1 << 20;
/// Largest SizeOfImage believed for a driver.
const MAX_IMAGE_SIZE: u64 = 0x1000_0000;
/// `IMAGE_FILE_MACHINE_AMD64`.
const MACHINE_AMD64: u16 = 0x8664;
/// `IMAGE_FILE_EXECUTABLE_IMAGE`.
const EXECUTABLE_IMAGE: u16 = 0x0002;
/// `IMAGE_NT_OPTIONAL_HDR64_MAGIC`.
const PE32_PLUS: u16 = 0x20B;
/// `IMAGE_SUBSYSTEM_NATIVE`: drivers, ntoskrnl, hal.
const SUBSYSTEM_NATIVE: u16 = 1;

/// A kernel-mode image header found in kernel space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelImage {
    /// Virtual address of the `MZ` page.
    pub base: u64,
    /// SizeOfImage.
    pub size_of_image: u64,
}

/// What the PE-header scan found and how far it went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelImageScan {
    /// Images, ascending by base.
    pub images: Vec<KernelImage>,
    /// Pages probed.
    pub pages: u64,
    /// The page budget or the table budget ran out: images above may be missing.
    pub truncated: bool,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(off..off.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(off..off.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// SizeOfImage when `header` (a page's bytes) is the header of an x64 native executable image:
/// `MZ`, `PE\0\0`, machine AMD64, the executable-image flag, 1 to 96 sections, a PE32+
/// optional header, subsystem native, and SizeOfImage between one page and 256 MiB. User-mode
/// PE files (a cached `.exe`, a DLL read into pool) have another subsystem.
pub fn native_image_size(header: &[u8]) -> Option<u64> {
    let lfanew = pe_signature_offset(header)?;
    let coff = lfanew + 4;
    let sections = u16_at(header, coff + 2)?;
    let plausible = u16_at(header, coff)? == MACHINE_AMD64
        && u16_at(header, coff + 18)? & EXECUTABLE_IMAGE != 0
        && (1..=96).contains(&sections);
    let opt = coff + 20;
    let native = u16_at(header, opt)? == PE32_PLUS && u16_at(header, opt + 68)? == SUBSYSTEM_NATIVE;
    let size = u64::from(u32_at(header, opt + 56)?);
    (plausible && native && (0x1000..=MAX_IMAGE_SIZE).contains(&size)).then_some(size)
}

/// Every native image header at a page-aligned, mapped (valid or transition) kernel address.
pub fn scan_kernel_images(space: &AddressSpace) -> KernelImageScan {
    let mut out = KernelImageScan::default();
    let ranges = space.scan_ranges(space.mode().kernel_start(), u64::MAX, MAX_TABLES);
    out.truncated = ranges.truncated;
    let mut page = vec![0u8; 0x1000];
    'ranges: for r in ranges
        .ranges
        .iter()
        .filter(|r| matches!(r.state, RangeState::Valid | RangeState::Transition))
    {
        let mut va = r.start;
        while va < r.end {
            if out.pages >= MAX_PAGES {
                out.truncated = true;
                break 'ranges;
            }
            out.pages += 1;
            let mut mz = [0u8; 2];
            if space.read_exact(va, &mut mz).is_ok()
                && mz == *b"MZ"
                && space.read_exact(va, &mut page).is_ok()
            {
                if let Some(size_of_image) = native_image_size(&page) {
                    out.images.push(KernelImage {
                        base: va,
                        size_of_image,
                    });
                }
            }
            let Some(next) = va.checked_add(0x1000) else {
                break;
            };
            va = next;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(machine: u16, subsystem: u16, size: u32) -> Vec<u8> {
        let mut h = vec![0u8; 0x1000];
        h[0..2].copy_from_slice(b"MZ");
        h[0x3c..0x40].copy_from_slice(&0x100u32.to_le_bytes());
        h[0x100..0x104].copy_from_slice(b"PE\0\0");
        h[0x104..0x106].copy_from_slice(&machine.to_le_bytes());
        h[0x106..0x108].copy_from_slice(&3u16.to_le_bytes());
        h[0x116..0x118].copy_from_slice(&0x22u16.to_le_bytes());
        h[0x118..0x11a].copy_from_slice(&0x20Bu16.to_le_bytes());
        h[0x118 + 56..0x118 + 60].copy_from_slice(&size.to_le_bytes());
        h[0x118 + 68..0x118 + 70].copy_from_slice(&subsystem.to_le_bytes());
        h
    }

    #[test]
    fn only_native_x64_images_of_sane_size_count() {
        assert_eq!(native_image_size(&header(0x8664, 1, 0x7000)), Some(0x7000));
        // A user-mode DLL (Windows GUI subsystem), an x86 image, absurd sizes.
        assert_eq!(native_image_size(&header(0x8664, 2, 0x7000)), None);
        assert_eq!(native_image_size(&header(0x14c, 1, 0x7000)), None);
        assert_eq!(native_image_size(&header(0x8664, 1, 0x800)), None);
        assert_eq!(native_image_size(&header(0x8664, 1, 0x2000_0000)), None);
        // Truncated headers never panic.
        let h = header(0x8664, 1, 0x7000);
        for n in [0, 2, 0x40, 0x104, 0x120, 0x15c] {
            assert_eq!(native_image_size(&h[..n]), None, "{n}");
        }
    }
}
