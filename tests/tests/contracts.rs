//! The CLI contracts a responder relies on (issue 16): tables that fit the terminal, one-line
//! root-cause errors, fleets, consistent flags, completions and the man page, quiet broken
//! pipes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use memtriage_e2e::{bin, repo, run};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SAMPLE: &str = "fixtures/samples/win10-19041.dmp";
const TRIAGE: &str = "testdata/dumps/triage-win10-19041-x64.dmp";
const HEADER_ONLY: &str = "testdata/dumps/fulldump-win10-x64-header-only.dmp";

fn sample() -> String {
    repo().join(SAMPLE).display().to_string()
}

/// Run with `$COLUMNS` set (or removed when `None`), stdout a pipe.
fn run_cols(columns: Option<usize>, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    match columns {
        Some(c) => cmd.env("COLUMNS", c.to_string()),
        None => cmd.env_remove("COLUMNS"),
    };
    cmd.output().unwrap()
}

/// A YARA rules file for `yarascan` (run with the repository as working directory or not).
const YARA_RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/yara/shellcode.yar");

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The subcommands `--help` lists (help excluded).
fn commands() -> Vec<String> {
    let help = stdout(&run(&["--help"]));
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|n| n != "help")
        .collect()
}

fn plugins() -> Vec<String> {
    let builtin = [
        "info",
        "vtop",
        "report",
        "diff",
        "rules",
        "yarascan",
        "completions",
        "man",
    ];
    commands()
        .into_iter()
        .filter(|c| !builtin.contains(&c.as_str()))
        .collect()
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// A second report that differs from the sample's (one finding removed, a process renamed).
fn changed_report(dir: &Path) -> (PathBuf, PathBuf) {
    let old = dir.join("old.json");
    let out = run(&["report", &sample(), "--format", "json"]);
    std::fs::write(&old, &out.stdout).unwrap();
    let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"].as_array_mut().unwrap().remove(0);
    v["processes"][1]["name"] = Value::from("a-process-name-long-enough-to-need-cutting.exe");
    let new = dir.join("new.json");
    std::fs::write(&new, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    (old, new)
}

#[test]
fn every_table_fits_100_columns_on_the_sample() {
    let s = sample();
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = changed_report(dir.path());
    let (old, new) = (old.display().to_string(), new.display().to_string());
    let mut checked = BTreeSet::new();
    for command in commands() {
        let args: Vec<&str> = match command.as_str() {
            "info" | "report" => vec![&command, &s],
            "vtop" => vec!["vtop", &s, "0xfffff8038ae00000"],
            "diff" => vec!["diff", &old, &new],
            "rules" => vec!["rules"],
            "yarascan" => vec!["yarascan", &s, "--rules", YARA_RULES],
            "completions" | "man" => continue,
            _ => vec![&command, &s],
        };
        let mut args = args;
        args.extend(["--format", "table"]);
        let out = run_cols(Some(100), &args);
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{args:?}: {}",
            stderr(&out)
        );
        let text = stdout(&out);
        assert!(text.lines().count() >= 2, "{args:?}: {text}");
        assert!(widest(&text) <= 100, "{args:?}: {}\n{text}", widest(&text));
        checked.insert(command);
    }
    // Every plugin plus info, vtop, report, diff, rules and yarascan.
    assert_eq!(checked.len(), plugins().len() + 6, "{checked:?}");
}

#[test]
fn tables_follow_columns_and_default_to_120_in_a_pipe() {
    let s = sample();
    for cols in [60, 80, 150] {
        let out = run_cols(Some(cols), &["pslist", &s, "--format", "table"]);
        let text = stdout(&out);
        assert!(widest(&text) <= cols, "COLUMNS={cols}\n{text}");
    }
    let wide = stdout(&run_cols(Some(1000), &["pslist", &s, "--format", "table"]));
    let piped = stdout(&run_cols(None, &["pslist", &s, "--format", "table"]));
    assert!(widest(&wide) > 120, "the full pslist is wider than 120");
    assert_eq!(widest(&piped), 120, "{piped}");
    // A cut cell ends in …; JSON keeps the whole value.
    let narrow = stdout(&run_cols(Some(60), &["cmdline", &s, "--format", "table"]));
    assert!(narrow.contains('…'), "{narrow}");
    let json: Value =
        serde_json::from_slice(&run_cols(Some(60), &["cmdline", &s, "--format", "json"]).stdout)
            .unwrap();
    let longest = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["command_line"].as_str())
        .map(|c| c.chars().count())
        .max()
        .unwrap();
    assert!(
        longest > 60,
        "JSON keeps the command lines whole ({longest})"
    );
}

