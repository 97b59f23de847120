//! Membership: legs failing, leaving, joining and returning; suspend and
//! resume; the operator's requests.

use super::*;
use crate::mirror::assemble::FoundLeg;

impl Mirror {
    // ---- the operator's requests ------------------------------------------------

    /// Fails a leg on the operator's word (in sync or rebuilding).
    pub fn fail_leg(&mut self, slot: usize) -> Result<(), AdminError> {
        let health = self.leg_health(slot);
        if !health.is_writable() {
            return Err(AdminError::NotAMember { slot });
        }
        if health == LegHealth::Alive && !self.another_durably_in_sync(slot) {
            return Err(AdminError::LastLeg);
        }
        self.leg_failed(slot, FailCause::Write);
        self.pump();
        Ok(())
    }

    /// Removes a member. Its superblocks are left alone, so a later
    /// [`Mirror::add_leg`] of the same device is recognised.
    pub fn remove_leg(&mut self, slot: usize) -> Result<(), AdminError> {
        let Some(member) = self.template.members.get(slot).copied().flatten() else {
            return Err(AdminError::NotAMember { slot });
        };
        if member.state == MemberState::Removed {
            return Ok(());
        }
        let health = self.legs[slot].health;
        if health == LegHealth::Alive && !self.another_durably_in_sync(slot) {
            return Err(AdminError::LastLeg);
        }
        if health.is_writable() {
            self.legs[slot].health = LegHealth::Failed;
            self.legs[slot].rebuild = None;
            self.record_leg_out(slot, MemberState::Removed, health == LegHealth::Alive);
        } else {
            self.template.event += 1;
            if let Some(m) = self.template.members[slot].as_mut() {
                m.state = MemberState::Removed;
                m.rebuild_checkpoint = 0;
            }
        }
        self.push(Action::Log(LogEvent::LegRemoved { leg: slot as u8 }));
        self.pump();
        Ok(())
    }

    /// Adds the device at table position `position` as a leg. `found` is
    /// the superblock the caller read from it, if any: a former member of
    /// this mirror returns to its slot and, when the bitmap covers its
    /// absence, receives only the MODIFIED chunks; anything else becomes a
    /// new member named `new_uuid` and receives every written chunk.
    /// Returns the slot.
    pub fn add_leg(
        &mut self,
        position: Position,
        found: Option<&Superblock>,
        new_uuid: Uuid,
        device_sectors: u64,
    ) -> Result<usize, AdminError> {
        self.may_add(device_sectors)?;
        let ours = found
            .filter(|sb| sb.mirror_uuid == self.template.mirror_uuid && sb.geometry == self.geo);
        let former = ours.and_then(|sb| {
            (0..MAX_LEGS)
                .find(|&s| self.template.members[s].is_some_and(|m| m.uuid == sb.leg_uuid))
                .map(|s| (s, sb))
        });
        let slot = match former {
            Some((slot, sb)) => self.readd_member(slot, position, sb)?,
            None => self.add_new_member(position, new_uuid)?,
        };
        self.pump();
        Ok(slot)
    }

    /// Why no leg can be added now, if so.
    fn may_add(&self, device_sectors: u64) -> Result<(), AdminError> {
        if self.suspending {
            return Err(AdminError::Suspended);
        }
        if self.geo.external {
            return Err(AdminError::ExternalLog);
        }
        if self.in_sync().is_empty() {
            return Err(AdminError::NoSource);
        }
        let need = self.geo.data_offset + self.geo.data_sectors;
        if device_sectors < need {
            return Err(AdminError::TooSmall { need });
        }
        Ok(())
    }

    /// A former member returns to its slot: rebuilt from its MODIFIED
    /// chunks, or in full when they do not cover what it missed.
    fn readd_member(
        &mut self,
        slot: usize,
        position: Position,
        sb: &Superblock,
    ) -> Result<usize, AdminError> {
        if self.legs[slot].health.is_writable() {
            return Err(AdminError::AlreadyMember { slot });
        }
        self.slot_idle(slot)?;
        let member = self.template.members[slot].expect("found by the caller");
        let full = member.full_copy || !self.covered(&member) || self.diverged(sb);
        self.begin_rebuild(slot, position, full, 0);
        Ok(slot)
    }

