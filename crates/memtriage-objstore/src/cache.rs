//! A bounded block cache for the random reads of the walkers, with a bypass for the large
//! sequential reads of the pool scan.

use crate::ReadStats;
use bytes::Bytes;
use lru::LruCache;
use std::io;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::Mutex;

/// How reads are cut into requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// Size of one cached block (one range request on a miss).
    pub block_size: u64,
    /// Most bytes the cache holds; the least recently used block goes first.
    pub capacity: u64,
    /// Reads of at least this many bytes (the pool scan's 16 MiB chunks) are fetched with one
    /// range request of exactly their size and not cached.
    pub stream_threshold: usize,
}

impl Default for CachePolicy {
    /// 256 KiB blocks, 256 MiB cache, reads of 4 MiB or more streamed.
    fn default() -> Self {
        CachePolicy {
            block_size: 256 << 10,
            capacity: 256 << 20,
            stream_threshold: 4 << 20,
        }
    }
}

impl CachePolicy {
    /// The default, with `MEMTRIAGE_S3_BLOCK_KIB` and `MEMTRIAGE_S3_CACHE_MIB` (decimal) in
    /// the environment replacing the block size and the cache capacity.
    pub fn from_env() -> Self {
        let var = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut p = CachePolicy::default();
        if let Some(kib) = var("MEMTRIAGE_S3_BLOCK_KIB").filter(|&v| (4..=65536).contains(&v)) {
            p.block_size = kib << 10;
        }
        if let Some(mib) = var("MEMTRIAGE_S3_CACHE_MIB").filter(|&v| (1..=65536).contains(&v)) {
            p.capacity = mib << 20;
        }
        p
    }
}

/// Fetches a byte range of the object with one request.
pub type Fetch<'a> = &'a (dyn Fn(Range<u64>) -> io::Result<Bytes> + Sync);

/// Blocks of one object, least recently used evicted first.
#[derive(Debug)]
pub struct BlockCache {
    policy: CachePolicy,
    blocks: Mutex<LruCache<u64, Bytes>>,
}

impl BlockCache {
    /// An empty cache (at least one block, whatever the capacity says).
    pub fn new(policy: CachePolicy) -> Self {
        let block_size = policy.block_size.max(4096);
        let policy = CachePolicy {
            block_size,
            ..policy
        };
        let slots = usize::try_from(policy.capacity / block_size)
            .ok()
            .and_then(NonZeroUsize::new)
            .unwrap_or(NonZeroUsize::MIN);
        BlockCache {
            policy,
            blocks: Mutex::new(LruCache::new(slots)),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> CachePolicy {
        self.policy
    }

    /// Fill `buf` with the bytes at `offset` of an object of `len` bytes, fetching what the
    /// cache lacks with `fetch`.
    pub fn read_at(
        &self,
        len: u64,
        offset: u64,
        buf: &mut [u8],
        fetch: Fetch<'_>,
        stats: &ReadStats,
    ) -> io::Result<()> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= len)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "read of {} bytes at {offset:#x} past the end ({len} bytes)",
                        buf.len()
                    ),
                )
            })?;
        if buf.is_empty() {
            return Ok(());
        }
        if buf.len() >= self.policy.stream_threshold {
            let data = fetch(offset..end)?;
            return copy_exact(&data, buf);
        }
        let bs = self.policy.block_size;
        let mut pos = offset;
        while pos < end {
            let index = pos / bs;
            let block_start = index * bs;
            let block = self.block(
                index,
                block_start..(block_start + bs).min(len),
                fetch,
                stats,
            )?;
            let from = usize::try_from(pos - block_start).map_err(io::Error::other)?;
            let n = usize::try_from((end - pos).min(block.len() as u64 - from as u64))
                .map_err(io::Error::other)?;
            let done = usize::try_from(pos - offset).map_err(io::Error::other)?;
            let src = block.get(from..from + n).ok_or_else(short_block)?;
            buf.get_mut(done..done + n)
                .ok_or_else(short_block)?
                .copy_from_slice(src);
            pos += n as u64;
        }
        Ok(())
    }

    fn block(
        &self,
        index: u64,
        range: Range<u64>,
        fetch: Fetch<'_>,
        stats: &ReadStats,
    ) -> io::Result<Bytes> {
        if let Some(b) = self.lock().get(&index) {
            stats.hit();
            return Ok(b.clone());
        }
        let want = range.end - range.start;
        let data = fetch(range)?;
        if data.len() as u64 != want {
            return Err(short_block());
        }
        self.lock().put(index, data.clone());
        Ok(data)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<u64, Bytes>> {
        // A panic while holding the lock cannot leave the LRU half-updated in a way that
        // matters here (entries are immutable bytes): keep using it.
        self.blocks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of blocks held now.
    pub fn blocks_held(&self) -> usize {
        self.lock().len()
    }
}

fn short_block() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the server returned fewer bytes than requested",
    )
}

