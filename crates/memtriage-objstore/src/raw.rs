//! A raw image (file offset = physical address) read through a [`ByteSource`].

use crate::ByteSource;
use memtriage_dump::{DumpFormat, DumpMetadata, PhysError, PhysRange, PhysicalMemory};
use std::sync::Arc;

/// Physical memory of a raw image whose bytes come from a [`ByteSource`].
#[derive(Debug)]
pub struct RawSourceMemory {
    source: Arc<dyn ByteSource>,
    ranges: Vec<PhysRange>,
    meta: DumpMetadata,
}

impl RawSourceMemory {
    /// One range `[0, len)`, like a local raw image.
    pub fn new(source: Arc<dyn ByteSource>) -> Self {
        let len = source.len();
        RawSourceMemory {
            ranges: vec![PhysRange { start: 0, len }],
            meta: DumpMetadata::new(DumpFormat::Raw, len),
            source,
        }
    }
}

impl PhysicalMemory for RawSourceMemory {
    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        let len = self.source.len();
        let end = pa.saturating_add(buf.len() as u64);
        if pa >= len {
            return Err(PhysError::NotInDump { pa });
        }
        if end > len {
            // Fill what exists, then name the first missing address.
            let n = usize::try_from(len - pa).map_err(|_| PhysError::NotInDump { pa })?;
            if let Some(head) = buf.get_mut(..n) {
                self.source
                    .read_exact_at(pa, head)
                    .map_err(|_| PhysError::NotInDump { pa })?;
            }
            return Err(PhysError::NotInDump { pa: len });
        }
        self.source
            .read_exact_at(pa, buf)
            .map_err(|_| PhysError::NotInDump { pa })
    }

    fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }

    fn slice(&self, pa: u64, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(pa).ok()?;
        self.source.mapped()?.get(start..start.checked_add(len)?)
    }

    fn metadata(&self) -> &DumpMetadata {
        &self.meta
    }
}
