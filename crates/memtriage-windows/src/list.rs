//! Doubly linked lists (`LIST_ENTRY`) walked from both ends.
//!
//! A list in a live capture can be smeared (acquisition raced a change) or tampered with.
//! [`walk_both_ways`] follows Flink from the head; when that breaks before coming back to the
//! head, it follows Blink from the head until it meets the forward part, and joins the two.
//! Entries between the two breaks cannot be reached and are named in the warnings.

use std::collections::HashSet;

/// Why one direction of a walk stopped before the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The links at `at` could not be read.
    Unreadable,
    /// The link read at `at` points outside the list's address range, to unreadable memory,
    /// or to an entry whose opposite link does not point back to `at`.
    BadLink,
    /// The link read at `at` points back to an earlier entry.
    Loop,
    /// The walk reached its entry limit.
    TooLong,
}

/// One direction of a walk that stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListBreak {
    /// The link whose Flink (or Blink) was bad.
    pub at: u64,
    /// The bad pointer read there (0 when unreadable).
    pub value: u64,
    /// Why.
    pub kind: BreakKind,
}

impl ListBreak {
    /// One-line description (`Flink 0x… at 0x… is not a valid link`).
    pub fn describe(&self, direction: &str) -> String {
        let (at, value) = (self.at, self.value);
        match self.kind {
            BreakKind::Unreadable => format!("links at {at:#x} unreadable"),
            BreakKind::BadLink => format!("{direction} {value:#x} at {at:#x} is not a valid link"),
            BreakKind::Loop => format!("{direction} {value:#x} at {at:#x} loops back"),
            BreakKind::TooLong => format!("more than the entry limit; stopped at {at:#x}"),
        }
    }
}

/// The result of a walk: link addresses in list order (head excluded) and what broke.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListWalk {
    /// Link addresses (the `LIST_ENTRY` inside each entry), in Flink order.
    pub links: Vec<u64>,
    /// The forward walk's break, if it did not come back to the head.
    pub forward_break: Option<ListBreak>,
    /// The backward walk's break, if it had to run and did not meet the forward part.
    pub backward_break: Option<ListBreak>,
    /// Entries recovered by walking Blink from the head.
    pub recovered: usize,
}

impl ListWalk {
    /// Whether the list closed on its head going forward.
    pub fn is_complete(&self) -> bool {
        self.forward_break.is_none()
    }

    /// Warning lines for a broken walk, `what` naming the list (`process list`).
    pub fn messages(&self, what: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(b) = self.forward_break {
            let joined = if self.backward_break.is_none() {
                format!(
                    "; {} entries recovered walking Blink from the head",
                    self.recovered
                )
            } else {
                format!(
                    "; walking Blink from the head recovered {} entries, then {}: entries between the two breaks are missing",
                    self.recovered,
                    self.backward_break
                        .map(|b| b.describe("Blink"))
                        .unwrap_or_default()
                )
            };
            out.push(format!("{what} broken: {}{joined}", b.describe("Flink")));
        }
        out
    }
}

