//! Exact-value tests of every writer.
#![allow(clippy::unwrap_used)]

mod common;

use memtriage_report::serde_json::{self, json, Value};
use memtriage_report::*;

fn render(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

const REPORT_JSON: &str = r##"{
  "schema": "memtriage-report/1",
  "tool": {
    "name": "memtriage",
    "version": "0.1.0"
  },
  "image": {
    "path": "mem.raw",
    "format": "raw",
    "size": 1073741824,
    "sha256": "abababababababababababababababababababababababababababababababab"
  },
  "system": {
    "build": 19041,
    "version": "10.0.19041",
    "dtb": "0x1aa000",
    "kernel_base": "0xfffff8057c600000",
    "pdb_guid": "1C9875F76C8F0FBF3EB691A6C1B9B8C91",
    "profile": "ntkrnlmp-19041",
    "system_time": "2024-01-17T21:20:00Z",
    "processors": 2
  },
  "processes": [
    {
      "pid": 4,
      "ppid": 0,
      "name": "System",
      "image_path": null,
      "command_line": null,
      "create_time": null,
      "exit_time": null,
      "offset": "0xffffa0000a000040",
      "wow64": false,
      "hidden": false,
      "threads": 120,
      "regions": [],
      "modules": [],
      "views": []
    },
    {
      "pid": 1337,
      "ppid": 4,
      "name": "java.exe",
      "image_path": "C:\\Program Files\\Java\\jre\\bin\\java.exe",
      "command_line": "\"java.exe\" -jar app.jar",
      "create_time": "2024-01-17T21:19:00Z",
      "exit_time": null,
      "offset": "0xffffa0000b000080",
      "wow64": false,
      "hidden": false,
      "threads": 12,
      "regions": [
        {
          "start": "0x7ff000000000",
          "end": "0x7ff000000fff",
          "type": "private",
          "category": "Private Data",
          "state": "COMMITTED",
          "protection": "PAGE_EXECUTE_READWRITE",
          "private": true,
          "commit_charge": 1,
          "file": null
        }
      ],
      "modules": [
        {
          "base": "0x7ff600000000",
          "size": "0x2000",
          "name": "java.exe",
          "path": "C:\\Program Files\\Java\\jre\\bin\\java.exe",
          "in_load": true,
          "in_mem": true,
          "in_init": false
        }
      ],
      "views": []
    },
    {
      "pid": 666,
      "ppid": 1337,
      "name": "evil.exe",
      "image_path": null,
      "command_line": null,
      "create_time": null,
      "exit_time": null,
      "offset": "0xffffa0000c0000c0",
      "wow64": false,
      "hidden": true,
      "threads": 1,
      "regions": [],
      "modules": [],
      "views": []
    }
  ],
  "kernel_modules": [
    {
      "base": "0xfffff8057c600000",
      "size": "0x1046000",
      "name": "ntoskrnl.exe",
      "path": "\\SystemRoot\\system32\\ntoskrnl.exe"
    }
  ],
  "findings": [
    {
      "rule": "rwx_private",
      "severity": "high",
      "pid": 1337,
      "process": "java.exe",
      "address": "0x7ff000000000",
      "end": "0x7ff000000fff",
      "description": "private executable and writable memory",
      "evidence": {
        "commit_charge": 1,
        "detected_by": "vad_protection",
        "protection": "PAGE_EXECUTE_READWRITE",
        "type": "private"
      },
      "mitre": [
        "T1055"
      ]
    }
  ],
  "suppressed": 0,
  "warnings": [
    "process 999: PEB unreadable"
  ],
  "coverage": {
    "fast": false,
    "views": []
  }
}
"##;

