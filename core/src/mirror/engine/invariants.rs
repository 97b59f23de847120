//! The bookkeeping invariants, checked in full (every chunk, every slot
//! of every table, whatever the mirror's size) by the simulator and the
//! tests after every event. Not called on the I/O path.

use super::*;

impl Mirror {
    /// Panics, naming the invariant, if the mirror's tables contradict
    /// each other: free lists, waiting lists, child I/O counted per owner
    /// and per leg, the chunks needing resync, and the fast path's bits.
    pub fn check_invariants(&self) {
        self.check_free_lists();
        self.check_children();
        self.check_waiting();
        let marked = self
            .chunks
            .iter()
            .filter(|c| c.flags.contains(ChunkFlags::NEEDS_RESYNC))
            .count() as u64;
        assert_eq!(marked, self.needs_resync, "chunks marked for resync");
        self.check_fast_bits();
    }

    fn check_free_lists(&self) {
        let req_free = self.req_free.iter().map(|&i| usize::from(i));
        check_free_list("request slot", req_free, self.reqs.len(), |i| {
            self.reqs[i].state == ReqState::Free
        });
        let child_free = self.child_free.iter().map(|&c| c as usize);
        check_free_list("child", child_free, self.children.len(), |c| {
            self.children[c].owner == Owner::Free
        });
        for (s, seg) in self.segments.iter().enumerate() {
            let listed = self.seg_bufs_free.contains(&seg.buf);
            assert!(
                seg.phase == Phase::Idle || !listed,
                "segment {s} writes from a free buffer"
            );
        }
    }

    /// Children in flight, counted per owner and per leg, match what each
    /// owner and leg believe.
    fn check_children(&self) {
        let mut per_leg = [0u32; MAX_LEGS];
        let mut per_req = vec![0u8; self.reqs.len()];
        let mut per_seg = vec![0u16; self.segments.len()];
        let mut per_copy = vec![0u8; self.resync.len()];
        for c in self.children.iter().filter(|c| c.owner != Owner::Free) {
            per_leg[usize::from(c.leg)] += 1;
            match c.owner {
                Owner::Request(i) => per_req[usize::from(i)] += 1,
                Owner::Segment(s) => per_seg[s as usize] += 1,
                Owner::Resync(s) => per_copy[usize::from(s)] += 1,
                _ => {}
            }
        }
        for (l, leg) in self.legs.iter().enumerate() {
            assert_eq!(leg.pending, per_leg[l], "leg {l}: I/O in flight");
        }
        for (i, q) in self.reqs.iter().enumerate() {
            assert_eq!(
                q.pending, per_req[i],
                "request {i} ({:?}): children",
                q.state
            );
        }
        for (s, seg) in self.segments.iter().enumerate() {
            assert_eq!(
                seg.pending, per_seg[s],
                "segment {s} ({:?}): children",
                seg.phase
            );
        }
        for (s, rs) in self.resync.iter().enumerate() {
            let free = rs.phase == ResyncPhase::Free;
            assert!(!free || per_copy[s] == 0, "free copy slot {s} has children");
            assert!(
                free || rs.pending == per_copy[s],
                "copy slot {s} ({:?}): children",
                rs.phase
            );
        }
    }

    /// Every waiting request is listed once and is in a waiting state.
    fn check_waiting(&self) {
        let mut seen = vec![false; self.reqs.len()];
        for &i in &self.waiting {
            let i = usize::from(i);
            assert!(
                !core::mem::replace(&mut seen[i], true),
                "request {i} waits twice"
            );
            let state = self.reqs[i].state;
            assert!(
                matches!(
                    state,
                    ReqState::WaitRead | ReqState::WaitChunks | ReqState::WaitRecord
                ),
                "request {i} listed waiting in {state:?}"
            );
        }
    }
}

/// A free list of a table of `len` entries: each entry listed at most
/// once, every listed entry free, and every free entry listed.
fn check_free_list(
    what: &str,
    listed: impl Iterator<Item = usize>,
    len: usize,
    is_free: impl Fn(usize) -> bool,
) {
    let mut seen = vec![false; len];
    let mut count = 0;
    for i in listed {
        assert!(
            !core::mem::replace(&mut seen[i], true),
            "{what} {i} listed free twice"
        );
        assert!(is_free(i), "{what} {i} listed free but in use");
        count += 1;
    }
    let free = (0..len).filter(|&i| is_free(i)).count();
    assert_eq!(free, count, "{what}s free but not listed");
}
