//! The `PO_MEMORY_IMAGE` header at the start of `hiberfil.sys` (Windows 8 to 11, x64).
//!
//! The header's size (`LengthSelf`) identifies the layout: the fields after `NumPagesForLoader`
//! moved between Windows releases. Offsets per layout follow the kernel's `PO_MEMORY_IMAGE` as
//! published for each build (Vergilius Project, MemProcFS's hibernation notes).

use nom::bytes::complete::take;
use nom::number::complete::{le_u32, le_u64, u8 as le_u8};
use nom::IResult;
use serde::Serialize;

/// Bytes of the header page.
pub(crate) const HEADER_PAGE: usize = 0x1000;

/// The header's signature, which says what state the file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HiberSignature {
    /// "HIBR" (or "hibr"): a complete hibernation image, never resumed.
    Hibr,
    /// "RSTR" (or "rstr"): the loader had started restoring from the file.
    Rstr,
    /// "WAKE" (or "wake"): the system resumed from the file; its pages are stale or wiped.
    Wake,
    /// All zero: the header was wiped after resume.
    Zeroed,
}

impl HiberSignature {
    /// The signature of the first four bytes, if they are one.
    pub(crate) fn of(magic: &[u8]) -> Option<Self> {
        match magic {
            b"HIBR" | b"hibr" => Some(HiberSignature::Hibr),
            b"RSTR" | b"rstr" => Some(HiberSignature::Rstr),
            b"WAKE" | b"wake" => Some(HiberSignature::Wake),
            [0, 0, 0, 0] => Some(HiberSignature::Zeroed),
            _ => None,
        }
    }

    /// The signature as it is written in the file.
    pub fn name(&self) -> &'static str {
        match self {
            HiberSignature::Hibr => "HIBR",
            HiberSignature::Rstr => "RSTR",
            HiberSignature::Wake => "WAKE",
            HiberSignature::Zeroed => "zeroed",
        }
    }
}

/// A `PO_MEMORY_IMAGE` layout, identified by the header's `LengthSelf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HiberLayout {
    /// Windows 8 and 8.1 (builds 9200, 9600): LengthSelf 0x360.
    Windows8,
    /// Windows 10 1507 and 1511 (builds 10240, 10586): LengthSelf 0x3B0.
    Windows10Th,
    /// Windows 10 1607 (build 14393): LengthSelf 0x3C8.
    Windows10Rs1,
    /// Windows 10 1703 to 1803 (builds 15063 to 17134): LengthSelf 0x3D8.
    Windows10Rs2,
    /// Windows 10 1809 to 22H2 (builds 17763 to 19045): LengthSelf 0x3E0.
    Windows10Rs5,
    /// Windows Server 2022 and Windows 11 21H2 to 23H2 (builds 20348 to 22631): LengthSelf 0x448.
    Windows11,
    /// Windows 11 24H2 (build 26100): LengthSelf 0x4D8.
    Windows11Ge,
}

/// Where a layout keeps the fields the reader needs.
struct Offsets {
    first_secure_restore_page: Option<usize>,
    first_boot_restore_page: usize,
    first_kernel_restore_page: usize,
    kernel_pages_processed: usize,
    highest_physical_page: usize,
}

impl HiberLayout {
    /// Every known layout.
    pub const ALL: [HiberLayout; 7] = [
        HiberLayout::Windows8,
        HiberLayout::Windows10Th,
        HiberLayout::Windows10Rs1,
        HiberLayout::Windows10Rs2,
        HiberLayout::Windows10Rs5,
        HiberLayout::Windows11,
        HiberLayout::Windows11Ge,
    ];

    /// The header size (`LengthSelf`) of this layout.
    pub fn length_self(&self) -> u32 {
        match self {
            HiberLayout::Windows8 => 0x360,
            HiberLayout::Windows10Th => 0x3B0,
            HiberLayout::Windows10Rs1 => 0x3C8,
            HiberLayout::Windows10Rs2 => 0x3D8,
            HiberLayout::Windows10Rs5 => 0x3E0,
            HiberLayout::Windows11 => 0x448,
            HiberLayout::Windows11Ge => 0x4D8,
        }
    }

