//! `odd_process_name`: an ImageFileName that is empty or not printable text.

use super::{Detector, ProcessContext};
use crate::rules::{Rule, ODD_PROCESS_NAME};
use memtriage_report::{Finding, Severity};

/// The detector.
pub struct OddProcessName;

impl Detector for OddProcessName {
    fn rules(&self) -> &'static [&'static Rule] {
        &[&ODD_PROCESS_NAME]
    }

    fn process(&self, cx: &ProcessContext) -> Vec<Finding> {
        let p = &cx.detail.process;
        if !p.odd_name {
            return Vec::new();
        }
        let what = if p.name.is_empty() {
            "empty"
        } else {
            "not printable text"
        };
        let mut f = ODD_PROCESS_NAME
            .finding(
                Severity::Low,
                format!("process name {:?} is {what} (shown escaped)", p.name),
            )
            .with_process(p.pid, p.name.clone())
            .with_evidence("name_escaped", p.name.clone());
        if p.eprocess != 0 {
            f = f.with_address(p.eprocess);
        }
        vec![f]
    }
}
