//! Content sniffing: which reader a capture needs, decided from its first bytes (never from
//! its name), and the well-known file types that are not memory captures at all.

use serde::Serialize;

/// How many bytes of the start of a file the sniffer looks at.
pub(crate) const SNIFF_LEN: u64 = 4096;

/// LiME's range-header magic, 0x4C694D45 little-endian ("EMiL").
pub(crate) const LIME_MAGIC: [u8; 4] = *b"EMiL";

/// The reader a capture needs, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// "PAGEDU64": a 64-bit Windows crash dump.
    CrashDump64,
    /// "PAGEDUMP": a 32-bit Windows crash dump (not read).
    CrashDump32,
    /// "\x7fELF": an ELF file (cores are read, other ELF files are refused).
    Elf,
    /// "EMiL": a LiME file.
    Lime,
    /// A VMware checkpoint (`.vmss`/`.vmsn`): metadata, not memory.
    VmwareCheckpoint,
    /// A well-known file type that is not a memory capture.
    NotACapture(NotACapture),
    /// Anything else: a raw image.
    Raw,
}

/// A file type that is not a memory capture, recognised by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum NotACapture {
    /// Printable text (UTF-8 without control characters other than tab and line breaks).
    #[error("a text file")]
    Text,
    /// A PNG image.
    #[error("a PNG image")]
    Png,
    /// A JPEG image.
    #[error("a JPEG image")]
    Jpeg,
    /// A GIF image.
    #[error("a GIF image")]
    Gif,
    /// A PDF document.
    #[error("a PDF document")]
    Pdf,
    /// A ZIP archive (also .docx, .xlsx, .jar, ...).
    #[error("a ZIP archive (unpack the capture first)")]
    Zip,
    /// A gzip stream.
    #[error("a gzip-compressed file (decompress the capture first)")]
    Gzip,
    /// An xz stream.
    #[error("an xz-compressed file (decompress the capture first)")]
    Xz,
    /// A 7-Zip archive.
    #[error("a 7-Zip archive (unpack the capture first)")]
    SevenZip,
    /// A bzip2 stream.
    #[error("a bzip2-compressed file (decompress the capture first)")]
    Bzip2,
    /// An SQLite database.
    #[error("an SQLite database")]
    Sqlite,
    /// A PE executable or DLL ("MZ" + "PE\0\0").
    #[error("a PE executable (Windows program or DLL)")]
    PeExecutable,
    /// An ELF executable (ET_EXEC).
    #[error("an ELF executable, not an ELF core")]
    ElfExecutable,
    /// An ELF shared object or position-independent executable (ET_DYN).
    #[error("an ELF shared object, not an ELF core")]
    ElfSharedObject,
    /// An ELF relocatable object (ET_REL).
    #[error("an ELF object file, not an ELF core")]
    ElfRelocatable,
}

impl NotACapture {
    /// The ELF file types that are not cores, by `e_type`.
    pub(crate) fn elf_object(e_type: u16) -> Option<NotACapture> {
        match e_type {
            1 => Some(NotACapture::ElfRelocatable),
            2 => Some(NotACapture::ElfExecutable),
            3 => Some(NotACapture::ElfSharedObject),
            _ => None,
        }
    }
}

/// The VMware checkpoint magics (`.vmss`/`.vmsn`), as stored.
pub(crate) const VMWARE_MAGICS: [[u8; 4]; 4] = [
    [0xD0, 0xBE, 0xD2, 0xBE],
    [0xD1, 0xBA, 0xD1, 0xBA],
    [0xD2, 0xBE, 0xD2, 0xBE],
    [0xD3, 0xBE, 0xD3, 0xBE],
];

