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

    pub(super) fn scan_clean(&mut self) {
        // Suspending: clean everything now rather than after the delay.
        let delay = if self.suspending {
            0
        } else {
            self.cfg.clean_delay_ns
        };
        self.next_clean_scan = self.now + (self.cfg.clean_delay_ns / 4).max(1);
        self.push(Action::WakeAt(self.next_clean_scan));
        if self.dead || !self.failures_recorded() {
            return;
        }
        let keep_modified = !self.modified_clearable();
        let mut need_flush = false;
        for c in 0..self.chunks.len() {
            let disk = self.chunks[c].disk;
            if disk.status() == ChunkStatus::Dirty {
                self.harvest_fast_writes(c);
            }
            let ch = self.chunks[c];
            let settled = ch.staged.is_none()
                && ch.want.is_none()
                && ch.inflight == 0
                && !ch.flags.contains(ChunkFlags::LOCKED)
                && !ch.flags.contains(ChunkFlags::NEEDS_RESYNC);
            if settled
                && disk.is_modified()
                && !keep_modified
                && disk.status() != ChunkStatus::Dirty
            {
                self.want(c, ChunkByte::new(disk.status(), false));
                continue;
            }
            let idle = disk.status() == ChunkStatus::Dirty
                && settled
                && self.now.saturating_sub(ch.last_write) >= delay;
            if !idle {
                continue;
            }
            if ch.epoch > self.durable_epoch && !mutated!(self, CleanBeforeDurable) {
                need_flush = true;
                continue;
            }
            if !self.fast_quiet(c) {
                continue;
            }
            // MODIFIED stays until every member is in sync again.
            let modified = disk.is_modified() && keep_modified;
            self.want(c, ChunkByte::new(ChunkStatus::Clean, modified));
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
