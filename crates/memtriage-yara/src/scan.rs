//! Running compiled rules over scan buffers: process VADs and kernel pieces.

use std::time::Duration;

use memtriage_analysis::{AnalysisError, Session};
use memtriage_paging::{AddressSpace, VirtError};
use memtriage_report::Severity;
use rayon::prelude::*;

use crate::buffers::{kernel_regions, process_regions, Region, ScanSpace};
use crate::ruleset::{meta_text, RuleSet};
use crate::severity::meta_severity;

/// Bytes of each matched string kept (longer matches are cut; [`PatternHit::length`] keeps
/// the full length).
pub const MAX_KEPT_BYTES: usize = 64;

/// Default per-buffer scan timeout in seconds (`--yara-timeout`).
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Only these process ids (empty = every process on the active list).
    pub pids: Vec<u64>,
    /// Time allowed to one buffer; a buffer that takes longer is abandoned with a warning.
    pub timeout: Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            pids: Vec::new(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        }
    }
}

/// One match of one pattern of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternHit {
    /// Pattern identifier (`$a`).
    pub pattern: String,
    /// Virtual address of the match.
    pub address: u64,
    /// Offset of the match from the buffer's start.
    pub offset: u64,
    /// Length of the match in bytes.
    pub length: u64,
    /// The first [`MAX_KEPT_BYTES`] bytes of the match.
    pub data: Vec<u8>,
}

/// A rule that matched one scan buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct YaraMatch {
    /// User (a VAD of a process) or kernel memory.
    pub space: ScanSpace,
    /// Process id (user memory only).
    pub pid: Option<u64>,
    /// Process name (user memory only).
    pub process: Option<String>,
    /// Rule identifier.
    pub rule: String,
    /// Rule namespace (`default` for a single rules file, else the file stem).
    pub namespace: String,
    /// Rule tags.
    pub tags: Vec<String>,
    /// Rule metadata, in declaration order, values as text.
    pub meta: Vec<(String, String)>,
    /// Severity from the `severity` meta (default medium).
    pub severity: Severity,
    /// The buffer.
    pub region: Region,
    /// Every pattern match in the buffer, by pattern then offset (empty when the rule's
    /// condition holds without a pattern match).
    pub hits: Vec<PatternHit>,
}

impl YaraMatch {
    /// The match address: the first pattern match, else the buffer's start.
    pub fn address(&self) -> u64 {
        self.hits
            .iter()
            .map(|h| h.address)
            .min()
            .unwrap_or(self.region.start)
    }
}

/// The matches of a scan, with what went wrong on the way.
#[derive(Debug, Clone, Default)]
pub struct ScanOutput {
    /// Rules that matched, by (pid, region, namespace, rule).
    pub matches: Vec<YaraMatch>,
    /// Timeouts, unreadable pages, skipped regions (one line each).
    pub warnings: Vec<String>,
    /// Buffers scanned.
    pub buffers: u64,
    /// Bytes scanned.
    pub bytes: u64,
}

/// Whose buffer: for matches and warnings.
#[derive(Debug, Clone)]
struct Owner {
    space: ScanSpace,
    pid: Option<u64>,
    process: Option<String>,
}

impl Owner {
    fn label(&self) -> String {
        match self.pid {
            Some(pid) => format!("pid {pid}"),
            None => "kernel".to_owned(),
        }
    }
}

/// One buffer to scan.
struct Job<'a> {
    owner: Owner,
    space: &'a AddressSpace,
    region: Region,
}

/// Result of one buffer.
#[derive(Default)]
struct JobResult {
    matches: Vec<YaraMatch>,
    warnings: Vec<String>,
    bytes: u64,
}

