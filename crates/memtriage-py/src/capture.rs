//! Open a capture named by a local path or an `s3://` URL into a session.

use memtriage_analysis::{Session, SessionOptions};
use std::path::Path;

/// What was opened, with the object-store counters when the capture is remote.
pub struct Opened {
    /// The session.
    pub session: Session,
    /// Requests and bytes of a remote capture.
    #[cfg(feature = "s3")]
    pub remote: Option<memtriage_objstore::RemoteCapture>,
}

/// Open `location` (a file path, or `s3://bucket/key` with the `s3` feature); the error is the
/// CLI's one-line message.
pub fn open(location: &str, options: SessionOptions) -> Result<Opened, String> {
    #[cfg(feature = "s3")]
    if memtriage_objstore::is_s3_url(location) {
        let remote = memtriage_objstore::open_url(location).map_err(|e| e.to_string())?;
        let session = Session::from_memory(Path::new(&remote.url), remote.memory.clone(), options);
        return Ok(Opened {
            session,
            remote: Some(remote),
        });
    }
    #[cfg(not(feature = "s3"))]
    if location.starts_with("s3://") {
        return Err(format!(
            "{location}: this build of memtriage has no object-storage support (feature `s3`)"
        ));
    }
    let session = Session::open(Path::new(location), options).map_err(|e| e.to_string())?;
    Ok(Opened {
        session,
        #[cfg(feature = "s3")]
        remote: None,
    })
}