#[test]
fn columns_that_cannot_fit_are_named_not_cut() {
    let s = sample();
    let text = stdout(&run_cols(Some(100), &["vmmap", &s, "--format", "table"]));
    let json: Value =
        serde_json::from_slice(&run(&["vmmap", &s, "--format", "json"]).stdout).unwrap();
    let all: Vec<&str> = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let header: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(header, all[..header.len()], "{text}");
    assert!(header.len() < all.len());
    let note: String = text
        .lines()
        .skip_while(|l| !l.starts_with('('))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        note,
        format!(
            "({} more columns at 100 characters wide: {}; JSON and CSV have every column)",
            all.len() - header.len(),
            all[header.len()..].join(", ")
        )
    );
}

#[test]
fn malfind_prints_hexdump_and_disassembly_under_each_row() {
    let s = sample();
    let out = run_cols(Some(100), &["malfind", &s, "--format", "table"]);
    let text = stdout(&out);
    let json: Value =
        serde_json::from_slice(&run(&["malfind", &s, "--format", "json"]).stdout).unwrap();
    let first = &json["rows"][0];
    let bytes: Vec<&str> = first["hexdump"].as_str().unwrap().split(' ').collect();
    assert_eq!(bytes.len(), 64, "JSON keeps the whole hexdump");
    let instructions: Vec<&str> = first["disassembly"].as_str().unwrap().split("; ").collect();
    let lines: Vec<&str> = text.lines().collect();
    let row = lines
        .iter()
        .position(|l| l.contains(first["start"].as_str().unwrap()))
        .unwrap();
    // Four lines of 16 bytes, then one instruction per line, all indented under the row.
    for (i, chunk) in bytes.chunks(16).enumerate() {
        assert_eq!(
            lines[row + 1 + i],
            format!("    +{:03x}  {}", i * 16, chunk.join(" "))
        );
    }
    for (i, ins) in instructions.iter().enumerate() {
        assert_eq!(lines[row + 5 + i], format!("    {ins}"));
    }
    // The grid has no hexdump or disassembly column.
    assert!(!lines[1].contains("hexdump") && !lines[1].contains("disassembly"));
}

