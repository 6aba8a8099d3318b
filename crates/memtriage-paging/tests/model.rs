//! Property tests: random page-table trees checked against an independent reference model.
//!
//! A tree is generated as a Rust structure (tables with flags, leaves of every kind), written
//! into a `SparseMemory`, and separately flattened into a `BTreeMap<va_page, Expected>` by
//! plain recursion over the structure. Every mapped page must translate to the model's answer,
//! sampled unmapped addresses must report the model's software state, and `ranges` must equal
//! the model's coalesced set.
#![allow(clippy::unwrap_used)] // tests may unwrap

use memtriage_dump::SparseMemory;
use memtriage_paging::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
struct Bits {
    w: bool,
    u: bool,
    nx: bool,
}

impl Bits {
    fn raw(self) -> u64 {
        (u64::from(self.w) << 1) | (u64::from(self.u) << 2) | (u64::from(self.nx) << 63)
    }
}

#[derive(Clone, Debug)]
enum Leaf {
    /// present page; `k` is the frame number in units of the page size
    Page { k: u64, bits: Bits },
    /// transition PTE (only generated at level 1)
    Transition { k: u64, bits: Bits },
    /// non-present software entry with the state it encodes
    Soft { raw: u64, state: SoftwareState },
}

#[derive(Clone, Debug)]
struct TableEntry {
    transition: bool,
    bits: Bits,
}

#[derive(Clone, Debug)]
struct Op {
    /// indices from the top level down to the leaf level
    path: Vec<u16>,
    leaf: Leaf,
    /// flags of the table entries created on the way (one per level above the leaf)
    tables: Vec<TableEntry>,
}

#[derive(Debug)]
enum Node {
    Table {
        entry: TableEntry,
        children: BTreeMap<u16, Node>,
    },
    Leaf(Leaf),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    Mapped {
        pa: u64,
        size: PageSize,
        state: PageState,
        w: bool,
        u: bool,
        nx: bool,
    },
    Soft {
        level: u8,
        state: SoftwareState,
        span: u64,
    },
}

fn bits() -> impl Strategy<Value = Bits> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(w, u, nx)| Bits { w, u, nx })
}

fn soft() -> impl Strategy<Value = (u64, SoftwareState)> {
    prop_oneof![
        // prototype: bit 10 set, bit 0 clear, anything else
        any::<u64>().prop_map(|r| {
            let raw = (r & !1) | (1 << 10);
            (raw, SoftwareState::Prototype { raw })
        }),
        // page file: file 0..16, page index non-zero, protection bits 5..9
        (0u8..16, 1u64..=u64::from(u32::MAX), 0u64..32).prop_map(|(file, off, prot)| {
            let raw = (off << 32) | (u64::from(file) << 12) | (prot << 5);
            (raw, SoftwareState::PageFile { file, offset: off })
        }),
        // demand zero: non-zero, high half zero, bits 0, 10, 11 clear
        (1u64..=u64::from(u32::MAX)).prop_filter_map("zero after masking", |r| {
            let raw = r & !(1 | (1 << 10) | (1 << 11));
            (raw != 0).then_some((raw, SoftwareState::DemandZero { raw }))
        }),
    ]
}

fn table_entry() -> impl Strategy<Value = TableEntry> {
    (prop::bool::weighted(0.15), bits())
        .prop_map(|(transition, bits)| TableEntry { transition, bits })
}

/// Small index sets so that ops collide, share tables and sit next to each other.
fn index_at(level: u8, top: u8) -> BoxedStrategy<u16> {
    match level {
        l if l == top && top == 5 => prop::sample::select(vec![0u16, 1, 511]).boxed(),
        4 => prop::sample::select(vec![0u16, 1, 255, 256, 300, 511]).boxed(),
        3 => prop::sample::select(vec![0u16, 1, 2, 511]).boxed(),
        2 => prop::sample::select(vec![0u16, 1, 2, 511]).boxed(),
        _ => prop::sample::select(vec![0u16, 1, 2, 3, 510, 511]).boxed(),
    }
}

fn op(top: u8) -> impl Strategy<Value = Op> {
    // leaf level: 1 (4K, transition, software), 2 (2M or software PDE), 3 (1G or software PDPTE)
    prop_oneof![6 => Just(1u8), 2 => Just(2u8), 1 => Just(3u8)].prop_flat_map(move |level| {
        let path: Vec<BoxedStrategy<u16>> = (level..=top).rev().map(|l| index_at(l, top)).collect();
        let tables = prop::collection::vec(table_entry(), (top - level) as usize);
        let k_max: u64 = match level {
            1 => 1 << 24,
            2 => 1 << 15,
            _ => 1 << 6,
        };
        let leaf = if level == 1 {
            prop_oneof![
                5 => (1..k_max, bits()).prop_map(|(k, bits)| Leaf::Page { k, bits }),
                2 => (1..k_max, bits()).prop_map(|(k, bits)| Leaf::Transition { k, bits }),
                3 => soft().prop_map(|(raw, state)| Leaf::Soft { raw, state }),
            ]
            .boxed()
        } else {
            prop_oneof![
                4 => (1..k_max, bits()).prop_map(|(k, bits)| Leaf::Page { k, bits }),
                1 => soft().prop_map(|(raw, state)| Leaf::Soft { raw, state }),
            ]
            .boxed()
        };
        (path, tables, leaf).prop_map(|(path, tables, leaf)| Op { path, leaf, tables })
    })
}

