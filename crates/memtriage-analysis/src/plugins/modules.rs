//! `modules`: kernel modules from PsLoadedModuleList; with `--scan`, the scanned view (the list
//! joined with driver objects in pool memory and native PE headers in kernel space).

use crate::detect::unlinked_driver_finding;
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

memtriage_report::row! {
    /// One driver image of the scanned view (`modules --scan`).
    pub struct ScannedModuleRow {
        /// Image base.
        pub base: Hex,
        /// Image size in bytes (list, else PE header, else DriverSize).
        pub size: Hex,
        /// Base name from the list, else the driver object's name without \Driver\.
        pub name: String,
        /// Full path from the list (empty when not listed).
        pub path: String,
        /// On PsLoadedModuleList.
        pub in_list: bool,
        /// A driver object found in pool memory points into the image.
        pub by_driver_object: bool,
        /// A native PE header was found at the base in kernel space.
        pub by_pe_header: bool,
        /// DriverName of that driver object.
        pub driver_name: Option<String>,
        /// Virtual address of that _DRIVER_OBJECT, when recovered.
        pub driver_object: Option<Hex>,
        /// Physical address of that _DRIVER_OBJECT.
        pub offset_physical: Option<Hex>,
    }
}

/// `modules`.
pub struct Modules;

impl Modules {
    fn scanned(session: &Session) -> Result<PluginOutput, AnalysisError> {
        let view = session.driver_images()?;
        let mut t = Table::of::<ScannedModuleRow>("modules");
        let mut findings = Vec::new();
        for i in &view.images {
            findings.extend(unlinked_driver_finding(i));
            let d = i.driver_object.as_ref();
            t.push_row(ScannedModuleRow {
                base: Hex(i.base),
                size: Hex(i.size),
                name: i.name.clone(),
                path: i.path.clone(),
                in_list: i.in_list,
                by_driver_object: d.is_some(),
                by_pe_header: i.by_pe_header,
                driver_name: d.map(|d| d.name.clone()),
                driver_object: d.and_then(|d| d.object_va).map(Hex),
                offset_physical: d.map(|d| Hex(d.object_pa)),
            });
        }
        let mut out = PluginOutput::with_warnings(t, view.warnings.clone());
        out.findings = findings;
        Ok(out)
    }
}

impl Plugin for Modules {
    fn name(&self) -> &'static str {
        "modules"
    }
    fn about(&self) -> &'static str {
        "List kernel modules (PsLoadedModuleList); --scan adds driver images found by driver objects and PE headers"
    }
    fn columns(&self) -> Vec<Column> {
        KernelModuleRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        if options.scan {
            return Self::scanned(session);
        }
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
