//! JSON values and plugin tables as Python objects.

use memtriage_report::Table;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

/// A JSON value as the Python object `json.loads` would give (dict, list, str, int, float,
/// bool, None).
pub fn to_python<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(to_python(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            let dict = PyDict::new(py);
            for (k, x) in m {
                dict.set_item(k, to_python(py, x)?)?;
            }
            dict.into_any()
        }
    })
}

/// The rows of a plugin's table: one dict per row keyed by column name, cells as in the JSON
/// output (addresses as `"0x…"` strings, missing values as `None`); tree tables add `depth`.
pub fn rows_to_python<'py>(py: Python<'py>, table: &Table) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    let add_depth = table.is_tree() && !table.columns.iter().any(|c| c.name == "depth");
    for (i, row) in table.rows.iter().enumerate() {
        let dict = PyDict::new(py);
        for (col, cell) in table.columns.iter().zip(row.iter()) {
            dict.set_item(&col.name, to_python(py, &cell.to_json())?)?;
        }
        for col in table.columns.iter().skip(row.len()) {
            dict.set_item(&col.name, py.None())?;
        }
        if add_depth {
            dict.set_item("depth", table.depth(i))?;
        }
        list.append(dict)?;
    }
    Ok(list)
}
