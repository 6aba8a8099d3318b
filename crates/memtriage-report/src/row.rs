//! Typed plugin rows: a struct that declares its columns once and renders into a [`Table`].
//!
//! A plugin's row type is written with the [`row!`](crate::row) macro: each field's Rust type
//! decides its column kind (through [`CellValue`]) and each field's doc comment is the column's
//! one-line description. The writers (table, JSON, JSON Lines, CSV) render the [`Table`] the
//! rows fill, so a row can never miss a cell.

use crate::hex::Hex;
use crate::table::{Cell, Column, ColumnKind, Table};
use crate::timefmt::filetime_to_iso;

/// A value that fills one cell, with the column kind that shows it.
pub trait CellValue {
    /// Kind of the column holding values of this type.
    const KIND: ColumnKind;
    /// The cell.
    fn into_cell(self) -> Cell;
}

/// A Windows FILETIME (100 ns ticks since 1601), shown as an ISO-8601 UTC time; zero is null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FileTime(pub u64);

macro_rules! cell_value {
    ($t:ty, $kind:ident, |$v:ident| $cell:expr) => {
        impl CellValue for $t {
            const KIND: ColumnKind = ColumnKind::$kind;
            fn into_cell(self) -> Cell {
                let $v = self;
                $cell
            }
        }
    };
}

cell_value!(u64, Int, |v| Cell::UInt(v));
cell_value!(u32, Int, |v| Cell::UInt(u64::from(v)));
cell_value!(i64, Int, |v| Cell::Int(v));
cell_value!(bool, Bool, |v| Cell::Bool(v));
cell_value!(String, Text, |v| Cell::Text(v));
cell_value!(&'static str, Text, |v| Cell::Text(v.to_owned()));
cell_value!(Hex, Hex, |v| Cell::Hex(v.0));
cell_value!(FileTime, Time, |v| filetime_to_iso(v.0)
    .map_or(Cell::Null, Cell::Time));

impl<T: CellValue> CellValue for Option<T> {
    const KIND: ColumnKind = T::KIND;
    fn into_cell(self) -> Cell {
        self.map_or(Cell::Null, CellValue::into_cell)
    }
}

/// A typed row of a plugin table.
pub trait Row {
    /// The columns, in order, with their kinds and one-line docs.
    fn columns() -> Vec<Column>;
    /// The cells, one per column, in the same order.
    fn into_cells(self) -> Vec<Cell>;
}

/// Two rows side by side: the columns of `A`, then those of `B` (e.g. a scan status before
/// the process columns).
impl<A: Row, B: Row> Row for (A, B) {
    fn columns() -> Vec<Column> {
        let mut c = A::columns();
        c.extend(B::columns());
        c
    }
    fn into_cells(self) -> Vec<Cell> {
        let mut c = self.0.into_cells();
        c.extend(self.1.into_cells());
        c
    }
}

impl Table {
    /// An empty table with the columns of row type `R`.
    pub fn of<R: Row>(title: impl Into<String>) -> Table {
        Table::new(title, R::columns())
    }

    /// Appends a typed row.
    pub fn push_row<R: Row>(&mut self, row: R) {
        self.push(row.into_cells());
    }

    /// Appends a typed row at `depth` of a tree table.
    pub fn push_row_at_depth<R: Row>(&mut self, depth: u32, row: R) {
        self.push_at_depth(depth, row.into_cells());
    }
}

/// Declares a plugin row struct and its [`Row`] implementation in one place.
///
/// ```
/// memtriage_report::row! {
///     /// One thing.
///     pub struct ThingRow {
///         /// Process id.
///         pub pid: u64,
///         /// Where it is.
///         pub address: memtriage_report::Hex,
///     }
/// }
/// let t = memtriage_report::Table::of::<ThingRow>("things");
/// assert_eq!(t.columns[1].name, "address");
/// assert_eq!(t.columns[0].doc, "Process id.");
/// ```
#[macro_export]
macro_rules! row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                #[doc = $doc:literal]
                $fvis:vis $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            $(
                #[doc = $doc]
                $fvis $field: $ty,
            )*
        }

        impl $crate::Row for $name {
            fn columns() -> ::std::vec::Vec<$crate::Column> {
                ::std::vec![
                    $(
                        $crate::Column::new(
                            stringify!($field).trim_start_matches("r#"),
                            <$ty as $crate::CellValue>::KIND,
                        )
                            .with_doc($doc.trim()),
                    )*
                ]
            }
            fn into_cells(self) -> ::std::vec::Vec<$crate::Cell> {
                ::std::vec![
                    $( $crate::CellValue::into_cell(self.$field), )*
                ]
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::row! {
        /// A test row.
        pub struct Sample {
            /// Id.
            pub id: u64,
            /// Name.
            pub name: String,
            /// Base.
            pub base: Hex,
            /// When.
            pub when: FileTime,
            /// Maybe.
            pub maybe: Option<Hex>,
        }
    }

    #[test]
    fn rows_declare_their_columns_once_and_fill_every_cell() {
        let mut t = Table::of::<Sample>("t");
        let kinds: Vec<_> = t
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("id", ColumnKind::Int),
                ("name", ColumnKind::Text),
                ("base", ColumnKind::Hex),
                ("when", ColumnKind::Time),
                ("maybe", ColumnKind::Hex)
            ]
        );
        assert_eq!(t.columns[2].doc, "Base.");
        t.push_row(Sample {
            id: 7,
            name: "x".into(),
            base: Hex(0x1000),
            when: FileTime(0),
            maybe: None,
        });
        assert_eq!(
            t.rows[0],
            vec![
                Cell::UInt(7),
                Cell::Text("x".into()),
                Cell::Hex(0x1000),
                Cell::Null,
                Cell::Null
            ]
        );
    }

    #[test]
    fn a_pair_of_rows_concatenates_columns_and_cells() {
        crate::row! {
            /// Status.
            pub struct Status {
                /// Word.
                pub status: &'static str,
            }
        }
        let cols = <(Status, Sample) as Row>::columns();
        assert_eq!(cols.len(), 6);
        assert_eq!(cols[0].name, "status");
        assert_eq!(cols[1].name, "id");
    }
}