/// Decide the reader from the first bytes of a file (`head`, at most [`SNIFF_LEN`] bytes).
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    const FILE_MAGICS: [(&[u8], NotACapture); 11] = [
        (b"\x89PNG\r\n\x1a\n", NotACapture::Png),
        (b"\xFF\xD8\xFF", NotACapture::Jpeg),
        (b"GIF87a", NotACapture::Gif),
        (b"GIF89a", NotACapture::Gif),
        (b"%PDF-", NotACapture::Pdf),
        (b"PK\x03\x04", NotACapture::Zip),
        (b"PK\x05\x06", NotACapture::Zip),
        (b"\x1F\x8B\x08", NotACapture::Gzip),
        (b"\xFD7zXZ\x00", NotACapture::Xz),
        (b"7z\xBC\xAF\x27\x1C", NotACapture::SevenZip),
        (b"SQLite format 3\x00", NotACapture::Sqlite),
    ];
    if head.starts_with(b"PAGEDU64") {
        return Sniffed::CrashDump64;
    }
    if head.starts_with(b"PAGEDUMP") {
        return Sniffed::CrashDump32;
    }
    if head.starts_with(b"\x7fELF") {
        return Sniffed::Elf;
    }
    if head.starts_with(&LIME_MAGIC) {
        return Sniffed::Lime;
    }
    if VMWARE_MAGICS.iter().any(|m| head.starts_with(m)) {
        return Sniffed::VmwareCheckpoint;
    }
    if let Some((_, kind)) = FILE_MAGICS.iter().find(|(m, _)| head.starts_with(m)) {
        return Sniffed::NotACapture(*kind);
    }
    if is_bzip2(head) {
        return Sniffed::NotACapture(NotACapture::Bzip2);
    }
    if is_pe(head) {
        return Sniffed::NotACapture(NotACapture::PeExecutable);
    }
    if is_text(head) {
        return Sniffed::NotACapture(NotACapture::Text);
    }
    Sniffed::Raw
}

/// "BZh1".."BZh9" followed by the block magic 0x314159265359.
fn is_bzip2(head: &[u8]) -> bool {
    head.len() >= 10
        && head.starts_with(b"BZh")
        && head.get(3).is_some_and(|d| (b'1'..=b'9').contains(d))
        && head.get(4..10) == Some(b"1AY&SY".as_slice())
}

/// "MZ" whose e_lfanew points at "PE\0\0" inside `head`.
fn is_pe(head: &[u8]) -> bool {
    if !head.starts_with(b"MZ") {
        return false;
    }
    let e_lfanew: Option<nom::IResult<&[u8], u32>> =
        head.get(0x3C..).map(nom::number::complete::le_u32);
    let Some(Ok((_, lfanew))) = e_lfanew else {
        return false;
    };
    let at = lfanew as usize;
    head.get(at..at.saturating_add(4)) == Some(b"PE\0\0".as_slice())
}

/// Printable UTF-8 text: no NUL or control characters other than tab, line breaks and form
/// feed. A raw image of memory starts with the real-mode interrupt vector table (binary,
/// with zeros), never with text.
fn is_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // A multi-byte character cut at the end of the sniffed bytes is still text.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(head.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or("")
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_and_text() {
        assert_eq!(sniff(b"PAGEDU64xxxx"), Sniffed::CrashDump64);
        assert_eq!(sniff(b"PAGEDUMPxxxx"), Sniffed::CrashDump32);
        assert_eq!(sniff(b"\x7fELF\x02\x01"), Sniffed::Elf);
        assert_eq!(sniff(b"EMiL\x01\0\0\0"), Sniffed::Lime);
        assert_eq!(
            sniff(&[0xD2, 0xBE, 0xD2, 0xBE, 0, 0]),
            Sniffed::VmwareCheckpoint
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Sniffed::NotACapture(NotACapture::Png)
        );
        assert_eq!(
            sniff(b"PK\x03\x04\x14\0"),
            Sniffed::NotACapture(NotACapture::Zip)
        );
        assert_eq!(
            sniff(b"hello, world\nthis is not memory\n"),
            Sniffed::NotACapture(NotACapture::Text)
        );
        assert_eq!(
            sniff("caf\u{e9} \u{2014} r\u{e9}sum\u{e9}\n".as_bytes()),
            Sniffed::NotACapture(NotACapture::Text)
        );
        let mut pe = vec![0u8; 0x200];
        pe[..2].copy_from_slice(b"MZ");
        pe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        pe[0x80..0x84].copy_from_slice(b"PE\0\0");
        assert_eq!(sniff(&pe), Sniffed::NotACapture(NotACapture::PeExecutable));
        // "MZ" alone is not enough.
        pe[0x80] = 0;
        assert_eq!(sniff(&pe), Sniffed::Raw);
        // A raw image: zeros and real-mode vectors.
        let mut ivt = vec![0u8; 4096];
        ivt[..8].copy_from_slice(&[0x53, 0xFF, 0x00, 0xF0, 0x53, 0xFF, 0x00, 0xF0]);
        assert_eq!(sniff(&ivt), Sniffed::Raw);
        assert_eq!(sniff(&[0u8; 16]), Sniffed::Raw);
        // Text with a NUL is binary.
        assert_eq!(sniff(b"abc\0def"), Sniffed::Raw);
    }
}