    /// The layout whose header is `length_self` bytes.
    pub fn from_length_self(length_self: u32) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| l.length_self() == length_self)
    }

    /// The Windows releases that write this layout.
    pub fn windows(&self) -> &'static str {
        match self {
            HiberLayout::Windows8 => "Windows 8 / 8.1",
            HiberLayout::Windows10Th => "Windows 10 1507-1511",
            HiberLayout::Windows10Rs1 => "Windows 10 1607",
            HiberLayout::Windows10Rs2 => "Windows 10 1703-1803",
            HiberLayout::Windows10Rs5 => "Windows 10 1809-22H2",
            HiberLayout::Windows11 => "Windows 11 21H2-23H2 / Server 2022",
            HiberLayout::Windows11Ge => "Windows 11 24H2",
        }
    }

    fn offsets(&self) -> Offsets {
        let (kernel_pages_processed, highest_physical_page) = match self {
            HiberLayout::Windows8 => (0x1C8, 0x330),
            HiberLayout::Windows10Th => (0x218, 0x380),
            HiberLayout::Windows10Rs1 => (0x220, 0x388),
            HiberLayout::Windows10Rs2 | HiberLayout::Windows10Rs5 => (0x230, 0x398),
            HiberLayout::Windows11 => (0x230, 0x400),
            HiberLayout::Windows11Ge => (0x230, 0x498),
        };
        if *self == HiberLayout::Windows8 {
            Offsets {
                first_secure_restore_page: None,
                first_boot_restore_page: 0x60,
                first_kernel_restore_page: 0x68,
                kernel_pages_processed,
                highest_physical_page,
            }
        } else {
            Offsets {
                first_secure_restore_page: Some(0x60),
                first_boot_restore_page: 0x68,
                first_kernel_restore_page: 0x70,
                kernel_pages_processed,
                highest_physical_page,
            }
        }
    }
}

/// The fields of a hibernation file's `PO_MEMORY_IMAGE` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiberHeader {
    /// Signature (file state).
    pub signature: HiberSignature,
    /// The layout, from `LengthSelf`.
    pub layout: HiberLayout,
    /// ImageType.
    pub image_type: u32,
    /// CheckSum of the header.
    pub checksum: u32,
    /// LengthSelf: bytes of the header.
    pub length_self: u32,
    /// PageSelf: file page of the header.
    pub page_self: u64,
    /// PageSize (4096 on x64).
    pub page_size: u32,
    /// SystemTime at hibernation, as a Windows FILETIME.
    pub system_time: u64,
    /// InterruptTime at hibernation (100 ns units since boot).
    pub interrupt_time: u64,
    /// FeatureFlags.
    pub feature_flags: u64,
    /// HiberFlags.
    pub hiber_flags: u8,
    /// NoHiberPtes.
    pub no_hiber_ptes: u32,
    /// HiberVa.
    pub hiber_va: u64,
    /// NoFreePages.
    pub no_free_pages: u32,
    /// FreeMapCheck.
    pub free_map_check: u32,
    /// WakeCheck.
    pub wake_check: u32,
    /// NumPagesForLoader: pages in the boot (loader) restore set.
    pub num_pages_for_loader: u64,
    /// FirstSecureRestorePage (Windows 10 and later).
    pub first_secure_restore_page: Option<u64>,
    /// FirstBootRestorePage: file page where the boot restore set starts.
    pub first_boot_restore_page: u64,
    /// FirstKernelRestorePage: file page where the kernel restore set starts.
    pub first_kernel_restore_page: u64,
    /// KernelPagesProcessed: pages in the kernel restore set.
    pub kernel_pages_processed: u64,
    /// HighestPhysicalPage: the highest page frame number of the machine.
    pub highest_physical_page: u64,
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderFault {
    /// Shorter than the header page.
    Truncated(usize),
    /// `LengthSelf` of no known x64 layout.
    UnknownLayout(u32),
}

/// The `u64` at byte `off` of `d`.
fn u64_field(d: &[u8], off: usize) -> IResult<&[u8], u64> {
    let (rest, _) = take(off)(d)?;
    le_u64(rest)
}

