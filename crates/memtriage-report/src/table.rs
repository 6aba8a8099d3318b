//! A generic tabular plugin result, optionally a tree (for `pstree`).

use serde::{Deserialize, Serialize};

use crate::hex::Hex;

/// Deepest nesting level writers honour; deeper rows are shown at this depth. Keeps nested JSON
/// and indentation bounded when a capture holds a pathological parent chain: a tree JSON
/// document then nests at most 2 × 32 + 3 levels, under the 128-level limit of common JSON
/// parsers (serde_json, Python's json with default recursion is far above).
pub const MAX_TREE_DEPTH: u32 = 32;

/// Kind of a column, which decides formatting and alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Free text.
    Text,
    /// Integer (right-aligned in tables).
    Int,
    /// Address or size, printed as `0x…`.
    Hex,
    /// Boolean.
    Bool,
    /// ISO-8601 UTC time.
    Time,
}

/// One column of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name: the header in tables and CSV, the key in JSON.
    pub name: String,
    /// Column kind.
    pub kind: ColumnKind,
    /// One-line description (docs/plugins.md); not part of any output format.
    #[serde(skip)]
    pub doc: String,
}

impl Column {
    /// A column named `name` of kind `kind`.
    pub fn new(name: impl Into<String>, kind: ColumnKind) -> Self {
        Column {
            name: name.into(),
            kind,
            doc: String::new(),
        }
    }

    /// The same column with its one-line description.
    pub fn with_doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = doc.into();
        self
    }
}

/// One cell of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// No value (`-` in tables, empty in CSV, `null` in JSON).
    Null,
    /// Text.
    Text(String),
    /// Signed integer.
    Int(i64),
    /// Unsigned integer.
    UInt(u64),
    /// Address or size (`"0x…"` string in JSON).
    Hex(u64),
    /// Boolean.
    Bool(bool),
    /// ISO-8601 UTC time string.
    Time(String),
}

impl Cell {
    /// The JSON value of the cell (Hex as a `"0x…"` string).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Null => Value::Null,
            Cell::Text(s) | Cell::Time(s) => Value::String(s.clone()),
            Cell::Int(v) => Value::from(*v),
            Cell::UInt(v) => Value::from(*v),
            Cell::Hex(v) => Value::String(Hex(*v).to_string()),
            Cell::Bool(b) => Value::Bool(*b),
        }
    }

    /// The raw text of the cell as used in CSV (`Null` is empty, text is unescaped).
    pub fn to_plain(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) | Cell::Time(s) => s.clone(),
            Cell::Int(v) => v.to_string(),
            Cell::UInt(v) => v.to_string(),
            Cell::Hex(v) => Hex(*v).to_string(),
            Cell::Bool(b) => b.to_string(),
        }
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_owned())
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}

impl From<u64> for Cell {
    fn from(v: u64) -> Self {
        Cell::UInt(v)
    }
}

impl From<u32> for Cell {
    fn from(v: u32) -> Self {
        Cell::UInt(u64::from(v))
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}

impl From<bool> for Cell {
    fn from(v: bool) -> Self {
        Cell::Bool(v)
    }
}

impl From<Hex> for Cell {
    fn from(v: Hex) -> Self {
        Cell::Hex(v.0)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Null, Into::into)
    }
}

/// A generic tabular result of a plugin.
///
/// A flat table has an empty `depths`. A tree (e.g. `pstree`) stores its rows in pre-order with
/// one depth per row in `depths` (0 = root, a child's depth is its parent's + 1): the table
/// writer indents the first column, the JSON writer nests children under a `children` key,
/// and CSV / JSON Lines add a `depth` column. [`tree_order`] computes the pre-order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// Title (printed above the table, `title` in JSON).
    pub title: String,
    /// Columns.
    pub columns: Vec<Column>,
    /// Rows; each should have one cell per column (missing cells are written as null, extra
    /// cells are ignored).
    pub rows: Vec<Vec<Cell>>,
    /// Empty for a flat table; otherwise one depth per row, rows in pre-order.
    pub depths: Vec<u32>,
}

impl Table {
    /// An empty flat table.
    pub fn new(title: impl Into<String>, columns: Vec<Column>) -> Self {
        Table {
            title: title.into(),
            columns,
            rows: Vec::new(),
            depths: Vec::new(),
        }
    }

    /// True when the table is a tree (has per-row depths).
    pub fn is_tree(&self) -> bool {
        !self.depths.is_empty()
    }

    /// Appends a row to a flat table.
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Appends a row at `depth` (rows must be pushed in pre-order). Once used, every row
    /// should be pushed this way; rows pushed before get depth 0.
    pub fn push_at_depth(&mut self, depth: u32, row: Vec<Cell>) {
        if self.depths.len() < self.rows.len() {
            self.depths.resize(self.rows.len(), 0);
        }
        self.rows.push(row);
        self.depths.push(depth);
    }

