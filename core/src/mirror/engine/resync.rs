//! Copying chunks from the source leg: resync of chunks that may differ
//! after a crash, and rebuild of legs that joined or returned.

use super::*;

/// A rebuild records its progress at least this often (in chunks).
const CHECKPOINT_MAX_STRIDE: u64 = 4096;
/// ... and at most 64 times over the whole mirror.
const CHECKPOINTS_PER_REBUILD: u64 = 64;
/// Chunks a pump looks at for copying, at most: on a big mirror a full
/// scan per event would cost more than the I/O (the scan resumes at the
/// next event or tick).
const SCAN_BUDGET: u64 = 4096;
/// A source that is the last leg in sync is never failed for read errors
/// during a copy; copying pauses this long and tries again.
const SOURCE_ERROR_BACKOFF_NS: u64 = 1_000_000_000;

/// The progress of one leg's rebuild.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rebuild {
    /// Copy every written chunk; otherwise only MODIFIED and DIRTY ones.
    pub full: bool,
    /// The next chunk to look at.
    pub next: u64,
    /// Chunks below this are copied, flushed and recorded.
    pub checkpoint: u64,
    /// A flush is in flight for a checkpoint at this chunk.
    pub flushing: Option<u64>,
    /// Tells this rebuild's flushes from those of an earlier one of the
    /// same slot (the leg left and came back while a flush was in flight).
    pub generation: u32,
}

impl Mirror {
    pub(super) fn pump_resync(&mut self) {
        if self.dead || self.suspending || self.now < self.resync_paused_until {
            return;
        }
        let Some(source) = self.source_leg() else {
            return;
        };
        self.refill_resync_tokens();
        self.pump_crash_resync(source);
        for leg in 0..MAX_LEGS {
            if self.legs[leg].rebuild.is_some() {
                self.pump_rebuild(leg, source);
                self.maybe_checkpoint(leg);
            }
        }
    }

    fn free_resync_slot(&self) -> Option<usize> {
        self.resync
            .iter()
            .position(|r| r.phase == ResyncPhase::Free)
    }

    /// Copies chunks that may differ between the legs (DIRTY after a crash,
    /// a write that failed everywhere, a discard).
    fn pump_crash_resync(&mut self, source: usize) {
        if self.needs_resync == 0 {
            return;
        }
        // Not even one chunk's budget: a scan would start no copy, and on a
        // big mirror it costs more than the I/O it waits for. (With one
        // leg nothing is copied: chunks finish without a budget.)
        let chunk = self.geo.chunk_sectors;
        let copies = !(self.writable() & !LegSet::of(source)).is_empty();
        if copies && self.resync_rate().is_some() && self.resync_tokens < u64::from(chunk) {
            let started = self.take_resync_tokens(chunk);
            debug_assert!(
                !started,
                "short of tokens: nothing spent, a wake-up asked for"
            );
            return;
        }
        let n = self.chunks.len() as u64;
        let mut scanned = 0;
        while scanned < n.min(SCAN_BUDGET) {
            let Some(slot) = self.free_resync_slot() else {
                return;
            };
            let c = self.resync_cursor as usize;
            let ch = self.chunks[c];
            let durably_dirty = ch.disk.status() == ChunkStatus::Dirty;
            // The copy must stay covered by DIRTY until it lands everywhere.
            let ready = ch.flags.contains(ChunkFlags::NEEDS_RESYNC)
                && !ch.flags.contains(ChunkFlags::LOCKED)
                && ch.inflight == 0
                && durably_dirty
                && ch.staged.is_none()
                && self.fast_drained(c);
            if ready {
                let targets = self.writable() & !LegSet::of(source);
                if targets.is_empty() {
                    // One leg: nothing can differ.
                    self.resync_finished_chunk(c);
                } else {
                    let (_, len) = self.chunk_sectors(c);
                    if !self.take_resync_tokens(len) {
                        return;
                    }
                    self.start_copy(slot, c, source, targets);
                }
            }
            self.resync_cursor += 1;
            if self.resync_cursor == n {
                self.resync_cursor = 0;
            }
            scanned += 1;
            self.stats.resync_scanned += 1;
        }
        if scanned == SCAN_BUDGET {
            self.push(Action::WakeAt(self.now));
        }
    }

