//! The report document model.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ReportError;
use crate::hex::Hex;
use crate::vocab::{ProcessView, RegionCategory, RegionState};

/// Schema version carried by every serialized [`Report`] in its `schema` field.
pub const SCHEMA_VERSION: &str = "memtriage-report/1";

/// The full report of one capture, as printed by `memtriage report IMAGE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Schema version, always [`SCHEMA_VERSION`].
    pub schema: String,
    /// The tool that produced the report.
    pub tool: Tool,
    /// The capture file.
    pub image: Image,
    /// Facts about the captured system.
    pub system: System,
    /// Processes (active and carved/hidden).
    pub processes: Vec<Process>,
    /// Loaded kernel modules.
    pub kernel_modules: Vec<KernelModule>,
    /// Findings that survived suppression.
    pub findings: Vec<Finding>,
    /// Number of findings removed by the suppression list.
    pub suppressed: u64,
    /// Non-fatal problems met while analysing the capture.
    pub warnings: Vec<String>,
    /// Which process views were read (absent in reports written before views existed).
    #[serde(default)]
    pub coverage: Coverage,
}

/// What the run looked at: whether it was a `--fast` run, and which process views it read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// `report --fast`: the pool scan was skipped (the `pool` view is unavailable).
    pub fast: bool,
    /// Each process view with whether it was read; empty in reports written before views.
    pub views: Vec<ViewCoverage>,
}

/// Whether one process view was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewCoverage {
    /// The view.
    pub view: ProcessView,
    /// Whether it was read (a view that was read and found nothing is available).
    pub available: bool,
    /// Why it was not read (absent when available).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The tool that produced a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// Tool name, `"memtriage"`.
    pub name: String,
    /// Tool version.
    pub version: String,
}

impl Default for Tool {
    /// `memtriage` at this crate's version (the workspace version).
    fn default() -> Self {
        Tool {
            name: "memtriage".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The capture file a report describes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Image {
    /// Path as given on the command line.
    pub path: String,
    /// Detected format (e.g. `raw`, `crashdump-full`, `elf-core`).
    pub format: String,
    /// File size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the file, when computed.
    pub sha256: Option<String>,
}

/// Facts about the captured system; every field is optional because discovery may fail.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct System {
    /// Windows build number (e.g. 19041).
    pub build: Option<u32>,
    /// Version string (e.g. `10.0.19041`).
    pub version: Option<String>,
    /// Kernel directory table base (CR3).
    pub dtb: Option<Hex>,
    /// Kernel (ntoskrnl) image base.
    pub kernel_base: Option<Hex>,
    /// Kernel PDB GUID+age as found in its RSDS record.
    pub pdb_guid: Option<String>,
    /// Name of the profile (symbol table) used.
    pub profile: Option<String>,
    /// System time of the capture, ISO-8601 UTC.
    pub system_time: Option<String>,
    /// Number of processors.
    pub processors: Option<u32>,
}

/// One process.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Process {
    /// Process id.
    pub pid: u64,
    /// Parent process id (InheritedFromUniqueProcessId).
    pub ppid: u64,
    /// Image file name (EPROCESS.ImageFileName or the full name when known).
    pub name: String,
    /// Full image path from the PEB, when readable.
    pub image_path: Option<String>,
    /// Command line from the PEB, when readable.
    pub command_line: Option<String>,
    /// Creation time, ISO-8601 UTC.
    pub create_time: Option<String>,
    /// Exit time, ISO-8601 UTC (`None` for a running process).
    pub exit_time: Option<String>,
    /// Address of the EPROCESS (kernel virtual).
    pub offset: Hex,
    /// True for a WoW64 (32-bit) process.
    pub wow64: bool,
    /// True when the process was found by carving but is not in the active process list.
    pub hidden: bool,
    /// Number of threads.
    pub threads: u64,
    /// User-space memory regions (VADs).
    pub regions: Vec<Region>,
    /// Loaded modules (union of the three loader lists).
    pub modules: Vec<Module>,
    /// The process views that saw it, in [`ProcessView::ALL`] order (absent in reports written
    /// before views existed).
    #[serde(default)]
    pub views: Vec<ProcessView>,
}

/// Type of a memory region, as Windows tools name it (MEM_PRIVATE / MEM_IMAGE / MEM_MAPPED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionType {
    /// MEM_PRIVATE.
    Private,
    /// MEM_IMAGE.
    Image,
    /// MEM_MAPPED.
    Mapped,
}