fn insert(root: &mut BTreeMap<u16, Node>, op: &Op) {
    let mut children = root;
    let n = op.path.len();
    for (i, &ix) in op.path.iter().enumerate() {
        if i + 1 == n {
            children
                .entry(ix)
                .or_insert_with(|| Node::Leaf(op.leaf.clone()));
            return;
        }
        let node = children.entry(ix).or_insert_with(|| Node::Table {
            entry: op.tables[i].clone(),
            children: BTreeMap::new(),
        });
        match node {
            Node::Table { children: c, .. } => children = c,
            Node::Leaf(_) => return, // conflict: a leaf already covers this path
        }
    }
}

fn page_shift(level: u8) -> u32 {
    12 + 9 * (u32::from(level) - 1)
}

/// Write the tree into memory; returns the table's physical address.
fn write(mem: &mut SparseMemory, next: &mut u64, children: &BTreeMap<u16, Node>, level: u8) -> u64 {
    let pa = *next;
    *next += 0x1000;
    mem.add_page(pa);
    for (&ix, node) in children {
        let entry = match node {
            Node::Table { entry, children } => {
                let child = write(mem, next, children, level - 1);
                let kind = if entry.transition { 1 << 11 } else { 1 };
                child | kind | entry.bits.raw()
            }
            Node::Leaf(Leaf::Page { k, bits }) => {
                let ps = if level > 1 { 1 << 7 } else { 0 };
                (k << page_shift(level)) | 1 | ps | bits.raw()
            }
            Node::Leaf(Leaf::Transition { k, bits }) => (k << 12) | (1 << 11) | bits.raw(),
            Node::Leaf(Leaf::Soft { raw, .. }) => *raw,
        };
        mem.write_u64(pa + u64::from(ix) * 8, entry);
    }
    pa
}

fn sign_extend(va: u64, bits: u32) -> u64 {
    let s = 64 - bits;
    (((va << s) as i64) >> s) as u64
}

#[allow(clippy::too_many_arguments)]
fn flatten(
    children: &BTreeMap<u16, Node>,
    level: u8,
    prefix: u64,
    va_bits: u32,
    w: bool,
    u: bool,
    nx: bool,
    trans: bool,
    out: &mut BTreeMap<u64, Expected>,
) {
    for (&ix, node) in children {
        let va = sign_extend(prefix | (u64::from(ix) << page_shift(level)), va_bits);
        match node {
            Node::Table { entry, children } => flatten(
                children,
                level - 1,
                prefix | (u64::from(ix) << page_shift(level)),
                va_bits,
                w && entry.bits.w,
                u && entry.bits.u,
                nx || entry.bits.nx,
                trans || entry.transition,
                out,
            ),
            Node::Leaf(Leaf::Page { k, bits }) => {
                let size = match level {
                    1 => PageSize::Size4K,
                    2 => PageSize::Size2M,
                    _ => PageSize::Size1G,
                };
                out.insert(
                    va,
                    Expected::Mapped {
                        pa: k << page_shift(level),
                        size,
                        state: if trans {
                            PageState::Transition
                        } else {
                            PageState::Valid
                        },
                        w: w && bits.w,
                        u: u && bits.u,
                        nx: nx || bits.nx,
                    },
                );
            }
            Node::Leaf(Leaf::Transition { k, bits }) => {
                out.insert(
                    va,
                    Expected::Mapped {
                        pa: k << 12,
                        size: PageSize::Size4K,
                        state: PageState::Transition,
                        w: w && bits.w,
                        u: u && bits.u,
                        nx: nx || bits.nx,
                    },
                );
            }
            Node::Leaf(Leaf::Soft { state, .. }) => {
                out.insert(
                    va,
                    Expected::Soft {
                        level,
                        state: *state,
                        span: 1 << page_shift(level),
                    },
                );
            }
        }
    }
}

fn lookup(model: &BTreeMap<u64, Expected>, va: u64) -> Option<(u64, Expected)> {
    let (&base, &e) = model.range(..=va).next_back()?;
    let span = match e {
        Expected::Mapped { size, .. } => size.bytes(),
        Expected::Soft { span, .. } => span,
    };
    (va - base < span).then_some((base, e))
}

