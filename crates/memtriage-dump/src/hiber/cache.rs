//! A bounded, thread-safe cache of decompressed page sets.

use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// Decompressed page sets kept at once: 1024 sets of at most 64 KiB, at most 64 MiB.
pub(crate) const CAPACITY: usize = 1024;

/// Least-recently-used decompressed page sets, keyed by set index.
pub(crate) struct SetCache {
    inner: Mutex<LruCache<u32, Arc<[u8]>>>,
}

impl SetCache {
    pub(crate) fn new(capacity: usize) -> Self {
        let cap = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        SetCache {
            inner: Mutex::new(LruCache::new(cap)),
        }
    }

    /// The cached pages of `set`, or those `load` produces (cached when it succeeds).
    pub(crate) fn get_or_load<E>(
        &self,
        set: u32,
        load: impl FnOnce() -> Result<Arc<[u8]>, E>,
    ) -> Result<Arc<[u8]>, E> {
        if let Some(hit) = self.lock().get(&set) {
            return Ok(Arc::clone(hit));
        }
        // Decompress outside the lock; two threads may both load a set, which is harmless.
        let pages = load()?;
        self.lock().put(set, Arc::clone(&pages));
        Ok(pages)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<u32, Arc<[u8]>>> {
        // A poisoned lock only means another reader panicked; the cache is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for SetCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetCache").finish_non_exhaustive()
    }
}