impl RegionType {
    /// The MEM_* name Windows tools show (`MEM_PRIVATE`, `MEM_IMAGE`, `MEM_MAPPED`).
    pub const fn mem_name(self) -> &'static str {
        match self {
            RegionType::Private => "MEM_PRIVATE",
            RegionType::Image => "MEM_IMAGE",
            RegionType::Mapped => "MEM_MAPPED",
        }
    }
}

impl fmt::Display for RegionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegionType::Private => "private",
            RegionType::Image => "image",
            RegionType::Mapped => "mapped",
        })
    }
}

/// One user-space memory region (one VAD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// First byte.
    pub start: Hex,
    /// Last byte (inclusive).
    pub end: Hex,
    /// Region type; serialized as `type`.
    pub r#type: RegionType,
    /// Category in the words of Windows tools (Image, Mapped File, Heap, Stack, Private Data …).
    pub category: RegionCategory,
    /// State (COMMITTED, RESERVED …).
    pub state: RegionState,
    /// Protection (e.g. `PAGE_EXECUTE_READWRITE`).
    pub protection: String,
    /// True for private memory (VAD PrivateMemory flag).
    pub private: bool,
    /// Committed pages charged to the region.
    pub commit_charge: u64,
    /// Backing file name for image and mapped regions.
    pub file: Option<String>,
}

/// One loaded user-mode module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    /// Image base.
    pub base: Hex,
    /// Image size in bytes.
    pub size: Hex,
    /// Base name.
    pub name: String,
    /// Full path.
    pub path: String,
    /// Present in InLoadOrderModuleList.
    pub in_load: bool,
    /// Present in InMemoryOrderModuleList.
    pub in_mem: bool,
    /// Present in InInitializationOrderModuleList.
    pub in_init: bool,
}

/// One loaded kernel module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelModule {
    /// Image base.
    pub base: Hex,
    /// Image size in bytes.
    pub size: Hex,
    /// Base name.
    pub name: String,
    /// Full path.
    pub path: String,
}

/// Severity of a finding; ordered `Info < Low < Medium < High`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational.
    #[default]
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
    ];

    /// The lowercase name (`info`, `low`, `medium`, `high`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when parsing an unknown severity name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?} (expected info, low, medium or high)")]
pub struct ParseSeverityError(pub String);

impl FromStr for Severity {
    type Err = ParseSeverityError;

    /// Parses `info`, `low`, `medium`, `high` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParseSeverityError(s.chars().take(64).collect()))
    }
}

/// One finding of a detector.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id (part of the public contract), e.g. `rwx_private`.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// Process id, for process-scoped findings.
    pub pid: Option<u64>,
    /// Process name, for process-scoped findings.
    pub process: Option<String>,
    /// First address of the range concerned.
    pub address: Option<Hex>,
    /// Last address (inclusive) of the range concerned.
    pub end: Option<Hex>,
    /// One-line description.
    pub description: String,
    /// Evidence fields (rule-specific).
    #[serde(serialize_with = "crate::canonical::sorted_values")]
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// MITRE ATT&CK technique ids (e.g. `T1055`).
    pub mitre: Vec<String>,
}

impl Finding {
    /// A finding with the given rule, severity and description and nothing else.
    pub fn new(
        rule: impl Into<String>,
        severity: Severity,
        description: impl Into<String>,
    ) -> Self {
        Finding {
            rule: rule.into(),
            severity,
            description: description.into(),
            ..Finding::default()
        }
    }

    /// Sets the process (pid and name).
    #[must_use]
    pub fn with_process(mut self, pid: u64, name: impl Into<String>) -> Self {
        self.pid = Some(pid);
        self.process = Some(name.into());
        self
    }

    /// Sets the address range (`end` is the last byte, inclusive).
    #[must_use]
    pub fn with_range(mut self, address: u64, end: u64) -> Self {
        self.address = Some(Hex(address));
        self.end = Some(Hex(end));
        self
    }

    /// Sets the address only.
    #[must_use]
    pub fn with_address(mut self, address: u64) -> Self {
        self.address = Some(Hex(address));
        self
    }

    /// Adds one evidence field.
    #[must_use]
    pub fn with_evidence(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.evidence.insert(key.into(), value.into());
        self
    }

    /// Adds one ATT&CK technique id.
    #[must_use]
    pub fn with_mitre(mut self, technique: impl Into<String>) -> Self {
        self.mitre.push(technique.into());
        self
    }

    /// The deterministic order of findings: (pid, address, rule), then the remaining fields.
    pub fn sort_cmp(&self, other: &Finding) -> Ordering {
        (
            self.pid,
            self.address,
            &self.rule,
            self.end,
            &self.description,
            self.severity,
        )
            .cmp(&(
                other.pid,
                other.address,
                &other.rule,
                other.end,
                &other.description,
                other.severity,
            ))
    }
}

