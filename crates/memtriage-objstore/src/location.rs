//! `s3://bucket/key` URLs.

use crate::ObjStoreError;

/// Where an object is: a bucket and a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Object key (no leading `/`).
    pub key: String,
}

/// The URL scheme this crate reads.
pub const S3_SCHEME: &str = "s3://";

/// Whether `s` names an object in S3 storage (`s3://…`) rather than a local file.
pub fn is_s3_url(s: &str) -> bool {
    s.get(..S3_SCHEME.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(S3_SCHEME))
}

impl S3Location {
    /// Parse `s3://bucket/key`.
    pub fn parse(url: &str) -> Result<S3Location, ObjStoreError> {
        let bad = |reason: &str| ObjStoreError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if !is_s3_url(url) {
            return Err(bad("not an s3:// URL"));
        }
        let rest = url.get(S3_SCHEME.len()..).unwrap_or_default();
        let (bucket, key) = rest
            .split_once('/')
            .ok_or_else(|| bad("no object key (expected s3://bucket/key)"))?;
        if bucket.is_empty() {
            return Err(bad("no bucket name (expected s3://bucket/key)"));
        }
        if key.is_empty() || key.ends_with('/') {
            return Err(bad("no object key (expected s3://bucket/key)"));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The URL again.
    pub fn url(&self) -> String {
        format!("{S3_SCHEME}{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_key() {
        let l = S3Location::parse("s3://evidence/fleet/host42.dmp").unwrap();
        assert_eq!(l.bucket, "evidence");
        assert_eq!(l.key, "fleet/host42.dmp");
        assert_eq!(l.url(), "s3://evidence/fleet/host42.dmp");
        assert!(is_s3_url("S3://b/k"));
        assert!(!is_s3_url("/tmp/s3://x"));
    }

    #[test]
    fn rejects_urls_without_bucket_or_key() {
        for u in [
            "s3://",
            "s3://bucket",
            "s3://bucket/",
            "s3:///key",
            "http://b/k",
        ] {
            let e = S3Location::parse(u).unwrap_err().to_string();
            assert!(e.starts_with(u), "{e}");
        }
    }
}
