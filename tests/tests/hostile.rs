//! Hostile captures: fixture captures mutated at offsets taken from the ground truth and the
//! ISF layouts (truncations, lying headers, looping page tables, VAD cycles and endless
//! chains, looping and non-canonical lists, broken strings, a trimmed ISF). Every case runs
//! the real binary and must end within 10 s with exit 0 and warnings, or exit 2 and exactly
//! one line on stderr — never a panic, never more than 512 MiB of memory — and must leave the
//! evidence file untouched. See docs/robustness.md.
#![allow(clippy::unwrap_used)]

use memtriage_dump::{PhysicalMemory, SparseMemory};
use memtriage_fixtures::{build, isf_path, testdata_isf_dir, Capture, Scenario};
use memtriage_paging::AddressSpace;
use memtriage_symbols::Profile;
use memtriage_windows::Layout;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const BUILD: u32 = 19041;
const TIME_LIMIT: Duration = Duration::from_secs(10);
const RSS_LIMIT_KIB: u64 = 512 * 1024;

/// The pristine capture, its layout and a kernel address space over an unmodified copy.
struct Base {
    cap: Capture,
    truth: Value,
    layout: Layout,
    kspace: AddressSpace,
    pristine: SparseMemory,
    dir: PathBuf,
}

fn hex(v: &Value) -> u64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{v} is not a hex string"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

fn base() -> MutexGuard<'static, Base> {
    static BASE: OnceLock<Mutex<Base>> = OnceLock::new();
    BASE.get_or_init(|| {
        let scenario = Scenario {
            extra_processes: 0,
            vads_per_process: 12,
            wow64: false,
            ..Scenario::new(BUILD, 1)
        };
        let cap = build(&scenario, &testdata_isf_dir()).unwrap();
        let truth: Value = serde_json::from_str(&cap.truth_json()).unwrap();
        let profile =
            Profile::from_isf_path(&isf_path(&testdata_isf_dir(), BUILD).unwrap()).unwrap();
        let layout = Layout::new(&profile).unwrap();
        let copy: Arc<dyn PhysicalMemory> = Arc::new(cap.memory.clone());
        let kspace = AddressSpace::new(copy, hex(&truth["system"]["dtb"]));
        Mutex::new(Base {
            pristine: cap.memory.clone(),
            cap,
            truth,
            layout,
            kspace,
            dir: {
                let d = memtriage_e2e::temp_root().join("hostile");
                std::fs::create_dir_all(&d).unwrap();
                d
            },
        })
    })
    .lock()
    .unwrap_or_else(|e| e.into_inner())
}

impl Base {
    fn ldr(&self) -> &memtriage_windows::peb::PebLayout {
        self.layout
            .ldr
            .as_ref()
            .expect("the 19041 profile has loader offsets")
    }

    fn vad(&self) -> &memtriage_windows::layout::VadLayout {
        self.layout
            .vad
            .as_ref()
            .expect("the 19041 profile has VAD offsets")
    }

    /// Physical address of kernel virtual address `va`.
    fn kpa(&self, va: u64) -> u64 {
        self.kspace
            .translate(va)
            .unwrap_or_else(|e| panic!("{va:#x}: {e}"))
            .pa
    }

    /// Physical address of `va` in the address space of the process with `pid`.
    fn upa(&self, pid: u64, va: u64) -> u64 {
        let dtb = hex(&self.process(pid)["dtb"]);
        self.kspace
            .with_dtb(dtb)
            .translate(va)
            .unwrap_or_else(|e| panic!("pid {pid} {va:#x}: {e}"))
            .pa
    }

    fn process(&self, pid: u64) -> &Value {
        self.truth["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid)
            .unwrap_or_else(|| panic!("no pid {pid}"))
    }

    /// Active-list processes in list order (as the truth lists them).
    fn listed(&self) -> Vec<&Value> {
        self.truth["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in_active_list"] == true)
            .collect()
    }

    fn read_k(&self, va: u64) -> u64 {
        self.kspace.read_u64(va).unwrap()
    }

