//! Page files (`pagefile.sys`): plain files of 4 KiB pages, read with positioned reads.
//!
//! A page-file PTE names a page-file number (0..=15) and a page index; the page is the 4 KiB
//! at `index * 4096` of that file. Files are opened read-only, never mapped and never read
//! whole: each read is one positioned read of the bytes asked for.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

const PAGE: u64 = 0x1000;
/// Distinct missed pages remembered per page file for the warnings (the count goes on).
const MAX_REMEMBERED_MISSES: usize = 4096;
/// Missed pages named in one warning.
const NAMED_MISSES: usize = 8;
/// Highest page-file number a PTE can name (`PageFileLow` is 4 bits).
pub const MAX_PAGE_FILE_NUMBER: u8 = 15;

/// A page file as given on the command line: `FILE` (number 0) or `N=FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageFileSpec {
    /// The page-file number PTEs use for it (0..=15).
    pub number: u8,
    /// Where it is.
    pub path: PathBuf,
}

impl FromStr for PageFileSpec {
    type Err = PageFileError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| PageFileError::BadSpec {
            spec: s.to_string(),
            reason: reason.to_string(),
        };
        if s.is_empty() {
            return Err(bad("empty"));
        }
        let (number, path) = match s.split_once('=') {
            Some((n, p)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                let number = n
                    .parse::<u8>()
                    .ok()
                    .filter(|n| *n <= MAX_PAGE_FILE_NUMBER)
                    .ok_or_else(|| bad("the page-file number must be 0 to 15"))?;
                (number, p)
            }
            _ => (0, s),
        };
        if path.is_empty() {
            return Err(bad("no file name after '='"));
        }
        Ok(PageFileSpec {
            number,
            path: PathBuf::from(path),
        })
    }
}

/// Why a page file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PageFileError {
    /// `--pagefile` value that is not `FILE` or `N=FILE`.
    #[error("{reason}; use FILE or N=FILE with N from 0 to 15")]
    BadSpec {
        /// The value given.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// The file could not be opened or its size read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The page file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a page file: empty, or its size is not a whole number of pages.
    #[error("{}: not a page file: {reason}", path.display())]
    NotAPageFile {
        /// The page file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Two page files with the same number.
    #[error("{}: page file #{number} is already {}", path.display(), first.display())]
    Duplicate {
        /// The number given twice.
        number: u8,
        /// The first file with that number.
        first: PathBuf,
        /// The second.
        path: PathBuf,
    },
}

/// Why a page could not be read from a page file that was given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PageFileMiss {
    /// The page lies past the end of the file.
    #[error("byte offset {offset:#x} is past the end of {} ({len:#x} bytes)", path.display())]
    PastEnd {
        /// Byte offset of the page (`index * 4096`, saturated).
        offset: u64,
        /// Size of the file.
        len: u64,
        /// The page file.
        path: PathBuf,
    },
    /// The read failed.
    #[error("{}: read at {offset:#x} failed: {message}", path.display())]
    Io {
        /// Byte offset of the read.
        offset: u64,
        /// The operating system's message.
        message: String,
        /// The page file.
        path: PathBuf,
    },
}

/// One opened page file.
#[derive(Debug)]
pub struct PageFile {
    number: u8,
    path: PathBuf,
    file: File,
    len: u64,
    /// Page indexes PTEs named that lie past the end (bounded), and how many in all.
    misses: Mutex<(BTreeSet<u64>, u64)>,
}

impl PageFile {
    /// Open `path` read-only as page file `number`; a file that is empty or whose size is not
    /// a whole number of 4 KiB pages is refused.
    pub fn open(number: u8, path: &Path) -> Result<PageFile, PageFileError> {
        let io = |source| PageFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        let not = |reason: String| PageFileError::NotAPageFile {
            path: path.to_path_buf(),
            reason,
        };
        if !meta.is_file() {
            return Err(not("not a regular file".into()));
        }
        let len = meta.len();
        if len < PAGE {
            return Err(not(format!("{len} bytes, smaller than one 4096-byte page")));
        }
        if len % PAGE != 0 {
            return Err(not(format!(
                "{len} bytes is not a whole number of 4096-byte pages"
            )));
        }
        Ok(PageFile {
            number,
            path: path.to_path_buf(),
            file,
            len,
            misses: Mutex::new((BTreeSet::new(), 0)),
        })
    }

