//! memtriage reads evidence offline unless told otherwise: the library crates and the CLI
//! built without its `s3` feature have no HTTP, TLS or async-network crate in their dependency
//! graph, and the default CLI (with `s3`) opens no connection unless an `s3://` URL is given.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{bin, repo};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

const BANNED: [&str; 13] = [
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
];

/// Crate names of `cargo tree -e normal ARGS` (normal dependencies only).
fn tree(args: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn assert_offline(krate: &str, more: &[&str]) {
    let args = [&["-p", krate], more].concat();
    let names = tree(&args);
    assert_eq!(names.first().map(String::as_str), Some(krate), "{names:?}");
    assert!(
        names.len() > 3,
        "cargo tree output parsed wrongly: {names:?}"
    );
    for banned in BANNED {
        assert!(
            !names.iter().any(|n| n == banned),
            "{banned} is a dependency of {args:?}"
        );
    }
}

#[test]
fn library_crates_pull_no_network_crate() {
    for krate in [
        "memtriage-paging",
        "memtriage-symbols",
        "memtriage-windows",
        "memtriage-analysis",
    ] {
        assert_offline(krate, &[]);
    }
}

#[test]
fn the_cli_without_the_s3_feature_pulls_no_network_crate() {
    assert_offline("memtriage-cli", &["--no-default-features"]);
    // The check can fail: with the feature, the network stack is there.
    let with = tree(&["-p", "memtriage-cli"]);
    assert!(with.iter().any(|n| n == "tokio"), "{with:?}");
}

/// A server on 127.0.0.1 that answers every request 403 and counts connections.
fn trap() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    (l, url)
}

/// Connections accepted so far (each answered 403).
fn drain(l: &TcpListener) -> usize {
    let mut n = 0;
    while let Ok((mut s, _)) = l.accept() {
        n += 1;
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let _ = s
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    n
}

fn memtriage_with_endpoint(endpoint: &str, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("HTTP_PROXY", endpoint)
        .env("HTTPS_PROXY", endpoint)
        .current_dir(repo())
        .output()
        .unwrap()
}

#[test]
fn nothing_is_fetched_unless_an_s3_url_is_given() {
    let (l, endpoint) = trap();
    let out = memtriage_with_endpoint(
        &endpoint,
        &[
            "report",
            "fixtures/samples/win10-19041.dmp",
            "-f",
            "json",
            "-v",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(drain(&l), 0, "a local report opened a connection");

    // The trap works: an s3:// URL does connect, and the refusal is one line naming the URL.
    let (l, endpoint) = trap();
    let handle = std::thread::spawn(move || {
        let mut n = 0;
        for _ in 0..100 {
            n += drain(&l);
            std::thread::sleep(Duration::from_millis(50));
            if n > 0 {
                break;
            }
        }
        n
    });
    let out = memtriage_with_endpoint(&endpoint, &["report", "s3://evidence/host42.dmp"]);
    assert!(
        handle.join().unwrap() > 0,
        "the s3:// report made no request"
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("memtriage: error: s3://evidence/host42.dmp: "),
        "{err}"
    );
}
