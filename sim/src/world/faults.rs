//! Faults: power loss (every unfinished write lost, whole or torn), latent
//! sector errors, bit flips in metadata, disks that die; and crash states
//! forked for the exhaustive mode.

use super::*;

impl World {
    /// A few sectors of one in-sync disk go bad, unless another disk has
    /// bad sectors already (that would be a second fault).
    pub(super) fn latent_error(&mut self) {
        let disks = self.in_sync_disks();
        if disks.len() < 2 || self.disks.iter().any(|d| !d.bad.is_empty()) {
            return;
        }
        let d = disks[self.rng.below(disks.len() as u64) as usize];
        let first = self.geo.data_offset + self.rng.below(self.geo.data_sectors);
        let n = 1 + self.rng.below(8);
        let end = (first + n).min(self.geo.data_offset + self.geo.data_sectors);
        self.disks[d].bad = (first..end).collect();
        self.report.latent_errors += 1;
        self.log(format!("disk {d}: sectors {first}..{end} go bad"));
    }

    pub(super) fn crash(&mut self) -> Step {
        self.report.crashes += 1;
        self.log("POWER LOSS".into());
        let unexecuted = self.unexecuted_writes()?;
        self.inflight.clear();
        for (d, pending) in unexecuted.into_iter().enumerate() {
            let mut rng = self.rng.clone();
            self.disks[d].crash(&mut rng, pending);
            self.rng.next_u64();
            self.rng = rng;
        }
        for d in 0..self.disks.len() {
            if self.disks[d].dead && self.rng.chance(self.o.return_rate, 100) {
                self.disks[d].dead = false;
                self.log(format!("disk {d} returns with its old contents"));
            }
        }
        if self.rng.chance(self.o.corrupt_rate, 100) {
            self.corrupt_a_metadata_copy();
        }
        self.reqs.clear();
        self.oracle.crash(self.now);
        self.reassemble()
    }

    /// Per disk, the writes issued to it and not yet executed.
    fn unexecuted_writes(&self) -> Result<Vec<Vec<Write>>, String> {
        let mut unexecuted: Vec<Vec<Write>> = vec![Vec::new(); self.disks.len()];
        for (io, d) in &self.inflight {
            if io.op == IoOp::Write {
                unexecuted[*d].push(Write {
                    sector: io.sector,
                    sectors: self.gather(io)?,
                });
            }
        }
        Ok(unexecuted)
    }

    /// A copy of this world after a power loss in which the unsettled
    /// writes of disk d met `fates[d]` (see [`World::unsettled`]), and the
    /// mirror was assembled again.
    pub(crate) fn fork_crash(&self, fates: &[Vec<Fate>]) -> Result<World, String> {
        let mut disks = self.disks.clone();
        for (d, pending) in self.unexecuted_writes()?.into_iter().enumerate() {
            disks[d].crash_with(pending, |i, _| fates[d][i]);
        }
        let mut oracle = self.oracle.clone();
        oracle.crash(self.now);
        let mut rng = self.rng.clone();
        let (mirror, disk_of_slot, _) = start_mirror(
            &self.o,
            self.cfg,
            &disks,
            &self.table,
            self.log_layout(),
            &mut rng,
            self.now,
        )?;
        let mut w = World {
            log: self.log,
            o: self.o.clone(),
            rng,
            now: self.now,
            step: self.step,
            cfg: self.cfg,
            geo: self.geo,
            disks,
            mirror,
            disk_of_slot,
            table: self.table.clone(),
            spares: self.spares.clone(),
            expect_failure: None,
            inflight: Vec::new(),
            reqs: HashMap::new(),
            next_req: self.next_req,
            stream_next: self.stream_next,
            oracle,
            resync_bufs: self.resync_bufs.clone(),
            trace: self.trace.clone(),
            report: Report::default(),
        };
        w.log(format!("POWER LOSS with fates {fates:?}"));
        w.drain()?;
        Ok(w)
    }

    /// Silent media corruption: flips one byte of one copy of a metadata
    /// block whose two copies hold the same update, so the other copy must
    /// serve; or of the older copy of a segment written one copy at a time.
    /// (The newest copy, where its twin is behind, is the one place the
    /// format relies on, and is not corrupted here.)
    fn corrupt_a_metadata_copy(&mut self) {
        let listed: Vec<usize> = self.table.iter().flatten().copied().collect();
        let pick = self.rng.below(listed.len() as u64) as usize;
        let g = self.geo;
        // External: the metadata of the slot at that position, on the log.
        let (d, base) = match self.log {
            Some(log) => (log, g.log_sector(pick, 0)),
            None => (listed[pick], 0),
        };
        let block = self.rng.below(1 + u64::from(g.segment_count)) as u32;
        let sectors = CopyRole::BOTH.map(|role| {
            base + match block {
                0 => geometry::SUPERBLOCK_SECTOR[role.index()],
                n => g.segment_sector(role, n - 1),
            }
        });
        let copies = sectors.map(|s| self.disks[d].durable.meta_block(s).expect("metadata area"));
        // Equal apart from the role byte and the CRC: same serial, same contents.
        let strip = |b: &[u8; BLOCK_SIZE]| {
            let mut b = *b;
            b[8..12].fill(0);
            b[24..28].fill(0);
            b
        };
        // Both copies must be valid too: one already damaged (in a byte the
        // comparison leaves out) would make this a second fault.
        let serials: [Option<Serial>; 2] = match block {
            0 => SuperblockLoad::read(&copies[0], &copies[1])
                .copies
                .map(|c| c.ok().map(|sb| sb.serial)),
            n => {
                let mut out = vec![0u8; CHUNKS_PER_SEGMENT];
                let (_, count) = g.segment_chunks(n - 1);
                let uuid = self.mirror.superblock().mirror_uuid;
                load_segment(
                    [&copies[0], &copies[1]],
                    n - 1,
                    uuid,
                    g.chunk_count,
                    &mut out[..count as usize],
                )
                .map_or([None; 2], |l| l.copies.map(|c| c.ok()))
            }
        };
        let [Some(p), Some(q)] = serials else {
            return;
        };
        let victim = if strip(&copies[0]) == strip(&copies[1]) {
            self.rng.below(2) as usize
        } else if block > 0 && p != q {
            // A segment written one copy at a time: the older copy is the
            // one the next update overwrites, and nothing relies on it.
            usize::from(p.is_newer_than(q))
        } else {
            return;
        };
        let byte = self.rng.below(BLOCK_SIZE as u64) as usize;
        let mut bad = copies[victim];
        bad[byte] ^= 1 << self.rng.below(8);
        self.disks[d].overwrite_meta(sectors[victim], &bad);
        self.report.corruptions += 1;
        self.log(format!(
            "disk {d}: bit flip in byte {byte} of the copy at sector {}",
            sectors[victim]
        ));
    }

    /// Kills one disk of an in-sync leg, never the last: a write held only
    /// by a disk that died is lost by any mirror, and proves nothing.
    pub(super) fn kill_a_disk(&mut self) {
        let candidates = self.in_sync_disks();
        let d = candidates[self.rng.below(candidates.len() as u64) as usize];
        self.disks[d].dead = true;
        self.report.deaths += 1;
        self.log(format!("disk {d} dies"));
    }
}
