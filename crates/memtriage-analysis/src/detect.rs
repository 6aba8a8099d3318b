//! Detectors: turn the shared results of a session into findings.
//!
//! Rule ids are a public contract (docs/rules.md): `peb_unlinked_module`, `rwx_private`,
//! `injected_pe`, `hidden_process`, `peb_masquerade`, `process_hollowing`.

use crate::regions::ClassifiedRegion;
use crate::session::ProcessDetail;
use memtriage_paging::AddressSpace;
use memtriage_report::{Finding, Severity};
use memtriage_windows::pe::pe_signature_offset;
use memtriage_windows::protection::{is_executable, is_rwx};

/// Rule id: an image mapping missing from PEB loader lists.
pub const PEB_UNLINKED_MODULE: &str = "peb_unlinked_module";
/// Rule id: private committed memory that is writable and executable.
pub const RWX_PRIVATE: &str = "rwx_private";
/// Rule id: executable private or non-image mapped memory starting with a PE header.
pub const INJECTED_PE: &str = "injected_pe";
/// Rule id: a process found by the pool scan, not exited, absent from the active list.
pub const HIDDEN_PROCESS: &str = "hidden_process";
/// Rule id: the PEB's image path differs from the kernel's.
pub const PEB_MASQUERADE: &str = "peb_masquerade";
/// Rule id: the region at PEB.ImageBaseAddress is not the process's image mapping.
pub const PROCESS_HOLLOWING: &str = "process_hollowing";

/// Every rule id with its severity (the highest it can raise) and ATT&CK techniques.
pub const RULES: &[(&str, &str, &[&str])] = &[
    (PEB_UNLINKED_MODULE, "high", &["T1055.001", "T1620"]),
    (RWX_PRIVATE, "medium", &["T1055"]),
    (INJECTED_PE, "high", &["T1055.001", "T1620"]),
    (HIDDEN_PROCESS, "high", &["T1014", "T1564"]),
    (PEB_MASQUERADE, "high", &["T1036.005"]),
    (PROCESS_HOLLOWING, "high", &["T1055.012"]),
];

/// Normalise a Windows path for comparison: lower case, the volume prefix
/// (`\Device\HarddiskVolumeN`, `\??\`, `C:`, `\SystemRoot`) removed.
pub fn normalize_path(path: &str) -> String {
    let mut p = path.trim().replace('/', "\\").to_ascii_lowercase();
    for prefix in ["\\??\\", "\\\\?\\"] {
        if let Some(rest) = p.strip_prefix(prefix) {
            p = rest.to_string();
        }
    }
    if let Some(rest) = p.strip_prefix("\\device\\") {
        // \device\harddiskvolume3\windows\... → \windows\...
        p = match rest.find('\\') {
            Some(i) => rest[i..].to_string(),
            None => String::new(),
        };
    } else if p.len() >= 2 && p.as_bytes()[1] == b':' {
        p = p[2..].to_string();
    } else if let Some(rest) = p.strip_prefix("\\systemroot") {
        p = format!("\\windows{rest}");
    }
    p
}

fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn first_bytes(space: &AddressSpace, va: u64, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    space.read_exact(va, &mut buf).ok()?;
    Some(buf)
}

/// Whether the bytes start a PE (`MZ` and `PE\0\0` at e_lfanew).
pub fn starts_with_pe(head: &[u8]) -> bool {
    pe_signature_offset(head).is_some()
}

