//! The lock-free fast path: writes to chunks that are already durably
//! DIRTY, and reads of chunks in sync, run from many CPUs at once without
//! the mirror's lock. Everything else goes through [`Mirror`](super::Mirror).
//!
//! Each chunk has one atomic word. The slow path publishes in it whether a
//! write or a read may skip the lock; a fast write claims the parts of the
//! chunk it touches (32 sub-ranges) with one compare-and-swap, so that two
//! overlapping writes are never in flight together. The slow path revokes
//! before it acts (cleaning, copying, its own writes) and then waits until
//! the claimed parts drain; the last fast write to leave tells the caller
//! to kick the slow path.

use super::legset::LegSet;
use super::types::*;
use crate::format::{Geometry, BLOCK_SECTORS, MAX_LEGS};
use alloc::boxed::Box;
use core::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64, AtomicU8,
    Ordering::{Relaxed, SeqCst},
};

/// Sub-ranges of a chunk claimed by fast writes in flight.
pub(super) const BUSY: u64 = 0xffff_ffff;
/// A write to this chunk may skip the lock.
pub(super) const WRITE_OK: u64 = 1 << 32;
/// A read of this chunk may skip the lock.
pub(super) const READ_OK: u64 = 1 << 33;
/// A fast write completed since the cleaner last looked.
pub(super) const TOUCHED: u64 = 1 << 34;
/// The slow path waits for this chunk's fast writes to drain.
pub(super) const WAITER: u64 = 1 << 35;
/// The chunk is durably MODIFIED: fast writes may go while degraded.
pub(super) const MODIFIED: u64 = 1 << 36;

/// Regime word: writable legs in bits 0..16, in-sync legs in 16..32.
const R_LEGS: u64 = 0xffff;
const R_IN_SYNC_SHIFT: u32 = 16;
/// Fast writes are allowed at all.
pub(super) const R_WRITES: u64 = 1 << 32;
/// Fast reads are allowed at all.
pub(super) const R_READS: u64 = 1 << 33;
/// A leg failure is not yet durable in the survivors' superblocks.
pub(super) const R_FAILURES_PENDING: u64 = 1 << 34;
/// Some member is not in sync: writes need MODIFIED chunks.
pub(super) const R_DEGRADED: u64 = 1 << 35;
/// Bits 40..64 count regime changes (wrapping).
const R_GENERATION_SHIFT: u32 = 40;

/// A fast write in flight: write the request's data to each leg in `legs`
/// at `leg_sector`, with FUA if the request asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastWrite {
    /// The request.
    pub request: Request,
    /// Member slots to write to (bit per slot).
    pub legs: u32,
    /// Absolute sector on every leg.
    pub leg_sector: u64,
    /// Table position of each slot's device when the write started (0xff:
    /// none): the legs to write are these, even if a slot changes hands.
    pub positions: [u8; MAX_LEGS],
}

/// A fast read: read the request's range from `leg` at `leg_sector`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastRead {
    /// The request.
    pub request: Request,
    /// Member slot to read from.
    pub leg: u8,
    /// Absolute sector on the leg.
    pub leg_sector: u64,
    /// Table position of the leg's device.
    pub position: u8,
    /// Counted in the leg's reads in flight (`read_done` uncounts it).
    pub counted: bool,
}

/// What to do once every leg of a fast write completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FastWriteDone {
    /// Complete the request with success. If `kick`, the slow path waits
    /// for this chunk: call [`Mirror::kick`](super::Mirror::kick).
    Complete {
        /// The slow path should run.
        kick: bool,
    },
    /// Hand the write to [`Mirror::adopt_write`](super::Mirror::adopt_write),
    /// which completes it (a leg failed, or a failure is not yet recorded).
    Adopt,
}

/// The state the fast path reads, shared by every CPU.
pub struct FastPath {
    words: Box<[AtomicU64]>,
    regime: AtomicU64,
    /// Table position of each slot's device (0xff: none), stored before
    /// the regime that uses it.
    positions: [AtomicU8; MAX_LEGS],
    /// Reads in flight per leg, for the least-pending policy.
    leg_reads: [AtomicU32; MAX_LEGS],
    /// Where the last read sent to each leg ended (sequential affinity).
    stream_end: [AtomicU64; MAX_LEGS],
    round_robin: AtomicU32,
    policy: AtomicU8,
    /// A fast request ran since the slow path last looked (resync rate).
    user_io: AtomicBool,
    chunk_shift: u32,
    sub_shift: u32,
    data_offset: u64,
    data_sectors: u64,
    split_read_sectors: u32,
}

