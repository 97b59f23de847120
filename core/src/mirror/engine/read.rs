//! Reads: the leg to read (policy, pinning to the resync source, split
//! reads) and what follows a failed read (another leg, then a repair).

use super::*;

impl Mirror {
    pub(super) fn read_legs(&self, r: &Request) -> LegSet {
        let pinned = self.chunk_range(r.sector, r.sectors).any(|c| {
            let ch = &self.chunks[c];
            ch.flags.contains(ChunkFlags::NEEDS_RESYNC)
                || ch.disk.status() == ChunkStatus::Unwritten
        });
        match (
            pinned && !mutated!(self, ReadUnsyncedFromAnyLeg),
            self.source_leg(),
        ) {
            (true, Some(src)) => LegSet::of(src),
            _ => self.readable(r),
        }
    }

    pub(super) fn pick_leg(&mut self, candidates: LegSet, r: &Request) -> Option<usize> {
        let legs = candidates.iter();
        let policy = self.cfg.read_policy;
        if policy == ReadPolicy::Striped && !self.long_read(r) {
            return candidates.stripe_home(r.sector);
        }
        // Sequential affinity: a stream stays on the leg it started on (its
        // read-ahead and head position are there).
        let stream = candidates
            .iter()
            .find(|&l| self.legs[l].read_stream_end == r.sector);
        if stream.is_some() && policy != ReadPolicy::Prefer {
            return stream;
        }
        match policy {
            ReadPolicy::Prefer => legs.min(),
            ReadPolicy::LeastPending | ReadPolicy::Striped => {
                legs.min_by_key(|&l| self.legs[l].pending)
            }
            ReadPolicy::RoundRobin => {
                self.rr = self.rr.wrapping_add(1);
                candidates.nth_wrapping(self.rr)
            }
        }
    }

    /// Long enough to be split across idle legs.
    fn long_read(&self, r: &Request) -> bool {
        let split = self.cfg.split_read_sectors;
        split > 0 && r.sectors >= split
    }

    /// A chunk of the read is being copied from a source that has since
    /// failed: until the copy lands, the other legs hold older data than
    /// what pinned reads returned.
    pub(super) fn read_blocked(&self, r: &Request) -> bool {
        self.chunk_range(r.sector, r.sectors).any(|c| {
            self.chunks[c].flags.contains(ChunkFlags::LOCKED)
                && self.resync.iter().any(|s| {
                    s.phase != ResyncPhase::Free
                        && s.chunk == c as u64
                        && self.legs[usize::from(s.source)].health != LegHealth::Alive
                })
        })
    }

    /// A read that failed somewhere may repair: the data it goes on to
    /// read must not be overtaken by a fast write it cannot see.
    pub(super) fn read_may_start(&mut self, i: usize) -> bool {
        let q = self.reqs[i];
        if !q.tried.is_empty() || q.retries != 0 {
            self.take_holds(i);
        }
        let other_moved = !q.moved
            && self
                .chunk_range(q.r.sector, q.r.sectors)
                .any(|c| self.chunks[c].flags.contains(ChunkFlags::READ_MOVED));
        !other_moved
            && !self.read_blocked(&q.r)
            && (!self.reqs[i].holds || self.range_drained(&q.r))
    }

    pub(super) fn start_read(&mut self, i: usize) {
        let r = self.reqs[i].r;
        if !self.read_may_start(i) {
            return self.wait(i, ReqState::WaitRead);
        }
        let tried = self.reqs[i].tried;
        let pinned = self.read_legs(&r);
        let mut candidates = pinned & !tried;
        if candidates.is_empty() {
            // The pinned leg failed this read: any in-sync leg beats an error.
            candidates = self.readable(&r) & !tried;
            if pinned.len() == 1 && !candidates.is_empty() {
                // The legs may differ here: this read may return other
                // data than earlier ones did (once: the repair then writes
                // it over the pinned leg).
                self.push(Action::Log(LogEvent::PinnedReadMoved {
                    sector: r.sector,
                    sectors: r.sectors,
                }));
                if !self.reqs[i].moved {
                    self.reqs[i].moved = true;
                    for c in self.chunk_range(r.sector, r.sectors) {
                        self.chunks[c].flags.insert(ChunkFlags::READ_MOVED);
                    }
                }
            }
        }
        if candidates.is_empty() && self.reqs[i].rounds < READ_ROUNDS {
            // Every live leg failed this read once; errors may be transient,
            // and a write since may have rewritten a bad sector. (Counted
            // apart from the pinned leg's retries: a read that used those
            // up and moved to a leg that then died tries the pinned one
            // again.)
            self.reqs[i].rounds += 1;
            self.reqs[i].tried = LegSet::EMPTY;
            candidates = self.readable(&r);
        }
        let first_try = tried.is_empty() && self.reqs[i].retries == 0 && self.reqs[i].rounds == 0;
        if first_try && self.long_read(&r) && candidates.len() > 1 {
            return self.start_split_read(i, candidates);
        }
        let Some(leg) = self.pick_leg(candidates, &r) else {
            return self.finish(i, Err(IoError::NoLeg));
        };
        self.set_state(i, ReqState::Reading);
        self.reqs[i].pending = 1;
        self.reqs[i].tried.insert(leg);
        self.note_read_issued(i);
        self.legs[leg].read_stream_end = r.sector + u64::from(r.sectors);
        self.issue_for_request(i, LegSet::of(leg), IoOp::Read, false);
    }

