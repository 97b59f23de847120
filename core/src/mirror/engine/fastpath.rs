//! The slow path's side of the fast path: it publishes which chunks fast
//! requests may use, revokes that before acting on a chunk, and takes over
//! fast requests that need it.

use super::super::fast::{
    FastRead, FastWrite, BUSY, MODIFIED, READ_OK, R_DEGRADED, R_FAILURES_PENDING, R_READS,
    R_WRITES, TOUCHED, WAITER, WRITE_OK,
};
use super::*;
use core::sync::atomic::Ordering::SeqCst;

impl Mirror {
    /// Takes over a fast write whose legs all completed, when
    /// [`FastPath::write_done`](crate::mirror::FastPath::write_done) said
    /// so; `failed` has a bit per leg that returned an error. Its
    /// completion comes as [`Action::Complete`]. On `Busy` the write keeps
    /// its claims: call again after a request completes.
    pub fn adopt_write(&mut self, w: &FastWrite, failed: u32) -> Result<(), SubmitError> {
        let Some(idx) = self.req_free.pop() else {
            return Err(SubmitError::Busy);
        };
        let i = usize::from(idx);
        let r = w.request;
        self.reqs[i] = Req::new(r);
        // The claims become a slow write in flight, so that no other
        // write, clean or copy of these chunks starts before it is done.
        self.take_holds(i);
        for c in self.chunk_range(r.sector, r.sectors) {
            self.chunks[c].inflight += 1;
        }
        self.fast.release(&r, self.fast.chunks_of(&r), true);
        self.set_state(i, ReqState::Writing);
        let (legs, failed) = (LegSet::from_bits(w.legs), LegSet::from_bits(failed));
        self.reqs[i].ok = legs & !failed;
        self.reqs[i].failed = failed & legs;
        self.stats.data_writes += u64::from(legs.len());
        for leg in (failed & legs).iter() {
            self.leg_failed(leg, FailCause::Write);
        }
        self.write_done(i);
        self.pump();
        Ok(())
    }

    /// Takes over a fast read that failed on its leg: another leg serves
    /// it and the failed one is repaired. `Busy`: call again later.
    pub fn retry_read(&mut self, rd: &FastRead) -> Result<(), SubmitError> {
        let Some(idx) = self.req_free.pop() else {
            return Err(SubmitError::Busy);
        };
        let i = usize::from(idx);
        self.reqs[i] = Req::new(rd.request);
        self.reqs[i].tried = LegSet::of(usize::from(rd.leg));
        self.reqs[i].failed = LegSet::of(usize::from(rd.leg));
        self.start_read(i);
        self.pump();
        Ok(())
    }

    /// Runs the slow path: a fast write it waited for has drained.
    pub fn kick(&mut self) {
        self.pump();
    }

    // ---- revoking ---------------------------------------------------------------

    /// No new fast write may start on chunk `c`.
    pub(super) fn fast_revoke_write(&self, c: usize) {
        self.fast.word(c).fetch_and(!WRITE_OK, SeqCst);
    }

    /// No new fast read may start on chunk `c`.
    pub(super) fn fast_revoke_read(&self, c: usize) {
        self.fast.word(c).fetch_and(!READ_OK, SeqCst);
    }

    /// Revokes fast writes on chunk `c` and tells whether none is in flight
    /// there; if some are, the last to finish asks for a kick.
    pub(super) fn fast_drained(&self, c: usize) -> bool {
        let word = self.fast.word(c);
        if word.fetch_and(!WRITE_OK, SeqCst) & BUSY == 0 {
            return true;
        }
        word.fetch_or(WAITER, SeqCst) & BUSY == 0
    }

    pub(super) fn range_drained(&self, r: &Request) -> bool {
        // Every chunk, not the first busy one: each must ask for its kick.
        self.chunk_range(r.sector, r.sectors)
            .fold(true, |all, c| self.fast_drained(c) & all)
    }

    /// Request `i` needs its chunks to itself: no fast write starts on
    /// them until it finishes.
    pub(super) fn take_holds(&mut self, i: usize) {
        if self.reqs[i].holds {
            return;
        }
        self.reqs[i].holds = true;
        let r = self.reqs[i].r;
        for c in self.chunk_range(r.sector, r.sectors) {
            self.chunks[c].holds += 1;
            self.fast_revoke_write(c);
        }
    }

    pub(super) fn drop_holds(&mut self, i: usize) {
        if !self.reqs[i].holds {
            return;
        }
        self.reqs[i].holds = false;
        let r = self.reqs[i].r;
        for c in self.chunk_range(r.sector, r.sectors) {
            self.chunks[c].holds -= 1;
            self.queue_publish(c);
        }
    }

