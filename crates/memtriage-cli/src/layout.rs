//! Human presentation of plugin tables: which columns go under their row, and how.

use memtriage_report::{Cell, Table, TextLayout};

/// Columns printed on their own lines under each row (too wide for a grid cell).
pub const DETAIL_COLUMNS: [&str; 2] = ["hexdump", "disassembly"];

/// Bytes per hexdump line.
const HEX_BYTES_PER_LINE: usize = 16;

/// Reflows a detail cell into lines: a hexdump (`"4d 5a 90 …"`) becomes lines of 16 bytes
/// with their offset; a disassembly (`"0x…: mov …; 0x…: …"`) one instruction per line.
fn reflow(column: &str, text: &str) -> String {
    match column {
        "hexdump" => {
            let bytes: Vec<&str> = text.split_whitespace().collect();
            bytes
                .chunks(HEX_BYTES_PER_LINE)
                .enumerate()
                .map(|(i, chunk)| format!("+{:03x}  {}", i * HEX_BYTES_PER_LINE, chunk.join(" ")))
                .collect::<Vec<_>>()
                .join("\n")
        }
        "disassembly" => text.split("; ").collect::<Vec<_>>().join("\n"),
        _ => text.to_owned(),
    }
}

/// The table as shown to people within `width` columns, and its layout: detail columns
/// ([`DETAIL_COLUMNS`]) reflowed and moved under their rows.
pub fn for_humans(table: &Table, width: usize) -> (Table, TextLayout) {
    let details: Vec<(usize, String)> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| DETAIL_COLUMNS.contains(&c.name.as_str()))
        .map(|(i, c)| (i, c.name.clone()))
        .collect();
    let mut shown = table.clone();
    for row in &mut shown.rows {
        for (i, name) in &details {
            if let Some(Cell::Text(text)) = row.get_mut(*i) {
                *text = reflow(name, text);
            }
        }
    }
    let layout = TextLayout {
        max_width: Some(width),
        detail_columns: details.into_iter().map(|(_, n)| n).collect(),
    };
    (shown, layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexdump_and_disassembly_are_reflowed() {
        let hex: Vec<String> = (0u8..20).map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            reflow("hexdump", &hex.join(" ")),
            "+000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n+010  10 11 12 13"
        );
        assert_eq!(
            reflow("disassembly", "0x1000: push rbp; 0x1001: mov rbp,rsp"),
            "0x1000: push rbp\n0x1001: mov rbp,rsp"
        );
    }
}
