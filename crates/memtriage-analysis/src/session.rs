//! The session: one opened capture, its kernel, and shared results computed once.

use crate::crossview::CrossView;
use crate::regions::{classify, ClassifiedRegion};
use crate::AnalysisError;
use memtriage_dump::PhysicalMemory;
use memtriage_paging::{AddressSpace, PageFiles};
use memtriage_windows::driver_object::DriverObjectLayout;
use memtriage_windows::peb::{read_peb, PebInfo, PebLayout};
use memtriage_windows::poolscan::{scan_pool, PoolScan, ScannedProcess, TypeCheck};
use memtriage_windows::process::{walk_active_list, Process, ProcessList};
use memtriage_windows::thread::{threads, Thread};
use memtriage_windows::vad::{vads, Vad};
use memtriage_windows::{Kernel, Overrides};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

/// How a session is opened.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Replacements for discovery steps (`--dtb`, `--kernel-base`, `--isf`, `--pdb`, `--build`).
    pub overrides: Overrides,
    /// Use `_KPROCESS.UserDirectoryTableBase` (KVA shadow) for user-space reads where set.
    pub user_dtb: bool,
    /// Page files paged-out pages are read from (`--pagefile`); empty for none.
    pub page_files: PageFiles,
    /// Skip the pool scan where it only serves the cross-view (`report --fast`): hidden
    /// processes then come from the cheap views alone (docs/report.md says what is lost).
    pub fast: bool,
}

/// Everything read for one process: regions, PEB, threads.
#[derive(Debug, Clone)]
pub struct ProcessDetail {
    /// The process.
    pub process: Process,
    /// Found by the pool scan but not on the active list.
    pub hidden: bool,
    /// Its VADs, sorted by start.
    pub vads: Vec<Vad>,
    /// The VADs classified like VMMap does.
    pub regions: Vec<ClassifiedRegion>,
    /// What its PEB says.
    pub peb: Option<PebInfo>,
    /// What its 32-bit PEB says (WoW64 processes).
    pub peb32: Option<PebInfo>,
    /// Its threads.
    pub threads: Vec<Thread>,
    /// Problems met while reading it.
    pub warnings: Vec<String>,
}

/// One opened capture and its lazily computed shared results.
pub struct Session {
    path: PathBuf,
    memory: Arc<dyn PhysicalMemory>,
    options: SessionOptions,
    kernel: OnceLock<Result<Arc<Kernel>, String>>,
    processes: OnceLock<ProcessList>,
    scan: OnceLock<PoolScan>,
    details: OnceLock<Vec<ProcessDetail>>,
    hidden: OnceLock<Vec<ProcessDetail>>,
    /// The scanned view of kernel modules (`crate::drivers`).
    pub(crate) drivers: OnceLock<crate::drivers::DriverView>,
    cross: OnceLock<CrossView>,
    warnings: Mutex<Vec<String>>,
    /// Bytes scanned so far by pool scans (for progress display).
    pub scan_progress: Arc<AtomicU64>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("path", &self.path).finish()
    }
}

impl Session {
    /// Open the capture at `path` (read-only).
    pub fn open(path: &Path, options: SessionOptions) -> Result<Session, AnalysisError> {
        let capture = memtriage_dump::open(path)?;
        Ok(Self::from_memory(path, Arc::from(capture), options))
    }

