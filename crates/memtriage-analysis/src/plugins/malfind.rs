//! `malfind`: suspicious executable private/mapped memory, with a hexdump and disassembly.

use super::selected;
use crate::detect::{malfind_hits, ProcessContext};
use crate::{AnalysisError, Needs, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, Hex, Row, Table};

/// Bytes shown in the hexdump and disassembled.
const HEAD_BYTES: usize = 64;
/// Instructions disassembled.
const MAX_INSTRUCTIONS: usize = 8;

memtriage_report::row! {
    /// One malfind hit.
    pub struct MalfindRow {
        /// Process id.
        pub pid: u64,
        /// Process name.
        pub process: String,
        /// First byte of the region.
        pub start: Hex,
        /// Last byte of the region (inclusive).
        pub end: Option<Hex>,
        /// The rule that fired (rwx_private or injected_pe).
        pub rule: String,
        /// Protection of the VAD.
        pub protection: Option<String>,
        /// private, image or mapped.
        pub r#type: Option<String>,
        /// The first 64 bytes, hex.
        pub hexdump: String,
        /// The first instructions at the region's start (Intel syntax).
        pub disassembly: String,
    }
}

fn disassemble(bytes: &[u8], ip: u64, max: usize) -> String {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    let mut decoder = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    let mut out = Vec::new();
    let mut text = String::new();
    while decoder.can_decode() && out.len() < max {
        let ins = decoder.decode();
        text.clear();
        fmt.format(&ins, &mut text);
        out.push(format!("{:#x}: {text}", ins.ip()));
    }
    out.join("; ")
}

/// `malfind`.
pub struct MalFind;

impl Plugin for MalFind {
    fn name(&self) -> &'static str {
        "malfind"
    }
    fn about(&self) -> &'static str {
        "Find injected code: RWX private memory and executable non-image memory holding a PE"
    }
    fn needs(&self) -> Needs {
        Needs { pool_scan: true }
    }
    fn columns(&self) -> Vec<Column> {
        MalfindRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let k = session.kernel()?;
        let mut t = Table::of::<MalfindRow>("malfind");
        let mut findings = Vec::new();
        for d in selected(session, options, true)? {
            let space = session.process_space(k, &d.process);
            let cx = ProcessContext {
                detail: d,
                space: &space,
            };
            for hit in malfind_hits(&cx) {
                let f = hit.finding;
                let start = f.address.map(|h| h.0).unwrap_or(0);
                let mut head = [0u8; HEAD_BYTES];
                let (hexdump, disassembly) = if space.read_exact(start, &mut head).is_ok() {
                    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
                    (hex.join(" "), disassemble(&head, start, MAX_INSTRUCTIONS))
                } else {
                    (String::new(), String::new())
                };
                t.push_row(MalfindRow {
                    pid: d.process.pid,
                    process: d.process.name.clone(),
                    start: Hex(start),
                    end: f.end,
                    rule: f.rule.clone(),
                    protection: Some(hit.region.vad.protection.name()),
                    r#type: Some(hit.region.mem_type.to_string()),
                    hexdump,
                    disassembly,
                });
                findings.push(f);
            }
        }
        Ok(PluginOutput {
            table: t,
            findings,
            warnings: Vec::new(),
        })
    }
}
