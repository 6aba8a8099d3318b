//! What a capture's header says.

use crate::RootCause;
use serde::Serialize;

/// The format of a capture, as sniffed from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DumpFormat {
    /// A raw physical memory image: file offset = physical address.
    Raw,
    /// Windows 64-bit crash dump, DumpType 1 (full, run-based).
    CrashDumpFull,
    /// Windows 64-bit crash dump, DumpType 5 (bitmap, "SDMP"/"FDMP").
    CrashDumpBitmap,
    /// Windows 64-bit crash dump, DumpType 6 (live kernel bitmap).
    CrashDumpLiveKernelBitmap,
    /// Windows 64-bit crash dump, DumpType 8 (kernel memory, "RDMP").
    CrashDumpKernel,
    /// Windows 64-bit crash dump, DumpType 9 (kernel and user memory, "RDMP").
    CrashDumpKernelUser,
    /// Windows 64-bit crash dump, DumpType 10 (complete memory, "RDMP").
    CrashDumpComplete,
    /// Windows 64-bit crash dump, DumpType 4 (triage): not a memory image.
    CrashDumpTriage,
    /// ELF core file (QEMU `dump-guest-memory`, VirtualBox).
    ElfCore,
    /// LiME (Linux Memory Extractor) file: a range header before each stored range.
    Lime,
    /// VMware `.vmem` whose `.vmss`/`.vmsn` checkpoint maps its pages to physical pages.
    Vmware,
}

impl DumpFormat {
    /// A stable, human-readable name.
    pub fn name(&self) -> &'static str {
        match self {
            DumpFormat::Raw => "raw",
            DumpFormat::CrashDumpFull => "crashdump-full",
            DumpFormat::CrashDumpBitmap => "crashdump-bitmap",
            DumpFormat::CrashDumpLiveKernelBitmap => "crashdump-live-kernel-bitmap",
            DumpFormat::CrashDumpKernel => "crashdump-kernel",
            DumpFormat::CrashDumpKernelUser => "crashdump-kernel-user",
            DumpFormat::CrashDumpComplete => "crashdump-complete",
            DumpFormat::CrashDumpTriage => "crashdump-triage",
            DumpFormat::ElfCore => "elf-core",
            DumpFormat::Lime => "lime",
            DumpFormat::Vmware => "vmware",
        }
    }
}

/// The fields of a Windows 64-bit crash dump header (`DUMP_HEADER64`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CrashDumpHeader {
    /// MajorVersion (0xF for a free build, 0xC for a checked build).
    pub major_version: u32,
    /// MinorVersion: the Windows build number.
    pub minor_version: u32,
    /// DirectoryTableBase (CR3 of the process that crashed).
    pub directory_table_base: u64,
    /// PfnDataBase.
    pub pfn_database: u64,
    /// PsLoadedModuleList.
    pub ps_loaded_module_list: u64,
    /// PsActiveProcessHead.
    pub ps_active_process_head: u64,
    /// MachineImageType (0x8664 for x64).
    pub machine_image_type: u32,
    /// NumberProcessors.
    pub number_processors: u32,
    /// BugCheckCode.
    pub bugcheck_code: u32,
    /// BugCheckParameter1..4.
    pub bugcheck_parameters: [u64; 4],
    /// KdDebuggerDataBlock.
    pub kd_debugger_data_block: u64,
    /// DumpType (1 full, 4 triage, 5 bitmap, 6 live kernel bitmap, 8/9/10 RDMP).
    pub dump_type: u32,
    /// SystemTime as a Windows FILETIME (100 ns since 1601-01-01 UTC).
    pub system_time: u64,
    /// SystemUpTime in 100 ns units.
    pub system_up_time: u64,
    /// PhysicalMemoryBlock.NumberOfPages as the header states it.
    pub number_of_pages: u64,
    /// PhysicalMemoryBlock runs as `(base_page, page_count)`, as the header states them.
    pub runs: Vec<(u64, u64)>,
}