fn policy_code(p: ReadPolicy) -> u8 {
    match p {
        ReadPolicy::Prefer => 0,
        ReadPolicy::LeastPending => 1,
        ReadPolicy::RoundRobin => 2,
        ReadPolicy::Striped => 3,
    }
}

impl FastPath {
    pub(super) fn new(geo: &Geometry, cfg: &Config) -> FastPath {
        let chunk_shift = geo.chunk_sectors.trailing_zeros();
        let subranges = geo.chunk_sectors.min(32);
        FastPath {
            words: (0..geo.chunk_count).map(|_| AtomicU64::new(0)).collect(),
            regime: AtomicU64::new(0),
            positions: core::array::from_fn(|_| AtomicU8::new(0xff)),
            leg_reads: core::array::from_fn(|_| AtomicU32::new(0)),
            stream_end: core::array::from_fn(|_| AtomicU64::new(u64::MAX)),
            round_robin: AtomicU32::new(0),
            policy: AtomicU8::new(policy_code(cfg.read_policy)),
            user_io: AtomicBool::new(false),
            chunk_shift,
            sub_shift: chunk_shift - subranges.trailing_zeros(),
            data_offset: geo.data_offset,
            data_sectors: geo.data_sectors,
            split_read_sectors: cfg.split_read_sectors,
        }
    }

    /// Starts a write without the lock, or returns `None`: submit it to
    /// the mirror instead. Only plain writes qualify (no preflush, no
    /// discard), and only to chunks durably DIRTY with no other write in
    /// flight over the same part of the chunk.
    pub fn try_write(&self, r: &Request) -> Option<FastWrite> {
        if r.op != ReqOp::Write || r.preflush || !self.in_range(r) {
            return None;
        }
        let before = self.regime.load(SeqCst);
        if before & R_WRITES == 0 {
            return None;
        }
        let need = if before & R_DEGRADED != 0 {
            WRITE_OK | MODIFIED
        } else {
            WRITE_OK
        };
        let chunks = self.chunks_of(r);
        for c in chunks.clone() {
            let claim = self.claim_mask(r, c);
            let word = &self.words[c];
            let claimed = word
                .fetch_update(SeqCst, SeqCst, |w| {
                    (w & need == need && w & claim == 0).then_some(w | claim)
                })
                .is_ok();
            if !claimed {
                self.release(r, chunks.start..c, false);
                return None;
            }
        }
        let positions = core::array::from_fn(|l| self.positions[l].load(SeqCst));
        // The legs must be those of the regime the claims were made in.
        if self.regime.load(SeqCst) != before {
            self.release(r, chunks, false);
            return None;
        }
        self.note_user_io();
        Some(FastWrite {
            request: *r,
            legs: (before & R_LEGS) as u32,
            leg_sector: self.data_offset + r.sector,
            positions,
        })
    }

    /// Reports that every leg of a fast write completed; `failed` has a bit
    /// per leg that returned an error.
    pub fn write_done(&self, w: &FastWrite, failed: u32) -> FastWriteDone {
        if failed != 0 || self.regime.load(SeqCst) & R_FAILURES_PENDING != 0 {
            // The claims stay until the mirror adopts the write.
            return FastWriteDone::Adopt;
        }
        let kick = self.release(&w.request, self.chunks_of(&w.request), true);
        FastWriteDone::Complete { kick }
    }

    /// Starts a read without the lock, or returns `None`: submit it to the
    /// mirror instead. Only reads of chunks in sync on every in-sync leg
    /// qualify, and no read the mirror would split across idle legs.
    #[inline]
    pub fn try_read(&self, r: &Request) -> Option<FastRead> {
        self.start_read(r, false)
    }

    /// As [`try_read`](Self::try_read), but a read the mirror would split
    /// starts as its first part, on an idle leg: the returned read covers
    /// fewer sectors than `r`, and the caller serves the rest as a new
    /// request (which an idle leg then takes whole). For a caller that
    /// can split a request without the lock (dm on Linux).
    #[inline]
    pub fn try_read_part(&self, r: &Request) -> Option<FastRead> {
        self.start_read(r, true)
    }

