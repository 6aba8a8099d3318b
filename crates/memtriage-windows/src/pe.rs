//! PE images read through a virtual address space (kernel discovery, injected-PE checks).

use memtriage_paging::AddressSpace;

/// Largest image read whole for parsing.
pub const MAX_IMAGE_BYTES: u64 = 64 * 1024 * 1024;

/// What memtriage needs from an in-memory PE image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeInfo {
    /// Virtual address of the `MZ` header.
    pub base: u64,
    /// SizeOfImage from the optional header.
    pub size_of_image: u64,
    /// Section names.
    pub sections: Vec<String>,
    /// The export directory's DLL name, if any.
    pub export_name: Option<String>,
    /// Exported names with their RVAs.
    pub exports: Vec<(String, u64)>,
    /// CodeView PDB70 record: GUID (symbol-server order, upper-case hex), age, PDB file name.
    pub codeview: Option<(String, u32, String)>,
}

impl PeInfo {
    /// RVA of an exported name.
    pub fn export_rva(&self, name: &str) -> Option<u64> {
        self.exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, rva)| *rva)
    }
}

/// Whether `header` (the first bytes of a page) starts a PE: `MZ`, and `PE\0\0` at e_lfanew.
/// Returns e_lfanew when it does.
pub fn pe_signature_offset(header: &[u8]) -> Option<usize> {
    if header.get(0..2)? != b"MZ" {
        return None;
    }
    let lfanew = u32::from_le_bytes(header.get(0x3c..0x40)?.try_into().ok()?) as usize;
    if !(0x40..=0x800).contains(&lfanew) {
        return None;
    }
    (header.get(lfanew..lfanew + 4)? == b"PE\0\0").then_some(lfanew)
}

/// Section names from a header page, without reading the rest of the image.
pub fn section_names(header: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(lfanew) = pe_signature_offset(header) else {
        return out;
    };
    let coff = lfanew + 4;
    let count = header
        .get(coff + 2..coff + 4)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
        .unwrap_or(0);
    let opt_size = header
        .get(coff + 16..coff + 18)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
        .unwrap_or(0);
    let table = coff + 20 + opt_size;
    for i in 0..count.min(96) {
        let Some(raw) = header.get(table + i * 40..table + i * 40 + 8) else {
            break;
        };
        let end = raw.iter().position(|&c| c == 0).unwrap_or(8);
        out.push(String::from_utf8_lossy(&raw[..end]).into_owned());
    }
    out
}

fn guid_string(sig: &[u8; 16]) -> String {
    let d1 = u32::from_le_bytes([sig[0], sig[1], sig[2], sig[3]]);
    let d2 = u16::from_le_bytes([sig[4], sig[5]]);
    let d3 = u16::from_le_bytes([sig[6], sig[7]]);
    let mut s = format!("{d1:08X}{d2:04X}{d3:04X}");
    for b in &sig[8..] {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

/// Read and parse the PE image at `base` through `space` (holes read as zeros).
pub fn read_pe(space: &AddressSpace, base: u64) -> Option<PeInfo> {
    let mut header = vec![0u8; 0x1000];
    space.read_exact(base, &mut header).ok()?;
    let lfanew = pe_signature_offset(&header)?;
    let opt = lfanew + 24;
    let size_of_image = header
        .get(opt + 56..opt + 60)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)?;
    if !(0x1000..=MAX_IMAGE_BYTES).contains(&size_of_image) {
        return None;
    }
    let mut image = vec![0u8; size_of_image as usize];
    let _holes = space.read(base, &mut image);
    let mut opts = goblin::pe::options::ParseOptions::default()
        .with_parse_tls_data(false)
        .with_parse_resources(false)
        .with_parse_imports(false)
        .with_parse_mode(goblin::options::ParseMode::Permissive);
    opts.resolve_rva = false;
    opts.parse_attribute_certificates = false;
    let pe = goblin::pe::PE::parse_with_opts(&image, &opts).ok()?;
    let sections = pe
        .sections
        .iter()
        .map(|s| {
            let end = s.name.iter().position(|&c| c == 0).unwrap_or(8);
            String::from_utf8_lossy(&s.name[..end]).into_owned()
        })
        .collect();
    let exports = pe
        .exports
        .iter()
        .filter_map(|e| Some((e.name?.to_string(), e.rva as u64)))
        .collect();
    let export_name = pe
        .export_data
        .as_ref()
        .and_then(|e| e.name)
        .map(str::to_string);
    let codeview = pe
        .debug_data
        .as_ref()
        .and_then(|d| d.codeview_pdb70_debug_info.as_ref())
        .map(|cv| {
            let name = cv.filename.split(|&c| c == 0).next().unwrap_or(&[]);
            (
                guid_string(&cv.signature),
                cv.age,
                String::from_utf8_lossy(name).into_owned(),
            )
        });
    Some(PeInfo {
        base,
        size_of_image,
        sections,
        export_name,
        exports,
        codeview,
    })
}
