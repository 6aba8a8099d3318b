//! Helpers for the end-to-end tests: locate the `memtriage` binary, generate fixture captures
//! once per test binary, run commands, read ground truth.
#![allow(clippy::unwrap_used, missing_docs)]
#![forbid(unsafe_code)]

use memtriage_fixtures::{build, testdata_isf_dir, Scenario};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

/// The six builds with real ISF layouts.
pub const BUILDS: [u32; 6] = [7601, 9600, 14393, 17763, 19041, 22000];
/// The formats every build is written in.
pub const FORMATS: [&str; 3] = ["raw", "full.dmp", "bitmap.dmp"];

/// Repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `memtriage` binary built by `cargo test --workspace` (built on demand otherwise).
pub fn bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // target/<profile>/deps/<test> → target/<profile>/memtriage
        let dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        let path = dir.join("memtriage");
        if !path.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "memtriage-cli", "--bin", "memtriage"])
                .current_dir(repo())
                .status()
                .unwrap();
            assert!(status.success(), "building memtriage failed");
        }
        path
    })
    .clone()
}

/// Run `memtriage ARGS`.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

/// Run and parse stdout as JSON; panics with stderr on a non-zero exit.
pub fn run_json(args: &[&str]) -> Value {
    let out = run(args);
    assert!(
        out.status.success(),
        "memtriage {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "memtriage {args:?}: stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A generated capture on disk: its files and truth.
pub struct Generated {
    pub dir: PathBuf,
    pub name: String,
    pub truth: Value,
}

impl Generated {
    /// Path of the capture in `format` (`raw`, `full.dmp`, `bitmap.dmp`, `elf`).
    pub fn path(&self, format: &str) -> String {
        self.dir
            .join(format!("{}.{format}", self.name))
            .display()
            .to_string()
    }
}

/// Prefix of the per-process folders that hold generated captures.
const TEMP_PREFIX: &str = "memtriage-e2e-";

/// A folder for this test process's generated captures (hundreds of MiB).
///
/// Statics are never dropped, so a `TempDir` here would leak at every run: instead each test
/// process owns `<tmp>/memtriage-e2e-<pid>` and removes the folders of processes that are gone.
pub fn temp_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let tmp = std::env::temp_dir();
        if let Ok(entries) = std::fs::read_dir(&tmp) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(pid) = name.strip_prefix(TEMP_PREFIX) else {
                    continue;
                };
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = tmp.join(format!("{TEMP_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// Generate (once per test binary) the capture of `scenario` in every format.
pub fn generate(scenario: Scenario) -> &'static Generated {
    static CACHE: OnceLock<Mutex<HashMap<String, &'static Generated>>> = OnceLock::new();
    let key = format!("{scenario:?}");
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    if let Some(g) = cache.get(&key) {
        return g;
    }
    let capture = build(&scenario, &testdata_isf_dir()).unwrap();
    let dir = temp_root().join(format!("c{}", cache.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = scenario.name();
    capture.write_raw(&dir.join(format!("{name}.raw"))).unwrap();
    capture
        .write_full_dump(&dir.join(format!("{name}.full.dmp")))
        .unwrap();
    capture
        .write_bitmap_dump(&dir.join(format!("{name}.bitmap.dmp")))
        .unwrap();
    capture
        .write_elf_core(&dir.join(format!("{name}.elf")))
        .unwrap();
    if !capture.page_file.is_empty() {
        capture
            .write_page_file(&dir.join(format!("{name}.pagefile.sys")))
            .unwrap();
    }
    let truth_path = dir.join(format!("{name}.truth.json"));
    capture.write_truth(&truth_path).unwrap();
    let truth = serde_json::from_slice(&std::fs::read(&truth_path).unwrap()).unwrap();
    let g: &'static Generated = Box::leak(Box::new(Generated { dir, name, truth }));
    cache.insert(key, g);
    g
}

/// The default scenario of a build (all anomalies, low stub where the build has one).
pub fn standard(build: u32) -> &'static Generated {
    generate(Scenario::new(build, 1))
}

/// A `"0x…"` JSON string as a number.
pub fn hex(v: &Value) -> u64 {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("{v} is not a hex string"));
    u64::from_str_radix(text.trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("{text} is not hex"))
}

/// A JSON string field.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}
