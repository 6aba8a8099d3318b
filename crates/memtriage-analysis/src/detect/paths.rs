//! Windows path normalisation for comparing the kernel's, the PEB's and a VAD's file names.

/// Normalise a Windows path for comparison: lower case, the volume prefix
/// (`\Device\HarddiskVolumeN`, `\??\`, `C:`, `\SystemRoot`) removed.
pub fn normalize_path(path: &str) -> String {
    let mut p = path.trim().replace('/', "\\").to_ascii_lowercase();
    for prefix in ["\\??\\", "\\\\?\\"] {
        if let Some(rest) = p.strip_prefix(prefix) {
            p = rest.to_string();
        }
    }
    if let Some(rest) = p.strip_prefix("\\device\\") {
        // \device\harddiskvolume3\windows\... → \windows\...
        p = match rest.find('\\') {
            Some(i) => rest[i..].to_string(),
            None => String::new(),
        };
    } else if p.len() >= 2 && p.as_bytes()[1] == b':' {
        p = p[2..].to_string();
    } else if let Some(rest) = p.strip_prefix("\\systemroot") {
        p = format!("\\windows{rest}");
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_normalise_across_volume_forms() {
        let k = normalize_path("\\Device\\HarddiskVolume3\\Windows\\System32\\svchost.exe");
        assert_eq!(k, "\\windows\\system32\\svchost.exe");
        assert_eq!(normalize_path("C:\\Windows\\System32\\SVCHOST.EXE"), k);
        assert_eq!(normalize_path("\\SystemRoot\\System32\\svchost.exe"), k);
        assert_eq!(
            normalize_path("\\??\\C:\\Windows\\System32\\svchost.exe"),
            k
        );
        assert_ne!(normalize_path("C:\\Users\\Public\\evil.exe"), k);
    }
}
