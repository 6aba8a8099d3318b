//! memtriage-windows (work in progress).