    fn read_u(&self, pid: u64, va: u64) -> u64 {
        let dtb = hex(&self.process(pid)["dtb"]);
        self.kspace.with_dtb(dtb).read_u64(va).unwrap()
    }

    /// Write the capture with `patches` applied as `name.<format>` (the in-memory capture
    /// is restored afterwards).
    fn write(&mut self, name: &str, format: &str, patches: &[(u64, Vec<u8>)]) -> PathBuf {
        for (pa, bytes) in patches {
            self.cap.memory.write(*pa, bytes);
        }
        let path = self.dir.join(format!("{name}.{format}"));
        match format {
            "raw" => self.cap.write_raw(&path),
            "full.dmp" => self.cap.write_full_dump(&path),
            "bitmap.dmp" => self.cap.write_bitmap_dump(&path),
            _ => panic!("format {format}"),
        }
        .unwrap();
        if !patches.is_empty() {
            self.cap.memory = self.pristine.clone();
        }
        path
    }
}

/// One run of the binary under the guard rails.
struct Outcome {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
    peak_rss_kib: Option<u64>,
}

impl Outcome {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); stderr: {}",
                self.stderr.trim_end()
            )
        })
    }

    fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("memtriage: warning: "))
            .collect()
    }

    fn has_warning(&self, needle: &str) -> bool {
        self.warnings().iter().any(|w| w.contains(needle))
    }
}

/// Run `memtriage ARGS` with a 10 s deadline, peak RSS measured by `/usr/bin/time` when
/// present; check the generic contract (no panic, exit 0 or 2, one stderr line on exit 2,
/// memory bound, evidence unchanged) and return the outcome.
fn run_guarded(args: &[&str], evidence: &Path) -> Outcome {
    static N: AtomicUsize = AtomicUsize::new(0);
    let before = std::fs::read(evidence).unwrap();
    let mtime = std::fs::metadata(evidence).unwrap().modified().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let n = N.fetch_add(1, Ordering::Relaxed);
    let (out_path, err_path, rss_path) = (
        scratch.path().join(format!("out{n}")),
        scratch.path().join(format!("err{n}")),
        scratch.path().join(format!("rss{n}")),
    );
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_path);
        c.arg(memtriage_e2e::bin());
        c
    } else {
        Command::new(memtriage_e2e::bin())
    };
    let start = Instant::now();
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("memtriage {args:?} ran longer than {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    let mut stderr = String::new();
    std::fs::File::open(&err_path)
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let peak_rss_kib = std::fs::read_to_string(&rss_path)
        .ok()
        .and_then(|s| s.lines().rev().find_map(|l| l.trim().parse::<u64>().ok()));
    let out = Outcome {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read(&out_path).unwrap(),
        stderr,
        elapsed,
        peak_rss_kib,
    };
    assert_ne!(out.code, 101, "memtriage {args:?} panicked: {}", out.stderr);
    assert!(
        out.code == 0 || out.code == 2,
        "memtriage {args:?} exited {}: {}",
        out.code,
        out.stderr
    );
    if out.code == 2 {
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "memtriage {args:?}: exit 2 must print exactly one line: {}",
            out.stderr
        );
        assert!(
            out.stderr.starts_with("memtriage: error: "),
            "{}",
            out.stderr
        );
    }
    if let Some(kib) = out.peak_rss_kib {
        assert!(
            kib < RSS_LIMIT_KIB,
            "memtriage {args:?} peaked at {kib} KiB"
        );
    }
    assert!(
        std::fs::read(evidence).unwrap() == before,
        "{} changed",
        evidence.display()
    );
    assert_eq!(
        std::fs::metadata(evidence).unwrap().modified().unwrap(),
        mtime
    );
    eprintln!(
        "hostile: memtriage {} -> exit {} in {:?}, peak {} KiB",
        args.join(" "),
        out.code,
        out.elapsed,
        out.peak_rss_kib.map_or("?".into(), |k| k.to_string())
    );
    out
}

/// `memtriage <cmd> <path> --format json` under the guard rails.
fn run_cmd(cmd: &str, path: &Path) -> Outcome {
    run_guarded(&[cmd, path.to_str().unwrap(), "--format", "json"], path)
}