/// Walk the list whose head is at `head`. `links(va)` reads the `(Flink, Blink)` pair at
/// `va`; `valid(link)` says whether a pointer can be a link of this list (address half,
/// room for the containing structure). At most `max` entries are taken.
pub fn walk_both_ways(
    head: u64,
    links: impl Fn(u64) -> Option<(u64, u64)>,
    valid: impl Fn(u64) -> bool,
    max: usize,
) -> ListWalk {
    let mut out = ListWalk::default();
    let mut seen: HashSet<u64> = HashSet::new();
    seen.insert(head);
    let step = |at: u64, forward: bool, seen: &HashSet<u64>| -> Result<Option<u64>, ListBreak> {
        let Some((flink, blink)) = links(at) else {
            return Err(ListBreak {
                at,
                value: 0,
                kind: BreakKind::Unreadable,
            });
        };
        let next = if forward { flink } else { blink };
        if next == head {
            return Ok(None);
        }
        if !valid(next) {
            return Err(ListBreak {
                at,
                value: next,
                kind: BreakKind::BadLink,
            });
        }
        if seen.contains(&next) {
            return Err(ListBreak {
                at,
                value: next,
                kind: BreakKind::Loop,
            });
        }
        // A real neighbour links back: its Blink (going forward) or Flink (going backward)
        // is `at`. This keeps garbage that happens to look like an address out of the list.
        match links(next) {
            Some((f, b)) if (if forward { b } else { f }) == at => Ok(Some(next)),
            _ => Err(ListBreak {
                at,
                value: next,
                kind: BreakKind::BadLink,
            }),
        }
    };
    let mut at = head;
    loop {
        if out.links.len() >= max {
            out.forward_break = Some(ListBreak {
                at,
                value: 0,
                kind: BreakKind::TooLong,
            });
            return out; // a list this long is not walked backwards too
        }
        match step(at, true, &seen) {
            Ok(None) => return out,
            Ok(Some(next)) => {
                seen.insert(next);
                out.links.push(next);
                at = next;
            }
            Err(b) => {
                out.forward_break = Some(b);
                break;
            }
        }
    }
    // Backward from the head until the forward part is met.
    let mut back = Vec::new();
    let mut at = head;
    while out.links.len() + back.len() < max {
        match step(at, false, &seen) {
            Ok(None) => break,
            Err(ListBreak {
                kind: BreakKind::Loop,
                ..
            }) => break, // met the forward part: joined
            Ok(Some(prev)) => {
                seen.insert(prev);
                back.push(prev);
                at = prev;
            }
            Err(b) => {
                out.backward_break = Some(b);
                break;
            }
        }
    }
    out.recovered = back.len();
    out.links.extend(back.into_iter().rev());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A list head at 0x1000 and entries at 0x2000, 0x3000, … with consistent links.
    fn list(n: u64) -> HashMap<u64, (u64, u64)> {
        let nodes: Vec<u64> = std::iter::once(0x1000)
            .chain((0..n).map(|i| 0x2000 + i * 0x1000))
            .collect();
        let len = nodes.len();
        (0..len)
            .map(|i| (nodes[i], (nodes[(i + 1) % len], nodes[(i + len - 1) % len])))
            .collect()
    }

    fn walk(m: &HashMap<u64, (u64, u64)>) -> ListWalk {
        walk_both_ways(0x1000, |va| m.get(&va).copied(), |va| va >= 0x1000, 100)
    }

    #[test]
    fn an_intact_list_is_walked_forward_only() {
        let w = walk(&list(4));
        assert_eq!(w.links, vec![0x2000, 0x3000, 0x4000, 0x5000]);
        assert!(w.is_complete());
        assert!(w.messages("x").is_empty());
    }

    #[test]
    fn a_smeared_flink_is_bridged_from_the_head_backwards() {
        let mut m = list(5);
        m.get_mut(&0x3000).unwrap().0 = 0xdead; // Flink of the second entry is garbage
        let w = walk(&m);
        assert_eq!(w.links, vec![0x2000, 0x3000, 0x4000, 0x5000, 0x6000]);
        assert_eq!(w.recovered, 3);
        assert_eq!(
            w.forward_break,
            Some(ListBreak {
                at: 0x3000,
                value: 0xdead,
                kind: BreakKind::BadLink
            })
        );
        assert_eq!(
            w.messages("process list"),
            vec!["process list broken: Flink 0xdead at 0x3000 is not a valid link; 3 entries recovered walking Blink from the head"]
        );
    }

    #[test]
    fn two_breaks_lose_only_what_lies_between_them() {
        let mut m = list(6);
        m.get_mut(&0x3000).unwrap().0 = 0; // forward stops after 0x3000
        m.get_mut(&0x6000).unwrap().1 = 0; // backward stops at 0x6000
        m.remove(&0x4000); // unreachable and unreadable anyway
        let w = walk(&m);
        assert_eq!(w.links, vec![0x2000, 0x3000, 0x6000, 0x7000]);
        assert!(w.backward_break.is_some());
    }

    #[test]
    fn loops_and_unreadable_heads_end_the_walk() {
        let mut m = list(3);
        m.get_mut(&0x4000).unwrap().0 = 0x3000; // points back instead of closing
        let w = walk(&m);
        assert_eq!(w.links, vec![0x2000, 0x3000, 0x4000]);
        assert_eq!(w.forward_break.map(|b| b.kind), Some(BreakKind::Loop));
        assert_eq!(w.recovered, 0);
        let none = walk_both_ways(0x1000, |_| None, |_| true, 10);
        assert!(none.links.is_empty());
        assert_eq!(
            none.forward_break.map(|b| b.kind),
            Some(BreakKind::Unreadable)
        );
    }

    #[test]
    fn walks_are_bounded() {
        let w = walk_both_ways(0x1000, |va| Some((va + 0x10, va - 0x10)), |_| true, 50);
        assert_eq!(w.links.len(), 50);
        assert_eq!(w.forward_break.map(|b| b.kind), Some(BreakKind::TooLong));
    }
}