/// The model's ranges: one per mapped page or level-1 software PTE, clipped, coalesced.
fn model_ranges(model: &BTreeMap<u64, Expected>, start: u64, end: u64) -> Vec<MappedRange> {
    let mut out: Vec<MappedRange> = Vec::new();
    for (&base, &e) in model {
        let r = match e {
            Expected::Mapped {
                size,
                state,
                w,
                u,
                nx,
                ..
            } => MappedRange {
                start: base,
                end: base.saturating_add(size.bytes()),
                state: match state {
                    PageState::Valid => RangeState::Valid,
                    PageState::Transition => RangeState::Transition,
                },
                page_size: size,
                writable: w,
                user: u,
                nx,
            },
            Expected::Soft {
                level: 1, state, ..
            } => {
                MappedRange {
                    start: base,
                    end: base.saturating_add(0x1000),
                    state: match state {
                        SoftwareState::Prototype { .. } => RangeState::Prototype,
                        SoftwareState::PageFile { .. } => RangeState::PageFile,
                        SoftwareState::DemandZero { .. } => RangeState::DemandZero,
                        SoftwareState::Unmapped => unreachable!(),
                    },
                    page_size: PageSize::Size4K,
                    // filled from the tables above by the caller's flag map
                    writable: false,
                    user: false,
                    nx: false,
                }
            }
            Expected::Soft { .. } => continue,
        };
        let s = r.start.max(start);
        let e2 = r.end.min(end);
        if s >= e2 {
            continue;
        }
        let r = MappedRange {
            start: s,
            end: e2,
            ..r
        };
        if let Some(last) = out.last_mut() {
            if last.end == r.start
                && (
                    last.state,
                    last.page_size,
                    last.writable,
                    last.user,
                    last.nx,
                ) == (r.state, r.page_size, r.writable, r.user, r.nx)
            {
                last.end = r.end;
                continue;
            }
        }
        out.push(r);
    }
    out
}

struct Built {
    space: AddressSpace,
    model: BTreeMap<u64, Expected>,
    /// effective upper-level flags for level-1 software PTEs, by va
    soft_flags: BTreeMap<u64, (bool, bool, bool)>,
}

fn soft_flags(
    children: &BTreeMap<u16, Node>,
    level: u8,
    prefix: u64,
    va_bits: u32,
    f: (bool, bool, bool),
    out: &mut BTreeMap<u64, (bool, bool, bool)>,
) {
    for (&ix, node) in children {
        let p = prefix | (u64::from(ix) << page_shift(level));
        match node {
            Node::Table { entry, children } => soft_flags(
                children,
                level - 1,
                p,
                va_bits,
                (
                    f.0 && entry.bits.w,
                    f.1 && entry.bits.u,
                    f.2 || entry.bits.nx,
                ),
                out,
            ),
            Node::Leaf(Leaf::Soft { .. }) if level == 1 => {
                out.insert(sign_extend(p, va_bits), f);
            }
            Node::Leaf(_) => {}
        }
    }
}

fn build(ops: &[Op], mode: PagingMode) -> Built {
    let top = mode.top_level();
    let va_bits = mode.va_bits();
    let mut root = BTreeMap::new();
    for op in ops {
        insert(&mut root, op);
    }
    let mut mem = SparseMemory::new();
    let mut next = 0x1000u64;
    let dtb = write(&mut mem, &mut next, &root, top);
    let mut model = BTreeMap::new();
    flatten(&root, top, 0, va_bits, true, true, false, false, &mut model);
    let mut sf = BTreeMap::new();
    soft_flags(&root, top, 0, va_bits, (true, true, false), &mut sf);
    Built {
        space: AddressSpace::with_mode(Arc::new(mem), dtb, mode),
        model,
        soft_flags: sf,
    }
}

fn with_soft_flags(mut v: Vec<MappedRange>, b: &Built) -> Vec<MappedRange> {
    // fill level-1 software ranges' flags from the tables above, then re-coalesce
    let mut out: Vec<MappedRange> = Vec::new();
    for r in v.drain(..) {
        let mut pieces = Vec::new();
        if matches!(
            r.state,
            RangeState::Prototype | RangeState::PageFile | RangeState::DemandZero
        ) {
            // model ranges of software PTEs are coalesced with zero flags: split per page
            let mut a = r.start;
            while a < r.end {
                let page = a & !0xFFF;
                let e = page.saturating_add(0x1000).min(r.end);
                let (w, u, nx) = b.soft_flags[&page];
                pieces.push(MappedRange {
                    start: a,
                    end: e,
                    writable: w,
                    user: u,
                    nx,
                    ..r
                });
                a = e;
            }
        } else {
            pieces.push(r);
        }
        for p in pieces {
            if let Some(last) = out.last_mut() {
                if last.end == p.start
                    && (
                        last.state,
                        last.page_size,
                        last.writable,
                        last.user,
                        last.nx,
                    ) == (p.state, p.page_size, p.writable, p.user, p.nx)
                {
                    last.end = p.end;
                    continue;
                }
            }
            out.push(p);
        }
    }
    out
}