    /// Whether a rebuild must copy chunk `c`.
    fn rebuild_needs(&self, full: bool, c: usize) -> bool {
        let ch = &self.chunks[c];
        let b = ch.disk;
        ch.flags.contains(ChunkFlags::NEEDS_RESYNC)
            || b.status() == ChunkStatus::Dirty
            || if full {
                b.status() != ChunkStatus::Unwritten
            } else {
                b.is_modified()
            }
    }

    /// Copies the chunks a rebuilding leg lacks, in order, so that its
    /// progress is one number (the checkpoint).
    fn pump_rebuild(&mut self, leg: usize, source: usize) {
        let n = self.chunks.len() as u64;
        let mut skipped = 0;
        while let Some(rb) = self.legs[leg].rebuild {
            if rb.next >= n {
                return;
            }
            if skipped == SCAN_BUDGET {
                // More to skip: come back at once, not at the next event.
                return self.push(Action::WakeAt(self.now));
            }
            let c = rb.next as usize;
            if !self.rebuild_needs(rb.full, c) {
                skipped += 1;
                self.set_rebuild_next(leg, rb.next + 1);
                continue;
            }
            let ch = self.chunks[c];
            let busy = ch.flags.contains(ChunkFlags::LOCKED)
                || ch.inflight > 0
                || ch.staged.is_some()
                || ch.want.is_some();
            let Some(slot) = self.free_resync_slot() else {
                return;
            };
            let (_, len) = self.chunk_sectors(c);
            if busy || !self.fast_drained(c) || !self.take_resync_tokens(len) {
                return;
            }
            self.set_rebuild_next(leg, rb.next + 1);
            self.start_copy(slot, c, source, LegSet::of(leg));
        }
    }

    fn set_rebuild_next(&mut self, leg: usize, next: u64) {
        if let Some(rb) = self.legs[leg].rebuild.as_mut() {
            rb.next = next;
        }
    }

    /// Chunks below this are held by the rebuilding `leg` (copied, or not
    /// needed): everything before `next` except copies still in flight.
    pub(super) fn rebuild_low(&self, leg: usize) -> u64 {
        let Some(rb) = self.legs[leg].rebuild else {
            return 0;
        };
        self.resync
            .iter()
            .filter(|s| s.phase != ResyncPhase::Free && s.targets.contains(leg))
            .map(|s| s.chunk)
            .fold(rb.next, u64::min)
    }

    fn start_copy(&mut self, slot: usize, c: usize, source: usize, targets: LegSet) {
        debug_assert!(!self.chunks[c].flags.contains(ChunkFlags::LOCKED));
        debug_assert!(
            self.chunks[c].inflight == 0,
            "copy of a chunk being written"
        );
        self.chunks[c].flags.insert(ChunkFlags::LOCKED);
        self.resync[slot] = ResyncSlot {
            chunk: c as u64,
            phase: ResyncPhase::Reading,
            pending: 1,
            source: source as u8,
            targets,
        };
        let (start, len) = self.chunk_sectors(c);
        self.issue(
            Owner::Resync(slot as u16),
            source,
            IoOp::Read,
            self.geo.data_offset + start,
            len,
            false,
            Buffer::Resync(slot as u16),
        );
    }

    pub(super) fn resync_finished_chunk(&mut self, c: usize) {
        let ch = &mut self.chunks[c];
        debug_assert!(ch.flags.contains(ChunkFlags::NEEDS_RESYNC));
        ch.flags.remove(ChunkFlags::NEEDS_RESYNC);
        ch.flags.remove(ChunkFlags::LOCKED);
        self.needs_resync -= 1;
        self.queue_publish(c);
        self.stats.resynced_chunks += 1;
        if self.needs_resync == 0 {
            let degraded = self.degraded();
            self.push(Action::Log(LogEvent::ResyncFinished { degraded }));
        }
    }