    /// Depth of row `i`, clamped to [`MAX_TREE_DEPTH`] (0 for flat tables).
    pub fn depth(&self, i: usize) -> u32 {
        self.depths.get(i).copied().unwrap_or(0).min(MAX_TREE_DEPTH)
    }

    /// Cell `col` of `row`, `Null` when missing.
    pub(crate) fn cell(row: &[Cell], col: usize) -> &Cell {
        const NULL: Cell = Cell::Null;
        row.get(col).unwrap_or(&NULL)
    }
}

/// How a human table is laid out (see [`crate::write_table_with`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextLayout {
    /// The widest a line may be, in characters; `None` for no limit. Text cells are cut with
    /// `…` to fit, widest column first; numbers, addresses, booleans and times are never cut
    /// (a line can only exceed the limit when those alone do not fit).
    pub max_width: Option<usize>,
    /// Columns printed on their own lines under each row instead of in the grid (e.g.
    /// `malfind`'s hexdump and disassembly), indented by four spaces, one line per `\n` in
    /// the cell, each line cut to `max_width`.
    pub detail_columns: Vec<String>,
}

impl TextLayout {
    /// A layout limited to `max_width` characters per line, without detail columns.
    pub fn width(max_width: Option<usize>) -> Self {
        TextLayout {
            max_width,
            detail_columns: Vec::new(),
        }
    }

    /// Whether column `name` is printed under its row.
    pub fn is_detail(&self, name: &str) -> bool {
        self.detail_columns.iter().any(|d| d == name)
    }
}

/// The ellipsis that marks a cut cell.
pub const ELLIPSIS: char = '…';

/// Separator between two columns of a human table.
pub(crate) const COLUMN_GAP: usize = 2;

/// Narrowest a cut text column gets: its header, but at least this many characters.
const MIN_TEXT_WIDTH: usize = 6;

/// `s` cut to at most `width` characters, the last of them `…` when something was cut.
pub fn truncate_to_width(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push(ELLIPSIS);
    out
}

