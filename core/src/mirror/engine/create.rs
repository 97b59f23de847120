//! Building a mirror from an assembly: every table is sized here, once,
//! and nothing is allocated afterwards.

use super::*;

impl Mirror {
    /// The mirror's tables, sized and filled from the assembly (whose
    /// legs are `found`).
    #[inline(never)]
    pub(super) fn tables(
        asm: Assembly,
        found: &[Option<FoundLeg>],
        cfg: Config,
        now: u64,
    ) -> Mirror {
        Self::check_config(&cfg);
        let geo = asm.template.geometry;
        let template = asm.template;
        let legs = Self::leg_records(&template, found);
        let (chunks, needs_resync) = Self::chunk_records(&asm.chunks, now);
        let segments = Self::segment_records(&asm.segments);
        let max_children = Self::max_children(&cfg);
        let mut m = Mirror {
            cfg,
            geo,
            template,
            legs,
            chunks,
            seg_queue: VecDeque::with_capacity(segments.len()),
            segments,
            seg_bufs_free: (0..cfg.max_segment_updates as u16).rev().collect(),
            meta: vec![[0u8; BLOCK_SIZE]; cfg.max_segment_updates + MAX_LEGS],
            seg_scratch: vec![0; CHUNKS_PER_SEGMENT],
            children: vec![
                Child {
                    owner: Owner::Free,
                    leg: 0
                };
                max_children
            ],
            child_free: (0..max_children as u32).rev().collect(),
            reqs: Self::request_records(&cfg),
            req_free: (0..cfg.max_requests as u16).rev().collect(),
            waiting: Vec::with_capacity(cfg.max_requests),
            resync: vec![ResyncSlot::FREE; cfg.resync_depth],
            resync_cursor: 0,
            needs_resync,
            actions: VecDeque::with_capacity(Self::action_capacity(&cfg)),
            wake_at: None,
            queued_logs: 0,
            now,
            epoch: 1,
            durable_epoch: 0,
            clean_flush: None,
            next_clean_scan: now,
            last_failure_event: 0,
            dead: false,
            rr: 0,
            writes_started: 0,
            resync_read_errors: 0,
            stats: Box::default(),
            source: None,
            forced_segments: 0,
            modified_reset_event: 0,
            suspending: false,
            suspended: false,
            resync_tokens: 0,
            resync_refilled_at: now,
            resync_wake: 0,
            last_user_io: 0,
            rebuilds_started: 0,
            resync_paused_until: 0,
            log_failed: false,
            fast: Arc::new(FastPath::new(&geo, &cfg)),
            publish_queue: Vec::with_capacity(geo.chunk_count as usize),
            #[cfg(feature = "mutations")]
            mutation: Mutation::None,
        };
        for (s, found) in asm.segments.iter().enumerate() {
            if !found.agreed {
                m.unsettle_segment(s);
            }
        }
        m
    }

    /// Each bitmap segment's record: idle, with the serial assembly read
    /// and the copy to write first.
    fn segment_records(found: &[SegmentFound]) -> Vec<Segment> {
        found
            .iter()
            .map(|f| Segment {
                serial: f.serial,
                phase: Phase::Idle,
                buf: 0,
                pending: 0,
                queued: false,
                force: Force::No,
                first: f.write_first,
                single: false,
                clean_due: None,
            })
            .collect()
    }

    /// The legs disagreed on segment `s`: its merged bytes wait for an
    /// update to make them durable before a write relies on them (a torn
    /// update could otherwise leave only a state without them).
    fn unsettle_segment(&mut self, s: usize) {
        let (first, count) = self.geo.segment_chunks(s as u32);
        for c in first..first + u64::from(count) {
            self.chunks[c as usize].flags.insert(ChunkFlags::UNSETTLED);
        }
        self.force_segment(s);
    }

    /// The request table, every slot free.
    fn request_records(cfg: &Config) -> Vec<Req> {
        let unused = Request::new(0, ReqOp::Flush, 0, 0);
        let free = Req {
            state: ReqState::Free,
            ..Req::new(unused)
        };
        vec![free; cfg.max_requests]
    }

    /// Each slot's record, from the member table and the leg found there.
    fn leg_records(template: &Superblock, found: &[Option<FoundLeg>]) -> Vec<Leg> {
        (0..MAX_LEGS)
            .map(|slot| {
                let health = match (template.members[slot], &found[slot]) {
                    (None, _) => LegHealth::Empty,
                    (Some(m), None) if m.state == MemberState::Removed => LegHealth::Failed,
                    (Some(_), None) => LegHealth::Missing,
                    (Some(_), Some(found)) if found.in_sync => LegHealth::Alive,
                    (Some(_), Some(_)) => LegHealth::Failed,
                };
                let (serial, event) = found[slot].as_ref().map_or((Serial::NEVER, 0), |f| {
                    (f.superblock.serial, f.superblock.event)
                });
                Leg {
                    health,
                    sb_serial: serial,
                    sb_phase: Phase::Idle,
                    sb_first: match &found[slot] {
                        Some(f) if f.secondary_damaged => CopyRole::Secondary,
                        _ => CopyRole::Primary,
                    },
                    sb_writing_event: 0,
                    sb_durable_event: event,
                    pending: 0,
                    writing: None,
                    position: found[slot].as_ref().map(|f| Position(f.pos)),
                    fail_cause: FailCause::Write,
                    rebuild: None,
                    read_stream_end: u64::MAX,
                }
            })
            .collect()
    }