/// `report` plus a few plugins; all must succeed (exit 0). Returns the report outcome.
fn report_ok(path: &Path, plugins: &[&str]) -> (Outcome, Value) {
    let out = run_cmd("report", path);
    assert_eq!(out.code, 0, "report: {}", out.stderr);
    let report = out.json();
    for p in plugins {
        let o = run_cmd(p, path);
        assert_eq!(o.code, 0, "{p}: {}", o.stderr);
        let _ = o.json();
    }
    (out, report)
}

fn pids(rows: &Value) -> Vec<u64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["pid"].as_u64().unwrap())
        .collect()
}

fn le(v: u64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------
// Evidence-level cases: the file itself lies or ends early.

#[test]
fn truncated_crash_dumps_and_raw_images() {
    let (full, bitmap, raw, dtb, vad_pa) = {
        let mut b = base();
        let full = b.write("trunc", "full.dmp", &[]);
        let bitmap = b.write("trunc", "bitmap.dmp", &[]);
        let raw = b.write("trunc", "raw", &[]);
        let dtb = hex(&b.truth["system"]["dtb"]);
        let node = hex(&b.process(user_process(&b))["regions"][3]["node"]);
        let vad_pa = b.kpa(node);
        (full, bitmap, raw, dtb, vad_pa)
    };
    let scratch = tempfile::tempdir().unwrap();
    let cut = |src: &Path, len: u64, name: &str| -> PathBuf {
        let data = std::fs::read(src).unwrap();
        let p = scratch.path().join(name);
        std::fs::write(&p, &data[..len.min(data.len() as u64) as usize]).unwrap();
        p
    };
    // Inside the 0x2000-byte crash-dump header: the file is unusable → exit 2, one line.
    for len in [8u64, 0x30, 0x90, 0x100, 0xFA0, 0x1FFF] {
        let p = cut(&full, len, &format!("full-{len:x}.dmp"));
        let out = run_cmd("info", &p);
        assert_eq!(out.code, 2, "full dump cut at {len:#x}: {}", out.stderr);
        assert!(out.stderr.contains(p.to_str().unwrap()), "{}", out.stderr);
        let out = run_cmd("report", &p);
        assert_eq!(out.code, 2, "{}", out.stderr);
    }
    // Inside the bitmap dump's bitmap: unusable → exit 2.
    for len in [0x2010u64, 0x2038, 0x2100, 0x2800] {
        let p = cut(&bitmap, len, &format!("bitmap-{len:x}.dmp"));
        let out = run_cmd("report", &p);
        assert_eq!(out.code, 2, "bitmap dump cut at {len:#x}: {}", out.stderr);
    }
    // Inside the raw image's page tables (at the kernel PML4): the kernel cannot be found.
    let p = cut(&raw, dtb + 0x800, "raw-in-pml4.raw");
    let out = run_cmd("report", &p);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // Inside a VAD node's page: everything after it is missing.
    let p = cut(&raw, vad_pa, "raw-in-vad.raw");
    // `info` still describes the file; the kernel's process list runs into the missing
    // pages, so `report` fails cleanly.
    let out = run_cmd("info", &p);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run_cmd("report", &p);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("kernel not found"), "{}", out.stderr);
}

/// Patch the header of a written crash dump.
fn patch_file(src: &Path, dst: &Path, patches: &[(usize, Vec<u8>)]) {
    let mut data = std::fs::read(src).unwrap();
    for (off, bytes) in patches {
        data[*off..*off + bytes.len()].copy_from_slice(bytes);
    }
    std::fs::write(dst, data).unwrap();
}