#[test]
fn info_wraps_its_error_instead_of_a_900_column_row() {
    let triage = repo().join(TRIAGE);
    let out = run_cols(Some(80), &["info", triage.to_str().unwrap(), "-f", "table"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(widest(&text) <= 80, "{text}");
    // The error's words are all there, over several lines.
    let start = text
        .lines()
        .position(|l| l.starts_with("kernel.error"))
        .unwrap();
    let joined: Vec<&str> = text
        .lines()
        .skip(start)
        .take_while(|l| l.starts_with("kernel.error") || l.starts_with("   "))
        .map(|l| l.trim_start_matches("kernel.error").trim())
        .collect();
    assert!(joined.len() > 1, "{text}");
    assert_eq!(
        joined.join(" "),
        "the capture holds no physical memory: it is a triage dump (DumpType 4), which saves \
         only the crashing thread and the driver list"
    );
}

fn one_error_line(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("memtriage: error: "), "{err}");
    err.trim_end().to_owned()
}

#[test]
fn errors_name_the_root_cause_first() {
    let triage = repo().join(TRIAGE).display().to_string();
    let header = repo().join(HEADER_ONLY).display().to_string();
    // A bitmap dump cut after 1000 of its pages (3 pages of header and bitmap first).
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.dmp");
    let bytes = std::fs::read(repo().join(SAMPLE)).unwrap();
    let info: Value =
        serde_json::from_slice(&run(&["info", &sample(), "--format", "json"]).stdout).unwrap();
    let pages = info["physical_ranges"]["total_bytes"].as_u64().unwrap() / 4096;
    assert!(pages > 1000, "{pages}");
    assert_eq!(bytes.len() as u64, (3 + pages) * 4096);
    std::fs::write(&cut, &bytes[..(3 + 1000) * 4096]).unwrap();
    let cut = cut.display().to_string();
    for command in ["pslist", "report", "malfind"] {
        let line = one_error_line(&run(&[command, &triage]));
        assert!(
            line.starts_with(&format!(
                "memtriage: error: {triage}: the capture holds no physical memory: it is a \
                 triage dump (DumpType 4), which saves only the crashing thread and the driver \
                 list; kernel not found"
            )),
            "{line}"
        );
        assert!(!line.contains("dtb:scan"), "{line}");
        let line = one_error_line(&run(&[command, &header]));
        assert!(
            line.starts_with(&format!(
                "memtriage: error: {header}: the capture holds no physical memory: the file \
                 ends before its first page (only the header was saved); kernel not found"
            )),
            "{line}"
        );
    }
    // The cut bitmap dump: the missing pages come first, exactly counted.
    let expected = format!(
        "the bitmap marks {} pages present that the file ({} bytes) does not hold",
        pages - 1000,
        (3 + 1000) * 4096
    );
    let info = stdout(&run(&["info", &cut, "--format", "json"]));
    assert!(info.contains(&expected), "{info}");
    for command in ["pslist", "report", "vadinfo"] {
        let line = one_error_line(&run(&[command, &cut]));
        assert!(
            line.starts_with(&format!(
                "memtriage: error: {cut}: {expected}; kernel not found"
            )),
            "{line}"
        );
    }
    // -v adds the steps tried, innermost (the last tried) first.
    let out = run(&["-v", "pslist", &triage]);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert_eq!(lines[1], "memtriage:   tried PML4 scan", "{err}");
    assert_eq!(lines[3], "memtriage:   tried crash-dump header", "{err}");
}

#[test]
fn files_that_are_not_captures_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"hello, this is not memory\n").unwrap();
    let png = dir.path().join("shot.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let zip = dir.path().join("mem.zip");
    std::fs::write(&zip, b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0").unwrap();
    let pe = repo().join("testdata/pe/x86_64/notepad.exe");
    for (path, what) in [
        (&text, "a text file"),
        (&png, "a PNG image"),
        (&zip, "a ZIP archive"),
        (&pe, "a PE executable"),
    ] {
        let p = path.display().to_string();
        for command in ["info", "pslist", "report"] {
            let line = one_error_line(&run(&[command, &p]));
            assert!(
                line.starts_with(&format!(
                    "memtriage: error: {p}: not a memory capture: {what}"
                )),
                "{line}"
            );
        }
    }
}

#[test]
fn one_error_prefix_for_usage_and_input_errors() {
    let s = sample();
    for args in [
        vec!["pslist", "--no-such-flag"],
        vec!["report", &s, "--fail-on", "severe"],
        vec!["pslist", "/nonexistent/capture.raw"],
        vec!["report", &s, "--jobs", "0"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.starts_with("memtriage: error: "), "{args:?}: {err}");
        assert_eq!(
            err.matches("error:").count(),
            1,
            "{args:?}: one prefix: {err}"
        );
    }
}

#[test]
fn no_command_prints_the_help_on_stderr_with_exit_2() {
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.starts_with("memtriage: triage Windows x64 memory captures"),
        "{err}"
    );
    assert!(!err.contains("error:"), "{err}");
}

#[test]
fn an_unknown_pid_is_exit_2_everywhere() {
    let s = sample();
    let mut commands = plugins();
    commands.push("vtop".into());
    commands.push("yarascan".into());
    for command in commands {
        let mut args = vec![command.as_str(), s.as_str(), "-p", "99999"];
        if command == "vtop" {
            args.push("0x7ffe0000");
        }
        if command == "yarascan" {
            args.extend(["--rules", YARA_RULES]);
        }
        let line = one_error_line(&run(&args));
        assert!(line.contains("no process with pid 99999"), "{line}");
    }
    // A known pid still works.
    let v: Value =
        serde_json::from_slice(&run(&["pslist", &s, "-p", "4", "-f", "json"]).stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 1);
    assert_eq!(v["rows"][0]["pid"], 4);
}