impl Report {
    /// An empty report for `image`, with the current schema version and tool.
    pub fn new(image: Image) -> Self {
        Report {
            schema: SCHEMA_VERSION.to_owned(),
            tool: Tool::default(),
            image,
            system: System::default(),
            processes: Vec::new(),
            kernel_modules: Vec::new(),
            findings: Vec::new(),
            suppressed: 0,
            warnings: Vec::new(),
            coverage: Coverage::default(),
        }
    }

    /// Puts every list in the deterministic order: processes by (pid, offset), their regions by
    /// start and modules by base, kernel modules by base, findings by (pid, address, rule).
    /// Warnings keep their order (they follow the analysis order, which is deterministic).
    pub fn sort(&mut self) {
        self.processes
            .sort_by(|a, b| (a.pid, a.offset, &a.name).cmp(&(b.pid, b.offset, &b.name)));
        for p in &mut self.processes {
            p.regions.sort_by_key(|r| (r.start, r.end));
            p.modules
                .sort_by(|a, b| (a.base, &a.path).cmp(&(b.base, &b.path)));
        }
        self.kernel_modules
            .sort_by(|a, b| (a.base, &a.path).cmp(&(b.base, &b.path)));
        self.findings.sort_by(Finding::sort_cmp);
    }

    /// The process a pid-scoped finding refers to: among processes with that pid, the one whose
    /// name equals `name` if any, else the first.
    pub fn process_for(&self, pid: u64, name: Option<&str>) -> Option<&Process> {
        let mut candidates = self.processes.iter().filter(|p| p.pid == pid);
        let first = candidates.next()?;
        if let Some(name) = name {
            if first.name != name {
                if let Some(p) = self
                    .processes
                    .iter()
                    .find(|p| p.pid == pid && p.name == name)
                {
                    return Some(p);
                }
            }
        }
        Some(first)
    }

    /// Removes the findings matched by `list` and adds their number to [`Report::suppressed`].
    /// Process names and image paths are looked up in [`Report::processes`].
    pub fn apply_suppressions(&mut self, list: &crate::SuppressionList) {
        let findings = std::mem::take(&mut self.findings);
        let (kept, count) = list.apply(findings, |pid| match self.process_for(pid, None) {
            Some(p) => (Some(p.name.clone()), p.image_path.clone()),
            None => (None, None),
        });
        self.findings = kept;
        self.suppressed = self.suppressed.saturating_add(count);
    }
}

/// True when any finding is at or above `threshold` (the CLI's `--fail-on`, exit code 1).
pub fn fail_on(findings: &[Finding], threshold: Severity) -> bool {
    findings.iter().any(|f| f.severity >= threshold)
}

/// Reads a report saved as JSON (e.g. by `memtriage report --format json`): checks its schema
/// version, then the document against the report schema and the rules the schema cannot express
/// ([`check_report_value`](crate::check_report_value)). Errors name the file (and line/column
/// for JSON errors, the JSON pointer for invalid values).
pub fn read_report(path: &Path) -> Result<Report, ReportError> {
    let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // First only the schema version, so that a report of another version gets a clear error
    // rather than a complaint about some field.
    #[derive(Deserialize)]
    struct SchemaOnly {
        schema: Option<serde_json::Value>,
    }
    let head: SchemaOnly = serde_json::from_slice(&bytes).map_err(|e| json_error(path, &e))?;
    let found = head.schema.as_ref().and_then(|s| s.as_str()).unwrap_or("");
    if found != SCHEMA_VERSION {
        return Err(ReportError::SchemaVersion {
            path: path.to_path_buf(),
            found: found.chars().take(64).collect(),
            expected: SCHEMA_VERSION,
        });
    }
    // Then the typed document (type errors keep their line and column; a closed vocabulary
    // names its allowed values), and the whole document against the schema and the rules it
    // cannot express, so that a report is read back exactly when the schema (and those
    // rules) accept it.
    let report: Report = serde_json::from_slice(&bytes).map_err(|e| json_error(path, &e))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| json_error(path, &e))?;
    crate::validate::check_report_value(&doc).map_err(|v| ReportError::Invalid {
        path: path.to_path_buf(),
        pointer: v.pointer,
        message: v.message,
    })?;
    Ok(report)
}

fn json_error(path: &Path, e: &serde_json::Error) -> ReportError {
    if e.is_io() {
        return ReportError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        };
    }
    ReportError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: without_location(e),
    }
}

/// serde_json's message without its trailing " at line L column C" (the error has them).
fn without_location(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_owned()
}
