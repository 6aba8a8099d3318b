//! Build families: which Windows x64 builds share one kernel layout, and their release names.
//!
//! This is the one table of build numbers in memtriage. A build belongs to at most one
//! family; the family's `table` build is the one whose layout is bundled. A build in no
//! family is *unknown*: it never borrows a neighbour's layout (see `docs/profiles.md`).

/// One released build number and its marketing name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// The build number (`NtBuildNumber & 0xFFFF`).
    pub build: u32,
    /// The release name, e.g. "Windows 10 22H2".
    pub name: &'static str,
}

/// Builds that share one x64 kernel layout (one bundled table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// The build whose layout is bundled (`bundled/<table>.json.xz`); the family's name.
    pub table: u32,
    /// Every build of the family, the table build first.
    pub releases: &'static [Release],
}

impl Family {
    /// Whether `build` belongs to this family.
    pub fn contains(&self, build: u32) -> bool {
        self.releases.iter().any(|r| r.build == build)
    }
}

const fn r(build: u32, name: &'static str) -> Release {
    Release { build, name }
}

/// Every x64 family with a bundled layout, ascending. 18363, 19042–19045, 22631 and 26200
/// moved the build number with an enablement package over an unchanged kernel layout.
pub const FAMILIES: &[Family] = &[
    Family {
        table: 7601,
        releases: &[r(7601, "Windows 7 SP1 / Server 2008 R2 SP1")],
    },
    Family {
        table: 9600,
        releases: &[r(9600, "Windows 8.1 / Server 2012 R2")],
    },
    Family {
        table: 10240,
        releases: &[r(10240, "Windows 10 1507")],
    },
    Family {
        table: 10586,
        releases: &[r(10586, "Windows 10 1511")],
    },
    Family {
        table: 14393,
        releases: &[r(14393, "Windows 10 1607 / Server 2016")],
    },
    Family {
        table: 15063,
        releases: &[r(15063, "Windows 10 1703")],
    },
    Family {
        table: 16299,
        releases: &[r(16299, "Windows 10 1709")],
    },
    Family {
        table: 17134,
        releases: &[r(17134, "Windows 10 1803")],
    },
    Family {
        table: 17763,
        releases: &[r(17763, "Windows 10 1809 / Server 2019")],
    },
    Family {
        table: 18362,
        releases: &[r(18362, "Windows 10 1903"), r(18363, "Windows 10 1909")],
    },
    Family {
        table: 19041,
        releases: &[
            r(19041, "Windows 10 2004"),
            r(19042, "Windows 10 20H2"),
            r(19043, "Windows 10 21H1"),
            r(19044, "Windows 10 21H2"),
            r(19045, "Windows 10 22H2"),
        ],
    },
    Family {
        table: 20348,
        releases: &[r(20348, "Windows Server 2022")],
    },
    Family {
        table: 22000,
        releases: &[r(22000, "Windows 11 21H2")],
    },
    Family {
        table: 22621,
        releases: &[r(22621, "Windows 11 22H2"), r(22631, "Windows 11 23H2")],
    },
    Family {
        table: 26100,
        releases: &[
            r(26100, "Windows 11 24H2 / Server 2025"),
            r(26200, "Windows 11 25H2"),
        ],
    },
];

/// Released builds with a name but no bundled layout (x64 kernels memtriage cannot read
/// without `--isf`/`--pdb`).
const UNBUNDLED: &[Release] = &[
    r(7600, "Windows 7 / Server 2008 R2"),
    r(9200, "Windows 8 / Server 2012"),
];

/// The family of `build`, or `None` when the build is unknown.
pub fn family_of(build: u32) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.contains(build))
}

/// The release name of `build`, when it is a known release.
pub fn release_name(build: u32) -> Option<&'static str> {
    FAMILIES
        .iter()
        .flat_map(|f| f.releases.iter())
        .chain(UNBUNDLED)
        .find(|r| r.build == build)
        .map(|r| r.name)
}

/// Every build number with a bundled layout, ascending.
pub fn known_builds() -> Vec<u32> {
    let mut v: Vec<u32> = FAMILIES
        .iter()
        .flat_map(|f| f.releases.iter().map(|r| r.build))
        .collect();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_disjoint_sorted_and_named_by_their_first_build() {
        let mut last = 0;
        for f in FAMILIES {
            assert!(f.table > last, "{}", f.table);
            last = f.table;
            assert_eq!(f.releases.first().map(|r| r.build), Some(f.table));
            for r in f.releases {
                assert_eq!(family_of(r.build).map(|g| g.table), Some(f.table));
            }
        }
        assert_eq!(known_builds().len(), 22);
    }

    #[test]
    fn builds_outside_every_family_are_unknown() {
        for build in [7600, 9200, 18364, 19046, 20349, 22622, 25000, 26101, 27000] {
            assert!(family_of(build).is_none(), "{build}");
        }
        assert_eq!(family_of(19045).map(|f| f.table), Some(19041));
        assert_eq!(family_of(18363).map(|f| f.table), Some(18362));
        assert_eq!(family_of(26200).map(|f| f.table), Some(26100));
        assert_eq!(release_name(22631), Some("Windows 11 23H2"));
        assert_eq!(release_name(9200), Some("Windows 8 / Server 2012"));
        assert_eq!(release_name(27000), None);
    }
}