#[test]
fn value_enums_are_case_insensitive_and_listed() {
    let s = sample();
    let out = run(&["rules", "--format", "JSON"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(serde_json::from_slice::<Value>(&out.stdout).is_ok());
    let out = run(&["pslist", &s, "--fail-on", "HIGH", "--format", "Csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("pid,"));
    assert_eq!(run(&["completions", "BASH"]).status.code(), Some(0));
    for command in ["report", "pslist", "malfind"] {
        let help = stdout(&run(&[command, "--help"]));
        assert!(
            help.contains("[possible values: info, low, medium, high]"),
            "{command}: {help}"
        );
    }
}

#[test]
fn short_p_wherever_pid_exists() {
    let mut with_pid = 0;
    for command in commands() {
        let help = stdout(&run(&[&command, "--help"]));
        if help.contains("--pid") {
            with_pid += 1;
            assert!(help.contains("-p, --pid"), "{command}: {help}");
        }
    }
    assert_eq!(
        with_pid,
        plugins().len() + 2,
        "every plugin, vtop and yarascan"
    );
}

#[test]
fn build_contradicting_nt_build_number_warns() {
    let out = run(&["pslist", &sample(), "--build", "1", "-f", "json"]);
    assert!(
        stderr(&out).contains(
            "memtriage: warning: --build 1 contradicts the capture's NtBuildNumber (build 19041)"
        ),
        "{}",
        stderr(&out)
    );
    let out = run(&["pslist", &sample(), "--build", "19041", "-f", "json"]);
    assert!(!stderr(&out).contains("contradicts"), "{}", stderr(&out));
}

#[test]
fn info_ranges_are_inclusive_like_the_report() {
    let info: Value =
        serde_json::from_slice(&run(&["info", &sample(), "--format", "json"]).stdout).unwrap();
    // The sample's first present page is 0x1e000 (one page), its last 0x1ffe000.
    assert_eq!(info["physical_ranges"]["first"]["start"], "0x1e000");
    assert_eq!(info["physical_ranges"]["first"]["end"], "0x1efff");
    assert_eq!(info["physical_ranges"]["last"]["end"], "0x1ffefff");
}

#[test]
fn rules_list_every_severity_they_can_raise() {
    let v: Value = serde_json::from_slice(&run(&["rules", "--format", "json"]).stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    let severity = |id: &str| {
        rows.iter().find(|r| r["rule"] == id).unwrap()["severity"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // peb_unlinked_module is high when the mapping is missing from every list, else medium.
    assert_eq!(severity("peb_unlinked_module"), "medium,high");
    assert_eq!(severity("rwx_private"), "medium");
    let table = stdout(&run_cols(Some(100), &["rules", "--format", "table"]));
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("peb_unlinked_module") && l.contains("medium,high")),
        "{table}"
    );
}

#[test]
fn completions_parse_and_the_man_page_names_every_command() {
    let commands = commands();
    let bash = run(&["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("memtriage.bash");
    std::fs::write(&script, &bash.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    let text = stdout(&bash);
    for c in &commands {
        assert!(text.contains(&format!("memtriage,{c})")), "{c}");
    }
    let zsh = stdout(&run(&["completions", "zsh"]));
    assert!(zsh.starts_with("#compdef memtriage"), "{zsh}");
    let fish = stdout(&run(&["completions", "fish"]));
    assert!(fish.contains("complete -c memtriage"));
    let ps = stdout(&run(&["completions", "powershell"]));
    assert!(ps.contains("Register-ArgumentCompleter"));
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));

    let man = run(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie") || page.contains(".TH memtriage"),
        "{page}"
    );
    for c in &commands {
        assert!(
            page.contains(&format!("memtriage\\-{}(1)", c.replace('-', "\\-"))),
            "the man page lacks {c}"
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        vec!["vmmap", SAMPLE, "--format", "table"],
        vec!["report", SAMPLE, "--format", "json"],
    ] {
        let mut child = Command::new(bin())
            .args(&args)
            .current_dir(repo())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before memtriage writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fleets

fn fleet_report(args: &[&str]) -> Output {
    let mut a = vec!["report"];
    a.extend(args);
    run(&a)
}

#[test]
fn same_file_name_in_two_folders_gives_two_reports() {
    let dir = tempfile::tempdir().unwrap();
    for host in ["hostA", "hostB"] {
        std::fs::create_dir(dir.path().join(host)).unwrap();
        std::fs::copy(repo().join(SAMPLE), dir.path().join(host).join("mem.dmp")).unwrap();
    }
    let out_dir = dir.path().join("out");
    let a = dir.path().join("hostA/mem.dmp");
    let b = dir.path().join("hostB/mem.dmp");
    let out = fleet_report(&[
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--output-dir",
        out_dir.to_str().unwrap(),
        "-f",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["hostA_mem.dmp.report.json", "hostB_mem.dmp.report.json"]
    );
    for (name, capture) in [("hostA", &a), ("hostB", &b)] {
        let v: Value = serde_json::from_slice(
            &std::fs::read(out_dir.join(format!("{name}_mem.dmp.report.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(v["image"]["path"], capture.to_str().unwrap());
    }
}

#[test]
fn output_dir_is_honoured_for_one_capture() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("reports");
    let s = sample();
    let out = fleet_report(&[&s, "--output-dir", out_dir.to_str().unwrap(), "-f", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let v: Value = serde_json::from_slice(
        &std::fs::read(out_dir.join("win10-19041.dmp.report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["system"]["build"], 19041);
}

#[test]
fn a_directory_without_captures_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), b"").unwrap();
    let line = one_error_line_after_skips(&fleet_report(&[empty.to_str().unwrap()]));
    assert_eq!(
        line,
        format!("memtriage: error: no captures in {}", empty.display())
    );
}

/// The error line, after any `skipped` lines.
fn one_error_line_after_skips(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    let err = stderr(out);
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("memtriage: skipped "))
        .collect();
    assert_eq!(errors.len(), 1, "{err}");
    errors[0].to_owned()
}

#[test]
fn non_captures_are_skipped_and_duplicates_analysed_once() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet");
    std::fs::create_dir(&fleet).unwrap();
    std::fs::copy(repo().join(SAMPLE), fleet.join("a.dmp")).unwrap();
    std::fs::write(fleet.join("empty.txt"), b"").unwrap();
    std::fs::write(fleet.join("notes.txt"), b"case notes, not memory\n").unwrap();
    std::fs::create_dir(fleet.join("sub")).unwrap();
    let out_dir = dir.path().join("out");
    let f = fleet.to_str().unwrap();
    let a = fleet.join("a.dmp");
    let dotted = format!("{f}/./a.dmp");
    let out = fleet_report(&[
        f,
        f,
        a.to_str().unwrap(),
        &dotted,
        "--output-dir",
        out_dir.to_str().unwrap(),
        "--jobs",
        "100000",
        "-f",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let skipped: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("memtriage: skipped "))
        .collect();
    assert_eq!(skipped.len(), 3, "{err}");
    assert!(skipped[0].contains("empty.txt") && skipped[0].contains("empty file"));
    assert!(skipped[1].contains("notes.txt: not a memory capture: a text file"));
    assert!(skipped[2].contains("sub: a directory"));
    assert_eq!(err.matches(" → ").count(), 1, "analysed once: {err}");
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);
}

#[test]
fn output_dir_that_is_not_a_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    for target in ["/dev/full", file.to_str().unwrap()] {
        let line = one_error_line(&fleet_report(&[&sample(), "--output-dir", target]));
        assert_eq!(
            line,
            format!("memtriage: error: {target}: --output-dir is not a directory")
        );
        assert!(!line.contains("File exists"));
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"x", "left untouched");
}

#[test]
fn report_table_keeps_address_ranges_whole_and_wraps_its_summary() {
    let s = sample();
    let json: Value = serde_json::from_slice(&run(&["report", &s, "-f", "json"]).stdout).unwrap();
    let narrow = stdout(&run_cols(Some(100), &["report", &s, "-f", "table"]));
    for f in json["findings"].as_array().unwrap() {
        let range = match (f["address"].as_str(), f["end"].as_str()) {
            (Some(a), Some(e)) => format!("{a}-{e}"),
            (Some(a), None) => a.to_owned(),
            _ => continue,
        };
        assert!(narrow.contains(&range), "{range} is cut:\n{narrow}");
    }
    let wide = stdout(&run_cols(Some(1000), &["report", &s, "-f", "table"]));
    let summary = wide.lines().find(|l| l.starts_with("Summary: ")).unwrap();
    assert!(summary.chars().count() > 100, "{summary}");
    let wrapped: Vec<&str> = narrow
        .lines()
        .skip_while(|l| !l.starts_with("Summary: "))
        .take_while(|l| !l.is_empty())
        .map(str::trim)
        .collect();
    assert!(wrapped.len() > 1, "{narrow}");
    assert_eq!(wrapped.join(" "), summary);
}
