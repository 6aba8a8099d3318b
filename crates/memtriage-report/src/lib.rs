//! memtriage-report (work in progress).
