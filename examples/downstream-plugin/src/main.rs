//! `memtriage-orphans IMAGE [table|json|jsonl|csv]`: run the downstream `orphans` plugin with the
//! same session and output writers the memtriage CLI uses.
#![forbid(unsafe_code)]

use memtriage_analysis::{Plugin, PluginOptions, Session, SessionOptions};
use memtriage_example_downstream_plugin::Orphans;
use memtriage_report::{write_table, write_table_csv, write_table_json, write_table_jsonl};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(image) = args.next().map(PathBuf::from) else {
        eprintln!("usage: memtriage-orphans IMAGE [table|json|jsonl|csv]");
        return ExitCode::from(2);
    };
    let format = args.next().unwrap_or_else(|| "table".into());
    let result = Session::open(&image, SessionOptions::default())
        .and_then(|s| Orphans.run(&s, &PluginOptions::default()));
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            eprintln!("memtriage-orphans: error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut stdout = std::io::stdout().lock();
    let written = match format.as_str() {
        "json" => write_table_json(&mut stdout, &out.table),
        "jsonl" => write_table_jsonl(&mut stdout, &out.table),
        "csv" => write_table_csv(&mut stdout, &out.table),
        _ => write_table(&mut stdout, &out.table),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("memtriage-orphans: error: writing output: {e}");
            ExitCode::from(2)
        }
    }
}