/// `rwx_private` and `injected_pe` over one process's regions (malfind's rules).
pub fn malfind(space: &AddressSpace, d: &ProcessDetail) -> Vec<Finding> {
    let mut out = Vec::new();
    let name = &d.process.name;
    for r in &d.regions {
        let v = &r.vad;
        let committed = r.state == "COMMITTED";
        if !committed {
            continue;
        }
        let idx = u64::from(v.protection_index);
        let by_vad = v.private && is_rwx(idx);
        let by_pte = v.private && !by_vad && r.wx_pte;
        let executable_non_image = !v.is_image() && (is_executable(idx) || r.x_pte);
        if !(by_vad || by_pte || executable_non_image) {
            continue; // neither rule can fire: don't read the region
        }
        let head = first_bytes(space, v.start, 0x1000);
        if by_vad || by_pte {
            let mut f = Finding::new(
                RWX_PRIVATE,
                Severity::Medium,
                format!(
                    "private committed memory is writable and executable ({})",
                    if by_vad {
                        v.protection.as_str()
                    } else {
                        "by a valid PTE"
                    }
                ),
            )
            .with_process(d.process.pid, name.clone())
            .with_range(v.start, v.end)
            .with_evidence("protection", v.protection.clone())
            .with_evidence("type", r.short_type())
            .with_evidence("commit_charge", v.commit_charge)
            .with_evidence("detected_by", if by_vad { "vad_protection" } else { "pte" })
            .with_mitre("T1055");
            if let Some(h) = &head {
                f = f.with_evidence("first_bytes", hex_bytes(&h[..32.min(h.len())]));
            }
            out.push(f);
        }
        if executable_non_image {
            if let Some(h) = head.as_deref().filter(|h| starts_with_pe(h)) {
                out.push(
                    Finding::new(
                        INJECTED_PE,
                        Severity::High,
                        format!(
                            "executable {} memory starts with a PE header",
                            r.short_type()
                        ),
                    )
                    .with_process(d.process.pid, name.clone())
                    .with_range(v.start, v.end)
                    .with_evidence("protection", v.protection.clone())
                    .with_evidence("type", r.short_type())
                    .with_evidence("first_bytes", hex_bytes(&h[..32]))
                    .with_mitre("T1055.001")
                    .with_mitre("T1620"),
                );
            }
        }
    }
    out
}

/// Per image region: `(region, [in_load, in_mem, in_init])` for ldrmodules.
///
/// A WoW64 process has two sets of lists (64-bit and 32-bit); an image on either counts.
pub fn image_list_membership(d: &ProcessDetail) -> Vec<(&ClassifiedRegion, [bool; 3])> {
    let modules: Vec<&memtriage_windows::peb::LoaderEntry> = d
        .peb
        .iter()
        .chain(d.peb32.iter())
        .flat_map(|p| p.modules.iter())
        .collect();
    d.regions
        .iter()
        .filter(|r| r.vad.is_image())
        .map(|r| {
            let on = |f: fn(&memtriage_windows::peb::LoaderEntry) -> bool| {
                modules.iter().any(|m| m.base == r.vad.start && f(m))
            };
            (r, [on(|m| m.in_load), on(|m| m.in_mem), on(|m| m.in_init)])
        })
        .collect()
}

