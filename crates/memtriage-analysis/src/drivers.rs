//! The scanned view of kernel modules: PsLoadedModuleList joined with the driver objects found
//! in pool memory and the native image headers found in kernel space (computed once per
//! session; `modules --scan` shows it, `unlinked_kernel_module` judges it).

use crate::{AnalysisError, Session};
use memtriage_windows::driverscan::ScannedDriver;
use memtriage_windows::kernel_images::{scan_kernel_images, KernelImage};
use memtriage_windows::kmodule::{kernel_modules, KernelModule};

/// How a driver image absent from PsLoadedModuleList was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// A driver object's DriverStart points at it.
    DriverObject,
    /// A native PE header at its base.
    PeHeader,
    /// Both.
    Both,
}

impl FoundBy {
    /// The word used in evidence (`driver_object`, `pe_header`, `both`).
    pub const fn name(self) -> &'static str {
        match self {
            FoundBy::DriverObject => "driver_object",
            FoundBy::PeHeader => "pe_header",
            FoundBy::Both => "both",
        }
    }
}

/// One driver image of the scanned view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverImage {
    /// Image base.
    pub base: u64,
    /// Image size (SizeOfImage from the list or the header, else DriverSize).
    pub size: u64,
    /// BaseDllName from the list, else the driver object's name without `\Driver\`, else empty.
    pub name: String,
    /// FullDllName from the list (empty when not listed).
    pub path: String,
    /// On PsLoadedModuleList.
    pub in_list: bool,
    /// The first driver object (by physical address) whose DriverStart lies in the image.
    pub driver_object: Option<ScannedDriver>,
    /// A native PE header was found at the base.
    pub by_pe_header: bool,
}

impl DriverImage {
    /// How it was found outside the list (`None` for a listed image seen by neither scan).
    pub fn found_by(&self) -> Option<FoundBy> {
        match (self.driver_object.is_some(), self.by_pe_header) {
            (true, true) => Some(FoundBy::Both),
            (true, false) => Some(FoundBy::DriverObject),
            (false, true) => Some(FoundBy::PeHeader),
            (false, false) => None,
        }
    }

    fn contains(&self, va: u64) -> bool {
        va >= self.base && va - self.base < self.size.max(1)
    }
}

/// The scanned view with the problems met building it.
#[derive(Debug, Clone, Default)]
pub struct DriverView {
    /// Every image, ascending by base.
    pub images: Vec<DriverImage>,
    /// Driver objects found (with or without an image).
    pub driver_objects: usize,
    /// Problems met (list unreadable, layout unverified, scan truncated).
    pub warnings: Vec<String>,
}

/// The short name of a driver object: `\Driver\disk` → `disk`.
fn short_name(driver_name: &str) -> String {
    driver_name
        .rsplit('\\')
        .next()
        .unwrap_or(driver_name)
        .to_owned()
}

/// Join the list, the driver objects and the image headers (pure: the tests feed it directly).
/// A driver object or header inside a listed image counts for that image; one outside every
/// known image starts a new, unlisted one.
pub fn join(
    listed: &[KernelModule],
    drivers: &[ScannedDriver],
    headers: &[KernelImage],
) -> Vec<DriverImage> {
    let mut images: Vec<DriverImage> = listed
        .iter()
        .map(|m| DriverImage {
            base: m.base,
            size: m.size,
            name: m.name.clone(),
            path: m.path.clone(),
            in_list: true,
            driver_object: None,
            by_pe_header: false,
        })
        .collect();
    for d in drivers.iter().filter(|d| d.driver_start != 0) {
        match images.iter_mut().find(|i| i.contains(d.driver_start)) {
            Some(i) => {
                if i.driver_object.is_none() {
                    i.driver_object = Some(d.clone());
                }
            }
            None => images.push(DriverImage {
                base: d.driver_start,
                size: d.driver_size,
                name: short_name(&d.name),
                path: String::new(),
                in_list: false,
                driver_object: Some(d.clone()),
                by_pe_header: false,
            }),
        }
    }
    for h in headers {
        if let Some(i) = images.iter_mut().find(|i| i.base == h.base) {
            i.by_pe_header = true;
            if !i.in_list {
                i.size = h.size_of_image;
            }
        } else if !images.iter().any(|i| i.contains(h.base)) {
            images.push(DriverImage {
                base: h.base,
                size: h.size_of_image,
                name: String::new(),
                path: String::new(),
                in_list: false,
                driver_object: None,
                by_pe_header: true,
            });
        }
    }
    images.sort_by_key(|i| i.base);
    images
}

