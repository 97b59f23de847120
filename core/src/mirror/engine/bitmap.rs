//! Bitmap segment updates: wanted chunk bytes grouped per segment, the
//! primary copy durable before anything relies on it, then the secondary.

use super::*;

impl Mirror {
    pub(super) fn pump_segments(&mut self) {
        while !self.seg_queue.is_empty() && !self.seg_bufs_free.is_empty() && !self.dead {
            let s = self.seg_queue.pop_front().expect("not empty") as usize;
            self.segments[s].queued = false;
            if self.segments[s].phase != Phase::Idle {
                continue; // re-queued when its update ends
            }
            self.clean_riders(s);
            let (first, count) = self.geo.segment_chunks(s as u32);
            let mut any = false;
            for c in first as usize..(first + u64::from(count)) as usize {
                let ch = &mut self.chunks[c];
                if ch.want.is_some() && !ch.flags.contains(ChunkFlags::LOCKED) {
                    ch.staged = ch.want;
                    ch.want = None;
                    any = true;
                }
            }
            let force = match self.segments[s].force {
                Force::No => Force::No,
                _ => Force::Writing,
            };
            if !any && force == Force::No {
                continue;
            }
            let buf = self.seg_bufs_free.pop().expect("checked");
            let serial = self.segments[s].serial.next();
            let single = self.single_copy_update(force);
            self.segments[s] = Segment {
                serial,
                phase: Phase::Primary,
                buf,
                pending: 0,
                queued: false,
                force,
                single,
                ..self.segments[s]
            };
            self.stats.bitmap_updates += 1;
            self.write_segment(s, self.segments[s].first);
        }
    }

    pub(super) fn write_segment(&mut self, s: usize, role: CopyRole) {
        let seg = self.segments[s];
        let (first, count) = self.geo.segment_chunks(s as u32);
        let content = &mut self.seg_scratch[..count as usize];
        for (k, b) in content.iter_mut().enumerate() {
            let ch = &self.chunks[first as usize + k];
            *b = ch.staged.unwrap_or(ch.disk).raw();
        }
        let header = SegmentHeader {
            role,
            index: s as u32,
            serial: seg.serial,
            mirror_uuid: self.template.mirror_uuid,
            chunk_count: self.geo.chunk_count,
        };
        encode_segment(
            &header,
            &self.seg_scratch[..count as usize],
            &mut self.meta[usize::from(seg.buf)],
        )
        .expect("valid chunk bytes");
        let legs = self.writable();
        self.segments[s].pending = legs.len() as u16;
        let sector_of = |g: &Geometry| g.segment_sector(role, s as u32);
        let sector = sector_of(&self.geo);
        self.issue_each(
            legs,
            Owner::Segment(s as u32),
            IoOp::Write,
            sector,
            BLOCK_SECTORS as u32,
            true,
            Buffer::Meta(seg.buf),
        );
        if legs.is_empty() {
            self.segment_update_done(s);
        }
    }

    pub(super) fn segment_child_done(&mut self, s: usize, leg: usize, ok: bool) {
        if !ok {
            self.leg_failed(leg, FailCause::Write);
        }
        self.segments[s].pending -= 1;
        if self.segments[s].pending == 0 {
            self.segment_update_done(s);
        }
    }

    pub(super) fn segment_update_done(&mut self, s: usize) {
        if self.dead {
            self.seg_bufs_free.push(self.segments[s].buf);
            self.segments[s].phase = Phase::Idle;
            return self.wake_waiters();
        }
        match self.segments[s].phase {
            Phase::Primary => {
                self.publish_segment(s);
                self.settle_segment(s);
                if self.segments[s].single {
                    // The other copy holds the previous state: the next
                    // update writes it, and this one stays.
                    self.segments[s].first = self.segments[s].first.other();
                    self.end_segment_update(s);
                } else {
                    self.segments[s].phase = Phase::Secondary;
                    self.write_segment(s, self.segments[s].first.other());
                }
                self.wake_waiters();
            }
            Phase::Secondary => self.end_segment_update(s),
            Phase::Idle => unreachable!("update of an idle segment"),
        }
    }

    /// The first copy is durable on every leg still writable: the staged
    /// bytes are now what a reader would find.
    fn publish_segment(&mut self, s: usize) {
        let (first, count) = self.geo.segment_chunks(s as u32);
        for c in first as usize..(first + u64::from(count)) as usize {
            let Some(staged) = self.chunks[c].staged else {
                continue;
            };
            self.queue_publish(c);
            let ch = &mut self.chunks[c];
            if staged.status() == ChunkStatus::Clean {
                self.stats.cleaned_chunks += 1;
            }
            ch.disk = staged;
            ch.staged = None;
            // Durably UNWRITTEN (a whole-chunk discard): reads are pinned
            // as for resync, and nothing needs a copy. (Unless another
            // change is already wanted: it may be DIRTY again, with the
            // legs still different.)
            if staged.status() == ChunkStatus::Unwritten
                && ch.want.is_none()
                && ch.flags.contains(ChunkFlags::NEEDS_RESYNC)
                && !ch.flags.contains(ChunkFlags::LOCKED)
            {
                ch.flags.remove(ChunkFlags::NEEDS_RESYNC);
                self.needs_resync -= 1;
            }
        }
    }

    /// The update is over: the buffer freed, the next one queued if wanted.
    fn end_segment_update(&mut self, s: usize) {
        let (first, count) = self.geo.segment_chunks(s as u32);
        self.segments[s].phase = Phase::Idle;
        self.seg_bufs_free.push(self.segments[s].buf);
        if self.segments[s].force == Force::Writing {
            self.segments[s].force = Force::No;
            self.forced_segments -= 1;
        }
        let wants = self.segments[s].force == Force::Wanted
            || (first as usize..(first + u64::from(count)) as usize)
                .any(|c| self.chunks[c].want.is_some());
        if wants && !self.segments[s].queued {
            self.segments[s].queued = true;
            self.seg_queue.push_back(s as u32);
        }
    }

    /// Whether an update may write one copy only, the one not holding the
    /// state relied upon (`Segment::first`; the other keeps that state, so
    /// a torn write leaves it): halving the metadata writes. Not for a
    /// forced update (a joining leg needs both copies written), nor with
    /// fewer than two legs in sync: then the newest state lies in one copy
    /// per leg, and a leg whose copy went bad later falls back one update;
    /// another in-sync leg's copy covers that (assembly merges the legs),
    /// a lone leg has none.
    fn single_copy_update(&self, force: Force) -> bool {
        force == Force::No && self.in_sync().len() >= 2
    }

    /// The first copy of an update of segment `s` is durable on every leg:
    /// its chunks' merged bytes, if assembly left them unsettled, are now
    /// what a reader finds.
    fn settle_segment(&mut self, s: usize) {
        let (first, count) = self.geo.segment_chunks(s as u32);
        for c in first as usize..(first + u64::from(count)) as usize {
            if self.chunks[c].flags.contains(ChunkFlags::UNSETTLED) {
                self.chunks[c].flags.remove(ChunkFlags::UNSETTLED);
                self.queue_publish(c);
            }
        }
    }
}