    /// Each chunk's record from its merged bitmap byte, and how many need
    /// a copy (a chunk left DIRTY may differ between legs: it is copied
    /// before it is trusted).
    fn chunk_records(bytes: &[u8], now: u64) -> (Vec<Chunk>, u64) {
        let mut needs_resync = 0;
        let chunks = bytes
            .iter()
            .map(|&raw| {
                // Assembly decodes every byte it keeps; were one invalid,
                // the worst case is the safe reading.
                let decoded = ChunkByte::from_raw(raw);
                debug_assert!(decoded.is_some(), "chunk byte {raw:#x}");
                let disk = decoded.unwrap_or(ChunkByte::UNKNOWN);
                let dirty = disk.status() == ChunkStatus::Dirty;
                needs_resync += u64::from(dirty);
                Chunk {
                    disk,
                    staged: None,
                    want: None,
                    flags: if dirty {
                        ChunkFlags::NEEDS_RESYNC
                    } else {
                        ChunkFlags::NONE
                    },
                    inflight: 0,
                    holds: 0,
                    epoch: 0,
                    last_write: now,
                    last_write_gen: 0,
                    warmth: 0,
                }
            })
            .collect();
        (chunks, needs_resync)
    }

    /// Starts a mirror just built: the devices left out said, the read
    /// source, the fast path, the members found or not, the first resync
    /// and metadata writes.
    #[inline(never)]
    pub(super) fn start_members(
        &mut self,
        found: &[Option<FoundLeg>],
        left_out: &[(usize, AssemblyError)],
    ) {
        for &(position, reason) in left_out {
            self.push(Action::Log(LogEvent::LegLeftOut {
                position: position as u8,
                reason,
            }));
        }
        self.source = self.source_leg();
        for c in 0..self.chunks.len() {
            self.queue_publish(c);
        }
        self.settle_members(found);
        if self.needs_resync > 0 {
            self.push(Action::Log(LogEvent::ResyncStarted {
                chunks: self.needs_resync,
            }));
        }
        self.pump();
    }

    /// Bytes `Mirror::new` allocates, at most, for a mirror of `geo` with
    /// `cfg` (every table it sizes; nothing is allocated afterwards). The
    /// assembly it consumes holds about `chunk_count` bytes more until then.
    pub fn memory_bound(geo: &Geometry, cfg: &Config) -> usize {
        use core::mem::size_of;
        let chunks = geo.chunk_count as usize;
        let segments = geo.segment_count as usize;
        let children = Self::max_children(cfg);
        let arc_header = 2 * size_of::<usize>();
        chunks * (size_of::<Chunk>() + size_of::<u64>() + size_of::<u32>())
            + segments * (size_of::<Segment>() + size_of::<u32>())
            + cfg.max_segment_updates * size_of::<u16>()
            + (cfg.max_segment_updates + MAX_LEGS) * BLOCK_SIZE
            + children * (size_of::<Child>() + size_of::<u32>())
            + cfg.max_requests * (size_of::<Req>() + 2 * size_of::<u16>())
            + cfg.resync_depth * size_of::<ResyncSlot>()
            + Self::action_capacity(cfg) * size_of::<Action>()
            + arc_header
            + size_of::<FastPath>()
            + MAX_LEGS * size_of::<Leg>()
            + CHUNKS_PER_SEGMENT
    }

    /// Child I/Os in flight at most. Per leg: one per request (its
    /// write, flush, read, part of a split read or repair: a request's
    /// steps on one leg follow each other), one per bitmap segment update
    /// and per copy, and the mirror's own three: a superblock write, the
    /// cleaner's flush and a rebuild checkpoint's flush.
    pub(super) fn max_children(cfg: &Config) -> usize {
        (cfg.max_requests + cfg.max_segment_updates + cfg.resync_depth + 3) * MAX_LEGS
    }

    /// Actions queued at most between two polls, the caller draining after
    /// every call (docs/abi.md): an I/O per child in flight, a completion
    /// per request (and one for the request a call submits), and the log
    /// lines one call can produce. Wake-ups are not queued: the earliest
    /// waits aside (`Mirror::wake_at`).
    pub(super) fn action_capacity(cfg: &Config) -> usize {
        Self::max_children(cfg) + cfg.max_requests + 1 + Self::log_lines_per_call(cfg)
    }

    /// A moved read per request, a copy read error per copy, per leg its
    /// failure, left out, removal and a rebuild's start or end, and the
    /// mirror's resync start and end, every leg failed and suspended: the
    /// log lines' share of the queue (more are dropped and counted).
    pub(super) fn log_lines_per_call(cfg: &Config) -> usize {
        cfg.max_requests + cfg.resync_depth + 4 * MAX_LEGS + 4
    }

    /// The ranges the tables are sized for: request, buffer and copy slot
    /// indexes are u16.
    pub(super) fn check_config(cfg: &Config) {
        assert!(
            (1..=usize::from(u16::MAX)).contains(&cfg.max_requests),
            "max_requests {} out of range",
            cfg.max_requests
        );
        assert!(
            (1..=usize::from(u16::MAX) - MAX_LEGS).contains(&cfg.max_segment_updates),
            "max_segment_updates {} out of range",
            cfg.max_segment_updates
        );
        assert!(
            (1..=usize::from(u16::MAX)).contains(&cfg.resync_depth),
            "resync_depth {} out of range",
            cfg.resync_depth
        );
    }
}
