//! `peb_masquerade` and `process_hollowing`: does the PEB's idea of the process image agree
//! with the kernel's and with what is mapped at PEB.ImageBaseAddress?

use super::paths::normalize_path;
use super::{Detector, ProcessContext};
use crate::rules::{Rule, PEB_MASQUERADE, PROCESS_HOLLOWING};
use memtriage_report::{Finding, Severity};

/// The detector.
pub struct ImageIdentity;

impl Detector for ImageIdentity {
    fn rules(&self) -> &'static [&'static Rule] {
        &[&PEB_MASQUERADE, &PROCESS_HOLLOWING]
    }

    fn process(&self, cx: &ProcessContext) -> Vec<Finding> {
        let d = cx.detail;
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
                let f = PEB_MASQUERADE
                    .finding(
                        Severity::High,
                        format!("PEB image path {ppath} differs from the kernel's {kpath}"),
                    )
                    .with_process(d.process.pid, d.process.name.clone());
                let f = match image_region {
                    Some(r) => f.with_range(r.vad.start, r.vad.end),
                    None => f.with_address(peb.image_base),
                };
                out.push(
                    f.with_evidence("peb_address", format!("{:#x}", peb.peb))
                        .with_evidence("peb_image_path", ppath.clone())
                        .with_evidence("kernel_image_path", kpath.clone()),
                );
            }
        }
        if peb.image_base == 0 {
            return out;
        }
        match image_region {
            Some(r) if !r.vad.is_image() => out.push(
                PROCESS_HOLLOWING
                    .finding(
                        Severity::High,
                        format!(
                            "PEB.ImageBaseAddress {:#x} lies in {} memory, not an image mapping",
                            peb.image_base, r.mem_type
                        ),
                    )
                    .with_process(d.process.pid, d.process.name.clone())
                    .with_range(r.vad.start, r.vad.end)
                    .with_evidence("protection", r.vad.protection.name())
                    .with_evidence("type", r.mem_type.to_string())
                    .with_evidence(
                        "kernel_image_path",
                        d.process.image_path.clone().unwrap_or_default(),
                    ),
            ),
            Some(r) => {
                if let (Some(file), Some(kpath)) = (&r.vad.file, &d.process.image_path) {
                    if normalize_path(file) != normalize_path(kpath) {
                        out.push(
                            PROCESS_HOLLOWING
                                .finding(
                                    Severity::High,
                                    format!(
                                        "the image at PEB.ImageBaseAddress maps {file}, not the process's image {kpath}"
                                    ),
                                )
                                .with_process(d.process.pid, d.process.name.clone())
                                .with_range(r.vad.start, r.vad.end)
                                .with_evidence("mapped_file", file.clone())
                                .with_evidence("kernel_image_path", kpath.clone()),
                        );
                    }
                }
            }
            None => {}
        }
        out
    }
}
