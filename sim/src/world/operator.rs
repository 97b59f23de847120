//! The operator: failing, removing and adding legs in the middle of I/O.

use super::*;

impl World {
    /// Disks of legs the core has durably in sync and whose disk works.
    pub(super) fn in_sync_disks(&self) -> Vec<usize> {
        (0..MAX_LEGS)
            .filter(|&s| self.mirror.is_durably_in_sync(s))
            .filter_map(|s| self.disk_of_slot[s])
            .filter(|&d| !self.disks[d].dead)
            .collect()
    }

    /// An operator's request in the middle of I/O: fail or remove a leg
    /// (never the last in-sync one), or add one (a removed disk coming
    /// back with its old contents, or a blank disk).
    pub(super) fn admin(&mut self) -> Step {
        let slots: Vec<usize> = (0..MAX_LEGS)
            .filter(|&s| {
                self.mirror.superblock().members[s].is_some_and(|m| m.state != MemberState::Removed)
            })
            .collect();
        // In-sync legs whose disks work: never take the last one away (that
        // would be a second fault on top of a dead disk). Whether that
        // leg's state is durable yet is the core's to judge (it refuses).
        let alive = (0..MAX_LEGS)
            .filter(|&s| self.mirror.leg_health(s) == LegHealth::Alive && !self.slot_disk_dead(s))
            .count();
        let spare_position = self.table.iter().position(|t| t.is_none());
        // An external layout's legs are the table's: only failures.
        let choice = if self.o.external_log {
            0
        } else {
            self.rng.below(3)
        };
        self.report.admin_ops += 1;
        let acted = match choice {
            0 => self.operator_fails(&slots, alive)?,
            1 => self.operator_removes(&slots, alive)?,
            _ => self.operator_adds(spare_position)?,
        };
        if !acted {
            return Ok(());
        }
        let r = self.drain();
        self.expect_failure = None;
        r
    }

    /// Fails a leg the rules allow, if any; whether it asked.
    fn operator_fails(&mut self, slots: &[usize], alive: usize) -> Result<bool, String> {
        let pick: Vec<usize> = slots
            .iter()
            .copied()
            .filter(|&s| match self.mirror.leg_health(s) {
                LegHealth::Alive => alive > 1 || self.slot_disk_dead(s),
                LegHealth::Rebuilding => true,
                _ => false,
            })
            .collect();
        let Some(&slot) = pick.get(self.rng.below(pick.len().max(1) as u64) as usize) else {
            return Ok(false);
        };
        self.log(format!("operator fails leg {slot}"));
        self.expect_failure = Some(slot as u8);
        match self.mirror.fail_leg(slot) {
            Ok(()) | Err(AdminError::LastLeg) => Ok(true),
            Err(e) => Err(format!("fail_leg({slot}) refused: {e}")),
        }
    }

    /// Removes a leg the rules allow, if any (its disk becomes a spare);
    /// whether it asked.
    fn operator_removes(&mut self, slots: &[usize], alive: usize) -> Result<bool, String> {
        let pick: Vec<usize> = slots
            .iter()
            .copied()
            .filter(|&s| {
                self.mirror.leg_health(s) != LegHealth::Alive || alive > 1 || self.slot_disk_dead(s)
            })
            .collect();
        let Some(&slot) = pick.get(self.rng.below(pick.len().max(1) as u64) as usize) else {
            return Ok(false);
        };
        self.log(format!("operator removes leg {slot}"));
        match self.mirror.remove_leg(slot) {
            Ok(()) => {}
            Err(AdminError::LastLeg) => return Ok(true),
            Err(e) => return Err(format!("remove_leg({slot}) refused: {e}")),
        }
        if let Some(d) = self.disk_of_slot[slot] {
            let pos = self.table.iter().position(|&t| t == Some(d));
            if let Some(pos) = pos {
                self.table[pos] = None;
            }
            if !self.disks[d].dead {
                self.spares.push(d);
            }
        }
        Ok(true)
    }

    /// Adds a spare (its old contents) or a blank disk at a free table
    /// position, up to three listed; whether it asked.
    fn operator_adds(&mut self, spare_position: Option<usize>) -> Result<bool, String> {
        if self.table.iter().flatten().count() >= 3 {
            return Ok(false);
        }
        let d = if !self.spares.is_empty() && self.rng.chance(2, 3) {
            let k = self.rng.below(self.spares.len() as u64) as usize;
            self.spares.swap_remove(k)
        } else {
            self.disks
                .push(Disk::new(self.geo.data_offset, self.geo.data_sectors));
            self.disks.len() - 1
        };
        let pos = spare_position.unwrap_or(self.table.len());
        if pos >= MAX_LEGS {
            return Ok(false);
        }
        let found = {
            let [p, q] = geometry::SUPERBLOCK_SECTOR
                .map(|s| self.disks[d].read_meta(s).expect("metadata area"));
            SuperblockLoad::read(&p, &q).superblock().copied()
        };
        let uuid = random_uuid(&mut self.rng);
        let sectors = self.geo.data_offset + self.geo.data_sectors;
        match self
            .mirror
            .add_leg(Position(pos), found.as_ref(), uuid, sectors)
        {
            Ok(slot) => {
                let how = if found.is_some() {
                    " (returning)"
                } else {
                    " (blank)"
                };
                self.log(format!(
                    "operator adds disk {d} at position {pos}: slot {slot}{how}"
                ));
                if pos == self.table.len() {
                    self.table.push(Some(d));
                } else {
                    self.table[pos] = Some(d);
                }
                self.disk_of_slot[slot] = Some(d);
            }
            Err(AdminError::NoFreeSlot | AdminError::SlotBusy { .. }) => self.spares.push(d),
            Err(e) => return Err(format!("add_leg refused: {e}")),
        }
        Ok(true)
    }

    fn slot_disk_dead(&self, slot: usize) -> bool {
        self.disk_of_slot[slot].is_some_and(|d| self.disks[d].dead)
    }
}
