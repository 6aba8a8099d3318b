//! Regenerate the bundled profiles of memtriage-symbols.
//!
//! `cargo run -p memtriage-symbols --bin gen-bundled -- --shared testdata --out crates/memtriage-symbols/bundled`
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut shared = PathBuf::from("testdata");
    let mut out = PathBuf::from("crates/memtriage-symbols/bundled");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--shared", Some(v)) => shared = PathBuf::from(v),
            ("--out", Some(v)) => out = PathBuf::from(v),
            _ => {
                eprintln!("usage: gen-bundled [--shared DIR] [--out DIR]");
                return ExitCode::from(2);
            }
        }
    }
    let files = match memtriage_symbols::generate::generate(&shared) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("gen-bundled: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("gen-bundled: {}: {e}", out.display());
        return ExitCode::from(1);
    }
    for f in files {
        let path = out.join(&f.file_name);
        if let Err(e) = std::fs::write(&path, &f.bytes) {
            eprintln!("gen-bundled: {}: {e}", path.display());
            return ExitCode::from(1);
        }
        println!("{} ({} bytes)", path.display(), f.bytes.len());
    }
    ExitCode::SUCCESS
}
