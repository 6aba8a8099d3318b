//! Whole-object operations for fleets: list the captures under a prefix, store a report.

use crate::client;
use crate::{ObjStoreError, S3Location, S3_SCHEME};
use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Split `s3://bucket[/prefix]` into the bucket's location and the key prefix.
fn prefix_location(url: &str) -> Result<(S3Location, String), ObjStoreError> {
    let rest = url
        .get(S3_SCHEME.len()..)
        .filter(|_| crate::is_s3_url(url))
        .ok_or_else(|| ObjStoreError::BadUrl {
            url: url.to_string(),
            reason: "not an s3:// URL".into(),
        })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(ObjStoreError::BadUrl {
            url: url.to_string(),
            reason: "no bucket name (expected s3://bucket/prefix/)".into(),
        });
    }
    let location = S3Location {
        bucket: bucket.to_string(),
        key: prefix.to_string(),
    };
    Ok((location, prefix.trim_end_matches('/').to_string()))
}

/// The `s3://` URLs of every object under `url` (`s3://bucket/prefix/`), sorted.
pub fn list_prefix(url: &str) -> Result<Vec<String>, ObjStoreError> {
    let (location, prefix) = prefix_location(url)?;
    let store = client::store(&location)?;
    let runtime = client::runtime(&location)?;
    let prefix = (!prefix.is_empty()).then(|| ObjectPath::from(prefix.as_str()));
    let metas: Vec<object_store::ObjectMeta> = runtime
        .block_on(store.list(prefix.as_ref()).try_collect())
        .map_err(|e| ObjStoreError::Store {
            url: url.to_string(),
            reason: client::reason(&e),
        })?;
    let mut urls: Vec<String> = metas
        .iter()
        .map(|m| format!("{S3_SCHEME}{}/{}", location.bucket, m.location))
        .collect();
    urls.sort();
    Ok(urls)
}

/// Store `data` as the object `url` (`s3://bucket/key`), replacing it.
pub fn put_object(url: &str, data: Vec<u8>) -> Result<(), ObjStoreError> {
    let location = S3Location::parse(url)?;
    let store = client::store(&location)?;
    let runtime = client::runtime(&location)?;
    let path = ObjectPath::from(location.key.as_str());
    runtime
        .block_on(store.put(&path, PutPayload::from(data)))
        .map_err(|e| ObjStoreError::Store {
            url: url.to_string(),
            reason: client::reason(&e),
        })?;
    Ok(())
}