/// The fixed part of the header (offsets 0x0 to 0x60, the same in every layout).
struct Common {
    image_type: u32,
    checksum: u32,
    length_self: u32,
    page_self: u64,
    page_size: u32,
    system_time: u64,
    interrupt_time: u64,
    feature_flags: u64,
    hiber_flags: u8,
    no_hiber_ptes: u32,
    hiber_va: u64,
    no_free_pages: u32,
    free_map_check: u32,
    wake_check: u32,
    num_pages_for_loader: u64,
}

fn common(d: &[u8]) -> IResult<&[u8], Common> {
    let (d, _signature) = take(4usize)(d)?;
    let (d, image_type) = le_u32(d)?;
    let (d, checksum) = le_u32(d)?;
    let (d, length_self) = le_u32(d)?;
    let (d, page_self) = le_u64(d)?;
    let (d, page_size) = le_u32(d)?;
    let (d, _pad) = take(4usize)(d)?;
    let (d, system_time) = le_u64(d)?;
    let (d, interrupt_time) = le_u64(d)?;
    let (d, feature_flags) = le_u64(d)?;
    let (d, hiber_flags) = le_u8(d)?;
    let (d, _spare) = take(3usize)(d)?;
    let (d, no_hiber_ptes) = le_u32(d)?;
    let (d, hiber_va) = le_u64(d)?;
    let (d, no_free_pages) = le_u32(d)?;
    let (d, free_map_check) = le_u32(d)?;
    let (d, wake_check) = le_u32(d)?;
    let (d, _pad) = take(4usize)(d)?;
    let (d, num_pages_for_loader) = le_u64(d)?;
    Ok((
        d,
        Common {
            image_type,
            checksum,
            length_self,
            page_self,
            page_size,
            system_time,
            interrupt_time,
            feature_flags,
            hiber_flags,
            no_hiber_ptes,
            hiber_va,
            no_free_pages,
            free_map_check,
            wake_check,
            num_pages_for_loader,
        },
    ))
}

/// Parse the header page `d` (at least [`HEADER_PAGE`] bytes) whose signature is `signature`.
pub(crate) fn parse(d: &[u8], signature: HiberSignature) -> Result<HiberHeader, HeaderFault> {
    let page = d
        .get(..HEADER_PAGE)
        .ok_or(HeaderFault::Truncated(d.len()))?;
    let truncated = |_| HeaderFault::Truncated(d.len());
    let (_, c) = common(page).map_err(truncated)?;
    let layout = HiberLayout::from_length_self(c.length_self)
        .ok_or(HeaderFault::UnknownLayout(c.length_self))?;
    let o = layout.offsets();
    let field = |off: usize| u64_field(page, off).map(|(_, v)| v).map_err(truncated);
    Ok(HiberHeader {
        signature,
        layout,
        image_type: c.image_type,
        checksum: c.checksum,
        length_self: c.length_self,
        page_self: c.page_self,
        page_size: c.page_size,
        system_time: c.system_time,
        interrupt_time: c.interrupt_time,
        feature_flags: c.feature_flags,
        hiber_flags: c.hiber_flags,
        no_hiber_ptes: c.no_hiber_ptes,
        hiber_va: c.hiber_va,
        no_free_pages: c.no_free_pages,
        free_map_check: c.free_map_check,
        wake_check: c.wake_check,
        num_pages_for_loader: c.num_pages_for_loader,
        first_secure_restore_page: o.first_secure_restore_page.map(field).transpose()?,
        first_boot_restore_page: field(o.first_boot_restore_page)?,
        first_kernel_restore_page: field(o.first_kernel_restore_page)?,
        kernel_pages_processed: field(o.kernel_pages_processed)?,
        highest_physical_page: field(o.highest_physical_page)?,
    })
}

/// Byte offsets of the layout-dependent fields, for writers of test files:
/// `(FirstBootRestorePage, FirstKernelRestorePage, KernelPagesProcessed, HighestPhysicalPage)`.
pub fn layout_offsets(layout: HiberLayout) -> (usize, usize, usize, usize) {
    let o = layout.offsets();
    (
        o.first_boot_restore_page,
        o.first_kernel_restore_page,
        o.kernel_pages_processed,
        o.highest_physical_page,
    )
}