/// `peb_unlinked_module` for one process.
pub fn unlinked_modules(space: &AddressSpace, d: &ProcessDetail) -> Vec<Finding> {
    let Some(peb) = &d.peb else {
        return Vec::new();
    };
    if peb.modules.is_empty() {
        return Vec::new(); // no loader data read: nothing to compare with
    }
    let mut out = Vec::new();
    for (r, [load, mem, init]) in image_list_membership(d) {
        let is_main = r.vad.start == peb.image_base
            || d.peb32
                .as_ref()
                .is_some_and(|p| p.image_base == r.vad.start);
        // The main executable is never on the initialisation-order list.
        let init_ok = init || is_main;
        if load && mem && init_ok {
            continue;
        }
        let executable = is_executable(u64::from(r.vad.protection_index)) || r.x_pte;
        let Some(head) = first_bytes(space, r.vad.start, 0x1000) else {
            continue;
        };
        if !executable || !starts_with_pe(&head) {
            continue;
        }
        let mut missing = Vec::new();
        if !load {
            missing.push("in_load");
        }
        if !mem {
            missing.push("in_mem");
        }
        if !init_ok {
            missing.push("in_init");
        }
        let all = !load && !mem && (!init || is_main);
        out.push(
            Finding::new(
                PEB_UNLINKED_MODULE,
                if all {
                    Severity::High
                } else {
                    Severity::Medium
                },
                format!(
                    "image mapping {} is missing from the PEB loader list(s): {}",
                    r.vad.file.as_deref().unwrap_or("(no file)"),
                    missing.join(", ")
                ),
            )
            .with_process(d.process.pid, d.process.name.clone())
            .with_range(r.vad.start, r.vad.end)
            .with_evidence(
                "lists_missing",
                missing.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
            .with_evidence("file", r.vad.file.clone().unwrap_or_default())
            .with_evidence("protection", r.vad.protection.clone())
            .with_mitre("T1055.001")
            .with_mitre("T1620"),
        );
    }
    out
}

/// `peb_masquerade` and `process_hollowing` for one process.
pub fn image_identity(d: &ProcessDetail) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(peb) = &d.peb else {
        return out;
    };
    let image_region = d
        .regions
        .iter()
        .find(|r| peb.image_base >= r.vad.start && peb.image_base <= r.vad.end);
    // The kernel's idea of the image: SeAuditProcessCreationInfo, else the image VAD's file.
    let kernel_path = d.process.image_path.clone().or_else(|| {
        image_region
            .filter(|r| r.vad.is_image())
            .and_then(|r| r.vad.file.clone())
    });
    if let (Some(kpath), Some(ppath)) = (&kernel_path, &peb.image_path) {
        if !ppath.is_empty() && normalize_path(kpath) != normalize_path(ppath) {
            out.push(
                {
                    let f = Finding::new(
                        PEB_MASQUERADE,
                        Severity::High,
                        format!("PEB image path {ppath} differs from the kernel's {kpath}"),
                    )
                    .with_process(d.process.pid, d.process.name.clone());
                    match image_region {
                        Some(r) => f.with_range(r.vad.start, r.vad.end),
                        None => f.with_address(peb.image_base),
                    }
                }
                .with_evidence("peb_address", format!("{:#x}", peb.peb))
                .with_evidence("peb_image_path", ppath.clone())
                .with_evidence("kernel_image_path", kpath.clone())
                .with_mitre("T1036.005"),
            );
        }
    }
    if peb.image_base != 0 {
        match image_region {
            Some(r) if !r.vad.is_image() => out.push(
                Finding::new(
                    PROCESS_HOLLOWING,
                    Severity::High,
                    format!(
                        "PEB.ImageBaseAddress {:#x} lies in {} memory, not an image mapping",
                        peb.image_base,
                        r.short_type()
                    ),
                )
                .with_process(d.process.pid, d.process.name.clone())
                .with_range(r.vad.start, r.vad.end)
                .with_evidence("protection", r.vad.protection.clone())
                .with_evidence("type", r.short_type())
                .with_evidence(
                    "kernel_image_path",
                    d.process.image_path.clone().unwrap_or_default(),
                )
                .with_mitre("T1055.012"),
            ),
            Some(r) => {
                if let (Some(file), Some(kpath)) = (&r.vad.file, &d.process.image_path) {
                    if normalize_path(file) != normalize_path(kpath) {
                        out.push(
                            Finding::new(
                                PROCESS_HOLLOWING,
                                Severity::High,
                                format!("the image at PEB.ImageBaseAddress maps {file}, not the process's image {kpath}"),
                            )
                            .with_process(d.process.pid, d.process.name.clone())
                            .with_range(r.vad.start, r.vad.end)
                            .with_evidence("mapped_file", file.clone())
                            .with_evidence("kernel_image_path", kpath.clone())
                            .with_mitre("T1055.012"),
                        );
                    }
                }
            }
            None => {}
        }
    }
    out
}

/// `hidden_process` for a process found by the pool scan and absent from the active list.
pub fn hidden_process_finding(p: &memtriage_windows::process::Process) -> Finding {
    let mut f = Finding::new(
        HIDDEN_PROCESS,
        Severity::High,
        format!(
            "process {} (pid {}) is in pool memory but not on the active process list",
            p.name, p.pid
        ),
    )
    .with_process(p.pid, p.name.clone())
    .with_evidence(
        "offset_physical",
        format!("{:#x}", p.eprocess_pa.unwrap_or(0)),
    )
    .with_mitre("T1014")
    .with_mitre("T1564");
    if p.eprocess != 0 {
        f = f.with_address(p.eprocess);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise_across_volume_forms() {
        let k = normalize_path("\\Device\\HarddiskVolume3\\Windows\\System32\\svchost.exe");
        assert_eq!(k, "\\windows\\system32\\svchost.exe");
        assert_eq!(normalize_path("C:\\Windows\\System32\\SVCHOST.EXE"), k);
        assert_eq!(normalize_path("\\SystemRoot\\System32\\svchost.exe"), k);
        assert_eq!(
            normalize_path("\\??\\C:\\Windows\\System32\\svchost.exe"),
            k
        );
        assert_ne!(normalize_path("C:\\Users\\Public\\evil.exe"), k);
    }
}
