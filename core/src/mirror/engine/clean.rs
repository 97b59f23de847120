//! Lazy clean: a DIRTY chunk returns to CLEAN after its writes are durable
//! and the delay passed; MODIFIED marks go once tracking has ended.

use super::*;

impl Mirror {
    /// MODIFIED marks are no longer needed: no member is out, and every
    /// writable leg's superblock says tracking ended (else a later failure
    /// could find tracking "on since" an event whose marks were cleared).
    pub(super) fn modified_clearable(&self) -> bool {
        !self.degraded()
            && self.template.modified_since_event == 0
            && (0..MAX_LEGS)
                .filter(|&l| self.writable().contains(l))
                .all(|l| self.legs[l].sb_durable_event >= self.modified_reset_event)
    }

    /// A clean scan runs this often; a chunk ready to clean that no other
    /// update carries waits at most one interval more.
    fn clean_scan_interval(&self) -> u64 {
        (self.cfg.clean_delay_ns / 4).max(1)
    }

    fn clean_delay(&self) -> u64 {
        // Suspending: clean everything now rather than after the delay.
        if self.suspending {
            0
        } else {
            self.cfg.clean_delay_ns
        }
    }

    pub(super) fn scan_clean(&mut self) {
        let delay = self.clean_delay();
        self.next_clean_scan = self.now + self.clean_scan_interval();
        self.push(Action::WakeAt(self.next_clean_scan));
        if self.dead || !self.failures_recorded() {
            return;
        }
        let keep_modified = !self.modified_clearable();
        let mut need_flush = false;
        for c in 0..self.chunks.len() {
            let ch = self.chunks[c];
            if ch.settled()
                && ch.disk.is_modified()
                && !keep_modified
                && ch.disk.status() != ChunkStatus::Dirty
            {
                self.want(c, ChunkByte::new(ch.disk.status(), false));
                continue;
            }
            match self.clean_readiness(c, delay) {
                Readiness::Not => {}
                Readiness::AwaitsFlush => {
                    need_flush = true;
                    let s = self.geo.segment_of(c as u64) as usize;
                    self.segments[s].clean_due.get_or_insert(self.now);
                }
                Readiness::Ready => {
                    if self.clean_now(c) {
                        if let Some(byte) = self.clean_byte(c, keep_modified) {
                            self.want(c, byte);
                        }
                    }
                }
            }
        }
        if need_flush && self.clean_flush.is_none() {
            let legs = self.writable();
            if !legs.is_empty() {
                self.stats.clean_flushes += 1;
                self.clean_flush = Some((self.epoch, legs.len() as u8));
                self.epoch += 1;
                self.issue_each(
                    legs,
                    Owner::CleanFlush,
                    IoOp::Flush,
                    0,
                    0,
                    false,
                    Buffer::None,
                );
            }
        }
    }

    /// Whether DIRTY chunk `c`, ready, is cleaned now: its segment is
    /// written anyway, or a scan interval passed since a scan first found
    /// chunks ready there and no update carried them (one block write for
    /// a segment's cleans and its next DIRTY marks: sequential writers
    /// mark a chunk ahead every few milliseconds).
    fn clean_now(&mut self, c: usize) -> bool {
        let s = self.geo.segment_of(c as u64) as usize;
        let due = *self.segments[s].clean_due.get_or_insert(self.now);
        self.suspending || self.segments[s].queued || self.now - due >= self.clean_scan_interval()
    }

    /// Where chunk `c` stands for a clean, its fast writes harvested.
    fn clean_readiness(&mut self, c: usize, delay: u64) -> Readiness {
        if self.chunks[c].disk.status() != ChunkStatus::Dirty {
            return Readiness::Not;
        }
        self.harvest_fast_writes(c);
        let ch = self.chunks[c];
        let delay = delay << ch.warmth;
        if !ch.settled() || self.now.saturating_sub(ch.last_write) < delay {
            return Readiness::Not;
        }
        if ch.epoch > self.durable_epoch && !mutated!(self, CleanBeforeDurable) {
            return Readiness::AwaitsFlush;
        }
        Readiness::Ready
    }

    /// The CLEAN byte for ready chunk `c`, its fast writes revoked; `None`
    /// if a fast write slipped in.
    fn clean_byte(&mut self, c: usize, keep_modified: bool) -> Option<ChunkByte> {
        if !self.fast_quiet(c) {
            return None;
        }
        // MODIFIED stays until every member is in sync again.
        let modified = self.chunks[c].disk.is_modified() && keep_modified;
        Some(ChunkByte::new(ChunkStatus::Clean, modified))
    }

    /// Segment `s` is about to be written: the chunks a clean scan found
    /// ready there ride along, if still ready.
    #[inline(never)] // keeps pump_segments' frame small (kernel stacks)
    pub(super) fn clean_riders(&mut self, s: usize) {
        if self.segments[s].clean_due.take().is_none() || self.dead || !self.failures_recorded() {
            return;
        }
        let delay = self.clean_delay();
        let keep_modified = !self.modified_clearable();
        let (first, count) = self.geo.segment_chunks(s as u32);
        for c in first as usize..(first + u64::from(count)) as usize {
            if self.clean_readiness(c, delay) != Readiness::Ready {
                continue;
            }
            if let Some(byte) = self.clean_byte(c, keep_modified) {
                // Revoked by clean_byte; staged by the caller.
                self.chunks[c].want = Some(byte);
                self.stats.cleans_carried += 1;
            }
        }
    }

    pub(super) fn clean_flush_done(&mut self, leg: usize, ok: bool) {
        if !ok {
            self.leg_failed(leg, FailCause::Flush);
        }
        let (epoch, pending) = self.clean_flush.expect("a clean flush is in flight");
        if pending > 1 {
            self.clean_flush = Some((epoch, pending - 1));
            return;
        }
        self.clean_flush = None;
        self.durable_epoch = self.durable_epoch.max(epoch);
        // Look again at once: the chunks that waited for this flush may clean.
        self.next_clean_scan = self.now;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Readiness {
    Not,
    /// Idle long enough, but its last writes wait for a flush.
    AwaitsFlush,
    Ready,
}
