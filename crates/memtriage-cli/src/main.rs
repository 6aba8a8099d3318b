//! `memtriage`: triage Windows x64 memory captures offline.
//!
//! Exit codes: 0 ok; 1 findings at or above `--fail-on` (or `diff` found differences);
//! 2 usage error or unreadable input (one line on stderr naming the file and the cause).
#![forbid(unsafe_code)]

mod args;
mod commands;
mod diagnose;
mod failure;
mod fleet;
mod generate;
mod layout;
mod output;
mod remote;
mod width;
mod yarascan;

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(commands::run())
}