    pub(super) fn resync_child_done(&mut self, slot: usize, leg: usize, ok: bool) {
        let rs = self.resync[slot];
        let c = rs.chunk as usize;
        match rs.phase {
            ResyncPhase::Reading => {
                if !ok {
                    // Try again later: a read error may be transient. A source
                    // that keeps failing is failed, and another leg takes over.
                    self.chunks[c].flags.remove(ChunkFlags::LOCKED);
                    self.queue_publish(c);
                    self.resync[slot].phase = ResyncPhase::Free;
                    for l in 0..MAX_LEGS {
                        if rs.targets.contains(l) {
                            if let Some(rb) = self.legs[l].rebuild.as_mut() {
                                rb.next = rb.next.min(rs.chunk);
                            }
                        }
                    }
                    self.resync_read_errors += 1;
                    if self.resync_read_errors >= RESYNC_READ_RETRIES {
                        self.resync_read_errors = 0;
                        if self.another_durably_in_sync(leg) {
                            self.leg_failed(leg, FailCause::Sync);
                        } else {
                            // Failing the last good leg would lose everything
                            // for one bad sector: keep it, and keep trying
                            // (a write over the sectors may remap them).
                            self.resync_paused_until = self.now + SOURCE_ERROR_BACKOFF_NS;
                            self.push(Action::WakeAt(self.resync_paused_until));
                            self.push(Action::Log(LogEvent::CopyReadError {
                                leg: leg as u8,
                                chunk: rs.chunk,
                            }));
                        }
                    }
                    return self.wake_waiters();
                }
                self.resync_read_errors = 0;
                // Legs that left meanwhile get nothing.
                let targets = rs.targets & self.writable();
                let (start, len) = self.chunk_sectors(c);
                self.resync[slot].phase = ResyncPhase::Writing;
                self.resync[slot].pending = targets.len() as u8;
                self.issue_each(
                    targets,
                    Owner::Resync(slot as u16),
                    IoOp::Write,
                    self.geo.data_offset + start,
                    len,
                    false,
                    Buffer::Resync(slot as u16),
                );
                if targets.is_empty() {
                    self.resync_write_done(slot);
                }
            }
            ResyncPhase::Writing => {
                if !ok {
                    self.leg_failed(leg, FailCause::Sync);
                }
                self.resync[slot].pending -= 1;
                if self.resync[slot].pending == 0 {
                    self.resync_write_done(slot);
                }
            }
            ResyncPhase::Free => unreachable!("resync completion on a free slot"),
        }
    }

    fn resync_write_done(&mut self, slot: usize) {
        let c = self.resync[slot].chunk as usize;
        self.resync[slot].phase = ResyncPhase::Free;
        self.chunks[c].epoch = self.epoch;
        self.chunks[c].last_write = self.now;
        self.chunks[c].flags.remove(ChunkFlags::LOCKED);
        self.queue_publish(c);
        let durably_dirty = self.chunks[c].disk.status() == ChunkStatus::Dirty;
        if self.chunks[c].flags.contains(ChunkFlags::NEEDS_RESYNC) && durably_dirty {
            // A crash-resync copy reached every writable leg but the source.
            let others = self.writable() & !LegSet::of(usize::from(self.resync[slot].source));
            if self.resync[slot].targets & others == others {
                self.resync_finished_chunk(c);
            }
        }
        if self
            .legs
            .iter()
            .enumerate()
            .any(|(l, leg)| leg.rebuild.is_some() && self.resync[slot].targets.contains(l))
        {
            self.stats.rebuilt_chunks += 1;
        }
        self.wake_waiters();
    }

    // ---- rebuild checkpoints ------------------------------------------------

    /// Records progress: flush the leg (its copies are not FUA), then write
    /// the checkpoint into every superblock.
    fn maybe_checkpoint(&mut self, leg: usize) {
        let Some(rb) = self.legs[leg].rebuild else {
            return;
        };
        let n = self.chunks.len() as u64;
        if rb.flushing.is_some() || rb.checkpoint == n {
            return;
        }
        let stride = (n / CHECKPOINTS_PER_REBUILD).clamp(1, CHECKPOINT_MAX_STRIDE);
        let low = self.rebuild_low(leg);
        if low < n && low < rb.checkpoint + stride {
            return;
        }
        if let Some(rb) = self.legs[leg].rebuild.as_mut() {
            rb.flushing = Some(low);
        }
        self.issue(
            Owner::RebuildFlush(leg as u8, rb.generation),
            leg,
            IoOp::Flush,
            0,
            0,
            false,
            Buffer::None,
        );
    }

