//! Keyword arguments as discovery overrides (the CLI's `--dtb`, `--kernel-base`, ...).

use memtriage_analysis::SessionOptions;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// The keyword arguments `report()` and `open()` accept, with the CLI flag each stands for.
pub const OVERRIDES: &[(&str, &str)] = &[
    ("dtb", "--dtb"),
    ("kernel_base", "--kernel-base"),
    ("isf", "--isf"),
    ("pdb", "--pdb"),
    ("build", "--build"),
    ("la57", "--la57"),
    ("user_dtb", "--user-dtb"),
];

/// Session options from `**overrides`; an unknown keyword is a `TypeError`.
pub fn session_options(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<SessionOptions> {
    let mut options = SessionOptions::default();
    let Some(kwargs) = kwargs else {
        return Ok(options);
    };
    for (key, value) in kwargs.iter() {
        let key: String = key.extract()?;
        if value.is_none() {
            continue;
        }
        let o = &mut options.overrides;
        match key.as_str() {
            "dtb" => o.dtb = Some(value.extract()?),
            "kernel_base" => o.kernel_base = Some(value.extract()?),
            "isf" => o.isf = Some(value.extract::<PathBuf>()?),
            "pdb" => o.pdb = Some(value.extract::<PathBuf>()?),
            "build" => o.build = Some(value.extract()?),
            "la57" => o.la57 = value.extract()?,
            "user_dtb" => options.user_dtb = value.extract()?,
            other => {
                let known: Vec<&str> = OVERRIDES.iter().map(|(k, _)| *k).collect();
                return Err(PyTypeError::new_err(format!(
                    "unexpected keyword argument '{other}' (overrides: {})",
                    known.join(", ")
                )));
            }
        }
    }
    if options.overrides.isf.is_some() && options.overrides.pdb.is_some() {
        return Err(PyTypeError::new_err("isf and pdb cannot be given together"));
    }
    Ok(options)
}
