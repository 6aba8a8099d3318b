//! Command-line arguments (clap derive) shared by every subcommand.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use memtriage_report::Severity;
use std::path::PathBuf;

/// Parse `0x…` hex or decimal.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    let t = s.trim().replace(['_', '`'], "");
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse::<u64>(),
    };
    r.map_err(|_| format!("'{s}' is not a number (use 0x… for hex)"))
}

/// Parse a hex address (with or without `0x`; a decimal needs no prefix only if it has no hex letters).
pub fn parse_address(s: &str) -> Result<u64, String> {
    let t = s.trim().replace(['`', '_'], "");
    let h = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(&t);
    u64::from_str_radix(h, 16).map_err(|_| format!("'{s}' is not a hex address"))
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document.
    Json,
    /// JSON Lines: one self-contained object per line (SIEM).
    Jsonl,
    /// Comma-separated values (tabular output).
    Csv,
}

/// Output formats of `report`: those of [`Format`] plus a self-contained HTML page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON document.
    Json,
    /// JSON Lines: one self-contained object per line (SIEM).
    Jsonl,
    /// Comma-separated values: one table of the report (see --table).
    Csv,
    /// One self-contained HTML page (inline CSS and SVG, no external resource).
    Html,
}

/// The report table written by `report --format csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ReportTable {
    /// One row per finding.
    #[default]
    Findings,
    /// One row per process.
    Processes,
    /// One row per memory region (with its process).
    Regions,
    /// One row per user-mode module (with its process).
    Modules,
    /// One row per kernel module.
    #[value(name = "kernel_modules")]
    KernelModules,
}

/// Output options of `report`.
#[derive(Debug, Clone, Args)]
pub struct ReportOutputArgs {
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short = 'f', value_enum)]
    pub format: Option<ReportFormat>,
    /// The table written by --format csv.
    #[arg(long, value_enum, value_name = "TABLE", default_value_t = ReportTable::Findings)]
    pub table: ReportTable,
    /// No progress display on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Where the capture is and how to read it.
#[derive(Debug, Clone, Args)]
pub struct CaptureArgs {
    /// Memory capture: raw image, Windows crash dump (.dmp) or ELF core, a file or an
    /// s3://bucket/key URL. Format is sniffed from the magic bytes.
    #[arg(value_name = "IMAGE")]
    pub image: PathBuf,
    #[command(flatten)]
    pub overrides: OverrideArgs,
}

/// Facts that replace discovery steps.
#[derive(Debug, Clone, Args)]
pub struct OverrideArgs {
    /// Kernel DTB (physical address of the PML4) instead of discovering it.
    #[arg(long, value_parser = parse_u64, value_name = "HEX", help_heading = "Discovery overrides")]
    pub dtb: Option<u64>,
    /// Kernel image base instead of discovering it.
    #[arg(long, value_parser = parse_u64, value_name = "HEX", help_heading = "Discovery overrides")]
    pub kernel_base: Option<u64>,
    /// Use this Volatility 3 ISF (.json or .json.xz) as the kernel profile.
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Discovery overrides",
        conflicts_with = "pdb"
    )]
    pub isf: Option<PathBuf>,
    /// Use this ntkrnlmp.pdb as the kernel profile.
    #[arg(long, value_name = "FILE", help_heading = "Discovery overrides")]
    pub pdb: Option<PathBuf>,
    /// Assume this Windows build number when choosing a bundled profile.
    #[arg(long, value_name = "N", help_heading = "Discovery overrides")]
    pub build: Option<u32>,
    /// Translate with 5-level paging (LA57); automatic when an ELF core's CR4 says so.
    #[arg(long, help_heading = "Discovery overrides")]
    pub la57: bool,
    /// Read user memory through UserDirectoryTableBase (KVA shadow) where the process has one.
    #[arg(long, help_heading = "Discovery overrides")]
    pub user_dtb: bool,
    /// VMware checkpoint (.vmss or .vmsn) that maps the pages of the .vmem IMAGE, when it does
    /// not lie beside the .vmem under the same name.
    #[arg(long, value_name = "FILE", help_heading = "Capture")]
    pub vmware_meta: Option<PathBuf>,
    /// Read paged-out pages from this page file: FILE is page file 0, N=FILE page file N
    /// (0-15); repeat for several. Opened read-only.
    #[arg(
        long = "pagefile",
        value_name = "[N=]FILE",
        help_heading = "Page files"
    )]
    pub pagefile: Vec<memtriage_paging::PageFileSpec>,
}

/// Output options.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short = 'f', value_enum, ignore_case = true)]
    pub format: Option<Format>,
    /// No progress display on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Arguments of every plugin subcommand.
#[derive(Debug, Clone, Args)]
pub struct PluginArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Only these process ids (repeat or comma-separate).
    #[arg(long, short = 'p', value_delimiter = ',', value_name = "PID")]
    pub pid: Vec<u64>,
    /// Show 32-bit (WoW64) views where the plugin has them.
    #[arg(long)]
    pub wow64: bool,
    /// Show the scanned view where the plugin has one (modules: driver objects in pool memory
    /// and PE headers in kernel space, with in_list / by_driver_object / by_pe_header).
    #[arg(long)]
    pub scan: bool,
    /// Exit 1 when a finding at or above this severity is raised.
    #[arg(long, value_name = "SEVERITY", value_parser = severity_parser(), ignore_case = true)]
    pub fail_on: Option<Severity>,
}