/// What a triage dump (DumpType 4) holds besides its header: the 64-bit triage header
/// (`TRIAGE_DUMP64`) at file offset 0x2000. Offsets are file offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TriageInfo {
    /// DriverCount: number of loaded-driver entries in the triage part.
    pub driver_count: u32,
    /// DataBlocksCount: number of data blocks saved in the triage part.
    pub data_block_count: u32,
    /// ServicePackBuild.
    pub service_pack_build: u32,
    /// SizeOfDump: bytes of the triage part as the kernel wrote it.
    pub size_of_dump: u32,
    /// ValidOffset: file offset of the "TRGD" validity marker.
    pub valid_offset: u32,
    /// ContextOffset: file offset of the CONTEXT record.
    pub context_offset: u32,
    /// ExceptionOffset: file offset of the exception record.
    pub exception_offset: u32,
    /// MmOffset: file offset of the memory-manager data.
    pub mm_offset: u32,
    /// UnloadedDriversOffset: file offset of the unloaded-driver list.
    pub unloaded_drivers_offset: u32,
    /// PrcbOffset: file offset of the crashing processor's KPRCB copy.
    pub prcb_offset: u32,
    /// ProcessOffset: file offset of the current EPROCESS copy.
    pub process_offset: u32,
    /// ThreadOffset: file offset of the current ETHREAD copy.
    pub thread_offset: u32,
    /// CallStackOffset: file offset of the saved kernel stack.
    pub call_stack_offset: u32,
    /// SizeOfCallStack: bytes of saved kernel stack.
    pub size_of_call_stack: u32,
    /// DriverListOffset: file offset of the loaded-driver entries.
    pub driver_list_offset: u32,
    /// StringPoolOffset: file offset of the driver-name string pool.
    pub string_pool_offset: u32,
    /// StringPoolSize.
    pub string_pool_size: u32,
    /// BrokenDriverOffset.
    pub broken_driver_offset: u32,
    /// TriageOptions.
    pub triage_options: u32,
    /// TopOfStack: kernel virtual address of the top of the saved stack.
    pub top_of_stack: u64,
    /// DataPageAddress.
    pub data_page_address: u64,
    /// DataPageOffset.
    pub data_page_offset: u32,
    /// DataPageSize.
    pub data_page_size: u32,
    /// DebuggerDataOffset: file offset of the KDDEBUGGER_DATA64 copy.
    pub debugger_data_offset: u32,
    /// DebuggerDataSize.
    pub debugger_data_size: u32,
    /// DataBlocksOffset: file offset of the {Address u64, Offset u32, Size u32} table.
    pub data_blocks_offset: u32,
}

/// CPU state of the first CPU, from an ELF core note (QEMU's "QEMU" note, VirtualBox's
/// "VBCPU") or from a VMware checkpoint's "cpu" group (`CR64`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ElfCpuState {
    /// CR0 of the first CPU.
    pub cr0: u64,
    /// CR3 (the DTB) of the first CPU.
    pub cr3: u64,
    /// CR4 of the first CPU (bit 12 = LA57, 5-level paging).
    pub cr4: u64,
}

/// One region of a VMware checkpoint's "memory" group: `pages` pages of the `.vmem` from
/// page `page_num` hold physical pages from `ppn`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VmwareRegion {
    /// `regionPPN[i]`: first physical page number.
    pub ppn: u64,
    /// `regionPageNum[i]`: first page of the `.vmem` file.
    pub page_num: u64,
    /// `regionSize[i]`: number of pages.
    pub pages: u64,
}

/// What a VMware checkpoint (`.vmss`/`.vmsn`) says about its `.vmem`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VmwareInfo {
    /// The checkpoint file that was read.
    pub metadata_file: String,
    /// The checkpoint format version (low 4 bits of the magic).
    pub version: u32,
    /// Number of groups in the checkpoint.
    pub groups: u32,
    /// `cpu:numVCPUs`, when present.
    pub vcpus: Option<u32>,
    /// The memory regions (empty: the `.vmem` is one linear range).
    pub regions: Vec<VmwareRegion>,
}

/// Format, size, header fields and warnings of an opened capture.
#[derive(Debug, Clone, Serialize)]
pub struct DumpMetadata {
    /// The sniffed format.
    pub format: DumpFormat,
    /// File size in bytes.
    pub file_size: u64,
    /// The crash-dump header, for crash dumps.
    pub crash_dump: Option<CrashDumpHeader>,
    /// The triage part, for triage dumps.
    pub triage: Option<TriageInfo>,
    /// CPU state from an ELF core note or a VMware checkpoint, when present.
    pub elf_cpu: Option<ElfCpuState>,
    /// The VMware checkpoint's facts, for VMware captures.
    pub vmware: Option<VmwareInfo>,
    /// Why the capture holds no (or less) physical memory than it should, when it does:
    /// the innermost cause to print before anything that failed because of it.
    pub root_cause: Option<RootCause>,
    /// Problems found while opening that still left the capture usable
    /// (a truncated file, pages the header promises but the file lacks, ...).
    pub warnings: Vec<String>,
}

impl DumpMetadata {
    /// Metadata with no header and no warnings.
    pub fn new(format: DumpFormat, file_size: u64) -> Self {
        DumpMetadata {
            format,
            file_size,
            crash_dump: None,
            triage: None,
            elf_cpu: None,
            vmware: None,
            root_cause: None,
            warnings: Vec::new(),
        }
    }
}
