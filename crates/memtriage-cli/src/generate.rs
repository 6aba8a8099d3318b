//! `completions` and `man`: shell completion scripts and the man page, generated from the
//! same command definition the parser uses (plugin subcommands included).

use crate::args::ShellArg;
use std::io::{self, Write};

/// Writes the completion script for `shell` (command name `memtriage`).
pub fn completions(cmd: &mut clap::Command, shell: ShellArg, w: &mut dyn Write) {
    clap_complete::generate(clap_complete::Shell::from(shell), cmd, "memtriage", w);
}

/// Writes the man page (roff): synopsis, description, options, and a SUBCOMMANDS section that
/// names every command with its one-line description.
pub fn man(cmd: &clap::Command, w: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(cmd.clone().disable_help_subcommand(true)).render(w)
}