    /// Chunk `c` is about to return to CLEAN: true if no fast write is in
    /// flight and none completed since the cleaner last looked (fast writes
    /// are then revoked). Otherwise it counts as just written.
    pub(super) fn fast_quiet(&mut self, c: usize) -> bool {
        if mutated!(self, CleanIgnoresFastWrites) {
            return true;
        }
        let old = self.fast.word(c).fetch_and(!(WRITE_OK | TOUCHED), SeqCst);
        if old & (BUSY | TOUCHED) == 0 {
            return true;
        }
        self.note_fast_write(c);
        self.queue_publish(c);
        false
    }

    /// Fast writes ran on chunk `c`: they completed before now, so a flush
    /// issued from now on makes them durable.
    pub(super) fn harvest_fast_writes(&mut self, c: usize) {
        if mutated!(self, CleanIgnoresFastWrites) {
            return;
        }
        let word = self.fast.word(c);
        if word.load(SeqCst) & (BUSY | TOUCHED) != 0 {
            word.fetch_and(!TOUCHED, SeqCst);
            self.note_fast_write(c);
        }
    }

    fn note_fast_write(&mut self, c: usize) {
        self.chunks[c].last_write = self.now;
        self.chunks[c].epoch = self.epoch;
    }

    // ---- publishing -------------------------------------------------------------

    pub(super) fn queue_publish(&mut self, c: usize) {
        if !self.chunks[c].flags.contains(ChunkFlags::PUBLISH) {
            self.chunks[c].flags.insert(ChunkFlags::PUBLISH);
            self.publish_queue.push(c as u32);
        }
    }

    /// Sets chunk `c`'s fast bits from its state.
    pub(super) fn publish(&self, c: usize) {
        let ch = &self.chunks[c];
        // Whether the mirror is degraded is the regime's business: a chunk
        // says whether it may be written when it is not, and when it is.
        let write_ok = ch.inflight == 0 && ch.holds == 0 && self.chunk_writable(ch, false);
        let modified = ch.disk.is_modified() || mutated!(self, NoModifiedWhenDegraded);
        let read_ok = mutated!(self, ReadUnsyncedFromAnyLeg)
            || (!ch.flags.contains(ChunkFlags::NEEDS_RESYNC)
                && matches!(ch.disk.status(), ChunkStatus::Clean | ChunkStatus::Dirty));
        let bit = |on: bool, b: u64| if on { b } else { 0 };
        let set = bit(write_ok, WRITE_OK) | bit(modified, MODIFIED) | bit(read_ok, READ_OK);
        let mask = WRITE_OK | MODIFIED | READ_OK;
        let _ = self
            .fast
            .word(c)
            .fetch_update(SeqCst, SeqCst, |w| Some(w & !mask | set));
    }

    /// Publishes the queued chunks and the legs and flags fast requests use.
    pub(super) fn publish_fast(&mut self) {
        while let Some(c) = self.publish_queue.pop() {
            let c = c as usize;
            self.chunks[c].flags.remove(ChunkFlags::PUBLISH);
            self.publish(c);
        }
        let mut flags = 0;
        if !self.dead {
            flags |= R_READS;
        }
        // A write must first mark the superblocks "not clean" (slow path).
        if !self.dead && !self.suspending && !self.suspended && !self.template.clean {
            flags |= R_WRITES;
        }
        if !self.failures_recorded() && !mutated!(self, AckBeforeFailureRecorded) {
            flags |= R_FAILURES_PENDING;
        }
        if self.degraded() {
            flags |= R_DEGRADED;
        }
        self.fast
            .set_positions(|slot| self.leg_position(slot).map(|p| p.0));
        self.fast
            .set_regime(self.writable().bits(), self.in_sync().bits(), flags);
        // A scan per event: in debug builds, of small mirrors only here
        // (check_invariants checks any size when a test asks).
        if cfg!(debug_assertions) && self.chunks.len() <= 4096 {
            self.check_fast_bits();
        }
    }

    /// The invariant the fast path rests on: a chunk open to fast writes
    /// is durably DIRTY (MODIFIED while degraded), unlocked, and no slow
    /// write or copy needs it; one open to fast reads is in sync.
    pub(super) fn check_fast_bits(&self) {
        let degraded = self.degraded();
        for (c, ch) in self.chunks.iter().enumerate() {
            let w = self.fast.word(c).load(SeqCst);
            let need = if degraded {
                WRITE_OK | MODIFIED
            } else {
                WRITE_OK
            };
            assert!(
                w & need != need
                    || (self.chunk_writable(ch, degraded) && ch.inflight == 0 && ch.holds == 0),
                "chunk {c} open to fast writes in state {ch:?}"
            );
            assert!(
                w & READ_OK == 0
                    || mutated!(self, ReadUnsyncedFromAnyLeg)
                    || (!ch.flags.contains(ChunkFlags::NEEDS_RESYNC)
                        && ch.disk.status() != ChunkStatus::Unwritten),
                "chunk {c} open to fast reads in state {ch:?}"
            );
        }
    }
}
