//! `yarascan` and `report --yara`: YARA rules (yara-x, through memtriage-yara) over process
//! and kernel memory.

use crate::args::{CaptureArgs, OutputArgs};
use crate::commands::{build_warning, check_pids, open_session, print_warnings};
use crate::diagnose;
use crate::failure::Failure;
use crate::layout;
use crate::output::{emit, resolve, write};
use clap::Args;
use memtriage_report::Report;
use memtriage_yara::{
    scan_kernel, scan_processes, yara_findings, yara_table, RuleSet, ScanOptions,
};
use std::path::PathBuf;
use std::time::Duration;

/// Seconds one scan buffer may take before it is abandoned (with a warning).
const DEFAULT_TIMEOUT: &str = "60";

/// `yarascan` arguments.
#[derive(Debug, Clone, Args)]
pub struct YarascanArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// YARA rules: a file (namespace `default`), or a directory whose *.yar and *.yara files
    /// are each compiled in a namespace named after the file stem.
    #[arg(long, value_name = "FILE|DIR", required = true)]
    pub rules: PathBuf,
    /// Only these process ids (repeat or comma-separate).
    #[arg(long, short = 'p', value_delimiter = ',', value_name = "PID")]
    pub pid: Vec<u64>,
    /// Also scan kernel memory (the mapped kernel ranges, in 16 MiB pieces).
    #[arg(long)]
    pub kernel: bool,
    /// Seconds a scan of one buffer (one VAD or kernel piece) may take; a buffer that takes
    /// longer is named in a warning and the scan goes on.
    #[arg(long, value_name = "SECS", default_value = DEFAULT_TIMEOUT, value_parser = clap::value_parser!(u64).range(1..))]
    pub yara_timeout: u64,
}

/// The YARA options of `report`.
#[derive(Debug, Clone, Args)]
pub struct ReportYaraArgs {
    /// Scan every process's memory with these YARA rules (a file or a directory of *.yar,
    /// *.yara) and add a yara_match finding per rule and region.
    #[arg(long, value_name = "FILE|DIR")]
    pub yara: Option<PathBuf>,
    /// Seconds a YARA scan of one region may take (with --yara or --rules).
    #[arg(long, value_name = "SECS", default_value = DEFAULT_TIMEOUT, value_parser = clap::value_parser!(u64).range(1..))]
    pub yara_timeout: u64,
}

/// Compiles the rules at `path` (once per run); a syntax error is `FILE:LINE:COL: message`.
pub fn load_rules(path: &std::path::Path) -> Result<RuleSet, Failure> {
    RuleSet::load(path).map_err(|e| Failure::new(e.to_string()))
}

/// `yarascan`.
pub fn yarascan(a: &YarascanArgs) -> Result<u8, Failure> {
    let rules = load_rules(&a.rules)?;
    let session = open_session(&a.capture.image, &a.capture.overrides)?;
    let format = resolve(a.output.format);
    if !a.pid.is_empty() {
        check_pids(&session, &a.pid)?;
    }
    let options = ScanOptions {
        pids: a.pid.clone(),
        timeout: Duration::from_secs(a.yara_timeout),
    };
    let mut out =
        scan_processes(&session, &rules, &options).map_err(|e| diagnose::explain(&session, &e))?;
    if a.kernel {
        let k =
            scan_kernel(&session, &rules, &options).map_err(|e| diagnose::explain(&session, &e))?;
        out.matches.extend(k.matches);
        out.warnings.extend(k.warnings);
    }
    crate::remote::print_stats(&a.capture.image);
    let mut warnings = rules.warnings().to_vec();
    warnings.extend(session.warnings());
    warnings.extend(out.warnings.iter().cloned());
    warnings.extend(build_warning(&session, &a.capture.overrides));
    print_warnings(&warnings, a.output.quiet);
    let table = yara_table(&out.matches);
    emit(format, |w, width| match width {
        Some(width) => {
            let (shown, layout) = layout::for_humans(&table, width);
            memtriage_report::write_table_with(w, &shown, &layout)
        }
        None => write(w, &table, format),
    })?;
    Ok(0)
}

/// Adds the `yara_match` findings of `rules` over the session's processes to `report`
/// (then sorted again), and the scan's warnings to its warnings.
pub fn add_yara_findings(
    session: &memtriage_analysis::Session,
    report: &mut Report,
    rules: &RuleSet,
    timeout_secs: u64,
) -> Result<(), Failure> {
    let options = ScanOptions {
        pids: Vec::new(),
        timeout: Duration::from_secs(timeout_secs),
    };
    let out =
        scan_processes(session, rules, &options).map_err(|e| diagnose::explain(session, &e))?;
    report.findings.extend(yara_findings(&out.matches));
    report.warnings.extend(rules.warnings().iter().cloned());
    report.warnings.extend(out.warnings);
    report.sort();
    Ok(())
}