/// Reads `job`'s bytes into `buf` (zero-filled holes) and scans them.
fn scan_job(scanner: &mut yara_x::Scanner<'_>, buf: &mut Vec<u8>, job: &Job<'_>) -> JobResult {
    let mut out = JobResult::default();
    let r = job.region;
    let Ok(len) = usize::try_from(r.read_len()) else {
        return out;
    };
    buf.clear();
    buf.resize(len, 0);
    let report = job.space.read(r.start, buf);
    let missing: u64 = report
        .holes
        .iter()
        .filter(|h| matches!(h.error, VirtError::NotInDump { .. }))
        .map(|h| h.len)
        .sum();
    if missing > 0 {
        out.warnings.push(format!(
            "{}: region {:#x}-{:#x}: {missing} bytes mapped but not in the capture were scanned as zeros",
            job.owner.label(),
            r.start,
            r.end
        ));
    }
    out.bytes = len as u64;
    let results = match scanner.scan(buf) {
        Ok(results) => results,
        Err(yara_x::ScanError::Timeout) => {
            out.warnings.push(format!(
                "{}: region {:#x}-{:#x}: YARA scan timed out (--yara-timeout); its matches are missing",
                job.owner.label(),
                r.start,
                r.end
            ));
            return out;
        }
        Err(e) => {
            out.warnings.push(format!(
                "{}: region {:#x}-{:#x}: YARA scan failed: {e}",
                job.owner.label(),
                r.start,
                r.end
            ));
            return out;
        }
    };
    for rule in results.matching_rules() {
        let mut hits = Vec::new();
        for pattern in rule.patterns() {
            for m in pattern.matches() {
                let range = m.range();
                let offset = range.start as u64;
                if offset >= r.len() {
                    continue; // in the overlap: the next piece reports it
                }
                let data = m.data();
                hits.push(PatternHit {
                    pattern: pattern.identifier().to_owned(),
                    address: r.start.wrapping_add(offset),
                    offset,
                    length: range.len() as u64,
                    data: data.get(..MAX_KEPT_BYTES).unwrap_or(data).to_vec(),
                });
            }
        }
        if hits.is_empty() && r.extra > 0 && rule.patterns().any(|p| p.matches().len() > 0) {
            // Every pattern match of the rule lies in the overlap: the next piece reports it.
            continue;
        }
        let meta: Vec<(String, String)> = rule
            .metadata()
            .map(|(k, v)| (k.to_owned(), meta_text(&v)))
            .collect();
        let (severity, _) = meta_severity(meta.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        out.matches.push(YaraMatch {
            space: job.owner.space,
            pid: job.owner.pid,
            process: job.owner.process.clone(),
            rule: rule.identifier().to_owned(),
            namespace: rule.namespace().to_owned(),
            tags: rule.tags().map(|t| t.identifier().to_owned()).collect(),
            meta,
            severity,
            region: r,
            hits,
        });
    }
    out
}

/// Scans `jobs` in parallel (one yara-x scanner per worker), in a deterministic order.
fn run_jobs(rules: &RuleSet, options: &ScanOptions, jobs: &[Job<'_>]) -> ScanOutput {
    let results: Vec<JobResult> = jobs
        .par_iter()
        .map_init(
            || {
                let mut scanner = yara_x::Scanner::new(rules.rules());
                scanner.set_timeout(options.timeout);
                (scanner, Vec::new())
            },
            |(scanner, buf), job| scan_job(scanner, buf, job),
        )
        .collect();
    let mut out = ScanOutput {
        buffers: jobs.len() as u64,
        ..ScanOutput::default()
    };
    for r in results {
        out.matches.extend(r.matches);
        out.warnings.extend(r.warnings);
        out.bytes += r.bytes;
    }
    out
}

/// Scans every VAD of every process on the active list (or those of `options.pids`).
pub fn scan_processes(
    session: &Session,
    rules: &RuleSet,
    options: &ScanOptions,
) -> Result<ScanOutput, AnalysisError> {
    let k = session.kernel()?;
    let page_files = !session.page_files().is_empty();
    let details: Vec<_> = session
        .details()?
        .iter()
        .filter(|d| options.pids.is_empty() || options.pids.contains(&d.process.pid))
        .collect();
    let spaces: Vec<AddressSpace> = details
        .iter()
        .map(|d| session.process_space(k, &d.process))
        .collect();
    let mut jobs = Vec::new();
    let mut warnings = Vec::new();
    for (d, space) in details.iter().zip(&spaces) {
        let (regions, w) = process_regions(d, page_files);
        warnings.extend(w);
        let owner = Owner {
            space: ScanSpace::User,
            pid: Some(d.process.pid),
            process: Some(d.process.name.clone()),
        };
        jobs.extend(regions.into_iter().map(|region| Job {
            owner: owner.clone(),
            space,
            region,
        }));
    }
    let mut out = run_jobs(rules, options, &jobs);
    warnings.append(&mut out.warnings);
    out.warnings = warnings;
    Ok(out)
}

/// Scans kernel memory: the readable ranges mapped above the user/kernel split, in pieces.
pub fn scan_kernel(
    session: &Session,
    rules: &RuleSet,
    options: &ScanOptions,
) -> Result<ScanOutput, AnalysisError> {
    let k = session.kernel()?;
    let page_files = !session.page_files().is_empty();
    let owner = Owner {
        space: ScanSpace::Kernel,
        pid: None,
        process: None,
    };
    let jobs: Vec<Job<'_>> = kernel_regions(&k.space, page_files)
        .into_iter()
        .map(|region| Job {
            owner: owner.clone(),
            space: &k.space,
            region,
        })
        .collect();
    Ok(run_jobs(rules, options, &jobs))
}