fn check(b: &Built, samples: &[(u64, u64)], window: (u64, u64)) -> Result<(), TestCaseError> {
    let s = &b.space;
    let va_bits = s.mode().va_bits();
    // every model entry: first byte, last byte, a middle byte
    for (&base, &e) in &b.model {
        let span = match e {
            Expected::Mapped { size, .. } => size.bytes(),
            Expected::Soft { span, .. } => span,
        };
        for off in [0, span - 1, (span / 3) & !7] {
            let va = base + off;
            let got = s.translate(va);
            match e {
                Expected::Mapped {
                    pa,
                    size,
                    state,
                    w,
                    u,
                    nx,
                } => prop_assert_eq!(
                    got,
                    Ok(Translation {
                        va,
                        pa: pa + off,
                        page_size: size,
                        state,
                        writable: w,
                        user: u,
                        nx
                    })
                ),
                Expected::Soft { level, state, .. } => match got {
                    Err(TranslateError::NotPresent {
                        va: v,
                        level: l,
                        software,
                        ..
                    }) => prop_assert_eq!((v, l, software), (va, level, state)),
                    other => prop_assert!(false, "{va:#x}: expected {state:?}, got {other:?}"),
                },
            }
            prop_assert_eq!(s.walk(va).result, got);
        }
    }
    // sampled addresses: the model decides
    for &(hi, lo) in samples {
        let va = sign_extend(hi | lo, va_bits);
        let got = s.translate(va);
        match lookup(&b.model, va) {
            Some((base, Expected::Mapped { pa, .. })) => {
                prop_assert_eq!(got.map(|t| t.pa), Ok(pa + (va - base)))
            }
            Some((_, Expected::Soft { level, state, .. })) => prop_assert!(
                matches!(got, Err(TranslateError::NotPresent { level: l, software, .. }) if l == level && software == state),
                "{va:#x}: {got:?}"
            ),
            None => prop_assert!(
                matches!(
                    got,
                    Err(TranslateError::NotPresent {
                        software: SoftwareState::Unmapped,
                        entry: 0,
                        ..
                    })
                ),
                "{va:#x}: expected unmapped, got {got:?}"
            ),
        }
    }
    // ranges: whole space and a window
    let all = s.scan_ranges(0, u64::MAX, DEFAULT_MAX_TABLES);
    prop_assert!(!all.truncated);
    prop_assert_eq!(all.tables_missing, 0);
    prop_assert_eq!(all.loops_skipped, 0);
    prop_assert_eq!(
        &all.ranges,
        &with_soft_flags(model_ranges(&b.model, 0, u64::MAX), b)
    );
    let (a, z) = (
        sign_extend(window.0, va_bits),
        sign_extend(window.1, va_bits),
    );
    let (a, z) = (a.min(z), a.max(z));
    prop_assert_eq!(
        s.ranges(a, z),
        with_soft_flags(model_ranges(&b.model, a, z), b)
    );
    Ok(())
}

/// A sampled address: index bits from the same small sets (so they land near mappings) and a
/// random page offset.
fn sample(top: u8) -> impl Strategy<Value = (u64, u64)> {
    let idx: Vec<BoxedStrategy<u16>> = (1..=top).rev().map(|l| index_at(l, top)).collect();
    (idx, 0u64..0x1000).prop_map(move |(ix, off)| {
        let mut va = 0u64;
        for (i, x) in ix.iter().enumerate() {
            let level = top - i as u8;
            va |= u64::from(*x) << page_shift(level);
        }
        (va, off)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn four_level_matches_model(
        ops in prop::collection::vec(op(4), 0..60),
        samples in prop::collection::vec(sample(4), 64),
        window in (sample(4), sample(4)),
    ) {
        let b = build(&ops, PagingMode::Level4);
        check(&b, &samples, ((window.0).0 | (window.0).1, (window.1).0 | (window.1).1))?;
    }

    #[test]
    fn five_level_matches_model(
        ops in prop::collection::vec(op(5), 0..40),
        samples in prop::collection::vec(sample(5), 64),
        window in (sample(5), sample(5)),
    ) {
        let b = build(&ops, PagingMode::Level5);
        check(&b, &samples, ((window.0).0 | (window.0).1, (window.1).0 | (window.1).1))?;
    }
}
