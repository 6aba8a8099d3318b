//! `modules`: kernel modules from PsLoadedModuleList.

use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, Hex, Row, Table};
use memtriage_windows::kmodule::kernel_modules;

memtriage_report::row! {
    /// One kernel module.
    pub struct KernelModuleRow {
        /// Image base.
        pub base: Hex,
        /// Image size in bytes.
        pub size: Hex,
        /// Base name.
        pub name: String,
        /// Full path.
        pub path: String,
        /// Address of the _KLDR_DATA_TABLE_ENTRY.
        pub entry: Hex,
    }
}

/// `modules`.
pub struct Modules;

impl Plugin for Modules {
    fn name(&self) -> &'static str {
        "modules"
    }
    fn about(&self) -> &'static str {
        "List kernel modules (PsLoadedModuleList)"
    }
    fn columns(&self) -> Vec<Column> {
        KernelModuleRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        _options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let k = session.kernel()?;
        let Some(head) = k.ps_loaded_module_list else {
            return Err(AnalysisError::Plugin(format!(
                "{}: PsLoadedModuleList not found",
                session.path().display()
            )));
        };
        let mut t = Table::of::<KernelModuleRow>("modules");
        let (mods, warnings) = kernel_modules(&k.space, &k.layout, head);
        for m in mods {
            t.push_row(KernelModuleRow {
                base: Hex(m.base),
                size: Hex(m.size),
                name: m.name,
                path: m.path,
                entry: Hex(m.entry),
            });
        }
        Ok(PluginOutput::with_warnings(t, warnings))
    }
}