    pub(super) fn rebuild_flush_done(&mut self, leg: usize, generation: u32, ok: bool) {
        let Some(rb) = self.legs[leg].rebuild.as_mut() else {
            return; // the leg left meanwhile
        };
        if rb.generation != generation {
            return; // a flush of an earlier rebuild
        }
        if !ok {
            return self.leg_failed(leg, FailCause::Sync);
        }
        let at = rb
            .flushing
            .take()
            .expect("this rebuild's checkpoint flush was in flight");
        rb.checkpoint = at;
        self.stats.rebuild_checkpoints += 1;
        if let Some(m) = self.template.members[leg].as_mut() {
            m.rebuild_checkpoint = at;
        }
        self.template.event += 1;
    }

    /// A rebuilt leg is in sync once every chunk is copied and recorded and
    /// every bitmap segment has been written to it.
    pub(super) fn try_finish_rebuild(&mut self, leg: usize) {
        let Some(rb) = self.legs[leg].rebuild else {
            return;
        };
        if rb.checkpoint < self.chunks.len() as u64 || self.forced_segments > 0 {
            return;
        }
        self.legs[leg].rebuild = None;
        self.legs[leg].health = LegHealth::Alive;
        self.template.event += 1;
        let event = self.template.event;
        if let Some(m) = self.template.members[leg].as_mut() {
            m.state = MemberState::InSync;
            m.state_event = event;
            m.rebuild_checkpoint = 0;
            m.full_copy = false;
        }
        if self.source.is_none() {
            self.source = Some(leg);
        }
        self.push(Action::Log(LogEvent::RebuildFinished { leg: leg as u8 }));
    }

    // ---- rate limit -------------------------------------------------------------

    /// Sectors per second resync may use now; 0 means unlimited.
    fn resync_rate(&self) -> Option<u64> {
        let user_active = self.req_free.len() < self.reqs.len()
            || self.now.saturating_sub(self.last_user_io) < USER_IO_WINDOW_NS;
        let kib = if user_active {
            self.cfg.resync_min_kib
        } else {
            self.cfg.resync_max_kib
        };
        match (user_active, kib) {
            (false, 0) => None,
            (_, k) => Some(u64::from(k) * 2),
        }
    }

    fn resync_burst(&self) -> u64 {
        (self.cfg.resync_depth as u64).max(1) * u64::from(self.geo.chunk_sectors)
    }

    fn refill_resync_tokens(&mut self) {
        let elapsed = self.now.saturating_sub(self.resync_refilled_at);
        let earned = match self.resync_rate() {
            None => {
                self.resync_refilled_at = self.now;
                self.resync_tokens = self.resync_burst();
                return;
            }
            Some(0) => {
                self.resync_refilled_at = self.now;
                return;
            }
            Some(rate) => {
                let earned = u128::from(rate) * u128::from(elapsed) / 1_000_000_000;
                // Keep the fraction of a sector not yet earned for later.
                let spent_ns = earned * 1_000_000_000 / u128::from(rate);
                self.resync_refilled_at += u64::try_from(spent_ns).unwrap_or(elapsed);
                u64::try_from(earned).unwrap_or(u64::MAX)
            }
        };
        let burst = self.resync_burst();
        if self.resync_tokens.saturating_add(earned) >= burst {
            self.resync_tokens = burst;
            self.resync_refilled_at = self.now;
        } else {
            self.resync_tokens += earned;
        }
    }

    /// Spends the budget for copying `sectors`, or asks to be woken when
    /// there is enough.
    fn take_resync_tokens(&mut self, sectors: u32) -> bool {
        let need = u64::from(sectors);
        let rate = self.resync_rate();
        if rate.is_none() || self.resync_tokens >= need {
            self.resync_tokens = self.resync_tokens.saturating_sub(need);
            return true;
        }
        let wait = match rate {
            Some(r) if r > 0 => (need - self.resync_tokens) * 1_000_000_000 / r + 1,
            // No floor while user I/O runs: look again once it may be idle.
            _ => USER_IO_WINDOW_NS,
        };
        let at = self.now + wait;
        if self.resync_wake <= self.now || at < self.resync_wake {
            self.resync_wake = at;
            self.push(Action::WakeAt(at));
        }
        false
    }
}
