//! The S3 client and the I/O runtime it runs on, configured from the environment.

use crate::{ObjStoreError, S3Location};
use object_store::aws::{AmazonS3, AmazonS3Builder};

/// The endpoint named by the environment, if any.
fn endpoint_from_env() -> Option<String> {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// A client for `location`'s bucket from the standard AWS environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT`, `AWS_ALLOW_HTTP`); an `http://` endpoint (a local
/// S3-compatible server) is allowed without TLS.
pub(crate) fn store(location: &S3Location) -> Result<AmazonS3, ObjStoreError> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(&location.bucket);
    if let Some(endpoint) = endpoint_from_env() {
        let http = endpoint.starts_with("http://");
        builder = builder.with_endpoint(endpoint);
        if http {
            builder = builder.with_allow_http(true);
        }
    }
    builder.build().map_err(|e| ObjStoreError::Store {
        url: location.url(),
        reason: one_line(&e),
    })
}

/// A small multi-threaded runtime for the client's requests. Reads block on it from the
/// analysis threads (which are never runtime threads).
pub(crate) fn runtime(location: &S3Location) -> Result<tokio::runtime::Runtime, ObjStoreError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("memtriage-s3")
        .enable_all()
        .build()
        .map_err(|e| ObjStoreError::Store {
            url: location.url(),
            reason: format!("cannot start the I/O runtime: {e}"),
        })
}

/// An error's message on one line (object_store messages may span several), without the
/// request timings object_store adds ("in 8.07ms"), so that the same failure reads the same.
pub(crate) fn one_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let timing = *w == "in"
            && words
                .get(i + 1)
                .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit()) && t.ends_with('s'));
        if timing {
            i += 2;
        } else {
            out.push(w);
            i += 1;
        }
    }
    out.join(" ")
}

/// The one-line reason for a failed request: short words for the common cases.
pub(crate) fn reason(e: &object_store::Error) -> String {
    match e {
        object_store::Error::NotFound { .. } => "no such object (HTTP 404 Not Found)".into(),
        object_store::Error::PermissionDenied { .. } => {
            format!(
                "access denied (check the AWS_* credentials): {}",
                one_line(e)
            )
        }
        object_store::Error::Unauthenticated { .. } => format!(
            "not authenticated (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY): {}",
            one_line(e)
        ),
        _ => one_line(e),
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn timings_are_dropped_and_lines_joined() {
        assert_eq!(
            one_line(&"Error performing GET http://h/b/k in 8.07ms - Server\nreturned 404"),
            "Error performing GET http://h/b/k - Server returned 404"
        );
        assert_eq!(one_line(&"retried in 2 attempts"), "retried in 2 attempts");
    }
}