    /// Reads one part of a big read from each candidate leg, in 4 KiB
    /// multiples. A part that fails sends the whole read down the usual
    /// path (another leg, then repair).
    pub(super) fn start_split_read(&mut self, i: usize, candidates: LegSet) {
        let r = self.reqs[i].r;
        let parts = candidates.len();
        let part = r
            .sectors
            .div_ceil(parts)
            .next_multiple_of(BLOCK_SECTORS as u32);
        self.set_state(i, ReqState::Reading);
        self.reqs[i].split = true;
        self.reqs[i].pending = 0;
        self.note_read_issued(i);
        let mut offset = 0;
        for leg in candidates.iter() {
            if offset >= r.sectors {
                break;
            }
            let len = part.min(r.sectors - offset);
            self.reqs[i].pending += 1;
            self.reqs[i].tried.insert(leg);
            self.legs[leg].read_stream_end = u64::MAX;
            self.issue(
                Owner::Request(i as u16),
                leg,
                IoOp::Read,
                self.geo.data_offset + r.sector + u64::from(offset),
                len,
                false,
                Buffer::Request { id: r.id, offset },
            );
            offset += len;
        }
    }

    /// What a later repair needs to know: a write in flight now, or one
    /// started from now on, may land on the legs before or after this
    /// read, so what it returns may not be written over another leg.
    pub(super) fn note_read_issued(&mut self, i: usize) {
        let r = self.reqs[i].r;
        self.reqs[i].write_gen = self.writes_started;
        self.reqs[i].write_overlapped = self
            .chunk_range(r.sector, r.sectors)
            .any(|c| self.chunks[c].inflight > 0);
    }

    pub(super) fn read_done(&mut self, i: usize, leg: usize, ok: bool) {
        if self.reqs[i].split {
            if self.reqs[i].pending > 0 {
                return;
            }
            self.reqs[i].split = false;
            if self.reqs[i].failed.is_empty() {
                return self.finish(i, Ok(()));
            }
            // Read it all again from a leg that did not fail, then repair.
            self.reqs[i].tried = self.reqs[i].failed;
            return self.start_read(i);
        }
        if !ok {
            let r = self.reqs[i].r;
            let pinned = self.read_legs(&r) == LegSet::of(leg) && self.readable(&r).len() > 1;
            if pinned && self.reqs[i].retries < PINNED_READ_RETRIES {
                self.reqs[i].retries += 1;
                self.reqs[i].tried.remove(leg);
            }
            return self.start_read(i);
        }
        // The leg that served the read needs no repair, whatever it failed before.
        self.reqs[i].failed.remove(leg);
        // Repair: write the good data over the legs that failed to read it,
        // unless a write touched these sectors since the read was issued:
        // the data read may be older than what the legs now hold.
        let targets = self.reqs[i].failed & self.writable();
        let r = self.reqs[i].r;
        let since = self.reqs[i].write_gen;
        let stale = self.reqs[i].write_overlapped
            || self.chunk_range(r.sector, r.sectors).any(|c| {
                self.chunks[c].inflight > 0
                    || self.chunks[c].last_write_gen >= since && self.writes_started > since
            });
        if targets.is_empty() || stale {
            return self.finish(i, Ok(()));
        }
        if r.no_repair {
            // The buffer may not hold what was read: a resync copies the
            // chunks from the source leg instead.
            self.resync_chunks(r.sector, r.sectors);
            return self.finish(i, Ok(()));
        }
        for c in self.chunk_range(r.sector, r.sectors) {
            self.chunks[c].inflight += 1;
            self.chunks[c].last_write_gen = self.writes_started;
        }
        self.writes_started += 1;
        self.set_state(i, ReqState::Repairing);
        self.reqs[i].pending = targets.len() as u8;
        self.reqs[i].failed = LegSet::EMPTY;
        self.stats.read_repairs += u64::from(targets.len());
        self.issue_for_request(i, targets, IoOp::Write, false);
    }
}