    // Inlined into the C entry points: every read starts here.
    #[inline(always)]
    fn start_read(&self, r: &Request, may_part: bool) -> Option<FastRead> {
        if r.op != ReqOp::Read || r.preflush || !self.in_range(r) {
            return None;
        }
        let regime = self.regime.load(SeqCst);
        let legs = LegSet::from_bits(((regime >> R_IN_SYNC_SHIFT) & R_LEGS) as u32);
        if regime & R_READS == 0 || legs.is_empty() {
            return None;
        }
        let policy = self.policy.load(Relaxed);
        if policy == policy_code(ReadPolicy::Striped) && !self.long_read(r) {
            return self.start_striped_read(r, legs, regime);
        }
        self.start_balanced_read(r, may_part, policy, legs, regime)
    }

    /// A read by the leg counters: least pending, round-robin, or split
    /// across idle legs.
    #[inline(never)]
    fn start_balanced_read(
        &self,
        r: &Request,
        may_part: bool,
        policy: u8,
        legs: LegSet,
        regime: u64,
    ) -> Option<FastRead> {
        let mut read = *r;
        let mut candidates = legs;
        let idle = self.idle_for_split(r, legs);
        let split = idle.len() >= 2;
        if split {
            if !may_part {
                return None;
            }
            read.sectors = first_part(r.sectors, idle.len());
            candidates = idle;
        }
        if self
            .chunks_of(&read)
            .any(|c| self.words[c].load(SeqCst) & READ_OK == 0)
        {
            return None;
        }
        let leg = self.pick_leg(policy, candidates, read.sector);
        let position = self.positions[leg].load(SeqCst);
        if self.regime.load(SeqCst) != regime {
            return None;
        }
        self.leg_reads[leg].fetch_add(1, Relaxed);
        if !split {
            // A first part's rest must not follow it to this leg.
            let end = read.sector + u64::from(read.sectors);
            self.stream_end[leg].store(end, Relaxed);
        }
        self.note_user_io();
        Some(FastRead {
            request: read,
            leg: leg as u8,
            leg_sector: self.data_offset + read.sector,
            position,
            counted: true,
        })
    }

    /// A read to its stripe's home leg: nothing shared is written but the
    /// user-I/O flag, and nothing is counted.
    #[inline(always)]
    fn start_striped_read(&self, r: &Request, legs: LegSet, regime: u64) -> Option<FastRead> {
        for c in self.chunks_of(r) {
            if self.words[c].load(SeqCst) & READ_OK == 0 {
                return None;
            }
        }
        let leg = legs.stripe_home(r.sector)?;
        let position = self.positions[leg].load(SeqCst);
        if self.regime.load(SeqCst) != regime {
            return None;
        }
        self.note_user_io();
        Some(FastRead {
            request: *r,
            leg: leg as u8,
            leg_sector: self.data_offset + r.sector,
            position,
            counted: false,
        })
    }

    #[inline]
    fn long_read(&self, r: &Request) -> bool {
        self.split_read_sectors != 0 && r.sectors >= self.split_read_sectors
    }

    /// The in-sync legs with no read in flight, if `r` is long enough to
    /// split. Splitting gains only by putting idle legs to work: with one
    /// idle leg the read goes whole to it, with none whole to the least
    /// busy, costing the CPU less and keeping the legs as busy.
    fn idle_for_split(&self, r: &Request, legs: LegSet) -> LegSet {
        let mut idle = LegSet::EMPTY;
        if !self.long_read(r) {
            return idle;
        }
        for l in legs.iter() {
            if self.leg_reads[l].load(Relaxed) == 0 {
                idle.insert(l);
            }
        }
        idle
    }

    /// Reports a fast read's completion. If it failed, submit it again
    /// with [`Mirror::retry_read`](super::Mirror::retry_read), which tries
    /// another leg and repairs this one.
    #[inline]
    pub fn read_done(&self, rd: &FastRead) {
        if rd.counted {
            self.leg_reads[usize::from(rd.leg)].fetch_sub(1, Relaxed);
        }
    }

    /// Stores only when the flag is clear: a shared line written by every
    /// request would cost what the fast path saves.
    #[inline]
    fn note_user_io(&self) {
        if !self.user_io.load(SeqCst) {
            self.user_io.store(true, SeqCst);
        }
    }

