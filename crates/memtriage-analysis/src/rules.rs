//! The detection rules: one typed constant per rule id (a public contract, docs/rules.md).

use memtriage_report::{Finding, Severity};

/// A detection rule: its stable id, the severities it can raise, its ATT&CK techniques and a
/// one-line summary. Detectors build findings through [`Rule::finding`], so the id and the
/// techniques are written once, here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable rule id, e.g. `rwx_private`.
    pub id: &'static str,
    /// Every severity the rule can raise, lowest first.
    pub severities: &'static [Severity],
    /// MITRE ATT&CK technique ids.
    pub mitre: &'static [&'static str],
    /// What the rule flags, in one line.
    pub summary: &'static str,
}

impl Rule {
    /// The highest severity the rule can raise.
    pub fn max_severity(&self) -> Severity {
        self.severities.iter().copied().max().unwrap_or_default()
    }

    /// A finding of this rule with its techniques. `severity` must be one of
    /// [`Rule::severities`] (checked in debug builds and by the rule tests).
    pub fn finding(&self, severity: Severity, description: impl Into<String>) -> Finding {
        debug_assert!(
            self.severities.contains(&severity),
            "{} cannot raise {severity}",
            self.id
        );
        let mut f = Finding::new(self.id, severity, description);
        f.mitre = self.mitre.iter().map(|t| (*t).to_owned()).collect();
        f
    }
}

/// An image mapping missing from the PEB loader lists (high when on none of them).
pub const PEB_UNLINKED_MODULE: Rule = Rule {
    id: "peb_unlinked_module",
    severities: &[Severity::Medium, Severity::High],
    mitre: &["T1055.001", "T1620"],
    summary: "an executable image mapping with a PE header is missing from PEB loader lists",
};

/// Private committed memory that is writable and executable.
pub const RWX_PRIVATE: Rule = Rule {
    id: "rwx_private",
    severities: &[Severity::Medium],
    mitre: &["T1055"],
    summary: "private committed memory is writable and executable (VAD or PTE)",
};

/// Executable private or non-image mapped memory starting with a PE header.
pub const INJECTED_PE: Rule = Rule {
    id: "injected_pe",
    severities: &[Severity::High],
    mitre: &["T1055.001", "T1620"],
    summary: "executable private or non-image mapped memory starts with a PE header",
};

/// A process found by the pool scan, not exited, absent from the active list.
pub const HIDDEN_PROCESS: Rule = Rule {
    id: "hidden_process",
    severities: &[Severity::High],
    mitre: &["T1014", "T1564"],
    summary: "a live process found in pool memory is absent from the active process list",
};

/// The PEB's image path differs from the kernel's.
pub const PEB_MASQUERADE: Rule = Rule {
    id: "peb_masquerade",
    severities: &[Severity::High],
    mitre: &["T1036.005"],
    summary: "the PEB's image path differs from the kernel's record of the image",
};

/// The region at PEB.ImageBaseAddress is not the process's image mapping.
pub const PROCESS_HOLLOWING: Rule = Rule {
    id: "process_hollowing",
    severities: &[Severity::High],
    mitre: &["T1055.012"],
    summary: "the memory at PEB.ImageBaseAddress is not the process's own image mapping",
};

/// A process whose ImageFileName is empty or not printable text.
pub const ODD_PROCESS_NAME: Rule = Rule {
    id: "odd_process_name",
    severities: &[Severity::Low],
    mitre: &["T1036"],
    summary: "a process's ImageFileName is empty or holds bytes that are not printable text",
};

/// A YARA rule given with `report --yara` matched process memory (raised by memtriage-yara,
/// not by a built-in detector; the severity comes from the rule's `severity` meta).
pub const YARA_MATCH: Rule = Rule {
    id: "yara_match",
    severities: &[Severity::Low, Severity::Medium, Severity::High],
    mitre: &[],
    summary: "a YARA rule given with --yara matched a region of process memory",
};

/// Rules raised outside the built-in detectors (listed by `memtriage rules` after them).
pub const EXTERNAL_RULES: &[&Rule] = &[&YARA_MATCH];

/// A user thread whose start address lies in memory with no file behind it (private or
/// non-image mapped) or in no VAD at all (high when private and executable).
pub const UNBACKED_THREAD: Rule = Rule {
    id: "unbacked_thread",
    severities: &[Severity::Medium, Severity::High],
    mitre: &["T1055", "T1620"],
    summary: "a thread started in private or non-image mapped memory, or in no VAD at all",
};

/// An image mapping whose file differs from the loader entry's FullDllName at its base.
pub const MODULE_PATH_MISMATCH: Rule = Rule {
    id: "module_path_mismatch",
    severities: &[Severity::High],
    mitre: &["T1055.001"],
    summary: "an image mapping's file differs from the loader entry's FullDllName at its base",
};

/// A Windows system process with the wrong parent, image path, session or instance count.
pub const PROCESS_LINEAGE: Rule = Rule {
    id: "process_lineage",
    severities: &[Severity::Medium],
    mitre: &["T1036", "T1055"],
    summary: "a system process breaks a lineage invariant (parent, path, session or count)",
};

/// A driver image in kernel memory (driver object or PE header) absent from
/// PsLoadedModuleList (high when a driver object points at it).
pub const UNLINKED_KERNEL_MODULE: Rule = Rule {
    id: "unlinked_kernel_module",
    severities: &[Severity::Medium, Severity::High],
    mitre: &["T1014"],
    summary: "a driver image in kernel memory (driver object or PE header) is absent from PsLoadedModuleList",
};
