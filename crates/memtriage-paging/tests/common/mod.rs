//! A tiny page-table builder over `SparseMemory` for tests.
#![allow(dead_code)]

use memtriage_dump::SparseMemory;
use memtriage_paging::{AddressSpace, PagingMode};
use std::sync::Arc;

pub const P: u64 = 1;
pub const W: u64 = 2;
pub const U: u64 = 4;
pub const PS: u64 = 1 << 7;
pub const NX: u64 = 1 << 63;
pub const TRANS: u64 = 1 << 11;
pub const PROTO: u64 = 1 << 10;

/// Builds tables in sparse memory; table frames come from `next`, counting up from 1 MiB.
pub struct Pt {
    pub mem: SparseMemory,
    pub dtb: u64,
    pub mode: PagingMode,
    next: u64,
}

pub fn idx(va: u64, level: u8) -> u64 {
    (va >> (12 + 9 * (u32::from(level) - 1))) & 0x1ff
}

impl Pt {
    pub fn new(mode: PagingMode) -> Self {
        let mut mem = SparseMemory::new();
        let dtb = 0x1000;
        mem.add_page(dtb);
        Pt {
            mem,
            dtb,
            mode,
            next: 0x10_0000,
        }
    }

    pub fn alloc(&mut self) -> u64 {
        let pa = self.next;
        self.next += 0x1000;
        self.mem.add_page(pa);
        pa
    }

    fn top(&self) -> u8 {
        match self.mode {
            PagingMode::Level4 => 4,
            PagingMode::Level5 => 5,
        }
    }

    /// Physical address of the entry for `va` at `level`, creating present W|U tables above.
    pub fn entry_pa(&mut self, va: u64, level: u8) -> u64 {
        let mut table = self.dtb;
        let mut l = self.top();
        loop {
            let epa = table + idx(va, l) * 8;
            if l == level {
                return epa;
            }
            let mut b = [0u8; 8];
            use memtriage_dump::PhysicalMemory;
            self.mem.read_phys(epa, &mut b).unwrap();
            let e = u64::from_le_bytes(b);
            table = if e & P != 0 {
                e & 0x000F_FFFF_FFFF_F000
            } else {
                let t = self.alloc();
                self.mem.write_u64(epa, t | P | W | U);
                t
            };
            l -= 1;
        }
    }

    pub fn set(&mut self, va: u64, level: u8, entry: u64) {
        let epa = self.entry_pa(va, level);
        self.mem.write_u64(epa, entry);
    }

    pub fn map4k(&mut self, va: u64, pa: u64, flags: u64) {
        self.set(va, 1, pa | flags | P);
    }

    pub fn space(&self) -> AddressSpace {
        AddressSpace::with_mode(Arc::new(self.mem.clone()), self.dtb, self.mode)
    }
}
