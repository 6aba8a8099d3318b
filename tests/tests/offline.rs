//! memtriage is offline by construction: no HTTP, TLS or async-network crate anywhere in the
//! dependency graph (Cargo.lock covers every crate of the workspace, dev-dependencies included).
#![allow(clippy::unwrap_used)]

use memtriage_e2e::repo;

#[test]
fn no_network_crate_in_the_dependency_tree() {
    let lock = std::fs::read_to_string(repo().join("Cargo.lock")).unwrap();
    let names: Vec<&str> = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|l| l.trim_end_matches('"'))
        .collect();
    assert!(names.contains(&"memmap2"), "Cargo.lock parsed wrongly");
    for banned in [
        "reqwest",
        "hyper",
        "ureq",
        "curl",
        "curl-sys",
        "native-tls",
        "rustls",
        "tokio",
        "h2",
        "isahc",
        "attohttpc",
        "surf",
        "openssl",
    ] {
        assert!(
            !names.contains(&banned),
            "{banned} is in the dependency tree"
        );
    }
}
