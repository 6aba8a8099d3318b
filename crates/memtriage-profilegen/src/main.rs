//! Regenerate the bundled profiles of memtriage-symbols.
//!
//! `cargo run -p memtriage-profilegen -- --data testdata --out crates/memtriage-symbols/bundled`
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut data = PathBuf::from("testdata");
    let mut out = PathBuf::from("crates/memtriage-symbols/bundled");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--data", Some(v)) => data = PathBuf::from(v),
            ("--out", Some(v)) => out = PathBuf::from(v),
            _ => {
                eprintln!("usage: memtriage-profilegen [--data DIR] [--out DIR]");
                return ExitCode::from(2);
            }
        }
    }
    let files = match memtriage_profilegen::generate::generate(&data) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("memtriage-profilegen: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("memtriage-profilegen: {}: {e}", out.display());
        return ExitCode::from(1);
    }
    for f in files {
        let path = out.join(&f.file_name);
        if let Err(e) = std::fs::write(&path, &f.bytes) {
            eprintln!("memtriage-profilegen: {}: {e}", path.display());
            return ExitCode::from(1);
        }
        println!("{} ({} bytes)", path.display(), f.bytes.len());
    }
    ExitCode::SUCCESS
}
