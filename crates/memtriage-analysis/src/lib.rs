//! memtriage-analysis (work in progress).
