//! Canonical key order for JSON built as `serde_json::Value`.
//!
//! serde_json sorts object keys unless its `preserve_order` feature is on, and features are
//! unified across a build: a dependency that turns it on (yara-x does, in the CLI) would change
//! the key order of every `Value` object memtriage prints. Every writer therefore sorts the
//! objects it builds as `Value`s itself, so the bytes are the same in every build (the CLI, the
//! Python package, a downstream crate). Structs keep their declared field order.

use serde::{Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// `v` with the keys of every object in it sorted.
pub fn sorted(mut v: Value) -> Value {
    v.sort_all_objects();
    v
}

/// `serialize_with` for evidence maps: each value with its nested objects' keys sorted.
pub(crate) fn sorted_values<S: Serializer>(
    map: &BTreeMap<String, Value>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let sorted: BTreeMap<&String, Value> =
        map.iter().map(|(k, v)| (k, sorted(v.clone()))).collect();
    sorted.serialize(s)
}
