//! The VMMap region categories as the HTML page colours them.

/// A VMMap-style region category, as named in [`crate::Region::category`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Executable image mappings.
    Image,
    /// Mapped data files.
    MappedFile,
    /// Pagefile-backed shared sections.
    Shareable,
    /// Native heaps.
    Heap,
    /// .NET (CLR) heaps.
    ManagedHeap,
    /// Thread stacks.
    Stack,
    /// Any other private memory.
    PrivateData,
    /// Address space that cannot be allocated (allocation-granularity leftovers).
    Unusable,
    /// A category name this page does not know.
    Other,
}

impl Category {
    /// Every category, in the order the page lists them (the legend and the totals).
    pub const ALL: [Category; 9] = [
        Category::Image,
        Category::MappedFile,
        Category::Shareable,
        Category::Heap,
        Category::ManagedHeap,
        Category::Stack,
        Category::PrivateData,
        Category::Unusable,
        Category::Other,
    ];

    /// The category of a region's `category` string (case-insensitive; unknown names are
    /// [`Category::Other`]).
    pub fn from_name(name: &str) -> Category {
        Category::ALL
            .into_iter()
            .find(|c| c.label().eq_ignore_ascii_case(name.trim()))
            .unwrap_or(Category::Other)
    }

    /// The name VMMap shows.
    pub const fn label(self) -> &'static str {
        match self {
            Category::Image => "Image",
            Category::MappedFile => "Mapped File",
            Category::Shareable => "Shareable",
            Category::Heap => "Heap",
            Category::ManagedHeap => "Managed Heap",
            Category::Stack => "Stack",
            Category::PrivateData => "Private Data",
            Category::Unusable => "Unusable",
            Category::Other => "Other",
        }
    }

    /// The CSS class that gives the category its colour (`fill` in SVG, `background` in HTML).
    pub const fn class(self) -> &'static str {
        match self {
            Category::Image => "c-image",
            Category::MappedFile => "c-mapped",
            Category::Shareable => "c-share",
            Category::Heap => "c-heap",
            Category::ManagedHeap => "c-managed",
            Category::Stack => "c-stack",
            Category::PrivateData => "c-private",
            Category::Unusable => "c-unusable",
            Category::Other => "c-other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::from_name(c.label()), c);
        }
        assert_eq!(Category::from_name("mapped file"), Category::MappedFile);
        assert_eq!(Category::from_name("Page Table"), Category::Other);
    }
}