const REPORT_JSONL: &str = r##"{"@timestamp":"2024-01-17T21:20:00Z","ecs":{"version":"9.4.0"},"event":{"category":["process"],"dataset":"memtriage.process","kind":"event","module":"memtriage","type":["info"]},"host":{"name":"WS01"},"memtriage":{"hidden":false,"image":{"format":"raw","path":"mem.raw","sha256":"abababababababababababababababababababababababababababababababab"},"module_count":0,"offset":"0xffffa0000a000040","region_count":0,"schema":"memtriage-report/1","threads":120,"wow64":false},"process":{"name":"System","parent":{"pid":0},"pid":4}}
{"@timestamp":"2024-01-17T21:20:00Z","ecs":{"version":"9.4.0"},"event":{"category":["process"],"dataset":"memtriage.process","kind":"event","module":"memtriage","type":["info"]},"host":{"name":"WS01"},"memtriage":{"hidden":false,"image":{"format":"raw","path":"mem.raw","sha256":"abababababababababababababababababababababababababababababababab"},"module_count":1,"offset":"0xffffa0000b000080","region_count":1,"schema":"memtriage-report/1","threads":12,"wow64":false},"process":{"command_line":"\"java.exe\" -jar app.jar","executable":"C:\\Program Files\\Java\\jre\\bin\\java.exe","name":"java.exe","parent":{"pid":4},"pid":1337,"start":"2024-01-17T21:19:00Z"}}
{"@timestamp":"2024-01-17T21:20:00Z","ecs":{"version":"9.4.0"},"event":{"category":["process"],"dataset":"memtriage.process","kind":"event","module":"memtriage","type":["info"]},"host":{"name":"WS01"},"memtriage":{"hidden":true,"image":{"format":"raw","path":"mem.raw","sha256":"abababababababababababababababababababababababababababababababab"},"module_count":0,"offset":"0xffffa0000c0000c0","region_count":0,"schema":"memtriage-report/1","threads":1,"wow64":false},"process":{"name":"evil.exe","parent":{"pid":1337},"pid":666}}
{"@timestamp":"2024-01-17T21:20:00Z","ecs":{"version":"9.4.0"},"event":{"category":["malware"],"dataset":"memtriage.finding","kind":"alert","module":"memtriage","severity":4,"type":["info"]},"host":{"name":"WS01"},"memtriage":{"address":"0x7ff000000000","end":"0x7ff000000fff","evidence":{"commit_charge":1,"detected_by":"vad_protection","protection":"PAGE_EXECUTE_READWRITE","type":"private"},"image":{"format":"raw","path":"mem.raw","sha256":"abababababababababababababababababababababababababababababababab"},"schema":"memtriage-report/1","severity":"high"},"message":"private executable and writable memory","process":{"command_line":"\"java.exe\" -jar app.jar","executable":"C:\\Program Files\\Java\\jre\\bin\\java.exe","name":"java.exe","parent":{"pid":4},"pid":1337,"start":"2024-01-17T21:19:00Z"},"rule":{"id":"rwx_private","name":"rwx_private","ruleset":"memtriage"},"threat":{"framework":"MITRE ATT&CK","technique":{"id":["T1055"]}}}
"##;

const REPORT_TABLE: &str = r##"memtriage 0.1.0 report (memtriage-report/1)
Image: mem.raw (raw, 1073741824 bytes)
SHA-256: abababababababababababababababababababababababababababababababab

System
  build        19041
  version      10.0.19041
  dtb          0x1aa000
  kernel_base  0xfffff8057c600000
  pdb_guid     1C9875F76C8F0FBF3EB691A6C1B9B8C91
  profile      ntkrnlmp-19041
  system_time  2024-01-17T21:20:00Z
  processors   2

Processes (3)
pid      ppid  name      threads  wow64  hidden  create_time           offset
-------  ----  --------  -------  -----  ------  --------------------  ------------------
4           0  System        120  false  false   -                     0xffffa0000a000040
  1337      4  java.exe       12  false  false   2024-01-17T21:19:00Z  0xffffa0000b000080
    666  1337  evil.exe        1  false  true    -                     0xffffa0000c0000c0

Findings (1, 0 suppressed)
severity  rule          pid  process   address                        description
--------  -----------  ----  --------  -----------------------------  --------------------------------------
high      rwx_private  1337  java.exe  0x7ff000000000-0x7ff000000fff  private executable and writable memory

Summary: 3 processes (1 hidden), 1 kernel modules, 1 findings (high 1, medium 0, low 0, info 0), 0 suppressed, 1 warnings

Warnings (1)
  - process 999: PEB unreadable
"##;

#[test]
fn report_json_golden() {
    let r = common::sample_report();
    assert_eq!(render(|w| write_report_json(w, &r)), REPORT_JSON);
}

#[test]
fn report_json_round_trips() {
    let r = common::sample_report();
    let text = render(|w| write_report_json(w, &r));
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
}

#[test]
fn report_jsonl_golden() {
    let r = common::sample_report();
    let opts = JsonlOptions {
        host_name: Some("WS01".into()),
    };
    assert_eq!(render(|w| write_report_jsonl(w, &r, &opts)), REPORT_JSONL);
}

