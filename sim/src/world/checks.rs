//! Rest and its checks: quiescence, a clean stop, and what the media and
//! the oracle must agree on at the end.

use super::*;

impl World {
    /// Runs I/O and lets time pass in small steps until no chunk needs a
    /// copy and no rebuild is left.
    pub(super) fn copy_until_in_sync(&mut self) -> Step {
        for _ in 0..1_000_000 {
            if !self.inflight.is_empty() {
                self.execute()?;
            } else if self.mirror.is_idle()
                && self.mirror.chunks_needing_resync() == 0
                && !self.rebuilding()
            {
                return Ok(());
            } else {
                self.now += 1_000_000;
            }
            self.mirror.tick(self.now);
            self.drain()?;
        }
        Err("the copies after the last power loss never finished".into())
    }

    /// Suspends the mirror, checks what the next assembly finds on the
    /// media (no DIRTY chunk; with every member in sync, MODIFIED tracking
    /// off and no MODIFIED mark left) and starts it again.
    pub(super) fn clean_stop(&mut self) -> Step {
        self.log("clean stop".into());
        self.mirror.suspend();
        self.drain()?;
        for _ in 0..1_000_000 {
            if self.mirror.is_suspended() {
                break;
            }
            if self.inflight.is_empty() {
                self.now += self.cfg.clean_delay_ns / 2;
            } else {
                self.execute()?;
            }
            self.mirror.tick(self.now);
            self.drain()?;
        }
        if !self.mirror.is_suspended() || !self.inflight.is_empty() {
            return Err("the clean stop never finished".into());
        }
        let dead = self.mirror.is_dead();
        self.reassemble()?;
        if dead {
            return Ok(());
        }
        let sb = *self.mirror.superblock();
        let all_in = sb
            .members
            .iter()
            .flatten()
            .all(|m| matches!(m.state, MemberState::InSync | MemberState::Removed));
        let needs = self.mirror.chunks_needing_resync();
        let (dirty, modified) = self.mirror.dirty_and_modified();
        if needs > 0 || dirty > 0 {
            return Err(format!(
                "after a clean stop, {dirty} chunks DIRTY and {needs} to resync"
            ));
        }
        if all_in && (modified > 0 || sb.modified_since_event != 0) {
            return Err(format!(
                "after a clean stop with every member in sync, {modified} chunks MODIFIED, tracking on since {}",
                sb.modified_since_event
            ));
        }
        self.quiesce()
    }

    /// Runs every I/O and lets time pass until nothing is left to do.
    pub(crate) fn quiesce(&mut self) -> Step {
        for _ in 0..1_000_000 {
            self.step += 1;
            if !self.inflight.is_empty() {
                self.execute()?;
            } else if self.reqs.is_empty()
                && self.mirror.is_idle()
                && self.sole_source_has_bad_sectors()
            {
                // Copies from the last good leg cannot finish while some of
                // its sectors are unreadable: write over them, as a file
                // system rewriting the block would (the drive remaps).
                let d = self.in_sync_disks()[0];
                let first = self.disks[d].bad[0] - self.geo.data_offset;
                let n = self.disks[d].bad.len() as u32;
                self.submit_request(ReqOp::Write, first, n, true, false)?;
            } else if self.mirror.is_idle()
                && self.mirror.chunks_needing_resync() == 0
                && self.reqs.is_empty()
                && self.all_clean()
                && !self.rebuilding()
                && self.check_no_stale_modified().is_ok()
            {
                return Ok(());
            } else {
                self.now += self.cfg.clean_delay_ns / 2;
            }
            self.mirror.tick(self.now);
            self.drain()?;
        }
        Err(format!(
            "no quiescence: idle={} resync={} reqs={} clean={} rebuilding={} modified={:?}",
            self.mirror.is_idle(),
            self.mirror.chunks_needing_resync(),
            self.reqs.len(),
            self.all_clean(),
            self.rebuilding(),
            self.check_no_stale_modified()
        ))
    }

    /// The only durably in-sync disk has unreadable sectors.
    fn sole_source_has_bad_sectors(&self) -> bool {
        let disks = self.in_sync_disks();
        disks.len() == 1 && !self.disks[disks[0]].bad.is_empty()
    }

    /// A leg whose disk works is still being rebuilt.
    fn rebuilding(&self) -> bool {
        (0..MAX_LEGS).any(|s| {
            self.mirror.leg_health(s) == LegHealth::Rebuilding
                && self.disk_of_slot[s].is_some_and(|d| !self.disks[d].dead)
        })
    }

    /// With every member in sync, no chunk keeps a MODIFIED mark.
    fn check_no_stale_modified(&self) -> Step {
        let all_in = (0..MAX_LEGS).all(|s| {
            self.mirror.superblock().members[s].is_none_or(|m| {
                m.state == MemberState::Removed || self.mirror.leg_health(s) == LegHealth::Alive
            })
        });
        let (_, modified) = self.mirror.dirty_and_modified();
        if all_in && modified > 0 {
            return Err(format!(
                "at rest with every member in sync, {modified} chunks still MODIFIED"
            ));
        }
        Ok(())
    }

    fn all_clean(&self) -> bool {
        (0..self.geo.chunk_count).all(|c| {
            self.mirror
                .chunk_byte(c)
                .is_some_and(|b| b.status() != ChunkStatus::Dirty)
        })
    }

    /// At rest: every in-sync leg holds the same data, and that data is
    /// what the requests allow.
    pub(crate) fn check_final(&mut self) -> Step {
        self.check_no_stale_modified()?;
        let legs: Vec<usize> = (0..MAX_LEGS)
            .filter(|&s| self.mirror.leg_health(s) == LegHealth::Alive)
            .filter_map(|s| self.disk_of_slot[s])
            .collect();
        let first = legs.first().copied().ok_or("no leg alive at rest")?;
        let cs = u64::from(self.geo.chunk_sectors);
        // Never-written chunks (wholly discarded ones too) may differ.
        let unwritten = |s: usize| {
            self.mirror
                .chunk_byte(s as u64 / cs)
                .is_some_and(|b| b.status() == ChunkStatus::Unwritten)
        };
        for &d in &legs[1..] {
            if let Some(s) = (0..self.geo.data_sectors as usize).find(|&s| {
                !unwritten(s)
                    && self.disks[d].current.data()[s] != self.disks[first].current.data()[s]
            }) {
                return Err(format!(
                    "at rest after resync, disks {first} and {d} differ at data sector {s} \
                     (chunk {} is {:?}; {:#x} vs {:#x})",
                    s as u64 / cs,
                    self.mirror.chunk_byte(s as u64 / cs),
                    self.disks[first].current.data()[s],
                    self.disks[d].current.data()[s],
                ));
            }
        }
        for s in 0..self.geo.data_sectors {
            let v = self.disks[first].current.data()[s as usize];
            self.oracle
                .check_value(s, v, self.oracle.floor(s), &[])
                .map_err(|e| format!("at rest: {e}"))?;
        }
        self.report.sectors_checked += self.geo.data_sectors;
        Ok(())
    }
}
