//! memtriage-paging (work in progress).
