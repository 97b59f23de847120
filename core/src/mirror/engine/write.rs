//! Writes and flushes: a write is issued once every chunk it touches is
//! durably DIRTY (and MODIFIED while degraded), to every writable leg.

use super::*;

impl Mirror {
    pub(super) fn try_write(&mut self, i: usize) {
        self.take_holds(i);
        let r = self.reqs[i].r;
        let range = self.chunk_range(r.sector, r.sectors);
        let degraded = self.degraded();
        let mut ready = true;
        for c in range {
            let chunk = self.chunks[c];
            if self.chunk_writable(&chunk, degraded) {
                continue;
            }
            self.want_dirty_for(c, &r);
            // The mistake: go ahead while the bitmap update is in flight.
            ready &= mutated!(self, DataBeforeBitmap) && !chunk.flags.contains(ChunkFlags::LOCKED);
        }
        if !ready {
            self.dirty_ahead(&r);
        }
        if ready && !self.overlaps_inflight_write(i) && self.range_drained(&r) {
            self.start_write(i);
        } else {
            self.wait(i, ReqState::WaitChunks);
        }
    }

    /// Asks for chunk `c` to become durably DIRTY for write `r`, unless
    /// resync holds it or an update of it is in flight (asked again then).
    pub(super) fn want_dirty_for(&mut self, c: usize, r: &Request) {
        let chunk = self.chunks[c];
        if chunk.flags.contains(ChunkFlags::LOCKED) || chunk.staged.is_some() {
            return;
        }
        let disk = chunk.disk;
        if disk.status() == ChunkStatus::Unwritten {
            // Outside what this write covers, the legs hold whatever
            // they held: copy the chunk before trusting it.
            let whole = r.op == ReqOp::Write && self.covers_chunk(r, c);
            if !whole {
                self.mark_needs_resync(c);
            }
        }
        if disk.status() == ChunkStatus::Clean && chunk.want.is_none() {
            self.rewarm(c);
        }
        let byte = self.dirty_byte(&chunk);
        self.want(c, byte);
    }

    /// A sequential writer entering a chunk (its write starts at the
    /// chunk's first sector, and the chunk before is DIRTY) has the CLEAN
    /// chunks after it, up to 8 MiB and within the segment, marked DIRTY
    /// in the same update: one update per few chunks, not one per chunk.
    /// Marking a chunk DIRTY is always safe: one never written is resynced
    /// after a crash (its legs are equal: CLEAN) and cleaned after the
    /// delay like any other. Not for UNWRITTEN chunks: their legs may
    /// differ, and marked DIRTY they would be read from any leg.
    fn dirty_ahead(&mut self, r: &Request) {
        let range = self.chunk_range(r.sector, r.sectors);
        let first = range.start;
        if first == 0
            || r.sector != self.chunk_sectors(first).0
            || self.chunks[first - 1].disk.status() != ChunkStatus::Dirty
        {
            return;
        }
        let seg = self.geo.segment_of(range.end as u64 - 1);
        let (seg_first, count) = self.geo.segment_chunks(seg);
        let seg_end = (seg_first + u64::from(count)) as usize;
        let ahead = (DIRTY_AHEAD_SECTORS / u64::from(self.geo.chunk_sectors)).clamp(1, 8);
        for c in range.end..(range.end + ahead as usize).min(seg_end) {
            let ch = self.chunks[c];
            let free = ch.settled() && !ch.flags.contains(ChunkFlags::UNSETTLED);
            if ch.disk.status() != ChunkStatus::Clean || !free {
                break;
            }
            // Kept DIRTY for a delay from now, as if written now.
            self.chunks[c].last_write = self.now;
            self.stats.chunks_dirtied_ahead += 1;
            self.want(c, self.dirty_byte(&ch));
        }
    }

