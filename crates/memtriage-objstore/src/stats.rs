//! Counters of what a remote source fetched, for `-v`.

use std::sync::atomic::{AtomicU64, Ordering};

/// Requests made and bytes read by one remote source (shared between threads).
#[derive(Debug, Default)]
pub struct ReadStats {
    requests: AtomicU64,
    bytes: AtomicU64,
    cache_hits: AtomicU64,
    failures: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStatsSnapshot {
    /// HTTP requests made (range GETs and the initial HEAD).
    pub requests: u64,
    /// Bytes received in object bodies.
    pub bytes: u64,
    /// Block reads served from the cache.
    pub cache_hits: u64,
    /// Requests that failed (after the client's retries).
    pub failures: u64,
}

impl ReadStats {
    /// Count one request that returned `bytes` bytes.
    pub fn request(&self, bytes: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Count one failed request.
    pub fn failure(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Count one block served from the cache.
    pub fn hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> ReadStatsSnapshot {
        ReadStatsSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

impl std::fmt::Display for ReadStatsSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests, {} bytes read ({:.1} MiB), {} block-cache hits",
            self.requests,
            self.bytes,
            self.bytes as f64 / (1024.0 * 1024.0),
            self.cache_hits
        )?;
        if self.failures > 0 {
            write!(f, ", {} failed requests", self.failures)?;
        }
        Ok(())
    }
}
