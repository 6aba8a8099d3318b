//! The documentation names every plugin and every rule the code has.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{repo, run};
use std::collections::BTreeSet;

#[test]
fn every_plugin_and_rule_is_documented() {
    let plugins = std::fs::read_to_string(repo().join("docs/plugins.md")).unwrap();
    let rules = std::fs::read_to_string(repo().join("docs/rules.md")).unwrap();
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    let mut commands = 0;
    for line in help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
    {
        let Some(name) = line.split_whitespace().next() else {
            break;
        };
        if line.starts_with("  ") && !line.starts_with("   ") && name != "help" {
            assert!(
                plugins.contains(&format!("`{name}")),
                "docs/plugins.md lacks `{name}`"
            );
            commands += 1;
        }
    }
    assert!(commands >= 17, "only {commands} commands found in --help");
    let out = run(&["rules", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 12);
    for id in ids {
        assert!(
            rules.contains(&format!("## `{id}`")),
            "docs/rules.md lacks a section for {id}"
        );
    }
}

/// Flags the docs mention that belong to other programs (cargo, rustc, criterion, the fixture
/// generator, the benchmark and peer scripts, Volatility, grep), not to `memtriage`.
const FOREIGN_FLAGS: [&str; 40] = [
    "--bench",
    "--bin",
    "--cache-path",
    "--call-graph",
    "--cfg",
    "--data",
    "--formats",
    "--include",
    "--isf-dir",
    "--local-workers",
    "--measurement-time",
    "--memory-limit",
    "--memtriage",
    "--modules",
    "--no-anomalies",
    "--no-default-features",
    "--no-low-stub",
    "--no-wow64",
    "--nocapture",
    "--nthreads",
    "--nworkers",
    "--offline",
    "--out",
    "--page-out",
    "--path",
    "--physical-mib",
    "--processes",
    "--release",
    "--sample",
    "--scheduler",
    "--seed",
    "--shared",
    "--single-swap-locations",
    "--target",
    "--test",
    "--unknown-guid",
    "--vads",
    "--warm-up-time",
    "--workspace",
    "--yara-file",
];

/// Every `--flag` token in `text`.
fn flags_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i + 2 < bytes.len() {
        let boundary = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '-');
        if boundary && bytes[i] == '-' && bytes[i + 1] == '-' && bytes[i + 2].is_ascii_lowercase() {
            let mut j = i + 2;
            while j < bytes.len()
                && (bytes[j].is_ascii_lowercase() || bytes[j].is_ascii_digit() || bytes[j] == '-')
            {
                j += 1;
            }
            let flag: String = bytes[i..j].iter().collect();
            out.insert(flag.trim_end_matches('-').to_owned());
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// README.md and every docs/*.md, concatenated.
fn all_docs() -> String {
    let mut text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut pages: Vec<_> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    for page in pages {
        text.push('\n');
        text.push_str(&std::fs::read_to_string(page).unwrap());
    }
    text
}

/// The subcommands `--help` lists (help excluded).
fn commands() -> Vec<String> {
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|n| n != "help")
        .collect()
}

/// Every long flag of the CLI (all commands), from the option lines of each `--help`.
fn cli_flags() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut helps = vec![String::from_utf8(run(&["--help"]).stdout).unwrap()];
    for c in commands() {
        helps.push(String::from_utf8(run(&[&c, "--help"]).stdout).unwrap());
    }
    for help in helps {
        for line in help.lines() {
            let t = line.trim_start();
            if line.starts_with("  ") && t.starts_with('-') {
                out.extend(flags_in(t.split("  ").next().unwrap_or(t)));
            }
        }
    }
    out
}

#[test]
fn documented_flags_and_commands_exist_and_every_flag_is_documented() {
    let docs = all_docs();
    let cli = cli_flags();
    assert!(
        cli.contains("--fail-on") && cli.contains("--output-dir"),
        "{cli:?}"
    );
    for flag in flags_in(&docs) {
        if FOREIGN_FLAGS.contains(&flag.as_str()) {
            assert!(
                !cli.contains(&flag),
                "{flag} is a memtriage flag now: drop it from FOREIGN_FLAGS"
            );
            continue;
        }
        assert!(
            cli.contains(&flag),
            "the docs mention {flag}, which memtriage does not have"
        );
    }
    let documented = flags_in(&docs);
    for flag in &cli {
        if flag == "--help" || flag == "--version" {
            continue;
        }
        assert!(
            documented.contains(flag),
            "{flag} is not documented in README.md or docs/"
        );
    }
    // `memtriage WORD` in code (inline, or a line of a fenced block) names a real command.
    let commands = commands();
    let mut seen = 0;
    let mut in_fence = false;
    for line in docs.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        let invocations: Vec<&str> = if in_fence {
            let t = line
                .trim_start()
                .trim_start_matches("$ ")
                .trim_start_matches("- ");
            t.strip_prefix("memtriage ").into_iter().collect()
        } else {
            line.split("`memtriage ").skip(1).collect()
        };
        for rest in invocations {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase())
                .collect();
            if word.is_empty() {
                continue;
            }
            assert!(
                commands.contains(&word),
                "docs run `memtriage {word}`, which is no command: {line}"
            );
            seen += 1;
        }
    }
    assert!(
        seen >= 10,
        "only {seen} documented memtriage invocations found"
    );
}