#[test]
fn crash_dump_counts_claiming_more_than_the_file_holds() {
    let (full, bitmap, n_processes) = {
        let mut b = base();
        (
            b.write("counts", "full.dmp", &[]),
            b.write("counts", "bitmap.dmp", &[]),
            b.listed().len(),
        )
    };
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    // NumberOfRuns = u32::MAX: far more run descriptors than the header has room for.
    let p = dir.join("runs-max.dmp");
    patch_file(&full, &p, &[(0x88, u32::MAX.to_le_bytes().to_vec())]);
    let out = run_cmd("report", &p);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // NumberOfPages and the last run's PageCount claim 2^40 pages.
    let p = dir.join("pages-huge.dmp");
    let data = std::fs::read(&full).unwrap();
    let runs = u32::from_le_bytes(data[0x88..0x8C].try_into().unwrap()) as usize;
    let last = 0x98 + (runs - 1) * 16 + 8;
    patch_file(&full, &p, &[(0x90, le(1 << 40)), (last, le(1 << 40))]);
    let out = run_cmd("report", &p);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.warnings().is_empty(), "a lying run must warn");
    assert!(out.json()["processes"].as_array().unwrap().len() >= n_processes);
    // Bitmap dump: bit count 2^62 and present page count 2^40.
    // The reader clamps the bit count to the bitmap bytes present and warns.
    let p = dir.join("bitmap-bits.dmp");
    patch_file(&bitmap, &p, &[(0x2030, le(1 << 62))]);
    let out = run_cmd("report", &p);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.has_warning("bitmap header describes 4611686018427387904 pages"),
        "{}",
        out.stderr
    );
    assert!(out.json()["processes"].as_array().unwrap().len() >= n_processes);
    let p = dir.join("bitmap-count.dmp");
    patch_file(&bitmap, &p, &[(0x2028, le(1 << 40))]);
    let out = run_cmd("report", &p);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // First-page offset past the end of the file.
    let p = dir.join("bitmap-first.dmp");
    patch_file(&bitmap, &p, &[(0x2020, le(u64::MAX - 0xFFF))]);
    let out = run_cmd("report", &p);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// Memory-level cases: kernel objects patched at ground-truth addresses and ISF offsets.

/// `ActiveProcessLinks` address of a truth process.
fn links_of(b: &Base, p: &Value) -> u64 {
    hex(&p["eprocess"]) + b.layout.ep_links
}

/// pslist pids, the report and the outcomes of a capture patched with `patches`.
fn pslist_after(
    name: &str,
    patches: impl FnOnce(&Base) -> Vec<(u64, Vec<u8>)>,
) -> (Outcome, PathBuf) {
    let path = {
        let mut b = base();
        let p = patches(&b);
        b.write(name, "raw", &p)
    };
    (run_cmd("pslist", &path), path)
}

#[test]
fn process_list_that_loops() {
    let (listed, target) = {
        let b = base();
        let l: Vec<u64> = b
            .listed()
            .iter()
            .map(|p| p["pid"].as_u64().unwrap())
            .collect();
        (l, links_of(&b, b.listed()[2]))
    };
    let mut fifth = 0;
    let (out, path) = pslist_after("ps-loop", |b| {
        fifth = links_of(b, b.listed()[5]);
        vec![(b.kpa(fifth), le(target))]
    });
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Walking Blink from the head recovers every process after the loop.
    assert_eq!(pids(&out.json()["rows"]), listed);
    assert!(
        out.has_warning(&format!(
            "process list broken: Flink {target:#x} at {fifth:#x} loops back; 8 entries recovered walking Blink from the head"
        )),
        "{}",
        out.stderr
    );
    assert_no_false_hidden(&path);
}

