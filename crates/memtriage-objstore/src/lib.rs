//! Captures in object storage for memtriage.
//!
//! `s3://bucket/key` names an object in S3 or an S3-compatible server. [`open_url`] opens it
//! as physical memory: an [`S3Source`] reads the object with HTTP range requests (through the
//! `object_store` crate), small random reads of the walkers go through a bounded LRU
//! [`BlockCache`] of 256 KiB blocks (256 MiB per capture), and the pool scan's 16 MiB reads are fetched as single
//! large ranges that bypass the cache. Credentials and the endpoint come from the standard AWS
//! environment variables. [`ReadStats`] counts requests and bytes (`report -v`).
//!
//! Nothing here runs unless an `s3://` URL is given; the CLI compiles this crate only with its
//! `s3` feature.
#![forbid(unsafe_code)]

mod bucket;
mod cache;
mod client;
mod location;
mod open;
mod raw;
mod s3;
mod source;
mod stats;

pub use bucket::{list_prefix, put_object};
pub use cache::{BlockCache, CachePolicy, Fetch};
pub use location::{is_s3_url, S3Location, S3_SCHEME};
pub use open::{open_source, ReadMode};
pub use raw::RawSourceMemory;
pub use s3::S3Source;
pub use source::ByteSource;
pub use stats::{ReadStats, ReadStatsSnapshot};

use memtriage_dump::PhysicalMemory;
use std::sync::Arc;

/// Why an object could not be opened or read. Every message names the URL.
#[derive(Debug, thiserror::Error)]
pub enum ObjStoreError {
    /// Not a usable `s3://bucket/key` URL.
    #[error("{url}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store refused or could not be reached (no such bucket or key, bad credentials,
    /// connection refused, ...).
    #[error("{url}: {reason}")]
    Store {
        /// The object.
        url: String,
        /// The store's message, on one line.
        reason: String,
    },
    /// The object is empty.
    #[error("{url}: empty object (0 bytes), not a memory capture")]
    Empty {
        /// The object.
        url: String,
    },
    /// Reading the object failed part-way.
    #[error("{url}: {reason}")]
    Read {
        /// The object.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The capture reader rejected the bytes (the message names the URL).
    #[error("{message}")]
    Capture {
        /// The reader's one-line message.
        message: String,
    },
}

/// A capture opened from object storage.
#[derive(Clone)]
pub struct RemoteCapture {
    /// Its physical memory.
    pub memory: Arc<dyn PhysicalMemory>,
    /// Requests made and bytes read so far.
    pub stats: Arc<ReadStats>,
    /// How it is read.
    pub mode: ReadMode,
    /// The URL it was opened from.
    pub url: String,
}

impl std::fmt::Debug for RemoteCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteCapture")
            .field("url", &self.url)
            .field("mode", &self.mode)
            .finish()
    }
}

/// Open the capture at `url` (`s3://bucket/key`) with the default cache policy.
pub fn open_url(url: &str) -> Result<RemoteCapture, ObjStoreError> {
    let source = S3Source::open(url, CachePolicy::from_env())?;
    let stats = source.stats();
    let url = source.name();
    let (memory, mode) = open_source(Arc::new(source))?;
    Ok(RemoteCapture {
        memory: Arc::from(memory),
        stats,
        mode,
        url,
    })
}
