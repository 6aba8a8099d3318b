//! `module_path_mismatch`: an image mapping whose file differs from the FullDllName of the
//! loader entry at the same base (module overloading, DLL hollowing).

use super::paths::normalize_path;
use super::{Detector, ProcessContext};
use crate::rules::{Rule, MODULE_PATH_MISMATCH};
use memtriage_report::{Finding, Severity};
use memtriage_windows::peb::PebInfo;

/// The detector.
pub struct ModulePathMismatch;

/// Which loader data an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoaderView {
    /// The native (64-bit) PEB's loader lists.
    Native,
    /// The 32-bit PEB's loader lists of a WoW64 process.
    Wow64,
}

impl LoaderView {
    /// The name in evidence: `native` or `wow64`.
    pub const fn name(self) -> &'static str {
        match self {
            LoaderView::Native => "native",
            LoaderView::Wow64 => "wow64",
        }
    }
}

/// A path normalised for comparison in `view`: for WoW64 loader entries, `\windows\system32\`
/// and `\windows\syswow64\` name the same folder (the file-system redirector).
fn comparable(path: &str, view: LoaderView) -> String {
    let p = normalize_path(path);
    match (view, p.strip_prefix("\\windows\\system32\\")) {
        (LoaderView::Wow64, Some(rest)) => format!("\\windows\\syswow64\\{rest}"),
        _ => p,
    }
}

impl Detector for ModulePathMismatch {
    fn rules(&self) -> &'static [&'static Rule] {
        &[&MODULE_PATH_MISMATCH]
    }

    fn process(&self, cx: &ProcessContext) -> Vec<Finding> {
        let d = cx.detail;
        let views: Vec<(&PebInfo, LoaderView)> = d
            .peb
            .iter()
            .map(|p| (p, LoaderView::Native))
            .chain(d.peb32.iter().map(|p| (p, LoaderView::Wow64)))
            .collect();
        // The main executable's identity is peb_masquerade's and process_hollowing's job.
        let main_images: Vec<u64> = views.iter().map(|(p, _)| p.image_base).collect();
        let mut out = Vec::new();
        for r in d.regions.iter().filter(|r| r.vad.is_image()) {
            let Some(file) = r.vad.file.as_deref().filter(|f| !f.is_empty()) else {
                continue;
            };
            if main_images.contains(&r.vad.start) {
                continue;
            }
            for (peb, view) in &views {
                let Some(entry) = peb
                    .modules
                    .iter()
                    .find(|m| m.base == r.vad.start && !m.path.is_empty())
                else {
                    continue;
                };
                if comparable(file, *view) == comparable(&entry.path, *view) {
                    continue;
                }
                out.push(
                    MODULE_PATH_MISMATCH
                        .finding(
                            Severity::High,
                            format!(
                                "the loader entry at {:#x} names {} but the image mapped there is {file}",
                                r.vad.start, entry.path
                            ),
                        )
                        .with_process(d.process.pid, d.process.name.clone())
                        .with_range(r.vad.start, r.vad.end)
                        .with_evidence("mapped_file", file.to_string())
                        .with_evidence("loader_path", entry.path.clone())
                        .with_evidence("loader_name", entry.name.clone())
                        .with_evidence("loader_view", view.name()),
                );
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wow64_entries_treat_system32_as_syswow64() {
        assert_eq!(
            comparable("C:\\Windows\\System32\\kernel32.dll", LoaderView::Wow64),
            comparable("\\Windows\\SysWOW64\\KERNEL32.DLL", LoaderView::Wow64)
        );
        assert_ne!(
            comparable("C:\\Windows\\System32\\kernel32.dll", LoaderView::Native),
            comparable("\\Windows\\SysWOW64\\kernel32.dll", LoaderView::Native)
        );
    }
}
