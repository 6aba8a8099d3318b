//! `unbacked_thread`: a user thread whose start address lies in memory with no file behind
//! it (private or non-image mapped) or in no VAD at all.

use super::thread_start::{thread_origin, ThreadOrigin};
use super::{Detector, ProcessContext};
use crate::rules::{Rule, UNBACKED_THREAD};
use memtriage_report::{Finding, Hex, RegionType, Severity};
use memtriage_windows::thread::Thread;

/// The detector.
pub struct UnbackedThreads;

/// An optional address as evidence: `"0x…"` or null.
fn hex_or_null(v: Option<u64>) -> serde_json::Value {
    v.map_or(serde_json::Value::Null, |v| Hex(v).to_string().into())
}

fn evidence(f: Finding, th: &Thread) -> Finding {
    f.with_evidence("tid", th.tid)
        .with_evidence("win32_start_address", hex_or_null(th.win32_start_address))
        .with_evidence("start_address", hex_or_null(th.raw_start_address))
}

impl Detector for UnbackedThreads {
    fn rules(&self) -> &'static [&'static Rule] {
        &[&UNBACKED_THREAD]
    }

    fn process(&self, cx: &ProcessContext) -> Vec<Finding> {
        let d = cx.detail;
        // Without a VAD tree every address would be "in no VAD": nothing to judge by.
        if d.regions.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for th in &d.threads {
            let start = th.start_address;
            let f = match thread_origin(d, start) {
                ThreadOrigin::Unknown | ThreadOrigin::Kernel | ThreadOrigin::Invalid => continue,
                ThreadOrigin::Region(r) if r.mem_type == RegionType::Image => continue,
                ThreadOrigin::Region(r) => {
                    let executable = r.vad.protection.is_executable() || r.x_pte;
                    let severity = if r.mem_type == RegionType::Private && executable {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    let f = UNBACKED_THREAD.finding(
                        severity,
                        format!(
                            "thread {} started at {start:#x} in {} {} memory {:#x}-{:#x} with no image file behind it",
                            th.tid,
                            r.vad.protection.name(),
                            r.mem_type,
                            r.vad.start,
                            r.vad.end
                        ),
                    );
                    evidence(f, th)
                        .with_evidence(
                            "region",
                            serde_json::json!({
                                "start": Hex(r.vad.start).to_string(),
                                "end": Hex(r.vad.end).to_string(),
                                "type": r.mem_type,
                            }),
                        )
                        .with_evidence("protection", r.vad.protection.name())
                }
                ThreadOrigin::NoRegion => {
                    let f = UNBACKED_THREAD.finding(
                        Severity::Medium,
                        format!(
                            "thread {} started at {start:#x}, outside every VAD of the process",
                            th.tid
                        ),
                    );
                    evidence(f, th)
                        .with_evidence("region", serde_json::Value::Null)
                        .with_evidence("protection", serde_json::Value::Null)
                }
            };
            out.push(
                f.with_process(d.process.pid, d.process.name.clone())
                    .with_address(start),
            );
        }
        out
    }
}
