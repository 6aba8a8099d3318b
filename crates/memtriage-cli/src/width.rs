//! How wide human tables may be: `$COLUMNS`, else the terminal's width, else 120 (a table
//! forced into a pipe or a file).

use memtriage_report::truncate_to_width;
use std::io::{self, IsTerminal, Write};

/// Width used when neither `$COLUMNS` nor a terminal says.
pub const PIPE_WIDTH: usize = 120;

/// Narrowest width honoured (a smaller `$COLUMNS` is raised to this).
pub const MIN_WIDTH: usize = 40;

/// The width human tables must fit: `$COLUMNS` when it is a positive number, else the width of
/// the terminal on stdout, else [`PIPE_WIDTH`]; never below [`MIN_WIDTH`].
pub fn table_width() -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    let from_terminal = || {
        let stdout = io::stdout();
        if stdout.is_terminal() {
            terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0))
        } else {
            None
        }
    };
    from_env
        .or_else(from_terminal)
        .unwrap_or(PIPE_WIDTH)
        .max(MIN_WIDTH)
}

/// Writes `text` to `w` with every line longer than `width` characters cut with `…` (the last
/// guard for lines that are not table cells: report headers, diff lines, vtop's result).
pub fn write_clipped(w: &mut dyn Write, text: &[u8], width: usize) -> io::Result<()> {
    let text = String::from_utf8_lossy(text);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        write!(w, "{}{newline}", truncate_to_width(body, width))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_short_ones_kept() {
        let mut out = Vec::new();
        write_clipped(&mut out, "short\n0123456789abc\nend".as_bytes(), 10).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&out), "short\n012345678…\nend");
    }
}
