//! The `_DRIVER_OBJECT` layout: from the profile when it has the type, else the x64 layout
//! verified field by field in the ISFs of eight builds (docs/profiles.md).

use memtriage_symbols::Profile;

/// `_DRIVER_OBJECT.Type` of a driver object (`IO_TYPE_DRIVER`).
pub const IO_TYPE_DRIVER: u16 = 4;

/// The table builds whose `_DRIVER_OBJECT` layout was checked against a real ISF
/// (testdata/isf, one per build; the test `verified_layout_matches_every_isf` checks each).
/// A build of the same family (`memtriage_symbols::family_of`) shares the layout.
pub const VERIFIED_BUILDS: [u32; 8] = [7601, 9600, 14393, 17763, 18362, 19041, 20348, 22000];

/// Where the `_DRIVER_OBJECT` layout in use comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverLayoutSource {
    /// The profile (a user ISF or PDB) has the type.
    Profile,
    /// The layout verified in the ISFs of [`VERIFIED_BUILDS`], for a build of those families.
    Verified,
}

/// Offsets of the `_DRIVER_OBJECT` fields the driver scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverObjectLayout {
    /// `sizeof(_DRIVER_OBJECT)` (also the value of its `Size` field).
    pub size: u64,
    /// `Type` (2 bytes).
    pub type_: u64,
    /// `Size` (2 bytes).
    pub size_field: u64,
    /// `DriverStart` (pointer).
    pub driver_start: u64,
    /// `DriverSize` (4 bytes).
    pub driver_size: u64,
    /// `DriverSection` (pointer to the `_KLDR_DATA_TABLE_ENTRY`).
    pub driver_section: u64,
    /// `DriverExtension` (pointer; its first field points back at the driver object).
    pub driver_extension: u64,
    /// `DriverName` (`_UNICODE_STRING`).
    pub driver_name: u64,
}

/// The x64 layout, identical in the ISFs of every build in [`VERIFIED_BUILDS`].
pub const VERIFIED_LAYOUT: DriverObjectLayout = DriverObjectLayout {
    size: 0x150,
    type_: 0x0,
    size_field: 0x2,
    driver_start: 0x18,
    driver_size: 0x20,
    driver_section: 0x28,
    driver_extension: 0x30,
    driver_name: 0x38,
};

impl DriverObjectLayout {
    /// The layout of `_DRIVER_OBJECT` in `profile`, when it has the type and every field.
    pub fn from_profile(profile: &Profile) -> Option<DriverObjectLayout> {
        let ty = "_DRIVER_OBJECT";
        let off = |f: &str| profile.offset(ty, f).ok();
        Some(DriverObjectLayout {
            size: profile.size_of(ty).ok()?,
            type_: off("Type")?,
            size_field: off("Size")?,
            driver_start: off("DriverStart")?,
            driver_size: off("DriverSize")?,
            driver_section: off("DriverSection")?,
            driver_extension: off("DriverExtension")?,
            driver_name: off("DriverName")?,
        })
    }

    /// The layout for a kernel of `build` using `profile`: the profile's own when it has the
    /// type, else [`VERIFIED_LAYOUT`] when the build's family is one of [`VERIFIED_BUILDS`];
    /// `None` for any other build (never guessed).
    pub fn for_kernel(
        profile: &Profile,
        build: u32,
    ) -> Option<(DriverObjectLayout, DriverLayoutSource)> {
        if let Some(l) = Self::from_profile(profile) {
            return Some((l, DriverLayoutSource::Profile));
        }
        let table = memtriage_symbols::family_of(build).map(|f| f.table)?;
        VERIFIED_BUILDS
            .contains(&table)
            .then_some((VERIFIED_LAYOUT, DriverLayoutSource::Verified))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every ISF in testdata/isf has exactly the verified layout, and VERIFIED_BUILDS names
    /// exactly the builds of those ISFs.
    #[test]
    fn verified_layout_matches_every_isf() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/isf");
        let mut builds = Vec::new();
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = e.unwrap_or_else(|e| panic!("{e}")).path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let Some(build) = name
                .as_deref()
                .and_then(|n| n.strip_prefix("ntkrnlmp-"))
                .and_then(|n| n.split('-').next())
                .and_then(|b| b.parse::<u32>().ok())
            else {
                continue;
            };
            let p = Profile::from_isf_path(&path).unwrap_or_else(|e| panic!("{build}: {e}"));
            assert_eq!(
                DriverObjectLayout::from_profile(&p),
                Some(VERIFIED_LAYOUT),
                "{build}"
            );
            builds.push(build);
        }
        builds.sort_unstable();
        assert_eq!(builds, VERIFIED_BUILDS);
    }

    #[test]
    fn unverified_builds_get_no_layout_from_a_bundled_profile() {
        for build in memtriage_symbols::bundled::tables() {
            let p =
                memtriage_symbols::bundled::by_build(build).unwrap_or_else(|| panic!("{build}"));
            let got = DriverObjectLayout::for_kernel(&p, build);
            if VERIFIED_BUILDS.contains(&build) {
                assert_eq!(got, Some((VERIFIED_LAYOUT, DriverLayoutSource::Verified)));
            } else {
                assert_eq!(got, None, "{build}");
            }
        }
        // A family member shares its table's layout (19045 is in the 19041 family).
        let p = memtriage_symbols::bundled::by_build(19041).unwrap_or_else(|| panic!("19041"));
        assert!(DriverObjectLayout::for_kernel(&p, 19045).is_some());
    }
}
