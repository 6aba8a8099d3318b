//! Fleets: `report` over several captures or directories — which files are captures, one
//! deterministic report name per capture, how many run at once, where the reports go.

use crate::failure::Failure;
use memtriage_analysis::{AnalysisError, Session, SessionOptions};
use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// What the `report` arguments expand to.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Captures to analyse, each once, in argument order (directory entries sorted by name).
    pub captures: Vec<PathBuf>,
    /// Directory entries that are not captures, with the reason (listed on stderr, not errors).
    pub skipped: Vec<String>,
    /// Directories that held no capture.
    pub empty_dirs: Vec<PathBuf>,
}

/// Why `path` (a directory entry) is not a capture, or `None` when it opens as one.
fn not_a_capture(path: &Path) -> Option<String> {
    if path.is_dir() {
        return Some(format!("{}: a directory (not searched)", path.display()));
    }
    match Session::open(path, SessionOptions::default()) {
        Err(e @ AnalysisError::Open(_)) => Some(e.to_string()),
        _ => None,
    }
}

/// The identity of a file for duplicate detection: its canonical path, or the path as given
/// when it cannot be resolved (a missing file is reported when it is analysed).
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Expands the `report` arguments: files are taken as given, directories contribute their
/// entries that open as captures (the others are listed in `skipped`); a file named twice (the
/// same canonical path, also through a directory) is analysed once. Fails with "no captures in
/// DIR" when nothing is left.
pub fn expand(args: &[PathBuf]) -> Result<Inputs, Failure> {
    let mut inputs = Inputs::default();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut seen_dirs: HashSet<PathBuf> = HashSet::new();
    for arg in args {
        if arg.is_dir() {
            if !seen_dirs.insert(identity(arg)) {
                continue;
            }
            let mut entries: Vec<PathBuf> = std::fs::read_dir(arg)
                .map_err(|e| Failure::new(format!("{}: {e}", arg.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            let mut found = 0usize;
            for entry in entries {
                if let Some(reason) = not_a_capture(&entry) {
                    inputs.skipped.push(reason);
                    continue;
                }
                found += 1;
                if seen.insert(identity(&entry)) {
                    inputs.captures.push(entry);
                }
            }
            if found == 0 {
                inputs.empty_dirs.push(arg.clone());
            }
        } else {
            // An s3://bucket/prefix/ stands for every object under it.
            for item in crate::remote::expand(arg).map_err(Failure::new)? {
                if seen.insert(identity(&item)) {
                    inputs.captures.push(item);
                }
            }
        }
    }
    if inputs.captures.is_empty() {
        let dirs: Vec<String> = inputs
            .empty_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        return Err(Failure::new(format!("no captures in {}", dirs.join(", "))));
    }
    Ok(inputs)
}

/// The folder and file names of `path` (canonical when possible), last first.
fn name_parts(path: &Path) -> Vec<String> {
    identity(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .rev()
        .collect()
}

/// One report name per capture, unique and deterministic: the file name, or — for captures
/// that share a file name — as many parent folder names as needed in front, joined by `_`
/// (`a/x.dmp`, `b/x.dmp` → `a_x.dmp`, `b_x.dmp`). Names still equal after that get `-2`,
/// `-3` … in input order.
pub fn report_names(paths: &[PathBuf]) -> Vec<String> {
    let parts: Vec<Vec<String>> = paths.iter().map(|p| name_parts(p)).collect();
    let mut depth = vec![1usize; paths.len()];
    let name = |i: usize, depth: &[usize]| -> String {
        let p = parts.get(i).map(Vec::as_slice).unwrap_or_default();
        let k = depth.get(i).copied().unwrap_or(1).min(p.len());
        let mut taken: Vec<&str> = p.iter().take(k).map(String::as_str).collect();
        taken.reverse();
        if taken.is_empty() {
            "capture".to_owned()
        } else {
            taken.join("_")
        }
    };
    loop {
        let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for i in 0..paths.len() {
            groups.entry(name(i, &depth)).or_default().push(i);
        }
        let mut grew = false;
        for members in groups.values().filter(|m| m.len() > 1) {
            for &i in members {
                let available = parts.get(i).map_or(0, Vec::len);
                if let Some(d) = depth.get_mut(i) {
                    if *d < available {
                        *d += 1;
                        grew = true;
                    }
                }
            }
        }
        if !grew {
            break;
        }
    }
    let mut used: HashSet<String> = HashSet::new();
    (0..paths.len())
        .map(|i| {
            let base = name(i, &depth);
            let mut candidate = base.clone();
            let mut n = 2;
            while !used.insert(candidate.clone()) {
                candidate = format!("{base}-{n}");
                n += 1;
            }
            candidate
        })
        .collect()
}

/// Worker threads for `captures` captures: the requested count (≥ 1), capped at the number of
/// captures and at the CPUs available.
pub fn jobs(requested: u32, captures: usize) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    usize::try_from(requested)
        .unwrap_or(usize::MAX)
        .min(captures)
        .min(cpus)
        .max(1)
}

/// Makes sure `dir` is a directory reports can go to: created when missing; a clear error when
/// the path exists and is not a directory (e.g. `/dev/full`) or cannot be created.
pub fn prepare_output_dir(dir: &Path) -> Result<(), Failure> {
    if dir.exists() && !dir.is_dir() {
        return Err(Failure::new(format!(
            "{}: --output-dir is not a directory",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::new(format!(
            "{}: cannot create the output directory: {e}",
            dir.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_per_path_and_deterministic() {
        let paths: Vec<PathBuf> = ["/cases/a/x.dmp", "/cases/b/x.dmp", "/cases/a/y.dmp"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(report_names(&paths), vec!["a_x.dmp", "b_x.dmp", "y.dmp"]);
        // Same folder names one level up: go further up.
        let paths: Vec<PathBuf> = ["/h1/mem/x.dmp", "/h2/mem/x.dmp"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(report_names(&paths), vec!["h1_mem_x.dmp", "h2_mem_x.dmp"]);
        // A name that a prefixed name collides with still ends up unique.
        let paths: Vec<PathBuf> = ["/a/x.dmp", "/b/x.dmp", "/c/a_x.dmp"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let names = report_names(&paths);
        assert_eq!(names.iter().collect::<HashSet<_>>().len(), 3, "{names:?}");
    }

    #[test]
    fn jobs_are_at_least_one_and_capped() {
        assert_eq!(jobs(1, 5), 1);
        assert_eq!(jobs(8, 1), 1);
        assert_eq!(jobs(8, 0), 1);
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(jobs(u32::MAX, 1000), cpus.min(1000));
    }
}