impl Session {
    /// The scanned view of kernel modules (computed once): the list, a pool scan for driver
    /// objects (on builds whose `_DRIVER_OBJECT` layout is known) and a PE-header scan of the
    /// mapped kernel half.
    pub fn driver_images(&self) -> Result<&DriverView, AnalysisError> {
        let k = self.kernel()?;
        // The driver objects come from the session's one pool pass, shared with the process
        // scan. `report --fast` skips that pass; the PE-header scan of the kernel half below
        // still finds unlisted images.
        let pool = if self.fast() {
            None
        } else {
            Some(self.pool_scan()?)
        };
        Ok(self.drivers.get_or_init(|| {
            let mut view = DriverView::default();
            let listed = match k.ps_loaded_module_list {
                Some(head) => {
                    let (mods, w) = kernel_modules(&k.space, &k.layout, head);
                    view.warnings.extend(w);
                    mods
                }
                None => {
                    view.warnings
                        .push("PsLoadedModuleList not found: every driver image is unlisted".into());
                    Vec::new()
                }
            };
            let drivers = match pool.map(|scan| scan.drivers.as_ref()) {
                None => Vec::new(),
                Some(Some(found)) => found.clone(),
                Some(None) => {
                    view.warnings.push(format!(
                        "driver objects not scanned: the _DRIVER_OBJECT layout of build {} is not verified (give --isf or --pdb)",
                        k.build
                    ));
                    Vec::new()
                }
            };
            view.driver_objects = drivers.len();
            let headers = scan_kernel_images(&k.space);
            if headers.truncated {
                view.warnings.push(format!(
                    "kernel PE-header scan stopped after {} pages: driver images above may be missing",
                    headers.pages
                ));
            }
            view.images = join(&listed, &drivers, &headers.images);
            self.warn(view.warnings.iter().cloned());
            view
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(base: u64, size: u64, name: &str) -> KernelModule {
        KernelModule {
            entry: 0,
            base,
            size,
            name: name.into(),
            path: format!("\\SystemRoot\\System32\\drivers\\{name}"),
        }
    }

    fn driver(pa: u64, start: u64, size: u64, name: &str) -> ScannedDriver {
        ScannedDriver {
            pool_pa: pa - 0x40,
            object_pa: pa,
            object_va: Some(0xffff_c000_0000_0000 + pa),
            driver_start: start,
            driver_size: size,
            driver_section: 0,
            name: name.into(),
        }
    }

    #[test]
    fn the_join_marks_listed_images_and_adds_the_rest() {
        let k = 0xffff_f800_0000_0000u64;
        let list = [
            listed(k, 0x10_0000, "disk.sys"),
            listed(k + 0x20_0000, 0x8000, "tcpip.sys"),
        ];
        let drivers = [
            driver(0x1000, k, 0x10_0000, "\\Driver\\disk"),
            // No image (IoCreateDriver): ignored.
            driver(0x2000, 0, 0, "\\Driver\\WMIxWDM"),
            // DriverStart inside a listed image: counts for it.
            driver(0x3000, k + 0x20_1000, 0x1000, "\\Driver\\tcpipreg"),
            driver(0x4000, k + 0x40_0000, 0x7000, "\\Driver\\evil"),
        ];
        let headers = [
            KernelImage {
                base: k,
                size_of_image: 0x10_0000,
            },
            KernelImage {
                base: k + 0x40_0000,
                size_of_image: 0x9000,
            },
            KernelImage {
                base: k + 0x60_0000,
                size_of_image: 0x3000,
            },
            // A header inside a listed image (embedded resource): not a new image.
            KernelImage {
                base: k + 0x20_2000,
                size_of_image: 0x1000,
            },
        ];
        let got = join(&list, &drivers, &headers);
        let summary: Vec<(u64, u64, &str, bool, Option<FoundBy>)> = got
            .iter()
            .map(|i| (i.base - k, i.size, i.name.as_str(), i.in_list, i.found_by()))
            .collect();
        assert_eq!(
            summary,
            [
                (0, 0x10_0000, "disk.sys", true, Some(FoundBy::Both)),
                (
                    0x20_0000,
                    0x8000,
                    "tcpip.sys",
                    true,
                    Some(FoundBy::DriverObject)
                ),
                (0x40_0000, 0x9000, "evil", false, Some(FoundBy::Both)),
                (0x60_0000, 0x3000, "", false, Some(FoundBy::PeHeader)),
            ]
        );
        assert_eq!(
            got[2].driver_object.as_ref().map(|d| d.object_pa),
            Some(0x4000)
        );
    }
}