/// The report of `path` raises `hidden_process` exactly for the processes the truth hides.
fn assert_no_false_hidden(path: &Path) {
    let want: BTreeSet<u64> = {
        let b = base();
        b.truth["processes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["hidden"] == true)
            .map(|p| p["pid"].as_u64().unwrap())
            .collect()
    };
    let (_, report) = report_ok(path, &["psscan", "pstree", "vadinfo", "dlllist"]);
    let got: BTreeSet<u64> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "hidden_process")
        .map(|f| f["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want, "hidden_process findings");
}

#[test]
fn process_list_with_non_canonical_flink() {
    let listed: Vec<u64> = {
        let b = base();
        b.listed()
            .iter()
            .map(|p| p["pid"].as_u64().unwrap())
            .collect()
    };
    for (i, bad) in [0x1234_5678_9ABC_DEF0u64, 0xFFFF_0000_0000_1000, 0]
        .into_iter()
        .enumerate()
    {
        let (out, path) = pslist_after(&format!("ps-noncanon{i}"), |b| {
            let fourth = links_of(b, b.listed()[4]);
            vec![(b.kpa(fourth), le(bad))]
        });
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(pids(&out.json()["rows"]), listed);
        assert!(
            out.has_warning(&format!("process list broken: Flink {bad:#x} at ")),
            "{}",
            out.stderr
        );
        if i == 0 {
            assert_no_false_hidden(&path);
        }
    }
}

#[test]
fn kernel_module_list_that_loops_or_leaves_the_kernel() {
    for (i, bad) in [None, Some(0x0000_7FFF_0000_0000u64)]
        .into_iter()
        .enumerate()
    {
        let path = {
            let mut b = base();
            let head = hex(&b.truth["system"]["ps_loaded_module_list"]);
            let e1 = b.read_k(head);
            let e2 = b.read_k(e1);
            let e3 = b.read_k(e2);
            let value = bad.unwrap_or(e2);
            let p = vec![(b.kpa(e3), le(value))];
            b.write(&format!("kmod{i}"), "raw", &p)
        };
        let out = run_cmd("modules", &path);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let all = {
            let b = base();
            b.truth["kernel_modules"].as_array().unwrap().len()
        };
        // Walking Blink from the head recovers the modules after the break.
        assert_eq!(
            out.json()["rows"].as_array().unwrap().len(),
            all,
            "{}",
            out.stderr
        );
        assert!(
            out.has_warning("kernel module list broken: Flink "),
            "{}",
            out.stderr
        );
        report_ok(&path, &[]);
    }
}

/// A listed process with at least three loader entries.
fn user_process(b: &Base) -> u64 {
    b.listed()
        .iter()
        .find(|p| p["modules"].as_array().unwrap().len() >= 3 && p["peb"].is_string())
        .unwrap()["pid"]
        .as_u64()
        .unwrap()
}

/// (PEB_LDR_DATA address, the process's PEB) of `pid`.
fn ldr_of(b: &Base, pid: u64) -> u64 {
    let peb = hex(&b.process(pid)["peb"]);
    b.read_u(pid, peb + b.ldr().ldr.offset)
}

fn dll_rows(out: &Outcome, pid: u64) -> Vec<Value> {
    out.json()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["pid"] == pid)
        .cloned()
        .collect()
}

#[test]
fn loader_lists_that_loop_or_point_nowhere() {
    let (path, pid, n_modules) = {
        let mut b = base();
        let pid = user_process(&b);
        let ldr = ldr_of(&b, pid);
        // InLoadOrder: the second entry points back at the first.
        let head = ldr + b.ldr().ldr_lists[0];
        let e1 = b.read_u(pid, head);
        let e2 = b.read_u(pid, e1);
        // InMemoryOrder: the head points at a tiny user address (below the links offset).
        let mem_head = ldr + b.ldr().ldr_lists[1];
        // InInitializationOrder: a non-canonical address.
        let init_head = ldr + b.ldr().ldr_lists[2];
        let p = vec![
            (b.upa(pid, e2), le(e1)),
            (b.upa(pid, mem_head), le(8)),
            (b.upa(pid, init_head), le(0x8000_0000_0000_0010)),
        ];
        let n = b.process(pid)["modules"].as_array().unwrap().len();
        (b.write("ldr-loop", "raw", &p), pid, n)
    };
    let out = run_cmd("dlllist", &path);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Each list is bridged from its head backwards: every entry, with its true list flags.
    let rows = dll_rows(&out, pid);
    assert_eq!(rows.len(), n_modules, "{rows:?}");
    let flags = |m: &Value| {
        (
            m["base"].clone(),
            m["in_load"].clone(),
            m["in_mem"].clone(),
            m["in_init"].clone(),
        )
    };
    let mut got: Vec<_> = rows.iter().map(flags).collect();
    let mut want: Vec<_> = {
        let b = base();
        b.process(pid)["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(flags)
            .collect()
    };
    got.sort_by_key(|f| f.0.to_string());
    want.sort_by_key(|f| f.0.to_string());
    assert_eq!(got, want);
    for list in [
        "InLoadOrderModuleList",
        "InMemoryOrderModuleList",
        "InInitializationOrderModuleList",
    ] {
        assert!(
            out.has_warning(&format!("pid {pid}: {list} broken: ")),
            "{list}: {}",
            out.stderr
        );
    }
    report_ok(&path, &["ldrmodules", "vmmap"]);
}

#[test]
fn unicode_strings_too_long_unreadable_and_names_without_terminators() {
    let (path, pid, n_modules) = {
        let mut b = base();
        let pid = user_process(&b);
        let ldr = ldr_of(&b, pid);
        let e1 = b.read_u(pid, ldr + b.ldr().ldr_lists[0]);
        let entry = e1 - b.ldr().ldr_links[0];
        let base_name = entry + b.ldr().base_name;
        let full_name = entry + b.ldr().full_name;
        let mut unreadable = vec![0u8; 16];
        unreadable[..2].copy_from_slice(&0x20u16.to_le_bytes());
        unreadable[2..4].copy_from_slice(&0x20u16.to_le_bytes());
        unreadable[8..].copy_from_slice(&0x7FFF_FFF0_0000u64.to_le_bytes());
        let ep = hex(&b.process(pid)["eprocess"]);
        let mut p = vec![
            // BaseDllName.Length = MaximumLength = 0xFFFF.
            (b.upa(pid, base_name), vec![0xFF, 0xFF, 0xFF, 0xFF]),
            // FullDllName.Buffer unmapped.
            (b.upa(pid, full_name), unreadable),
            // ImageFileName: 15 bytes, no terminator.
            (b.kpa(ep + b.layout.ep_name.offset), vec![b'A'; 15]),
        ];
        // The first kernel module's BaseDllName: 0xFFFE bytes.
        let head = hex(&b.truth["system"]["ps_loaded_module_list"]);
        let k1 = b.read_k(head);
        let kname = k1 + b.ldr().base_name;
        p.push((b.kpa(kname), vec![0xFE, 0xFF, 0xFE, 0xFF]));
        let n = b.process(pid)["modules"].as_array().unwrap().len();
        (b.write("strings", "raw", &p), pid, n)
    };
    let out = run_cmd("pslist", &path);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let row = out.json()["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pid"] == pid)
        .cloned()
        .unwrap();
    assert_eq!(row["name"], "AAAAAAAAAAAAAAA");
    let out = run_cmd("dlllist", &path);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The entry with the broken strings is still listed, with empty name and path; the others
    // are intact.
    let rows = dll_rows(&out, pid);
    assert_eq!(rows.len(), n_modules);
    assert_eq!(
        (&rows[0]["name"], &rows[0]["path"]),
        (&Value::from(""), &Value::from(""))
    );
    assert!(rows[1..].iter().all(|r| r["name"] != "" && r["path"] != ""));
    let (_, report) = report_ok(&path, &["modules", "cmdline", "envars", "ldrmodules"]);
    assert!(report["processes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["pid"] == pid));
}

#[test]
fn vad_tree_with_a_cycle() {
    let (path, pid, root, n_regions) = {
        let mut b = base();
        let pid = user_process(&b);
        let ep = hex(&b.process(pid)["eprocess"]);
        let root = b.read_k(ep + b.vad().vad_root_in_eprocess);
        // A leaf: a node whose two children are null.
        let leaf = b.process(pid)["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| hex(&r["node"]))
            .find(|&n| {
                b.read_k(n + b.vad().node_left) == 0 && b.read_k(n + b.vad().node_right) == 0
            })
            .unwrap();
        let n = b.process(pid)["regions"].as_array().unwrap().len();
        let p = vec![(b.kpa(leaf + b.vad().node_left), le(root))];
        (b.write("vad-cycle", "raw", &p), pid, root, n)
    };
    let out = run_cmd("vadinfo", &path);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(dll_rows(&out, pid).len(), n_regions);
    assert!(
        out.has_warning(&format!("VAD tree cycle at {root:#x}")),
        "{}",
        out.stderr
    );
    report_ok(&path, &["vmmap", "malfind"]);
}

/// Free page frames inside the capture's physical runs.
fn free_frames(b: &Base, n: usize) -> Vec<u64> {
    let used: std::collections::BTreeSet<u64> = b.cap.memory.page_frames().collect();
    let mut out = Vec::new();
    for r in b.truth["system"]["physical_runs"].as_array().unwrap() {
        for pfn in hex(&r["start"]) / 4096..hex(&r["end"]) / 4096 {
            if out.len() == n {
                return out;
            }
            if !used.contains(&pfn) {
                out.push(pfn);
            }
        }
    }
    assert_eq!(out.len(), n, "not enough free physical memory");
    out
}

#[test]
fn vad_chain_of_a_million_nodes() {
    const NODES: u64 = 1 << 20;
    const STRIDE: u64 = 16;
    let (path, pid) = {
        let mut b = base();
        let pid = user_process(&b);
        let dtb = hex(&b.truth["system"]["dtb"]);
        // A free kernel-half PML4 slot for the new "pool" region.
        let slot = (0x100u64..0x1FF)
            .rev()
            .find(|i| b.read_pa(dtb + i * 8) == 0)
            .unwrap();
        let va = 0xFFFF_0000_0000_0000 | (slot << 39);
        let data_pages = (NODES * STRIDE / 4096) as usize;
        let pts = data_pages.div_ceil(512);
        let frames = free_frames(&b, 2 + pts + data_pages);
        let (pdpt, pd) = (frames[0] * 4096, frames[1] * 4096);
        let mut p = vec![(dtb + slot * 8, le(pdpt | 0x63)), (pdpt, le(pd | 0x63))];
        for t in 0..pts {
            let pt = frames[2 + t] * 4096;
            p.push((pd + t as u64 * 8, le(pt | 0x63)));
            let mut table = Vec::with_capacity(4096);
            for e in 0..512 {
                let i = t * 512 + e;
                let entry = frames
                    .get(2 + pts + i)
                    .filter(|_| i < data_pages)
                    .map_or(0, |f| (f * 4096) | 0x63);
                table.extend_from_slice(&entry.to_le_bytes());
            }
            p.push((pt, table));
        }
        for (i, f) in frames[2 + pts..].iter().enumerate() {
            let mut page = Vec::with_capacity(4096);
            for k in 0..4096 / STRIDE {
                let n = i as u64 * (4096 / STRIDE) + k;
                let next = if n + 1 < NODES {
                    va + (n + 1) * STRIDE
                } else {
                    0
                };
                page.extend_from_slice(&next.to_le_bytes());
                page.extend_from_slice(&0u64.to_le_bytes());
            }
            p.push((f * 4096, page));
        }
        let ep = hex(&b.process(pid)["eprocess"]);
        p.push((b.kpa(ep + b.vad().vad_root_in_eprocess), le(va)));
        (b.write("vad-chain", "raw", &p), pid)
    };
    let out = run_cmd("vadinfo", &path);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.has_warning("VAD tree too deep or too large"),
        "{}",
        out.stderr.lines().take(5).collect::<Vec<_>>().join("\n")
    );
    // The depth bound stops the walk after MAX_DEPTH + 1 = 257 nodes: each is either listed
    // or skipped with a "reversed range" warning (the overlapping nodes' fields are pointers).
    let rows = dll_rows(&out, pid);
    let reversed = out
        .warnings()
        .iter()
        .filter(|w| w.contains("reversed range"))
        .count();
    assert_eq!(rows.len() + reversed, memtriage_windows::vad::MAX_DEPTH + 1);
    assert_eq!(
        out.warnings()
            .iter()
            .filter(|w| w.contains("too deep or too large"))
            .count(),
        1
    );
    report_ok(&path, &["vmmap"]);
}

impl Base {
    fn read_pa(&self, pa: u64) -> u64 {
        self.kspace.memory().read_u64(pa).unwrap()
    }
}

#[test]
fn page_tables_that_loop_back_to_the_pml4() {
    let (path, n_processes) = {
        let mut b = base();
        let dtb = hex(&b.truth["system"]["dtb"]);
        let kbase = hex(&b.truth["system"]["kernel_base"]);
        let walk = b.kspace.walk(kbase);
        let mut p = Vec::new();
        // Every empty entry of the kernel image's PDPT and PD points back at the PML4.
        for step in walk.steps.iter().filter(|s| s.level == 3 || s.level == 2) {
            let table = step.entry_pa & !0xFFF;
            for i in 0..512 {
                if b.read_pa(table + i * 8) == 0 {
                    p.push((table + i * 8, le(dtb | 0x63)));
                }
            }
        }
        assert!(p.len() > 500, "{}", p.len());
        let n = b.listed().len();
        (b.write("pml4-loop", "raw", &p), n)
    };
    let out = run_cmd("pslist", &path);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["rows"].as_array().unwrap().len(), n_processes);
    report_ok(&path, &["vmmap", "malfind", "threads"]);
    let out = run_guarded(
        &[
            "vtop",
            path.to_str().unwrap(),
            "0xfffff80000000000",
            "--format",
            "json",
        ],
        &path,
    );
    assert!(out.code == 0 || out.code == 2);
}

/// The build's ISF with `remove` types deleted, written as plain JSON.
fn trimmed_isf(remove: &[&str], dir: &Path, name: &str) -> PathBuf {
    let mut text = Vec::new();
    xz2::read::XzDecoder::new(
        std::fs::File::open(isf_path(&testdata_isf_dir(), BUILD).unwrap()).unwrap(),
    )
    .read_to_end(&mut text)
    .unwrap();
    let mut isf: Value = serde_json::from_slice(&text).unwrap();
    for ty in remove {
        assert!(
            isf["user_types"]
                .as_object_mut()
                .unwrap()
                .remove(*ty)
                .is_some(),
            "{ty}"
        );
    }
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(&isf).unwrap()).unwrap();
    p
}

#[test]
fn isf_with_missing_types() {
    let path = base().write("isf", "raw", &[]);
    let scratch = tempfile::tempdir().unwrap();
    let run_with = |cmd: &str, isf: &Path| {
        run_guarded(
            &[
                cmd,
                path.to_str().unwrap(),
                "--isf",
                isf.to_str().unwrap(),
                "--format",
                "json",
            ],
            &path,
        )
    };
    let truth = &base().truth;
    let active = truth["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in_active_list"] == true)
        .count();
    let all = truth["processes"].as_array().unwrap().len();

    // No _EPROCESS: nothing can be walked: exit 2, one line naming the type.
    let isf = trimmed_isf(&["_EPROCESS"], scratch.path(), "no-eprocess.json");
    for cmd in ["report", "pslist"] {
        let out = run_with(cmd, &isf);
        assert_eq!(out.code, 2, "{cmd}: {}", out.stderr);
        assert!(
            out.stderr.contains("profile has no type _EPROCESS"),
            "{}",
            out.stderr
        );
    }

    // No VAD types: processes, threads and modules still reported, no regions, one warning.
    let isf = trimmed_isf(&["_MMVAD_SHORT", "_MMVAD"], scratch.path(), "no-vad.json");
    let out = run_with("report", &isf);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["processes"].as_array().unwrap().len(), all);
    assert!(r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["regions"] == serde_json::json!([])));
    assert!(r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| !p["modules"].as_array().unwrap().is_empty()));
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("VADs (memory regions) not read: profile has no type _MMVAD_SHORT"),
        "{warnings}"
    );
    let out = run_with("pslist", &isf);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["rows"].as_array().unwrap().len(), active);

    // No loader types: processes and regions still reported, no modules, one warning.
    let isf = trimmed_isf(
        &["_LDR_DATA_TABLE_ENTRY", "_PEB_LDR_DATA"],
        scratch.path(),
        "no-ldr.json",
    );
    let out = run_with("report", &isf);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["processes"].as_array().unwrap().len(), all);
    assert!(r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["modules"] == serde_json::json!([])));
    assert!(r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| !p["regions"].as_array().unwrap().is_empty()));
    assert_eq!(r["kernel_modules"], serde_json::json!([]));
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("PEBs and loader lists (modules) not read: profile has no type"),
        "{warnings}"
    );
}