    /// Its page-file number.
    pub fn number(&self) -> u8 {
        self.number
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file holds no page (never, for an opened page file).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether page `index` lies inside the file.
    pub fn has_page(&self, index: u64) -> bool {
        index
            .checked_mul(PAGE)
            .and_then(|o| o.checked_add(PAGE))
            .is_some_and(|end| end <= self.len)
    }

    /// Read `buf.len()` bytes (at most the rest of the page) at byte `within` of page `index`.
    pub fn read(&self, index: u64, within: u64, buf: &mut [u8]) -> Result<(), PageFileMiss> {
        let offset = index.saturating_mul(PAGE).saturating_add(within);
        let fits = within
            .checked_add(buf.len() as u64)
            .is_some_and(|end| end <= PAGE);
        if !self.has_page(index) || !fits {
            self.remember_miss(index);
            return Err(PageFileMiss::PastEnd {
                offset: index.saturating_mul(PAGE),
                len: self.len,
                path: self.path.clone(),
            });
        }
        read_exact_at(&self.file, buf, offset).map_err(|e| PageFileMiss::Io {
            offset,
            message: e.to_string(),
            path: self.path.clone(),
        })
    }
}

impl PageFile {
    fn remember_miss(&self, index: u64) {
        if let Ok(mut m) = self.misses.lock() {
            let (pages, total) = &mut *m;
            if pages.contains(&index) {
                return;
            }
            *total += 1;
            if pages.len() < MAX_REMEMBERED_MISSES {
                pages.insert(index);
            }
        }
    }

    /// One warning naming the pages PTEs placed past the end of this file so far (`None`
    /// when there were none).
    pub fn miss_warning(&self) -> Option<String> {
        let m = self.misses.lock().ok()?;
        let (pages, total) = &*m;
        if *total == 0 {
            return None;
        }
        let named: Vec<String> = pages
            .iter()
            .take(NAMED_MISSES)
            .map(|p| format!("{p:#x} (offset {:#x})", p.saturating_mul(PAGE)))
            .collect();
        let more = total.saturating_sub(named.len() as u64);
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        Some(format!(
            "page file #{} {}: {total} page(s) named by page-file PTEs lie past its end ({:#x} bytes), read as missing: page {}{tail}",
            self.number,
            self.path.display(),
            self.len,
            named.join(", page "),
        ))
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// The page files an address space reads paged-out pages from (cheap to clone; shared).
#[derive(Clone, Debug, Default)]
pub struct PageFiles {
    files: Arc<[PageFile]>,
}

impl PageFiles {
    /// No page file: page-file pages are reported as missing.
    pub fn none() -> Self {
        Self::default()
    }

    /// Open every page file of `specs` (read-only); numbers must be distinct.
    pub fn open(specs: &[PageFileSpec]) -> Result<PageFiles, PageFileError> {
        let mut files: Vec<PageFile> = Vec::with_capacity(specs.len());
        for spec in specs {
            if let Some(first) = files.iter().find(|f| f.number == spec.number) {
                return Err(PageFileError::Duplicate {
                    number: spec.number,
                    first: first.path.clone(),
                    path: spec.path.clone(),
                });
            }
            files.push(PageFile::open(spec.number, &spec.path)?);
        }
        files.sort_by_key(|f| f.number);
        Ok(PageFiles {
            files: files.into(),
        })
    }

    /// Whether no page file was given.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The page file with PTE number `number`.
    pub fn get(&self, number: u8) -> Option<&PageFile> {
        self.files.iter().find(|f| f.number == number)
    }

    /// Every page file, by number.
    pub fn iter(&self) -> impl Iterator<Item = &PageFile> {
        self.files.iter()
    }

    /// One warning per page file for the pages that were looked for past its end.
    pub fn warnings(&self) -> Vec<String> {
        self.files
            .iter()
            .filter_map(PageFile::miss_warning)
            .collect()
    }
}

/// Where the data of a page-file page is (for `vtop`): the page file and byte offset, and
/// whether a page file with that number was given and holds the page.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PagedOut {
    /// Page-file number.
    pub file: u8,
    /// Page index in the page file.
    pub page: u64,
    /// Byte offset of the page in the page file (`page * 4096`, saturated).
    pub offset: u64,
    /// The page file given with that number, if any.
    pub path: Option<PathBuf>,
    /// Size of that page file in bytes.
    pub file_len: Option<u64>,
    /// Whether the page lies inside that page file (false when none was given).
    pub readable: bool,
}

impl PagedOut {
    /// Describe page `page` of page file `file` against the page files given.
    pub fn locate(files: &PageFiles, file: u8, page: u64) -> PagedOut {
        let given = files.get(file);
        PagedOut {
            file,
            page,
            offset: page.saturating_mul(PAGE),
            path: given.map(|f| f.path().to_path_buf()),
            file_len: given.map(PageFile::len),
            readable: given.is_some_and(|f| f.has_page(page)),
        }
    }
}

impl std::fmt::Display for PagedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head = format!("page file #{} offset {:#x}", self.file, self.offset);
        match (&self.path, self.file_len) {
            (Some(path), _) if self.readable => {
                write!(f, "{head} -> read from {}", path.display())
            }
            (Some(path), Some(len)) => write!(
                f,
                "{head} is past the end of {} ({len:#x} bytes)",
                path.display()
            ),
            _ => write!(
                f,
                "{head}: not read (no page file #{0} given; use --pagefile {0}=FILE)",
                self.file
            ),
        }
    }
}
