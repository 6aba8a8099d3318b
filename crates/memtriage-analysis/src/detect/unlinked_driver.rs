//! `unlinked_kernel_module`: a driver image in kernel memory absent from PsLoadedModuleList.

use super::Detector;
use crate::drivers::{DriverImage, FoundBy};
use crate::rules::{Rule, UNLINKED_KERNEL_MODULE};
use crate::{AnalysisError, Session};
use memtriage_report::{Finding, Severity};

/// The finding for one unlisted image (`None` for a listed one). High when a driver object
/// points at the image (a live driver), medium for a PE header alone.
pub fn unlinked_driver_finding(image: &DriverImage) -> Option<Finding> {
    if image.in_list {
        return None;
    }
    let found_by = image.found_by()?;
    let severity = match found_by {
        FoundBy::DriverObject | FoundBy::Both => Severity::High,
        FoundBy::PeHeader => Severity::Medium,
    };
    let shown = if image.name.is_empty() {
        "driver image".to_owned()
    } else {
        format!("driver image {}", image.name)
    };
    let mut f = UNLINKED_KERNEL_MODULE
        .finding(
            severity,
            format!(
                "{shown} at {:#x} ({:#x} bytes, found by {}) is not on PsLoadedModuleList",
                image.base,
                image.size,
                found_by.name()
            ),
        )
        .with_range(image.base, image.base.saturating_add(image.size.max(1) - 1))
        .with_evidence("base", format!("{:#x}", image.base))
        .with_evidence("size", format!("{:#x}", image.size))
        .with_evidence("name", image.name.clone())
        .with_evidence("found_by", found_by.name());
    if let Some(d) = &image.driver_object {
        f = f
            .with_evidence("driver_name", d.name.clone())
            .with_evidence("driver_object_physical", format!("{:#x}", d.object_pa));
        if let Some(va) = d.object_va {
            f = f.with_evidence("driver_object", format!("{va:#x}"));
        }
    }
    Some(f)
}

/// The detector.
pub struct UnlinkedDrivers;

impl Detector for UnlinkedDrivers {
    fn rules(&self) -> &'static [&'static Rule] {
        &[&UNLINKED_KERNEL_MODULE]
    }
    fn session(&self, session: &Session) -> Result<Vec<Finding>, AnalysisError> {
        Ok(session
            .driver_images()?
            .images
            .iter()
            .filter_map(unlinked_driver_finding)
            .collect())
    }
}
