//! Python bindings of memtriage (module `memtriage._native`, wrapped by the `memtriage`
//! package).
//!
//! - `report_json(path, **overrides)` returns the text `memtriage report PATH --format json`
//!   writes (`memtriage.report` parses it into Python objects);
//! - `open(path, **overrides)` returns a [`PySession`] whose `run(plugin)` returns a plugin's
//!   rows, findings and warnings;
//! - failures raise `memtriage.MemtriageError` carrying the CLI's one-line message;
//! - the GIL is released while a capture is opened and analysed.
//!
//! `path` is a local file or, with the `s3` feature (default), an `s3://bucket/key` URL.

mod capture;
mod convert;
mod options;

use convert::{rows_to_python, to_python};
use memtriage_analysis::report::build_report;
use memtriage_analysis::{registry, PluginOptions, Session};
use memtriage_report::write_report_json;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

create_exception!(
    _native,
    MemtriageError,
    PyException,
    "A capture could not be opened or analysed; the message is memtriage's one-line error."
);

fn error(message: String) -> PyErr {
    MemtriageError::new_err(message)
}

/// A report as the text `report --format json` writes (pretty JSON and a newline).
fn report_text(session: &Session) -> Result<String, String> {
    let report = build_report(session, None).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    write_report_json(&mut out, &report)
        .map_err(|e| format!("{}: {e}", session.path().display()))?;
    String::from_utf8(out).map_err(|e| format!("{}: {e}", session.path().display()))
}

/// `report_json(path, **overrides)`: the full triage report of one capture, as the exact text
/// `memtriage report PATH --format json` writes (the `memtriage.report` wrapper parses it).
#[pyfunction]
#[pyo3(signature = (path, **overrides))]
fn report_json(
    py: Python<'_>,
    path: &str,
    overrides: Option<&Bound<'_, PyDict>>,
) -> PyResult<String> {
    let options = options::session_options(overrides)?;
    py.detach(|| {
        let opened = capture::open(path, options)?;
        report_text(&opened.session)
    })
    .map_err(error)
}

/// Names and one-line descriptions of the plugins a session can run.
#[pyfunction]
fn plugins<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for p in registry() {
        list.append((p.name(), p.about()))?;
    }
    Ok(list)
}

/// One opened capture; plugins run on it share its discovered kernel and process list.
#[pyclass(name = "Session", module = "memtriage._native", frozen)]
pub struct PySession {
    opened: capture::Opened,
}

#[pymethods]
impl PySession {
    /// The capture's path or URL.
    #[getter]
    fn path(&self) -> String {
        self.opened.session.path().display().to_string()
    }

    /// Run the plugin `name`: a dict with `title`, `columns` (names), `rows` (dicts keyed by
    /// column), `findings` and `warnings`. `pid` limits process plugins to these ids.
    #[pyo3(signature = (name, pid = None, wow64 = false))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        pid: Option<Vec<u64>>,
        wow64: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let plugins = registry();
        let plugin = plugins.iter().find(|p| p.name() == name).ok_or_else(|| {
            let names: Vec<&str> = plugins.iter().map(|p| p.name()).collect();
            PyValueError::new_err(format!(
                "no plugin named '{name}' (plugins: {})",
                names.join(", ")
            ))
        })?;
        let options = PluginOptions {
            pids: pid.unwrap_or_default(),
            wow64,
            ..PluginOptions::default()
        };
        let session = &self.opened.session;
        let out = py
            .detach(|| plugin.run(session, &options))
            .map_err(|e| error(e.to_string()))?;
        let findings = serde_json::to_value(&out.findings)
            .map_err(|e| error(format!("{}: {e}", session.path().display())))?;
        let mut warnings = session.warnings();
        warnings.extend(out.warnings.iter().cloned());
        let doc = PyDict::new(py);
        doc.set_item("title", &out.table.title)?;
        let columns: Vec<&str> = out.table.columns.iter().map(|c| c.name.as_str()).collect();
        doc.set_item("columns", columns)?;
        doc.set_item("rows", rows_to_python(py, &out.table)?)?;
        doc.set_item("findings", to_python(py, &findings)?)?;
        doc.set_item("warnings", warnings)?;
        Ok(doc)
    }

    /// The full report of this capture as JSON text (like `memtriage.report_json`).
    fn report_json(&self, py: Python<'_>) -> PyResult<String> {
        let session = &self.opened.session;
        py.detach(|| report_text(session)).map_err(error)
    }

    /// Warnings collected so far (capture, kernel, walks).
    fn warnings(&self) -> Vec<String> {
        self.opened.session.warnings()
    }

    /// For an `s3://` capture: `{"requests", "bytes", "cache_hits", "failures"}` so far;
    /// `None` for a local file.
    fn read_stats<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        #[cfg(feature = "s3")]
        if let Some(remote) = &self.opened.remote {
            let s = remote.stats.snapshot();
            let d = PyDict::new(py);
            d.set_item("requests", s.requests)?;
            d.set_item("bytes", s.bytes)?;
            d.set_item("cache_hits", s.cache_hits)?;
            d.set_item("failures", s.failures)?;
            return Ok(Some(d));
        }
        let _ = py;
        Ok(None)
    }

    fn __repr__(&self) -> String {
        format!("<memtriage.Session {}>", self.path())
    }
}

/// `open(path, **overrides)`: open a capture for running plugins.
#[pyfunction]
#[pyo3(signature = (path, **overrides))]
fn open(py: Python<'_>, path: &str, overrides: Option<&Bound<'_, PyDict>>) -> PyResult<PySession> {
    let options = options::session_options(overrides)?;
    let opened = py.detach(|| capture::open(path, options)).map_err(error)?;
    Ok(PySession { opened })
}

/// `list_s3(url)`: the `s3://` URLs of every object under `s3://bucket/prefix/`, sorted.
#[pyfunction]
fn list_s3(py: Python<'_>, url: &str) -> PyResult<Vec<String>> {
    #[cfg(feature = "s3")]
    {
        py.detach(|| memtriage_objstore::list_prefix(url))
            .map_err(|e| error(e.to_string()))
    }
    #[cfg(not(feature = "s3"))]
    {
        let _ = py;
        Err(error(format!(
            "{url}: built without object-storage support"
        )))
    }
}

/// `put_s3(url, data)`: store `data` (bytes) as the object `s3://bucket/key`.
#[pyfunction]
fn put_s3(py: Python<'_>, url: &str, data: Vec<u8>) -> PyResult<()> {
    #[cfg(feature = "s3")]
    {
        py.detach(|| memtriage_objstore::put_object(url, data))
            .map_err(|e| error(e.to_string()))
    }
    #[cfg(not(feature = "s3"))]
    {
        let _ = (py, data);
        Err(error(format!(
            "{url}: built without object-storage support"
        )))
    }
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(report_json, m)?)?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    m.add_function(wrap_pyfunction!(plugins, m)?)?;
    m.add_function(wrap_pyfunction!(list_s3, m)?)?;
    m.add_function(wrap_pyfunction!(put_s3, m)?)?;
    m.add_class::<PySession>()?;
    m.add("MemtriageError", m.py().get_type::<MemtriageError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    let overrides: Vec<&str> = options::OVERRIDES.iter().map(|(k, _)| *k).collect();
    m.add("OVERRIDES", overrides)?;
    Ok(())
}