/// `text` wrapped into lines of at most `width` characters, breaking at spaces; a word longer
/// than `width` is split.
pub fn wrap_to_width(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let sep = usize::from(used > 0);
            if used + sep + word.len() <= width {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            let rest = word.split_off(width.min(word.len()));
            lines.push(word.iter().collect());
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Column widths that fit `max_width` (columns separated by [`COLUMN_GAP`]): starting from
/// each column's `natural` width, the widest cuttable column loses one character at a time
/// until the line fits or every cuttable column is at its `floor`. A column is cuttable when
/// `floor < natural`.
pub fn fit_widths(natural: &[usize], floor: &[usize], max_width: usize) -> Vec<usize> {
    let gaps = COLUMN_GAP * natural.len().saturating_sub(1);
    let mut widths = natural.to_vec();
    let mut total: usize = widths.iter().sum::<usize>() + gaps;
    while total > max_width {
        let widest = widths
            .iter()
            .enumerate()
            .filter(|&(c, &w)| w > floor.get(c).copied().unwrap_or(w))
            .max_by_key(|&(c, &w)| (w, std::cmp::Reverse(c)))
            .map(|(c, _)| c);
        let Some(c) = widest else { break };
        if let Some(w) = widths.get_mut(c) {
            *w -= 1;
            total -= 1;
        }
    }
    widths
}

/// The narrowest `column` may be cut to: text columns down to their header (at least
/// [`MIN_TEXT_WIDTH`]); every other kind keeps its natural width.
pub(crate) fn floor_width(column: &Column, natural: usize) -> usize {
    match column.kind {
        ColumnKind::Text => natural.min(column.name.chars().count().max(MIN_TEXT_WIDTH)),
        _ => natural,
    }
}

/// Renders aligned rows into lines: header, dashes, rows. Int columns are right-aligned, the
/// others left-aligned; columns are separated by two spaces; trailing spaces are trimmed. Row
/// `i` has its first cell indented by `indent(i)` levels of two spaces. With a width limit,
/// cells are cut with `…` (see [`fit_widths`]). `details[i]` holds the lines printed under row
/// `i` (indented by four spaces, cut to the limit).
pub(crate) fn render_aligned(
    columns: &[Column],
    rows: &[Vec<String>],
    indent: &dyn Fn(usize) -> usize,
    details: &[Vec<String>],
    max_width: Option<usize>,
) -> Vec<String> {
    let ncol = columns.len();
    let tree = (0..rows.len()).any(|i| indent(i) > 0);
    let mut cells: Vec<Vec<String>> = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let mut r: Vec<String> = (0..ncol)
            .map(|c| row.get(c).cloned().unwrap_or_else(|| "-".to_owned()))
            .collect();
        let pad = indent(i) * 2;
        if let (Some(first), true) = (r.first_mut(), pad > 0) {
            *first = format!("{}{}", " ".repeat(pad), first);
        }
        cells.push(r);
    }
    let natural: Vec<usize> = (0..ncol)
        .map(|c| {
            let head = columns.get(c).map_or(0, |col| col.name.chars().count());
            cells
                .iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .fold(head, usize::max)
        })
        .collect();
    // With a limit: cut text cells; when numbers alone still overflow, leave out trailing
    // columns (named in a note under the table) rather than cut through them.
    let (widths, shown) = match max_width {
        Some(max) => {
            let floor: Vec<usize> = columns
                .iter()
                .zip(&natural)
                .map(|(col, &n)| floor_width(col, n))
                .collect();
            let mut shown = ncol;
            loop {
                let widths = fit_widths(
                    natural.get(..shown).unwrap_or_default(),
                    floor.get(..shown).unwrap_or_default(),
                    max,
                );
                let total = widths.iter().sum::<usize>() + COLUMN_GAP * shown.saturating_sub(1);
                if total <= max || shown <= 1 {
                    break (widths, shown);
                }
                shown -= 1;
            }
        }
        None => (natural, ncol),
    };
    let hidden: Vec<&str> = columns
        .get(shown..)
        .unwrap_or_default()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let line = |values: &[String]| -> String {
        let mut out = String::new();
        for (c, v) in values.iter().take(shown).enumerate() {
            let width = widths.get(c).copied().unwrap_or(0);
            let v = truncate_to_width(v, width);
            // An indented (tree) first column stays left-aligned so the indentation shows.
            let right = columns
                .get(c)
                .is_some_and(|col| col.kind == ColumnKind::Int)
                && !(c == 0 && tree);
            if c > 0 {
                out.push_str(&" ".repeat(COLUMN_GAP));
            }
            let pad = " ".repeat(width.saturating_sub(v.chars().count()));
            if right {
                out.push_str(&pad);
                out.push_str(&v);
            } else {
                out.push_str(&v);
                out.push_str(&pad);
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = Vec::with_capacity(cells.len() + 2);
    let header: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    out.push(line(&header));
    let dashes: Vec<String> = widths.iter().map(|&n| "-".repeat(n)).collect();
    out.push(line(&dashes));
    for (i, r) in cells.iter().enumerate() {
        out.push(line(r));
        for d in details.get(i).map(Vec::as_slice).unwrap_or_default() {
            let text = format!("    {d}");
            out.push(match max_width {
                Some(max) => truncate_to_width(&text, max),
                None => text,
            });
        }
    }
    if let (false, Some(max)) = (hidden.is_empty(), max_width) {
        let note = format!(
            "({} more column{} at {max} characters wide: {}; JSON and CSV have every column)",
            hidden.len(),
            if hidden.len() == 1 { "" } else { "s" },
            hidden.join(", ")
        );
        out.extend(wrap_to_width(&note, max));
    }
    out
}

/// Orders nodes `(id, parent_id)` as a forest in pre-order; returns `(index, depth)` pairs
/// covering every node exactly once.
///
/// A node's parent is the first *other* node whose id equals its parent id; nodes without one
/// are roots. Children follow their input order. Nodes caught in a parent cycle (possible in
/// corrupt or smeared captures) are emitted starting from the lowest index of the cycle.
pub fn tree_order(nodes: &[(u64, u64)]) -> Vec<(usize, u32)> {
    use std::collections::HashMap;
    let mut first_index: HashMap<u64, usize> = HashMap::with_capacity(nodes.len());
    for (i, &(id, _)) in nodes.iter().enumerate() {
        first_index.entry(id).or_insert(i);
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut has_parent = vec![false; nodes.len()];
    for (i, &(id, parent)) in nodes.iter().enumerate() {
        let p = first_index.get(&parent).copied().filter(|&p| p != i);
        // A node whose parent id equals its own id is a root even if another node shares it.
        if let (Some(p), false) = (p, parent == id) {
            if let Some(c) = children.get_mut(p) {
                c.push(i);
            }
            if let Some(h) = has_parent.get_mut(i) {
                *h = true;
            }
        }
    }
    let mut visited = vec![false; nodes.len()];
    let mut out = Vec::with_capacity(nodes.len());
    let mut visit = |root: usize, out: &mut Vec<(usize, u32)>| {
        let mut stack = vec![(root, 0u32)];
        while let Some((i, depth)) = stack.pop() {
            match visited.get_mut(i) {
                Some(v) if !*v => *v = true,
                _ => continue,
            }
            out.push((i, depth));
            if let Some(c) = children.get(i) {
                for &child in c.iter().rev() {
                    stack.push((child, depth.saturating_add(1)));
                }
            }
        }
    };
    for i in 0..nodes.len() {
        if !has_parent.get(i).copied().unwrap_or(false) {
            visit(i, &mut out);
        }
    }
    // Whatever is left sits on a cycle (or hangs below one).
    for i in 0..nodes.len() {
        visit(i, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_order_forest() {
        // 4 System (ppid 0), 100 smss (4), 200 csrss (100), 300 explorer (999 unknown), 201 (100)
        let nodes = [(4, 0), (100, 4), (200, 100), (300, 999), (201, 100)];
        assert_eq!(
            tree_order(&nodes),
            vec![(0, 0), (1, 1), (2, 2), (4, 2), (3, 0)]
        );
    }

    #[test]
    fn tree_order_cycles_and_self_parent() {
        // 10 -> 11 -> 10 cycle, 5 is its own parent, 12 under the cycle.
        let nodes = [(10, 11), (11, 10), (5, 5), (12, 11)];
        assert_eq!(tree_order(&nodes), vec![(2, 0), (0, 0), (1, 1), (3, 2)]);
    }

    #[test]
    fn push_at_depth_pads_earlier_rows() {
        let mut t = Table::new("t", vec![Column::new("a", ColumnKind::Int)]);
        t.push(vec![Cell::UInt(1)]);
        t.push_at_depth(1, vec![Cell::UInt(2)]);
        assert_eq!(t.depths, vec![0, 1]);
        assert!(t.is_tree());
        t.depths[1] = 1000;
        assert_eq!(t.depth(1), MAX_TREE_DEPTH);
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate_to_width("explorer.exe", 12), "explorer.exe");
        assert_eq!(truncate_to_width("explorer.exe", 8), "explore…");
        assert_eq!(truncate_to_width("ab", 1), "…");
        assert_eq!(truncate_to_width("ab", 0), "");
    }

    #[test]
    fn fit_widths_cuts_the_widest_cuttable_column_first() {
        // 10 + 40 + 30 + 2 gaps of 2 = 84; limit 60 → cut 24 from the text columns, widest
        // first (ties go to the leftmost), until both are 23.
        assert_eq!(fit_widths(&[10, 40, 30], &[10, 6, 6], 60), vec![10, 23, 23]);
        // Floors are respected even when the line then stays too long.
        assert_eq!(fit_widths(&[18, 18, 20], &[18, 18, 6], 30), vec![18, 18, 6]);
        // Fits already: unchanged.
        assert_eq!(fit_widths(&[3, 4], &[1, 1], 9), vec![3, 4]);
    }

    #[test]
    fn render_aligned_fits_the_width_and_prints_details_under_rows() {
        let columns = vec![
            Column::new("pid", ColumnKind::Int),
            Column::new("name", ColumnKind::Text),
            Column::new("offset", ColumnKind::Hex),
        ];
        let rows = vec![vec![
            "4".to_owned(),
            "a-very-long-process-name.exe".to_owned(),
            "0xffff8000".to_owned(),
        ]];
        let details = vec![vec!["00 11 22 33 44 55 66 77 88 99 aa bb cc dd".to_owned()]];
        let lines = render_aligned(&columns, &rows, &|_| 0, &details, Some(30));
        assert_eq!(
            lines,
            vec![
                "pid  name           offset",
                "---  -------------  ----------",
                "  4  a-very-long-…  0xffff8000",
                "    00 11 22 33 44 55 66 77 8…",
            ]
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 30));
    }

    #[test]
    fn columns_that_cannot_fit_are_left_out_and_named() {
        let columns = vec![
            Column::new("start", ColumnKind::Hex),
            Column::new("end", ColumnKind::Hex),
            Column::new("pages", ColumnKind::Int),
        ];
        let rows = vec![vec![
            "0x7ff6af740000".to_owned(),
            "0x7ff6af740fff".to_owned(),
            "1".to_owned(),
        ]];
        // 14 + 2 + 14 + 2 + 5 = 37 columns: at 34, `pages` is left out and named.
        let lines = render_aligned(&columns, &rows, &|_| 0, &[], Some(34));
        assert_eq!(
            lines,
            vec![
                "start           end",
                "--------------  --------------",
                "0x7ff6af740000  0x7ff6af740fff",
                "(1 more column at 34 characters",
                "wide: pages; JSON and CSV have",
                "every column)",
            ]
        );
        assert_eq!(
            render_aligned(&columns, &rows, &|_| 0, &[], Some(37)).len(),
            3
        );
    }

    #[test]
    fn wrap_breaks_at_spaces_and_splits_long_words() {
        assert_eq!(
            wrap_to_width("the capture holds no physical memory", 12),
            vec!["the capture", "holds no", "physical", "memory"]
        );
        assert_eq!(
            wrap_to_width("abcdefghij xy", 4),
            vec!["abcd", "efgh", "ij", "xy"]
        );
        assert_eq!(wrap_to_width("", 4), vec![""]);
    }
}