    /// Leg choice is a hint (any in-sync leg serves the read): its
    /// counters need no ordering.
    fn pick_leg(&self, policy: u8, candidates: LegSet, sector: u64) -> usize {
        if policy != policy_code(ReadPolicy::Prefer) {
            let stream = candidates
                .iter()
                .find(|&l| self.stream_end[l].load(Relaxed) == sector);
            if let Some(l) = stream {
                return l;
            }
        }
        let first = candidates.iter().next().expect("some leg is in sync");
        match policy {
            1 | 3 => candidates
                .iter()
                .min_by_key(|&l| self.leg_reads[l].load(Relaxed))
                .unwrap_or(first),
            2 => {
                let turn = self.round_robin.fetch_add(1, Relaxed) as usize;
                candidates.nth_wrapping(turn).unwrap_or(first)
            }
            _ => first,
        }
    }

    #[inline]
    fn in_range(&self, r: &Request) -> bool {
        r.sectors > 0
            && r.sector
                .checked_add(u64::from(r.sectors))
                .is_some_and(|e| e <= self.data_sectors)
    }

    #[inline]
    pub(super) fn chunks_of(&self, r: &Request) -> core::ops::Range<usize> {
        let first = r.sector >> self.chunk_shift;
        let last = (r.sector + u64::from(r.sectors) - 1) >> self.chunk_shift;
        first as usize..last as usize + 1
    }

    /// The sub-range bits of chunk `c` that `r` touches.
    pub(super) fn claim_mask(&self, r: &Request, c: usize) -> u64 {
        let start = (c as u64) << self.chunk_shift;
        let end = start + (1 << self.chunk_shift);
        let lo = (r.sector.max(start) - start) >> self.sub_shift;
        let hi = ((r.sector + u64::from(r.sectors)).min(end) - 1 - start) >> self.sub_shift;
        ((1u64 << (hi + 1)) - 1) & !((1u64 << lo) - 1)
    }

    /// Drops `r`'s claims on `chunks`; `touched` marks that data was
    /// written. Returns whether the slow path waits for one of them.
    pub(super) fn release(
        &self,
        r: &Request,
        chunks: core::ops::Range<usize>,
        touched: bool,
    ) -> bool {
        let mut kick = false;
        for c in chunks {
            let claim = self.claim_mask(r, c);
            let old = self.words[c]
                .fetch_update(SeqCst, SeqCst, |w| {
                    let mut new = w & !claim;
                    if touched {
                        new |= TOUCHED;
                    }
                    if new & BUSY == 0 {
                        new &= !WAITER;
                    }
                    Some(new)
                })
                .expect("always updates");
            debug_assert_eq!(old & claim, claim, "release of a claim not held");
            kick |= old & WAITER != 0 && (old & !claim) & BUSY == 0;
        }
        kick
    }

    // ---- for the slow path ------------------------------------------------

    pub(super) fn word(&self, c: usize) -> &AtomicU64 {
        &self.words[c]
    }

    /// Stores the table positions of the slots' devices (before the regime).
    pub(super) fn set_positions(&self, positions: impl Fn(usize) -> Option<usize>) {
        for (slot, p) in self.positions.iter().enumerate() {
            let pos = positions(slot).map_or(0xff, |p| p as u8);
            if p.load(SeqCst) != pos {
                p.store(pos, SeqCst);
            }
        }
    }

    /// Stores a new regime if it differs from the current one.
    pub(super) fn set_regime(&self, writable: u32, in_sync: u32, flags: u64) {
        const _: () = assert!(MAX_LEGS <= 16);
        let bits = u64::from(writable) | (u64::from(in_sync) << R_IN_SYNC_SHIFT) | flags;
        let cur = self.regime.load(SeqCst);
        if cur & ((1 << R_GENERATION_SHIFT) - 1) != bits {
            let generation = (cur >> R_GENERATION_SHIFT) + 1;
            self.regime
                .store(generation.wrapping_shl(R_GENERATION_SHIFT) | bits, SeqCst);
        }
    }

    pub(super) fn set_read_policy(&self, p: ReadPolicy) {
        self.policy.store(policy_code(p), SeqCst);
    }

    /// Whether a fast request ran since the last call.
    pub(super) fn take_user_io(&self) -> bool {
        self.user_io.swap(false, SeqCst)
    }

    /// Chunks with fast writes in flight (a scan).
    pub(super) fn writes_in_flight(&self) -> bool {
        self.words.iter().any(|w| w.load(SeqCst) & BUSY != 0)
    }
}

/// The first of `parts` parts of a read of `sectors`, in 4 KiB multiples
/// as the mirror splits (the rest may be shorter).
fn first_part(sectors: u32, parts: u32) -> u32 {
    debug_assert!(parts >= 2);
    sectors
        .div_ceil(parts)
        .next_multiple_of(BLOCK_SECTORS as u32)
        .min(sectors)
}
