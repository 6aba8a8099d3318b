//! Writing results to stdout: format defaults, broken pipes, progress on stderr.

use crate::args::{Format, ReportFormat};
use crate::width::{table_width, write_clipped};
use memtriage_report::{write_table, write_table_csv, write_table_json, write_table_jsonl, Table};
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The format to use: the user's, else table on a terminal and JSON in a pipe.
pub fn resolve(format: Option<Format>) -> Format {
    format.unwrap_or(if io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    })
}

/// The format of `report`: the user's, else table on a terminal and JSON in a pipe.
pub fn resolve_report(format: Option<ReportFormat>) -> ReportFormat {
    format.unwrap_or(if io::stdout().is_terminal() {
        ReportFormat::Table
    } else {
        ReportFormat::Json
    })
}

/// Run `f` with a buffered stdout; a closed pipe (`| head`) is not an error.
pub fn to_stdout(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), String> {
    let stdout = io::stdout();
    let mut w = io::BufWriter::new(stdout.lock());
    match f(&mut w).and_then(|_| w.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("writing output: {e}")),
    }
}

/// Run `f` for `format` and send what it writes to stdout. For tables, `f` gets the width to
/// lay out for ([`table_width`]) and every line it writes is cut to that width as a last guard;
/// machine formats get `None` and are written unchanged.
pub fn emit(
    format: Format,
    f: impl FnOnce(&mut dyn Write, Option<usize>) -> io::Result<()>,
) -> Result<(), String> {
    if format == Format::Table {
        let width = table_width();
        let mut text = Vec::new();
        f(&mut text, Some(width)).map_err(|e| format!("writing output: {e}"))?;
        to_stdout(|w| write_clipped(w, &text, width))
    } else {
        to_stdout(|w| f(w, None))
    }
}

/// Write a table in `format`.
pub fn write(w: &mut dyn Write, table: &Table, format: Format) -> io::Result<()> {
    match format {
        Format::Table => write_table(w, table),
        Format::Json => write_table_json(w, table),
        Format::Jsonl => write_table_jsonl(w, table),
        Format::Csv => write_table_csv(w, table),
    }
}

/// A progress bar on stderr (only when stderr is a terminal and not `--quiet`) that follows a
/// byte counter until dropped.
pub struct Progress {
    done: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Show `message` with `counter` out of `total` bytes.
    pub fn bytes(
        message: &'static str,
        total: u64,
        counter: Arc<AtomicU64>,
        quiet: bool,
    ) -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        if quiet || !io::stderr().is_terminal() {
            return Progress { done, handle: None };
        }
        let flag = done.clone();
        let handle = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message(message);
            while !flag.load(Ordering::Relaxed) {
                bar.set_position(counter.load(Ordering::Relaxed).min(total));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Progress {
            done,
            handle: Some(handle),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