    /// A session over physical memory that is already open.
    pub fn from_memory(
        path: &Path,
        memory: Arc<dyn PhysicalMemory>,
        options: SessionOptions,
    ) -> Session {
        Session {
            path: path.to_path_buf(),
            memory,
            options,
            kernel: OnceLock::new(),
            processes: OnceLock::new(),
            scan: OnceLock::new(),
            details: OnceLock::new(),
            hidden: OnceLock::new(),
            drivers: OnceLock::new(),
            cross: OnceLock::new(),
            warnings: Mutex::new(Vec::new()),
            scan_progress: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The capture's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The capture's physical memory.
    pub fn memory(&self) -> &Arc<dyn PhysicalMemory> {
        &self.memory
    }

    /// The page files given for this capture (empty for none).
    pub fn page_files(&self) -> &PageFiles {
        &self.options.page_files
    }

    /// The discovered kernel (computed once); its address spaces read paged-out pages from
    /// the session's page files.
    pub fn kernel(&self) -> Result<&Arc<Kernel>, AnalysisError> {
        self.kernel
            .get_or_init(|| {
                Kernel::discover(self.memory.clone(), &self.options.overrides)
                    .map(|mut k| {
                        k.space = k.space.with_page_files(self.options.page_files.clone());
                        Arc::new(k)
                    })
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|message| AnalysisError::Kernel {
                path: self.path.display().to_string(),
                message: message.clone(),
            })
    }

    pub(crate) fn warn(&self, w: impl IntoIterator<Item = String>) {
        if let Ok(mut all) = self.warnings.lock() {
            all.extend(w);
        }
    }

    /// Warnings collected by shared computations so far (capture, kernel, walks).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.memory.metadata().warnings.clone();
        if let Some(Ok(k)) = self.kernel.get() {
            out.extend(k.warnings.iter().cloned());
        }
        if let Ok(w) = self.warnings.lock() {
            out.extend(w.iter().cloned());
        }
        out.extend(self.options.page_files.warnings());
        out
    }

    /// The active process list (computed once).
    pub fn processes(&self) -> Result<&ProcessList, AnalysisError> {
        let kernel = self.kernel()?;
        Ok(self.processes.get_or_init(|| {
            let list = walk_active_list(&kernel.space, &kernel.layout, kernel.system_eprocess);
            self.warn(list.warnings.iter().map(ToString::to_string));
            list
        }))
    }

    /// Processes found by scanning physical memory for `Proc` pool blocks (computed once).
    pub fn scanned(&self) -> Result<&[ScannedProcess], AnalysisError> {
        Ok(&self.pool_scan()?.processes)
    }

    /// The one pass over physical memory for pool blocks (computed once): process objects
    /// and, on builds whose `_DRIVER_OBJECT` layout is verified, driver objects.
    pub(crate) fn pool_scan(&self) -> Result<&PoolScan, AnalysisError> {
        let kernel = self.kernel()?;
        Ok(self.scan.get_or_init(|| {
            let drivers = DriverObjectLayout::for_kernel(&kernel.profile, kernel.build);
            scan_pool(
                &kernel.space,
                &kernel.layout,
                &TypeCheck::for_kernel(kernel),
                drivers.as_ref().map(|(layout, _)| layout),
                Some(&self.scan_progress),
            )
        }))
    }

    /// The session made fast or not (`report --fast`); call before anything is computed.
    #[must_use]
    pub fn with_fast(mut self, fast: bool) -> Session {
        self.options.fast = fast;
        self
    }

    /// Whether this is a `--fast` session (no pool scan for the cross-view).
    pub fn fast(&self) -> bool {
        self.options.fast
    }

    /// The cross-view of processes: which views saw each one (computed once; the pool view
    /// only when the session is not fast).
    pub fn cross_view(&self) -> Result<&CrossView, AnalysisError> {
        let kernel = self.kernel()?;
        let listed = &self.processes()?.processes;
        let pool = if self.options.fast {
            None
        } else {
            Some(self.scanned()?)
        };
        Ok(self.cross.get_or_init(|| {
            let cv = CrossView::build(kernel, listed, pool);
            self.warn(cv.warnings.iter().cloned());
            cv
        }))
    }

    /// The address space to read a process's user memory in.
    pub fn process_space(&self, kernel: &Kernel, p: &Process) -> AddressSpace {
        match (self.options.user_dtb, p.user_dtb) {
            (true, Some(u)) => kernel.process_space(u),
            _ => kernel.process_space(p.dtb),
        }
    }

    fn detail(&self, kernel: &Kernel, process: &Process, hidden: bool) -> ProcessDetail {
        let pspace = self.process_space(kernel, process);
        let mut warnings = Vec::new();
        let (vads, w) = if process.eprocess != 0 {
            vads(&kernel.space, &kernel.layout, process.eprocess)
        } else {
            (
                Vec::new(),
                vec![format!(
                    "pid {}: _EPROCESS virtual address unknown; VADs not read",
                    process.pid
                )],
            )
        };
        warnings.extend(w.into_iter().map(|w| format!("pid {}: {w}", process.pid)));
        let (peb, w) = match PebLayout::native(&kernel.layout) {
            Some(native) => read_peb(&pspace, &native, process.peb),
            None => (None, Vec::new()),
        };
        warnings.extend(w.into_iter().map(|w| format!("pid {}: {w}", process.pid)));
        let peb32 = match (process.wow64_peb, PebLayout::wow64(&kernel.profile)) {
            (Some(va), Some(l32)) => {
                let (peb32, w) = read_peb(&pspace, &l32, va);
                warnings.extend(
                    w.into_iter()
                        .map(|w| format!("pid {} (WoW64): {w}", process.pid)),
                );
                peb32
            }
            _ => None,
        };
        let (threads, w) = threads(&kernel.space, &pspace, &kernel.layout, process);
        warnings.extend(w);
        let regions = classify(&pspace, &vads, peb.as_ref(), &threads);
        ProcessDetail {
            process: process.clone(),
            hidden,
            vads,
            regions,
            peb,
            peb32,
            threads,
            warnings,
        }
    }

    /// Regions, PEB and threads of every process on the active list (computed once, in parallel).
    pub fn details(&self) -> Result<&[ProcessDetail], AnalysisError> {
        let kernel = self.kernel()?.clone();
        let list = self.processes()?;
        Ok(self.details.get_or_init(|| {
            let out: Vec<ProcessDetail> = list
                .processes
                .par_iter()
                .map(|p| self.detail(&kernel, p, false))
                .collect();
            self.warn(out.iter().flat_map(|d| d.warnings.iter().cloned()));
            out
        }))
    }

    /// Processes the pool scan (unless the session is fast) or a cheap view of the
    /// [`CrossView`] found that are not on the active list, with their regions, PEB and
    /// threads (computed once). Those that have not exited are `hidden`; exited ones are kept
    /// for the record.
    pub fn unlisted(&self) -> Result<&[ProcessDetail], AnalysisError> {
        let kernel = self.kernel()?.clone();
        let listed: std::collections::HashSet<u64> = self
            .processes()?
            .processes
            .iter()
            .filter_map(|p| p.eprocess_pa)
            .collect();
        let scanned: &[ScannedProcess] = if self.options.fast {
            &[]
        } else {
            self.scanned()?
        };
        let extra = &self.cross_view()?.extra;
        Ok(self.hidden.get_or_init(|| {
            let out: Vec<ProcessDetail> = scanned
                .iter()
                .map(|s| &s.process)
                .filter(|p| p.eprocess_pa.is_some_and(|pa| !listed.contains(&pa)))
                .chain(extra.iter())
                .map(|p| self.detail(&kernel, p, !p.exited()))
                .collect();
            self.warn(out.iter().flat_map(|d| d.warnings.iter().cloned()));
            out
        }))
    }
}