    /// A new member takes an empty slot (or a removed member's) and is
    /// copied in full.
    fn add_new_member(&mut self, position: Position, new_uuid: Uuid) -> Result<usize, AdminError> {
        let members = &self.template.members;
        if new_uuid.is_nil() || members.iter().flatten().any(|m| m.uuid == new_uuid) {
            return Err(AdminError::BadUuid);
        }
        let slot = (0..MAX_LEGS)
            .find(|&s| members[s].is_none())
            .or_else(|| {
                (0..MAX_LEGS).find(|&s| members[s].is_some_and(|m| m.state == MemberState::Removed))
            })
            .ok_or(AdminError::NoFreeSlot)?;
        self.slot_idle(slot)?;
        self.template.members[slot] = Some(Member {
            uuid: new_uuid,
            state: MemberState::Rebuilding,
            state_event: self.template.event + 1,
            rebuild_checkpoint: 0,
            full_copy: true,
        });
        let l = &mut self.legs[slot];
        l.sb_serial = Serial::NEVER;
        l.sb_durable_event = 0;
        l.writing = None;
        self.begin_rebuild(slot, position, true, 0);
        Ok(slot)
    }

    /// A slot takes a new or returning leg only once the I/O of the leg it
    /// held is done: a completion arriving later would count for the new
    /// one (a superblock write as durable, a data write as written).
    fn slot_idle(&self, slot: usize) -> Result<(), AdminError> {
        match self.legs[slot].pending {
            0 => Ok(()),
            _ => Err(AdminError::SlotBusy { slot }),
        }
    }

    /// Marks chunk `c` to be copied from the source leg again, made
    /// durably DIRTY first (a resync copies only durably DIRTY chunks).
    /// Whether it was not marked already.
    pub(super) fn resync_chunk(&mut self, c: usize) -> bool {
        let fresh = !self.chunks[c].flags.contains(ChunkFlags::NEEDS_RESYNC);
        if fresh {
            self.mark_needs_resync(c);
        }
        let ch = self.chunks[c];
        let dirty = ch.disk.status() == ChunkStatus::Dirty;
        if !dirty && !ch.flags.contains(ChunkFlags::LOCKED) {
            let byte = self.dirty_byte(&ch);
            self.want(c, byte);
        }
        fresh
    }

    /// The chunks of `sectors` from `sector` copied again (a read error
    /// mended without writing the reader's buffer back).
    pub(super) fn resync_chunks(&mut self, sector: u64, sectors: u32) {
        let mut started = 0;
        for c in self.chunk_range(sector, sectors) {
            started += u64::from(self.resync_chunk(c));
        }
        if started > 0 {
            self.push(Action::Log(LogEvent::ResyncStarted { chunks: started }));
        }
    }

    /// Copies every chunk from the source to the other legs, written or
    /// not, so that every leg holds the same bytes.
    pub fn start_full_resync(&mut self) {
        let mut started = 0;
        for c in 0..self.chunks.len() {
            started += u64::from(self.resync_chunk(c));
        }
        if started > 0 {
            self.push(Action::Log(LogEvent::ResyncStarted { chunks: started }));
        }
        self.pump();
    }

    /// Changes how reads choose a leg.
    pub fn set_read_policy(&mut self, policy: ReadPolicy) {
        self.cfg.read_policy = policy;
        self.fast.set_read_policy(policy);
    }

