//! `peb_unlinked_module`: an executable image mapping missing from the PEB loader lists.

use super::bytes::{first_bytes, starts_with_pe};
use super::{Detector, ProcessContext};
use crate::regions::ClassifiedRegion;
use crate::rules::{Rule, PEB_UNLINKED_MODULE};
use crate::session::ProcessDetail;
use memtriage_report::{Finding, Severity};
use memtriage_windows::peb::LoaderEntry;

/// Which loader lists hold an image mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListMembership {
    /// InLoadOrderModuleList.
    pub in_load: bool,
    /// InMemoryOrderModuleList.
    pub in_mem: bool,
    /// InInitializationOrderModuleList.
    pub in_init: bool,
}

/// Per image region: the region and the loader lists that hold an entry at its base.
///
/// A WoW64 process has two sets of lists (64-bit and 32-bit); an image on either counts.
pub fn image_list_membership(d: &ProcessDetail) -> Vec<(&ClassifiedRegion, ListMembership)> {
    let modules: Vec<&LoaderEntry> = d
        .peb
        .iter()
        .chain(d.peb32.iter())
        .flat_map(|p| p.modules.iter())
        .collect();
    d.regions
        .iter()
        .filter(|r| r.vad.is_image())
        .map(|r| {
            let on =
                |f: fn(&LoaderEntry) -> bool| modules.iter().any(|m| m.base == r.vad.start && f(m));
            let lists = ListMembership {
                in_load: on(|m| m.in_load),
                in_mem: on(|m| m.in_mem),
                in_init: on(|m| m.in_init),
            };
            (r, lists)
        })
        .collect()
}

/// The detector.
pub struct UnlinkedModules;

impl Detector for UnlinkedModules {
    fn rules(&self) -> &'static [&'static Rule] {
        &[&PEB_UNLINKED_MODULE]
    }

    fn process(&self, cx: &ProcessContext) -> Vec<Finding> {
        let d = cx.detail;
        let Some(peb) = &d.peb else {
            return Vec::new();
        };
        if peb.modules.is_empty() {
            return Vec::new(); // no loader data read: nothing to compare with
        }
        let mut out = Vec::new();
        for (r, lists) in image_list_membership(d) {
            let is_main = r.vad.start == peb.image_base
                || d.peb32
                    .as_ref()
                    .is_some_and(|p| p.image_base == r.vad.start);
            // The main executable is never on the initialisation-order list.
            let init_ok = lists.in_init || is_main;
            if lists.in_load && lists.in_mem && init_ok {
                continue;
            }
            let executable = r.vad.protection.is_executable() || r.x_pte;
            let Some(head) = first_bytes(cx.space, r.vad.start, 0x1000) else {
                continue;
            };
            if !executable || !starts_with_pe(&head) {
                continue;
            }
            let missing: Vec<&str> = [
                (!lists.in_load, "in_load"),
                (!lists.in_mem, "in_mem"),
                (!init_ok, "in_init"),
            ]
            .into_iter()
            .filter_map(|(miss, name)| miss.then_some(name))
            .collect();
            let on_none = !lists.in_load && !lists.in_mem && (!lists.in_init || is_main);
            let severity = if on_none {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push(
                PEB_UNLINKED_MODULE
                    .finding(
                        severity,
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
                    .with_evidence("protection", r.vad.protection.name()),
            );
        }
        out
    }
}