fn copy_exact(data: &[u8], buf: &mut [u8]) -> io::Result<()> {
    if data.len() != buf.len() {
        return Err(short_block());
    }
    buf.copy_from_slice(data);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    fn object(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    struct Server {
        data: Vec<u8>,
        log: StdMutex<Vec<Range<u64>>>,
    }

    impl Server {
        fn fetch(&self, r: Range<u64>) -> io::Result<Bytes> {
            self.log.lock().unwrap().push(r.clone());
            Ok(Bytes::copy_from_slice(
                &self.data[r.start as usize..r.end as usize],
            ))
        }
    }

    fn policy() -> CachePolicy {
        CachePolicy {
            block_size: 4096,
            capacity: 2 * 4096,
            stream_threshold: 16384,
        }
    }

    #[test]
    fn reads_across_blocks_and_serves_repeats_from_the_cache() {
        let s = Server {
            data: object(20000),
            log: StdMutex::new(Vec::new()),
        };
        let cache = BlockCache::new(policy());
        let stats = ReadStats::default();
        let mut buf = [0u8; 100];
        cache
            .read_at(20000, 4050, &mut buf, &|r| s.fetch(r), &stats)
            .unwrap();
        assert_eq!(&buf[..], &s.data[4050..4150]);
        cache
            .read_at(20000, 4100, &mut buf[..10], &|r| s.fetch(r), &stats)
            .unwrap();
        assert_eq!(&buf[..10], &s.data[4100..4110]);
        assert_eq!(*s.log.lock().unwrap(), vec![0..4096, 4096..8192]);
        assert_eq!(stats.snapshot().cache_hits, 1);
    }

    #[test]
    fn evicts_the_least_recently_used_block() {
        let s = Server {
            data: object(20000),
            log: StdMutex::new(Vec::new()),
        };
        let cache = BlockCache::new(policy());
        let stats = ReadStats::default();
        let mut b = [0u8; 1];
        for off in [0, 5000, 0, 9000, 5000] {
            cache
                .read_at(20000, off, &mut b, &|r| s.fetch(r), &stats)
                .unwrap();
            assert_eq!(b[0], s.data[off as usize]);
        }
        // 0 and 4096 cached; 0 touched again; 8192 evicts 4096; 4096 fetched again.
        assert_eq!(
            *s.log.lock().unwrap(),
            vec![0..4096, 4096..8192, 8192..12288, 4096..8192]
        );
        assert_eq!(cache.blocks_held(), 2);
    }

    #[test]
    fn large_reads_are_one_request_and_not_cached() {
        let s = Server {
            data: object(40000),
            log: StdMutex::new(Vec::new()),
        };
        let cache = BlockCache::new(policy());
        let stats = ReadStats::default();
        let mut buf = vec![0u8; 20000];
        cache
            .read_at(40000, 1234, &mut buf, &|r| s.fetch(r), &stats)
            .unwrap();
        assert_eq!(buf, s.data[1234..21234]);
        assert_eq!(*s.log.lock().unwrap(), vec![1234..21234]);
        assert_eq!(cache.blocks_held(), 0);
    }

    #[test]
    fn the_last_short_block_and_reads_past_the_end() {
        let s = Server {
            data: object(5000),
            log: StdMutex::new(Vec::new()),
        };
        let cache = BlockCache::new(policy());
        let stats = ReadStats::default();
        let mut b = [0u8; 4];
        cache
            .read_at(5000, 4996, &mut b, &|r| s.fetch(r), &stats)
            .unwrap();
        assert_eq!(&b[..], &s.data[4996..5000]);
        assert_eq!(*s.log.lock().unwrap(), vec![4096..5000]);
        let e = cache
            .read_at(5000, 4998, &mut b, &|r| s.fetch(r), &stats)
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