    /// Changes the resync speed floor and ceiling (KiB/s; see [`Config`]).
    pub fn set_resync_rate(&mut self, min_kib: u32, max_kib: u32) {
        self.cfg.resync_min_kib = min_kib;
        self.cfg.resync_max_kib = max_kib;
        self.pump();
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Stops background copying, lets everything in flight finish, flushes
    /// the legs, cleans every chunk that can be cleaned and marks the
    /// superblocks clean. [`LogEvent::Suspended`] and
    /// [`Mirror::is_suspended`] tell when that is done.
    pub fn suspend(&mut self) {
        self.suspending = true;
        self.pump();
    }

    /// Resumes after [`Mirror::suspend`].
    pub fn resume(&mut self) {
        self.suspending = false;
        self.suspended = false;
        if self.template.clean {
            self.template.clean = false;
            self.template.event += 1;
        }
        self.pump();
    }

    /// Suspend has finished: nothing in flight, superblocks marked clean.
    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    /// Chunks in sync on every writable leg, and the total: what LVM shows
    /// as the copy percentage.
    pub fn sync_progress(&self) -> (u64, u64) {
        let total = self.geo.chunk_count;
        let rebuilt = (0..MAX_LEGS)
            .filter(|&l| self.legs[l].rebuild.is_some())
            .map(|l| self.rebuild_low(l))
            .min()
            .unwrap_or(total);
        (rebuilt.min(total - self.needs_resync.min(total)), total)
    }

    /// The leg is in sync, and its superblock says so: it stays trusted
    /// after a crash. (A rebuilt leg is used at once, before its new state
    /// is durable.)
    pub fn is_durably_in_sync(&self, slot: usize) -> bool {
        slot < MAX_LEGS
            && self.legs[slot].health == LegHealth::Alive
            && self.template.members[slot]
                .is_some_and(|m| self.legs[slot].sb_durable_event >= m.state_event)
    }

    /// Some leg other than `slot` would still be trusted after a crash.
    pub(super) fn another_durably_in_sync(&self, slot: usize) -> bool {
        (0..MAX_LEGS).any(|l| l != slot && self.is_durably_in_sync(l))
    }

    // ---- state changes ------------------------------------------------------------

    /// Whether the bitmap's MODIFIED marks cover everything a member that
    /// left at its `state_event` missed.
    fn covered(&self, m: &Member) -> bool {
        let since = self.template.modified_since_event;
        since != 0 && since <= m.state_event
    }

    /// Whether a returning leg's own superblock says it ran without us
    /// (it recorded an in-sync leg as out): its data may differ anywhere.
    fn diverged(&self, sb: &Superblock) -> bool {
        (0..MAX_LEGS).any(|l| {
            self.legs[l].health == LegHealth::Alive
                && self.template.members[l].is_some_and(|ours| {
                    sb.members.iter().flatten().any(|theirs| {
                        theirs.uuid == ours.uuid
                            && matches!(theirs.state, MemberState::Failed | MemberState::Removed)
                    })
                })
        })
    }

    fn begin_rebuild(&mut self, slot: usize, position: Position, full: bool, checkpoint: u64) {
        self.template.event += 1;
        if self.template.modified_since_event == 0 {
            self.template.modified_since_event = self.template.event;
        }
        if let Some(m) = self.template.members[slot].as_mut() {
            m.state = MemberState::Rebuilding;
            m.full_copy = full;
            m.rebuild_checkpoint = checkpoint;
        }
        let l = &mut self.legs[slot];
        l.health = LegHealth::Rebuilding;
        l.position = Some(position);
        l.fail_cause = FailCause::Write;
        self.rebuilds_started = self.rebuilds_started.wrapping_add(1);
        l.rebuild = Some(Rebuild {
            full,
            next: checkpoint,
            checkpoint,
            flushing: None,
            generation: self.rebuilds_started,
        });
        // Its bitmap copies are stale or blank: write every segment to it.
        self.force_all_segments();
        self.push(Action::Log(LogEvent::RebuildStarted {
            leg: slot as u8,
            full,
        }));
    }

    /// At assembly: members not found are recorded out; former members
    /// found again start rebuilding (resuming from their checkpoint).
    pub(super) fn settle_members(&mut self, found: &[Option<FoundLeg>]) {
        for (slot, found) in found.iter().enumerate() {
            let Some(m) = self.template.members[slot] else {
                continue;
            };
            match (m.state, found) {
                (MemberState::InSync, None) => self.record_leg_out(slot, MemberState::Failed, true),
                (MemberState::Rebuilding, None) => {
                    self.record_leg_out(slot, MemberState::Failed, false)
                }
                (MemberState::Failed, Some(f)) => {
                    let full = m.full_copy || !self.covered(&m) || self.diverged(&f.superblock);
                    self.begin_rebuild(slot, Position(f.pos), full, 0);
                }
                (MemberState::Rebuilding, Some(f)) => {
                    self.begin_rebuild(slot, Position(f.pos), m.full_copy, m.rebuild_checkpoint);
                }
                _ => {}
            }
        }
    }

    /// Every segment written again, both copies (forced updates never
    /// write one copy only).
    fn force_all_segments(&mut self) {
        for s in 0..self.segments.len() {
            self.force_segment(s);
        }
    }

    /// Segment `s` written again soon, both copies, even with nothing
    /// changed.
    pub(super) fn force_segment(&mut self, s: usize) {
        if self.segments[s].force == Force::No {
            self.forced_segments += 1;
        }
        self.segments[s].force = Force::Wanted;
        if !self.segments[s].queued {
            self.segments[s].queued = true;
            self.seg_queue.push_back(s as u32);
        }
    }

    /// Updates the member table for a leg that is out, without pumping.
    /// `departed`: its data stops being current now (it was in sync).
    pub(super) fn record_leg_out(&mut self, leg: usize, state: MemberState, departed: bool) {
        self.template.event += 1;
        let event = self.template.event;
        if let Some(m) = self.template.members[leg].as_mut() {
            m.state = state;
            if departed {
                m.state_event = event;
            }
            m.rebuild_checkpoint = 0;
        }
        if self.template.modified_since_event == 0 {
            self.template.modified_since_event = event;
        }
        self.last_failure_event = event;
        // The leg may have missed any write to a chunk that is DIRTY now:
        // such chunks are MODIFIED for its return.
        for c in 0..self.chunks.len() {
            let ch = self.chunks[c];
            let dirty = [Some(ch.disk), ch.staged, ch.want]
                .iter()
                .flatten()
                .any(|b| b.status() == ChunkStatus::Dirty);
            if (dirty || ch.inflight > 0) && !mutated!(self, NoModifiedWhenDegraded) {
                self.want(c, ChunkByte::new(ChunkStatus::Dirty, true));
            }
        }
        // One leg left in sync: no other leg covers a bad sector under its
        // newest copy, so both copies must hold it again (a single-copy
        // update left the other one update behind).
        if departed && self.in_sync().len() == 1 {
            self.force_all_segments();
        }
        if self.source.is_some_and(|s| s == leg) {
            self.source = self.source_leg();
        }
    }

    pub(super) fn leg_failed(&mut self, leg: usize, cause: FailCause) {
        let health = self.legs[leg].health;
        if !health.is_writable() {
            return;
        }
        self.legs[leg].health = LegHealth::Failed;
        self.legs[leg].fail_cause = cause;
        self.legs[leg].rebuild = None;
        self.push(Action::Log(LogEvent::LegFailed { leg: leg as u8 }));
        self.record_leg_out(leg, MemberState::Failed, health == LegHealth::Alive);
        if self.in_sync().is_empty() {
            self.dead = true;
            self.push(Action::Log(LogEvent::AllLegsFailed));
        }
    }

    /// Membership steps that wait for I/O: rebuilds finishing, MODIFIED
    /// tracking ending, suspend progressing.
    pub(super) fn pump_members(&mut self) {
        for leg in 0..MAX_LEGS {
            self.try_finish_rebuild(leg);
        }
        if !self.degraded() && self.template.modified_since_event != 0 && !self.dead {
            self.template.modified_since_event = 0;
            self.template.event += 1;
            self.modified_reset_event = self.template.event;
        }
        self.pump_suspend();
    }

    fn pump_suspend(&mut self) {
        if !self.suspending || self.suspended {
            return;
        }
        if self.dead {
            self.suspended = true;
            return self.push(Action::Log(LogEvent::Suspended));
        }
        if !self.is_idle() || !self.seg_queue.is_empty() || self.fast.writes_in_flight() {
            return;
        }
        // A clean stop leaves no stale MODIFIED mark once tracking ended:
        // the next start must not mistake them for a degraded past.
        let clear_modified = self.modified_clearable();
        let cleanable = self.chunks.iter().any(|c| {
            !c.flags.contains(ChunkFlags::NEEDS_RESYNC)
                && (c.disk.status() == ChunkStatus::Dirty
                    || (clear_modified && c.disk.is_modified()))
        });
        if cleanable {
            return self.scan_clean();
        }
        if !self.template.clean {
            self.template.clean = true;
            self.template.event += 1;
            return;
        }
        let event = self.template.event;
        let written = (0..MAX_LEGS)
            .filter(|&l| self.writable().contains(l))
            .all(|l| self.legs[l].sb_durable_event >= event);
        if written {
            self.suspended = true;
            self.push(Action::Log(LogEvent::Suspended));
        }
    }
}