    /// CLEAN chunk `c` is written again: if its clean came less than one
    /// delay before this write, the clean cost two bitmap updates for
    /// nothing and the chunk's delay doubles; after a long rest it halves.
    fn rewarm(&mut self, c: usize) {
        let ch = &mut self.chunks[c];
        let delay = self.cfg.clean_delay_ns << ch.warmth;
        let rest = self.now.saturating_sub(ch.last_write);
        if rest < delay.saturating_mul(2) {
            if ch.warmth < MAX_WARMTH {
                ch.warmth += 1;
                self.stats.delays_lengthened += 1;
            }
        } else if rest >= delay.saturating_mul(4) {
            ch.warmth = ch.warmth.saturating_sub(1);
        }
    }

    pub(super) fn start_write(&mut self, i: usize) {
        let r = self.reqs[i].r;
        for c in self.chunk_range(r.sector, r.sectors) {
            debug_assert!(
                self.chunk_writable(&self.chunks[c], self.degraded())
                    || mutated!(self, DataBeforeBitmap),
                "data write to a chunk not durably DIRTY"
            );
            self.chunks[c].inflight += 1;
            // A read in flight over this chunk must not repair with what
            // it read: it may predate this write.
            self.chunks[c].last_write_gen = self.writes_started;
        }
        self.writes_started += 1;
        let legs = self.writable();
        let op = match r.op {
            ReqOp::Discard => IoOp::Discard,
            _ => IoOp::Write,
        };
        self.set_state(i, ReqState::Writing);
        self.reqs[i].pending = legs.len() as u8;
        self.stats.data_writes += u64::from(legs.len());
        self.issue_for_request(i, legs, op, r.fua);
        if legs.is_empty() {
            self.write_done(i);
        }
    }

    pub(super) fn write_done(&mut self, i: usize) {
        let q = self.reqs[i];
        let now = self.now;
        let epoch = self.epoch;
        let discard = q.r.op == ReqOp::Discard;
        let reached_in_sync = !(q.ok & self.in_sync()).is_empty();
        let degraded = self.degraded();
        for c in self.chunk_range(q.r.sector, q.r.sectors) {
            let whole = self.covers_chunk(&q.r, c);
            let ch = &mut self.chunks[c];
            ch.inflight -= 1;
            ch.last_write = now;
            if !q.r.fua || discard {
                ch.epoch = epoch;
            }
            // A write that reached no in-sync leg may have left the legs
            // different; so may a discard (each leg may zero or keep).
            if !reached_in_sync || discard {
                self.mark_needs_resync(c);
            }
            // A chunk discarded whole holds nothing anybody stored: it may
            // go back to UNWRITTEN (reads stay pinned, no copy needed).
            if discard && whole && q.failed.is_empty() {
                let modified = degraded || self.chunks[c].disk.is_modified();
                self.want(c, ChunkByte::new(ChunkStatus::Unwritten, modified));
            }
        }
        if !reached_in_sync {
            self.finish(i, Err(IoError::NoLeg));
        } else if self.failures_recorded() || mutated!(self, AckBeforeFailureRecorded) {
            self.finish(i, Ok(()));
        } else {
            self.wait(i, ReqState::WaitRecord);
        }
    }

    pub(super) fn start_flush(&mut self, i: usize, state: ReqState) {
        let legs = self.writable();
        self.set_state(i, state);
        self.reqs[i].pending = legs.len() as u8;
        self.reqs[i].flush_epoch = self.epoch;
        self.epoch += 1;
        self.issue_each(
            legs,
            Owner::Request(i as u16),
            IoOp::Flush,
            0,
            0,
            false,
            Buffer::None,
        );
        if legs.is_empty() {
            self.flush_done(i);
        }
    }

    pub(super) fn flush_done(&mut self, i: usize) {
        let q = self.reqs[i];
        if (q.ok & self.in_sync()).is_empty() {
            return self.finish(i, Err(IoError::NoLeg));
        }
        self.durable_epoch = self.durable_epoch.max(q.flush_epoch);
        if q.state == ReqState::Preflush {
            self.reqs[i].ok = LegSet::EMPTY;
            self.reqs[i].failed = LegSet::EMPTY;
            return self.start(i);
        }
        if self.failures_recorded() || mutated!(self, AckBeforeFailureRecorded) {
            self.finish(i, Ok(()));
        } else {
            self.wait(i, ReqState::WaitRecord);
        }
    }
}