/// The `--fail-on` parser: one of the severity names (listed in `--help`), any case.
pub fn severity_parser() -> impl TypedValueParser<Value = Severity> {
    PossibleValuesParser::new(Severity::ALL.map(|s| PossibleValue::new(s.as_str())))
        .try_map(|s| s.parse::<Severity>())
}

/// memtriage: triage Windows x64 memory captures offline.
///
/// Reads raw physical images, Windows crash dumps (full, bitmap, kernel/complete) and ELF cores;
/// finds the kernel without a symbol server (bundled profiles for Windows 7 to 11); rebuilds
/// processes, memory regions and loaded modules; and flags what does not add up.
///
/// Exit codes: 0 ok, 1 findings at or above --fail-on (or `diff` found differences),
/// 2 usage error or unreadable input.
#[derive(Debug, Parser)]
#[command(
    name = "memtriage",
    version,
    about,
    long_about,
    propagate_version = true
)]
pub struct Cli {
    /// On errors, also print the steps that were tried (kernel discovery chain); for s3://
    /// captures, print the requests made and bytes read.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Built-in commands (plugin subcommands are added from the plugin registry).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe a capture: format, physical ranges, header fields, DTB, kernel, build, profile.
    Info(InfoArgs),
    /// Translate a virtual address and show every page-table level.
    Vtop(VtopArgs),
    /// The full triage report: system, processes, regions, modules, findings.
    Report(ReportArgs),
    /// Compare two JSON reports (exit 1 when they differ): the CI regression check.
    Diff(DiffArgs),
    /// List the detection rules (ids, the severities each can raise, ATT&CK techniques).
    Rules(RulesArgs),
    /// Scan process memory (each VAD one buffer) and with --kernel kernel memory with YARA rules.
    Yarascan(crate::yarascan::YarascanArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout.
    Man,
}

/// `completions` arguments.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, ignore_case = true)]
    pub shell: ShellArg,
}

/// Shells `completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    /// Bash (source it, or put it in /etc/bash_completion.d/).
    Bash,
    /// Zsh (put it on $fpath as `_memtriage`).
    Zsh,
    /// Fish (put it in ~/.config/fish/completions/).
    Fish,
    /// PowerShell (dot-source it from $PROFILE).
    Powershell,
}

impl From<ShellArg> for Shell {
    fn from(s: ShellArg) -> Shell {
        match s {
            ShellArg::Bash => Shell::Bash,
            ShellArg::Zsh => Shell::Zsh,
            ShellArg::Fish => Shell::Fish,
            ShellArg::Powershell => Shell::PowerShell,
        }
    }
}

/// `info` arguments.
#[derive(Debug, Clone, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short = 'f', value_enum, ignore_case = true)]
    pub format: Option<Format>,
}

/// `vtop` arguments.
#[derive(Debug, Clone, Args)]
pub struct VtopArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Virtual address (hex, `0x` optional).
    #[arg(value_parser = parse_address, value_name = "ADDRESS")]
    pub address: u64,
    /// Translate in this process's address space.
    #[arg(long, short = 'p', value_name = "PID", conflicts_with = "dtb")]
    pub pid: Option<u64>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short = 'f', value_enum, ignore_case = true)]
    pub format: Option<Format>,
}

/// `report` arguments.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Captures to triage: files, directories (every file in them that is a capture; the
    /// others are listed on stderr and skipped), s3://bucket/key objects, or
    /// s3://bucket/prefix/ (every object under the prefix). A capture named twice is triaged once.
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<PathBuf>,
    #[command(flatten)]
    pub output: ReportOutputArgs,
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// Compute the capture's SHA-256 (reads the whole file).
    #[arg(long)]
    pub hash: bool,
    /// Skip the pool scan: hidden processes come from PspCidTable, csrss.exe's handles and
    /// thread owners only; exited processes are not reported (docs/report.md, "Fast reports").
    #[arg(long)]
    pub fast: bool,
    /// `host.name` for JSON Lines events.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Suppression file (TOML: [[suppress]] rule, process, path, reason).
    #[arg(long, value_name = "FILE")]
    pub suppress: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity remains after suppression.
    #[arg(long, value_name = "SEVERITY", value_parser = severity_parser(), ignore_case = true)]
    pub fail_on: Option<Severity>,
    /// Captures analysed in parallel (at least 1; capped at the number of captures and CPUs).
    #[arg(long, short = 'j', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: u32,
    /// Write one report per capture into this directory (created if missing), also for one
    /// capture: `NAME.report.json` (`.report.jsonl`, `.report.txt`, `.report.html` plus an
    /// `index.html` listing the pages, `.findings.csv` by format), NAME the capture's file
    /// name, prefixed by its folder names when two captures share it.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    #[command(flatten)]
    pub yara: crate::yarascan::ReportYaraArgs,
}

/// `diff` arguments.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The baseline report (JSON).
    pub old: PathBuf,
    /// The new report (JSON).
    pub new: PathBuf,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short = 'f', value_enum, ignore_case = true)]
    pub format: Option<Format>,
}

/// `rules` arguments.
#[derive(Debug, Clone, Args)]
pub struct RulesArgs {
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short = 'f', value_enum, ignore_case = true)]
    pub format: Option<Format>,
}
