//! Superblock updates: the two-copy protocol on every writable leg.

use super::*;

impl Mirror {
    pub(super) fn pump_superblocks(&mut self) {
        for leg in 0..MAX_LEGS {
            let l = self.legs[leg];
            if !l.health.is_writable()
                || l.sb_phase != Phase::Idle
                || l.sb_durable_event >= self.template.event
            {
                continue;
            }
            self.write_superblock(leg, l.sb_first, l.sb_serial.next(), true);
        }
    }

    /// Writes one copy of the leg's superblock: the `first` of an update
    /// (a new superblock from the template), or the second, which repeats it.
    pub(super) fn write_superblock(
        &mut self,
        leg: usize,
        role: CopyRole,
        serial: Serial,
        first: bool,
    ) {
        // Built in place in the leg's record, never in this frame: a
        // superblock is 760 bytes, and kernel stacks are small.
        let l = &mut self.legs[leg];
        if first || l.writing.is_none() {
            let member = self.template.members[leg].expect("a live leg is a member");
            let sb = l.writing.get_or_insert(Superblock::BLANK);
            sb.clone_from(&self.template);
            sb.serial = serial;
            sb.slot = leg as u8;
            sb.leg_uuid = member.uuid;
        }
        let sb = l.writing.as_ref().expect("set above");
        let buf = self.cfg.max_segment_updates + leg;
        sb.encode(role, &mut self.meta[buf])
            .expect("the template stays valid");
        let (serial, event) = (sb.serial, sb.event);
        l.sb_serial = serial;
        // Phase::Primary: the first copy of the update, whichever role it has.
        l.sb_phase = if first {
            Phase::Primary
        } else {
            Phase::Secondary
        };
        l.sb_writing_event = event;
        self.stats.superblock_writes += 1;
        let sector = geometry::SUPERBLOCK_SECTOR[role.index()];
        self.issue(
            Owner::Superblock(leg as u8),
            leg,
            IoOp::Write,
            sector,
            BLOCK_SECTORS as u32,
            true,
            Buffer::Meta(buf as u16),
        );
    }

    pub(super) fn superblock_child_done(&mut self, leg: usize, ok: bool) {
        let phase = self.legs[leg].sb_phase;
        self.legs[leg].sb_phase = Phase::Idle;
        if !ok {
            self.legs[leg].writing = None;
            return self.leg_failed(leg, FailCause::Write);
        }
        if !self.legs[leg].health.is_writable() {
            return;
        }
        if phase == Phase::Primary {
            self.legs[leg].sb_durable_event = self.legs[leg].sb_writing_event;
            let serial = self.legs[leg].sb_serial;
            let second = self.legs[leg].sb_first.other();
            self.write_superblock(leg, second, serial, false);
            self.wake_waiters();
        } else {
            self.legs[leg].writing = None;
            // Both copies hold the update: the usual order from now on.
            self.legs[leg].sb_first = CopyRole::Primary;
        }
    }
}
