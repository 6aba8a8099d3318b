//! How the HTML page colours the VMMap region categories ([`RegionCategory`]).

use crate::RegionCategory;

/// The categories a memory map draws, in the order the legend and the totals list them
/// (every category but Free, which is never a region).
pub const DRAWN: [RegionCategory; 8] = [
    RegionCategory::Image,
    RegionCategory::MappedFile,
    RegionCategory::Shareable,
    RegionCategory::Heap,
    RegionCategory::ManagedHeap,
    RegionCategory::Stack,
    RegionCategory::PrivateData,
    RegionCategory::Unusable,
];

/// The CSS class that gives a category its colour (`fill` in SVG, `background` in HTML).
pub const fn class(category: RegionCategory) -> &'static str {
    match category {
        RegionCategory::Image => "c-image",
        RegionCategory::MappedFile => "c-mapped",
        RegionCategory::Shareable => "c-share",
        RegionCategory::Heap => "c-heap",
        RegionCategory::ManagedHeap => "c-managed",
        RegionCategory::Stack => "c-stack",
        RegionCategory::PrivateData => "c-private",
        RegionCategory::Unusable => "c-unusable",
        RegionCategory::Free => "c-other",
    }
}
