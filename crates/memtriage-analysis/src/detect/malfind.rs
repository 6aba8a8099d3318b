//! `rwx_private` and `injected_pe`: malfind's rules over one process's committed regions.

use super::bytes::{first_bytes, hex_bytes, starts_with_pe};
use super::{Detector, ProcessContext};
use crate::regions::ClassifiedRegion;
use crate::rules::{Rule, INJECTED_PE, RWX_PRIVATE};
use memtriage_report::{Finding, RegionState, Severity};

/// What made a private region writable and executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RwxEvidence {
    /// The VAD's protection is PAGE_EXECUTE_READWRITE.
    VadProtection,
    /// A valid PTE of the region is writable and executable.
    Pte,
}

impl RwxEvidence {
    /// The `detected_by` evidence value.
    pub const fn name(self) -> &'static str {
        match self {
            RwxEvidence::VadProtection => "vad_protection",
            RwxEvidence::Pte => "pte",
        }
    }
}

/// One malfind hit: the region and the finding raised on it.
#[derive(Debug, Clone)]
pub struct MalfindHit<'a> {
    /// The region.
    pub region: &'a ClassifiedRegion,
    /// The finding.
    pub finding: Finding,
}

/// Every malfind hit of one process, in region order (a region can raise both rules).
pub fn malfind_hits<'a>(cx: &ProcessContext<'a>) -> Vec<MalfindHit<'a>> {
    let d = cx.detail;
    let mut out = Vec::new();
    for r in &d.regions {
        let v = &r.vad;
        if r.state != RegionState::Committed {
            continue;
        }
        let rwx = if v.private && v.protection.is_rwx() {
            Some(RwxEvidence::VadProtection)
        } else if v.private && r.wx_pte {
            Some(RwxEvidence::Pte)
        } else {
            None
        };
        let executable_non_image = !v.is_image() && (v.protection.is_executable() || r.x_pte);
        if rwx.is_none() && !executable_non_image {
            continue; // neither rule can fire: don't read the region
        }
        let head = first_bytes(cx.space, v.start, 0x1000);
        if let Some(by) = rwx {
            let how = match by {
                RwxEvidence::VadProtection => v.protection.name(),
                RwxEvidence::Pte => "by a valid PTE".to_owned(),
            };
            let mut f = RWX_PRIVATE
                .finding(
                    Severity::Medium,
                    format!("private committed memory is writable and executable ({how})"),
                )
                .with_process(d.process.pid, d.process.name.clone())
                .with_range(v.start, v.end)
                .with_evidence("protection", v.protection.name())
                .with_evidence("type", r.mem_type.to_string())
                .with_evidence("commit_charge", v.commit_charge)
                .with_evidence("detected_by", by.name());
            if let Some(h) = &head {
                f = f.with_evidence("first_bytes", hex_bytes(&h[..32.min(h.len())]));
            }
            out.push(MalfindHit {
                region: r,
                finding: f,
            });
        }
        if executable_non_image {
            if let Some(h) = head.as_deref().filter(|h| starts_with_pe(h)) {
                let f = INJECTED_PE
                    .finding(
                        Severity::High,
                        format!("executable {} memory starts with a PE header", r.mem_type),
                    )
                    .with_process(d.process.pid, d.process.name.clone())
                    .with_range(v.start, v.end)
                    .with_evidence("protection", v.protection.name())
                    .with_evidence("type", r.mem_type.to_string())
                    .with_evidence("first_bytes", hex_bytes(&h[..32.min(h.len())]));
                out.push(MalfindHit {
                    region: r,
                    finding: f,
                });
            }
        }
    }
    out
}

/// The malfind detector.
pub struct Malfind;

impl Detector for Malfind {
    fn rules(&self) -> &'static [&'static Rule] {
        &[&RWX_PRIVATE, &INJECTED_PE]
    }
    fn process(&self, cx: &ProcessContext) -> Vec<Finding> {
        malfind_hits(cx).into_iter().map(|h| h.finding).collect()
    }
}
