//! The built-in plugins, one file each, and the registry the CLI builds its subcommands from.
//!
//! Each plugin's row is a typed struct declared with [`memtriage_report::row!`]: its fields are
//! the columns (name, kind from the field's type, one-line doc from the field's comment).

mod cmdline;
mod columns_doc;
mod dlllist;
mod envars;
mod ldrmodules;
mod malfind;
mod modules;
mod process_row;
mod pslist;
mod psscan;
mod pstree;
mod threads;
mod vadinfo;
mod vmmap;

pub use cmdline::{CmdLine, CmdLineRow};
pub use columns_doc::columns_markdown;
pub use dlllist::{DllList, DllRow};
pub use envars::{EnVars, EnvRow};
pub use ldrmodules::{LdrModuleRow, LdrModules};
pub use malfind::{MalFind, MalfindRow};
pub use modules::{KernelModuleRow, Modules, ScannedModuleRow};
pub use process_row::ProcessRow;
pub use pslist::PsList;
pub use psscan::{PsScan, ScanStatus, ScanStatusRow};
pub use pstree::PsTree;
pub use threads::{ThreadRow, Threads};
pub use vadinfo::{VadInfo, VadRow};
pub use vmmap::{VmMap, VmmapRow};

use crate::session::ProcessDetail;
use crate::{AnalysisError, Plugin, PluginOptions, Session};

/// Every built-in plugin, in the order `--help` lists them.
pub fn registry() -> Vec<Box<dyn Plugin>> {
    vec![
        Box::new(PsList),
        Box::new(PsScan),
        Box::new(PsTree),
        Box::new(Threads),
        Box::new(Modules),
        Box::new(VadInfo),
        Box::new(VmMap),
        Box::new(DllList),
        Box::new(CmdLine),
        Box::new(EnVars),
        Box::new(LdrModules),
        Box::new(MalFind),
    ]
}

/// Active processes and (for plugins that want them) the hidden ones, filtered by `--pid`.
pub(crate) fn selected<'a>(
    session: &'a Session,
    options: &PluginOptions,
    with_hidden: bool,
) -> Result<Vec<&'a ProcessDetail>, AnalysisError> {
    let mut out: Vec<&ProcessDetail> = session.details()?.iter().collect();
    if with_hidden {
        out.extend(session.unlisted()?.iter().filter(|d| d.hidden));
    }
    out.retain(|d| options.wants(d.process.pid));
    Ok(out)
}
