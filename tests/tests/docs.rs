//! The documentation names every plugin and every rule the code has.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{repo, run};

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
    assert_eq!(ids.len(), 7);
    for id in ids {
        assert!(
            rules.contains(&format!("## `{id}`")),
            "docs/rules.md lacks a section for {id}"
        );
    }
}
