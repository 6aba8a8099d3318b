//! Warnings as values: which object of the capture could not be read, and why.
//!
//! Walkers return partial results plus [`Warning`]s; a warning names the process (when it
//! belongs to one), the structure, its address and what was odd. Reports render a warning as
//! one line (`pid 612: thread list broken at 0x…`), exactly as they always have.

use std::fmt;

/// The kind of structure a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Structure {
    /// ActiveProcessLinks.
    ProcessList,
    /// One `_EPROCESS`.
    Process,
    /// A process's thread list (ThreadListHead).
    ThreadList,
    /// One `_ETHREAD`.
    Thread,
    /// One of the three PEB loader lists (64- or 32-bit).
    LoaderList,
    /// One `_LDR_DATA_TABLE_ENTRY`.
    LoaderEntry,
    /// The PEB or its ProcessHeaps array.
    Peb,
    /// `_RTL_USER_PROCESS_PARAMETERS`.
    ProcessParameters,
    /// The VAD tree.
    VadTree,
    /// PsLoadedModuleList.
    KernelModuleList,
}

impl Structure {
    /// Its name in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Structure::ProcessList => "process list",
            Structure::Process => "_EPROCESS",
            Structure::ThreadList => "thread list",
            Structure::Thread => "_ETHREAD",
            Structure::LoaderList => "loader list",
            Structure::LoaderEntry => "loader entry",
            Structure::Peb => "PEB",
            Structure::ProcessParameters => "process parameters",
            Structure::VadTree => "VAD tree",
            Structure::KernelModuleList => "kernel module list",
        }
    }
}

/// One problem met while reading a capture: the rest was still read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Warning {
    /// The process it belongs to, if any.
    pub pid: Option<u64>,
    /// The structure concerned.
    pub structure: Structure,
    /// Its address (or the bad link's), when known.
    pub address: Option<u64>,
    /// What was odd, in one line (it names the address itself where that helps).
    pub message: String,
}

impl Warning {
    /// A warning about `structure` at `address`.
    pub fn new(structure: Structure, address: Option<u64>, message: impl Into<String>) -> Self {
        Warning {
            pid: None,
            structure,
            address,
            message: message.into(),
        }
    }

    /// The same warning, belonging to process `pid`.
    pub fn for_pid(mut self, pid: u64) -> Self {
        self.pid = Some(pid);
        self
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "pid {pid}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl From<Warning> for String {
    fn from(w: Warning) -> String {
        w.to_string()
    }
}