#[test]
fn report_jsonl_lines_are_self_contained_ecs_events() {
    let r = common::sample_report();
    let opts = JsonlOptions {
        host_name: Some("WS01".into()),
    };
    let text = render(|w| write_report_jsonl(w, &r, &opts));
    let lines: Vec<&str> = text.lines().collect();
    // 3 processes + 1 finding, each parses alone.
    assert_eq!(lines.len(), 4);
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect();
    for e in &events {
        assert_eq!(e["@timestamp"], "2024-01-17T21:20:00Z");
        assert_eq!(e["event"]["module"], "memtriage");
        assert_eq!(e["host"]["name"], "WS01");
        assert_eq!(e["memtriage"]["schema"], "memtriage-report/1");
        assert_eq!(e["memtriage"]["image"]["path"], "mem.raw");
    }
    let procs: Vec<u64> = events[..3]
        .iter()
        .map(|e| {
            assert_eq!(e["event"]["kind"], "event");
            assert_eq!(e["event"]["category"], json!(["process"]));
            e["process"]["pid"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(procs, vec![4, 1337, 666]);
    assert_eq!(events[2]["process"]["parent"]["pid"], 1337);
    assert_eq!(events[2]["memtriage"]["hidden"], true);
    assert_eq!(events[2]["memtriage"]["offset"], "0xffffa0000c0000c0");

    let alert = &events[3];
    assert_eq!(alert["event"]["kind"], "alert");
    assert_eq!(alert["event"]["severity"], 4);
    assert_eq!(alert["rule"]["id"], "rwx_private");
    assert_eq!(alert["threat"]["technique"]["id"], json!(["T1055"]));
    assert_eq!(alert["process"]["pid"], 1337);
    assert_eq!(alert["process"]["parent"]["pid"], 4);
    assert_eq!(
        alert["process"]["executable"],
        r"C:\Program Files\Java\jre\bin\java.exe"
    );
    assert_eq!(alert["memtriage"]["address"], "0x7ff000000000");
    assert_eq!(alert["memtriage"]["end"], "0x7ff000000fff");
    assert_eq!(alert["memtriage"]["severity"], "high");
    assert_eq!(alert["memtriage"]["evidence"]["commit_charge"], 1);
    assert_eq!(alert["message"], "private executable and writable memory");
}

#[test]
fn report_jsonl_without_time_host_or_pid() {
    let mut r = Report::new(Image {
        path: "x.dmp".into(),
        format: "crashdump-full".into(),
        size: 1,
        sha256: None,
    });
    r.findings
        .push(Finding::new("kernel_hook", Severity::Medium, "hook"));
    let text = render(|w| write_report_jsonl(w, &r, &JsonlOptions::default()));
    assert_eq!(
        text,
        concat!(
            r#"{"ecs":{"version":"9.4.0"},"event":{"category":["malware"],"dataset":"memtriage.finding","kind":"alert","module":"memtriage","severity":3,"type":["info"]},"#,
            r#""memtriage":{"evidence":{},"image":{"format":"crashdump-full","path":"x.dmp"},"schema":"memtriage-report/1","severity":"medium"},"#,
            r#""message":"hook","rule":{"id":"kernel_hook","name":"kernel_hook","ruleset":"memtriage"}}"#,
            "\n"
        )
    );
}

#[test]
fn report_table_golden() {
    let r = common::sample_report();
    assert_eq!(render(|w| write_report_table(w, &r)), REPORT_TABLE);
}

#[test]
fn report_table_escapes_control_characters() {
    let mut r = common::sample_report();
    r.processes[0].name = "Sys\ntem\u{1b}[31m".into();
    let text = render(|w| write_report_table(w, &r));
    assert!(text.contains(r"Sys\ntem\u{1b}[31m"), "{text}");
    assert!(!text.contains('\u{1b}'));
}

fn sample_table() -> Table {
    let mut t = Table::new(
        "Modules",
        vec![
            Column::new("pid", ColumnKind::Int),
            Column::new("base", ColumnKind::Hex),
            Column::new("name", ColumnKind::Text),
            Column::new("loaded", ColumnKind::Bool),
            Column::new("time", ColumnKind::Time),
        ],
    );
    t.push(vec![
        Cell::UInt(4),
        Cell::Hex(0xfffff8057c600000),
        "ntoskrnl.exe".into(),
        Cell::Bool(true),
        Cell::Time("2024-01-17T21:20:00Z".into()),
    ]);
    t.push(vec![
        Cell::Int(-1),
        Cell::Hex(0x10000),
        r#"a "quoted", name"#.into(),
        Cell::Bool(false),
        Cell::Null,
    ]);
    // A short row: the missing cells are null.
    t.push(vec![Cell::UInt(1337)]);
    t
}

#[test]
fn table_human_golden() {
    let expected = concat!(
        "Modules\n",
        " pid  base                name              loaded  time\n",
        "----  ------------------  ----------------  ------  --------------------\n",
        "   4  0xfffff8057c600000  ntoskrnl.exe      true    2024-01-17T21:20:00Z\n",
        "  -1  0x10000             a \"quoted\", name  false   -\n",
        "1337  -                   -                 -       -\n",
    );
    assert_eq!(render(|w| write_table(w, &sample_table())), expected);
}

#[test]
fn table_csv_golden_with_quoting() {
    let expected = concat!(
        "pid,base,name,loaded,time\n",
        "4,0xfffff8057c600000,ntoskrnl.exe,true,2024-01-17T21:20:00Z\n",
        "-1,0x10000,\"a \"\"quoted\"\", name\",false,\n",
        "1337,,,,\n",
    );
    assert_eq!(render(|w| write_table_csv(w, &sample_table())), expected);

    // Embedded newlines are quoted, not split into records.
    let mut t = Table::new("", vec![Column::new("cmd", ColumnKind::Text)]);
    t.push(vec!["line1\nline2".into()]);
    assert_eq!(
        render(|w| write_table_csv(w, &t)),
        "cmd\n\"line1\nline2\"\n"
    );
}

#[test]
fn table_json_golden() {
    let expected = r#"{
  "columns": [
    {
      "kind": "int",
      "name": "pid"
    },
    {
      "kind": "hex",
      "name": "base"
    },
    {
      "kind": "text",
      "name": "name"
    },
    {
      "kind": "bool",
      "name": "loaded"
    },
    {
      "kind": "time",
      "name": "time"
    }
  ],
  "rows": [
    {
      "base": "0xfffff8057c600000",
      "loaded": true,
      "name": "ntoskrnl.exe",
      "pid": 4,
      "time": "2024-01-17T21:20:00Z"
    },
    {
      "base": "0x10000",
      "loaded": false,
      "name": "a \"quoted\", name",
      "pid": -1,
      "time": null
    },
    {
      "base": null,
      "loaded": null,
      "name": null,
      "pid": 1337,
      "time": null
    }
  ],
  "title": "Modules"
}
"#;
    assert_eq!(render(|w| write_table_json(w, &sample_table())), expected);
}

#[test]
fn table_jsonl_golden() {
    let expected = concat!(
        r#"{"base":"0xfffff8057c600000","loaded":true,"name":"ntoskrnl.exe","pid":4,"time":"2024-01-17T21:20:00Z"}"#,
        "\n",
        r#"{"base":"0x10000","loaded":false,"name":"a \"quoted\", name","pid":-1,"time":null}"#,
        "\n",
        r#"{"base":null,"loaded":null,"name":null,"pid":1337,"time":null}"#,
        "\n",
    );
    assert_eq!(render(|w| write_table_jsonl(w, &sample_table())), expected);
}

/// pstree-style table: System(4) -> smss(300) -> csrss(400), System -> wininit(500).
fn tree_table() -> Table {
    let mut t = Table::new(
        "pstree",
        vec![
            Column::new("pid", ColumnKind::Int),
            Column::new("name", ColumnKind::Text),
        ],
    );
    t.push_at_depth(0, vec![Cell::UInt(4), "System".into()]);
    t.push_at_depth(1, vec![Cell::UInt(300), "smss.exe".into()]);
    t.push_at_depth(2, vec![Cell::UInt(400), "csrss.exe".into()]);
    t.push_at_depth(1, vec![Cell::UInt(500), "wininit.exe".into()]);
    t.push_at_depth(0, vec![Cell::UInt(9000), "orphan.exe".into()]);
    t
}

#[test]
fn tree_table_writers() {
    let t = tree_table();
    assert_eq!(
        render(|w| write_table(w, &t)),
        concat!(
            "pstree\n",
            "pid      name\n",
            "-------  -----------\n",
            "4        System\n",
            "  300    smss.exe\n",
            "    400  csrss.exe\n",
            "  500    wininit.exe\n",
            "9000     orphan.exe\n",
        )
    );
    let json: Value = serde_json::from_str(&render(|w| write_table_json(w, &t))).unwrap();
    assert_eq!(
        json["rows"],
        json!([
            {"pid": 4, "name": "System", "children": [
                {"pid": 300, "name": "smss.exe", "children": [
                    {"pid": 400, "name": "csrss.exe", "children": []}
                ]},
                {"pid": 500, "name": "wininit.exe", "children": []}
            ]},
            {"pid": 9000, "name": "orphan.exe", "children": []}
        ])
    );
    assert_eq!(
        render(|w| write_table_csv(w, &t)),
        "pid,name,depth\n4,System,0\n300,smss.exe,1\n400,csrss.exe,2\n500,wininit.exe,1\n9000,orphan.exe,0\n"
    );
    let jsonl = render(|w| write_table_jsonl(w, &t));
    assert_eq!(
        jsonl.lines().nth(2).unwrap(),
        r#"{"depth":2,"name":"csrss.exe","pid":400}"#
    );
}

#[test]
fn tree_json_survives_absurd_depths() {
    // A 10 000-deep chain (a corrupt capture) must neither overflow the stack nor nest deeper
    // than MAX_TREE_DEPTH.
    let mut t = Table::new("deep", vec![Column::new("pid", ColumnKind::Int)]);
    for d in 0..10_000u32 {
        t.push_at_depth(d, vec![Cell::UInt(u64::from(d))]);
    }
    let json: Value = serde_json::from_str(&render(|w| write_table_json(w, &t))).unwrap();
    let mut node = &json["rows"][0];
    let mut depth = 0;
    while let Some(child) = node["children"].get(0) {
        node = child;
        depth += 1;
    }
    assert_eq!(depth, MAX_TREE_DEPTH as usize);
    // Rows past the cap are siblings at the cap depth.
    let parent_children = {
        let mut n = &json["rows"][0];
        for _ in 0..MAX_TREE_DEPTH - 1 {
            n = &n["children"][0];
        }
        n["children"].as_array().unwrap().len()
    };
    assert_eq!(parent_children, 10_000 - MAX_TREE_DEPTH as usize);
}

#[test]
fn processes_table_is_a_tree_by_ppid() {
    let r = common::sample_report();
    let t = processes_table(&r);
    assert_eq!(t.depths, vec![0, 1, 2]);
    let pids: Vec<&Cell> = t.rows.iter().map(|r| &r[0]).collect();
    assert_eq!(
        pids,
        vec![&Cell::UInt(4), &Cell::UInt(1337), &Cell::UInt(666)]
    );
    let f = findings_table(&r);
    assert_eq!(
        render(|w| write_table_csv(w, &f)),
        "severity,rule,pid,process,address,end,description,mitre\nhigh,rwx_private,1337,java.exe,0x7ff000000000,0x7ff000000fff,private executable and writable memory,T1055\n"
    );
    let k = kernel_modules_table(&r);
    assert_eq!(
        render(|w| write_table_csv(w, &k)),
        "base,size,name,path\n0xfffff8057c600000,0x1046000,ntoskrnl.exe,\\SystemRoot\\system32\\ntoskrnl.exe\n"
    );
}

#[test]
fn hex_serde_round_trip() {
    for v in [0u64, 1, 0x1aa000, 0xfffff8057c600000, u64::MAX] {
        let s = serde_json::to_string(&Hex(v)).unwrap();
        assert_eq!(s, format!("\"0x{v:x}\""));
        assert_eq!(serde_json::from_str::<Hex>(&s).unwrap(), Hex(v));
    }
    assert_eq!(
        serde_json::to_string(&Hex(u64::MAX)).unwrap(),
        "\"0xffffffffffffffff\""
    );
    // Numbers are rejected: they do not survive SIEM tools.
    assert!(serde_json::from_str::<Hex>("4096").is_err());
    assert!(serde_json::from_str::<Hex>("\"4096\"").is_err());
    assert!(serde_json::from_str::<Hex>("\"0x\"").is_err());
    assert!(serde_json::from_str::<Hex>("\"0x10000000000000000\"").is_err());
}
