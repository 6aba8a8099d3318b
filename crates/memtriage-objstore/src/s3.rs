//! An object in S3-compatible storage as a [`ByteSource`]: HTTP range requests through
//! `object_store`, random reads through a [`BlockCache`].

use crate::client;
use crate::{BlockCache, ByteSource, CachePolicy, ObjStoreError, ReadStats, S3Location};
use bytes::Bytes;
use object_store::aws::AmazonS3;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStoreExt;
use std::io;
use std::ops::Range;
use std::sync::Arc;

/// One object in a bucket, read on demand.
///
/// Configuration comes from the standard AWS environment variables: `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` / `AWS_DEFAULT_REGION`,
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT` (an S3-compatible server; plain `http://` is allowed
/// for such an endpoint), `AWS_ALLOW_HTTP`.
pub struct S3Source {
    location: S3Location,
    path: ObjectPath,
    store: AmazonS3,
    runtime: tokio::runtime::Runtime,
    len: u64,
    cache: BlockCache,
    stats: Arc<ReadStats>,
}

impl std::fmt::Debug for S3Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Source")
            .field("url", &self.location.url())
            .field("len", &self.len)
            .finish()
    }
}

impl S3Source {
    /// Open `url` (`s3://bucket/key`): one HEAD request for its length.
    pub fn open(url: &str, policy: CachePolicy) -> Result<S3Source, ObjStoreError> {
        let location = S3Location::parse(url)?;
        let store_err = |e: object_store::Error| ObjStoreError::Store {
            url: location.url(),
            reason: client::reason(&e),
        };
        let store = client::store(&location)?;
        let runtime = client::runtime(&location)?;
        let path = ObjectPath::from(location.key.as_str());
        let stats = Arc::new(ReadStats::default());
        let meta = runtime.block_on(store.head(&path)).map_err(|e| {
            stats.failure();
            store_err(e)
        })?;
        stats.request(0);
        if meta.size == 0 {
            return Err(ObjStoreError::Empty {
                url: location.url(),
            });
        }
        Ok(S3Source {
            location,
            path,
            store,
            runtime,
            len: meta.size,
            cache: BlockCache::new(policy),
            stats,
        })
    }

    /// The counters of requests and bytes.
    pub fn stats(&self) -> Arc<ReadStats> {
        self.stats.clone()
    }

    /// One range request.
    fn fetch(&self, range: Range<u64>) -> io::Result<Bytes> {
        match self
            .runtime
            .block_on(self.store.get_range(&self.path, range))
        {
            Ok(b) => {
                self.stats.request(b.len() as u64);
                Ok(b)
            }
            Err(e) => {
                self.stats.failure();
                Err(io::Error::other(client::reason(&e)))
            }
        }
    }
}

impl ByteSource for S3Source {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.cache
            .read_at(self.len, offset, buf, &|r| self.fetch(r), &self.stats)
    }

    fn name(&self) -> String {
        self.location.url()
    }
}
