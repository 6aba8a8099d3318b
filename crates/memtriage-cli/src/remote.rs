//! Captures in object storage: `s3://bucket/key` arguments (cargo feature `s3`, on by
//! default). Nothing is fetched unless such a URL is given.

use memtriage_analysis::{Session, SessionOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The URL an argument names when it is an object in storage.
fn url(image: &Path) -> Option<&str> {
    image
        .to_str()
        .filter(|s| s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("s3://")))
}

#[cfg(feature = "s3")]
mod enabled {
    use memtriage_objstore::ReadStats;
    use std::sync::{Arc, Mutex};

    /// The counters of every object opened by this run, for `-v`.
    pub static OPENED: Mutex<Vec<(String, Arc<ReadStats>)>> = Mutex::new(Vec::new());
}

/// Open `image` when it is an `s3://` URL; `None` for a local path.
pub fn open(image: &Path, options: SessionOptions) -> Option<Result<Session, String>> {
    let url = url(image)?;
    #[cfg(feature = "s3")]
    {
        let opened = memtriage_objstore::open_url(url).map_err(|e| e.to_string());
        Some(opened.map(|remote| {
            if let Ok(mut all) = enabled::OPENED.lock() {
                all.push((remote.url.clone(), remote.stats.clone()));
            }
            Session::from_memory(Path::new(&remote.url), remote.memory, options)
        }))
    }
    #[cfg(not(feature = "s3"))]
    {
        let _ = options;
        Some(Err(format!(
            "{url}: this memtriage was built without object-storage support (cargo feature `s3`)"
        )))
    }
}

/// `--hash` reads a local file; refuse it for an object rather than fail on a missing path.
pub fn check_hash(image: &Path, hash: bool) -> Result<(), String> {
    match url(image) {
        Some(url) if hash => Err(format!(
            "{url}: --hash reads a local file; hash the object where it is stored"
        )),
        _ => Ok(()),
    }
}

/// With `-v`: one line on stderr per object read, with the requests made and bytes read.
pub fn print_stats(image: &Path) {
    let Some(url) = url(image).filter(|_| VERBOSE.load(Ordering::Relaxed)) else {
        return;
    };
    #[cfg(feature = "s3")]
    if let Ok(all) = enabled::OPENED.lock() {
        for (u, stats) in all.iter().filter(|(u, _)| u == url) {
            eprintln!("memtriage: {u}: {}", stats.snapshot());
        }
    }
    #[cfg(not(feature = "s3"))]
    let _ = url;
}

/// Whether `-v` was given (read by [`print_stats`]).
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Remember whether `-v` was given.
pub fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, Ordering::Relaxed);
}

/// Expand `s3://bucket/prefix/` (ending in `/`) into the objects under it; other arguments
/// are returned as they are.
pub fn expand(image: &Path) -> Result<Vec<PathBuf>, String> {
    match url(image) {
        #[cfg(feature = "s3")]
        Some(url) if url.ends_with('/') => Ok(memtriage_objstore::list_prefix(url)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(PathBuf::from)
            .collect()),
        _ => Ok(vec![image.to_path_buf()]),
    }
}
