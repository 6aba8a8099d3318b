//! memtriage command-line front end.
fn main() {}
