//! The engine: tables sized at creation, then no allocation.

use super::assemble::{Assembly, AssemblyError, FoundLeg};
use super::fast::FastPath;
use super::types::*;
use crate::format::*;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use resync::Rebuild;

/// No value staged or wanted for a chunk.
const NONE: u8 = 0xff;
/// Legs may differ in this chunk: reads are pinned, resync must copy it.
const F_NEEDS_RESYNC: u8 = 1;
/// Resync owns this chunk: user writes wait.
const F_LOCKED: u8 = 2;
/// Queued for its fast-path bits to be published.
const F_PUBLISH: u8 = 4;
/// A read moved off the pinned leg here: until it and its repair finish,
/// other reads wait (they would see the version the repair replaces).
const F_READ_MOVED: u8 = 8;
/// A read pinned to the resync source retries it this often before it
/// falls back to another leg (whose data may differ until resync).
const PINNED_READ_RETRIES: u8 = 4;
/// Rounds over every readable leg once all have failed a read.
const READ_ROUNDS: u8 = 4;
/// Resync reads that may fail in a row before the source leg is failed.
const RESYNC_READ_RETRIES: u32 = 8;
/// User I/O within this long counts as active for the resync rate (ns).
const USER_IO_WINDOW_NS: u64 = 100_000_000;

#[derive(Clone, Copy, Debug)]
struct Chunk {
    /// The byte durable in the primary bitmap copy of every writable leg.
    disk: u8,
    /// The byte an in-flight bitmap update is writing, or NONE.
    staged: u8,
    /// The byte the next bitmap update should write, or NONE.
    want: u8,
    flags: u8,
    /// Data writes in flight.
    inflight: u16,
    /// Slow requests that need the chunk free of fast writes.
    holds: u16,
    /// Flush epoch of the last non-FUA write; durable once a flush of this
    /// epoch completed. 0: nothing waits for a flush.
    epoch: u32,
    /// Time the last write completed.
    last_write: u64,
    /// `writes_started` when the last write to this chunk was issued.
    last_write_gen: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Primary,
    Secondary,
}

#[derive(Clone, Copy, Debug)]
struct Segment {
    serial: Serial,
    phase: Phase,
    buf: u16,
    pending: u16,
    queued: bool,
    /// A leg joined: write this segment even with nothing changed.
    force: Force,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Force {
    No,
    Wanted,
    /// The update in flight is the forced one.
    Writing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Free,
    Request(u16),
    Segment(u32),
    Superblock(u8),
    CleanFlush,
    Resync(u16),
    RebuildFlush(u8, u32),
}

#[derive(Clone, Copy, Debug)]
struct Child {
    owner: Owner,
    leg: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReqState {
    Free,
    WaitRead,
    Preflush,
    WaitChunks,
    Writing,
    WaitRecord,
    Reading,
    Repairing,
    Flushing,
}

#[derive(Clone, Copy, Debug)]
struct Req {
    r: Request,
    state: ReqState,
    pending: u8,
    ok: u32,
    failed: u32,
    tried: u32,
    flush_epoch: u32,
    /// For reads: `writes_started` when the read was issued.
    write_gen: u64,
    /// For reads: a write over its chunks was in flight when it was issued.
    write_overlapped: bool,
    /// For reads pinned to the resync source: errors retried on it.
    retries: u8,
    /// For reads: rounds over every readable leg after all had failed.
    rounds: u8,
    /// A read split across legs, its parts in flight.
    split: bool,
    /// Holds its chunks against fast writes until it finishes.
    holds: bool,
    /// Moved off the pinned leg: its chunks carry F_READ_MOVED.
    moved: bool,
}

impl Req {
    /// A request that has not started yet.
    fn new(r: Request) -> Req {
        Req {
            r,
            state: ReqState::Free,
            pending: 0,
            ok: 0,
            failed: 0,
            tried: 0,
            flush_epoch: 0,
            write_gen: 0,
            write_overlapped: false,
            retries: 0,
            rounds: 0,
            split: false,
            holds: false,
            moved: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResyncPhase {
    Free,
    Reading,
    Writing,
}

#[derive(Clone, Copy, Debug)]
struct ResyncSlot {
    chunk: u64,
    phase: ResyncPhase,
    pending: u8,
    source: u8,
    /// Legs the chunk is copied to.
    targets: u32,
}

/// True when the named mistake is switched in; always false in real builds.
macro_rules! mutated {
    ($self:ident, $m:ident) => {{
        #[cfg(feature = "mutations")]
        let hit = $self.mutation == Mutation::$m;
        #[cfg(not(feature = "mutations"))]
        let hit = false;
        hit
    }};
}

// After the macro, so that they can use it.
mod admin;
mod fastpath;
mod resync;

/// Known mistakes the simulator must catch (test builds only).
#[cfg(feature = "mutations")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Behave correctly.
    None,
    /// Clean a chunk without waiting for its writes to be durable.
    CleanBeforeDurable,
    /// Issue data writes before the bitmap update is durable.
    DataBeforeBitmap,
    /// Do not set MODIFIED while degraded.
    NoModifiedWhenDegraded,
    /// Acknowledge a write or flush that failed on a leg before the failure
    /// is recorded.
    AckBeforeFailureRecorded,
    /// Serve chunks that need resync from any leg.
    ReadUnsyncedFromAnyLeg,
    /// Clean chunks without looking at fast writes.
    CleanIgnoresFastWrites,
}

/// What the mirror knows of one leg at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegHealth {
    /// No member in this slot.
    Empty,
    /// In sync and in use.
    Alive,
    /// Receives every write and is being copied to; serves reads only of
    /// chunks it already holds.
    Rebuilding,
    /// Failed or removed: not used.
    Failed,
    /// A member the table did not name: not used.
    Missing,
}

impl LegHealth {
    /// Receives writes, bitmap and superblock updates (in sync or rebuilding).
    pub fn is_writable(self) -> bool {
        matches!(self, LegHealth::Alive | LegHealth::Rebuilding)
    }

    /// Its name for people.
    pub fn name(self) -> &'static str {
        match self {
            LegHealth::Empty => "empty",
            LegHealth::Alive => "in sync",
            LegHealth::Rebuilding => "rebuilding",
            LegHealth::Failed => "failed",
            LegHealth::Missing => "missing",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Leg {
    health: LegHealth,
    sb_serial: Serial,
    sb_phase: Phase,
    /// The copy an update writes first: the secondary when it was found
    /// damaged, so that a torn write cannot leave both copies bad.
    sb_first: CopyRole,
    /// Event of the superblock being written.
    sb_writing_event: u64,
    /// Event of the newest superblock durable (primary) on this leg.
    sb_durable_event: u64,
    pending: u32,
    /// The superblock being written: the secondary repeats the primary.
    writing: Option<Superblock>,
    /// Table position of the device holding this leg.
    position: Option<usize>,
    /// Why it failed, as LVM's status letter: D write, F flush, S sync, R read.
    fail_cause: u8,
    /// While rebuilding: progress.
    rebuild: Option<Rebuild>,
    /// Where the last read sent to this leg ended: a read starting there
    /// continues a sequential stream and stays on this leg.
    read_stream_end: u64,
}

/// Counters for status and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bitmap segment updates started (each writes 2 blocks per leg).
    pub bitmap_updates: u64,
    /// Superblock updates started, counted per leg.
    pub superblock_writes: u64,
    /// Flushes issued by the cleaner.
    pub clean_flushes: u64,
    /// Data writes issued, counted per leg.
    pub data_writes: u64,
    /// Chunks copied by resync.
    pub resynced_chunks: u64,
    /// Chunks returned to CLEAN.
    pub cleaned_chunks: u64,
    /// Read errors repaired from another leg.
    pub read_repairs: u64,
    /// Chunks copied to rebuilding legs.
    pub rebuilt_chunks: u64,
    /// Rebuild checkpoints recorded.
    pub rebuild_checkpoints: u64,
    /// Chunks the crash resync looked at for a copy (its CPU cost).
    pub resync_scanned: u64,
}

/// A running mirror.
pub struct Mirror {
    cfg: Config,
    geo: Geometry,
    /// The newest superblock (on the heap: kernel stacks are small).
    template: Box<Superblock>,
    /// By slot (a vector: a kernel stack cannot hold a mirror's worth).
    legs: Vec<Leg>,
    chunks: Vec<Chunk>,
    segments: Vec<Segment>,
    seg_queue: VecDeque<u32>,
    seg_bufs_free: Vec<u16>,
    meta: Vec<[u8; BLOCK_SIZE]>,
    /// A segment's chunk bytes while it is encoded (not on the stack).
    seg_scratch: Vec<u8>,
    children: Vec<Child>,
    child_free: Vec<u32>,
    reqs: Vec<Req>,
    req_free: Vec<u16>,
    waiting: Vec<u16>,
    resync: Vec<ResyncSlot>,
    resync_cursor: u64,
    needs_resync: u64,
    actions: VecDeque<Action>,
    now: u64,
    epoch: u32,
    durable_epoch: u32,
    clean_flush: Option<(u32, u8)>,
    next_clean_scan: u64,
    last_failure_event: u64,
    dead: bool,
    rr: usize,
    /// Data writes (and read repairs) issued so far.
    writes_started: u64,
    /// Resync reads that failed in a row; a source failing too many is failed.
    resync_read_errors: u32,
    stats: Stats,
    /// The leg pinned reads and resync copies come from; it changes only
    /// when it leaves, so pinned reads never flip between legs.
    source: Option<usize>,
    /// Segments that must still be written whole to every writable leg.
    forced_segments: u32,
    /// Event at which MODIFIED tracking ended; MODIFIED marks may be
    /// cleared once every writable leg's superblock has it.
    modified_reset_event: u64,
    /// Suspend asked: no new resync; flush, clean, mark superblocks clean.
    suspending: bool,
    suspended: bool,
    /// Resync budget in sectors, refilled at the configured rate.
    resync_tokens: u64,
    resync_refilled_at: u64,
    resync_wake: u64,
    /// Last time a request was submitted.
    last_user_io: u64,
    /// Rebuilds started so far (names each one).
    rebuilds_started: u32,
    /// The last in-sync leg keeps failing copy reads: no copies before this.
    resync_paused_until: u64,
    /// External layout: a metadata write to the log device failed.
    log_failed: bool,
    /// What requests from other CPUs read without the lock.
    fast: Arc<FastPath>,
    /// Chunks whose fast-path bits must be published (deduplicated by
    /// F_PUBLISH, so never longer than the chunk count).
    publish_queue: Vec<u32>,
    #[cfg(feature = "mutations")]
    mutation: Mutation,
}

fn mask(leg: usize) -> u32 {
    1 << leg
}

impl Mirror {
    /// Starts a mirror from an assembly. Every table is allocated here.
    pub fn new(mut asm: Assembly, cfg: Config, now: u64) -> Mirror {
        let found = core::mem::take(&mut asm.legs);
        let left_out = core::mem::take(&mut asm.unusable);
        let mut m = Mirror::tables(asm, &found, cfg, now);
        m.start_members(&found, &left_out);
        m
    }

    /// As [`Mirror::new`], on the heap: a kernel stack has room for one
    /// mirror, not for the copies moving it into a box would take.
    pub fn new_boxed(mut asm: Assembly, cfg: Config, now: u64) -> Box<Mirror> {
        let found = core::mem::take(&mut asm.legs);
        let left_out = core::mem::take(&mut asm.unusable);
        let mut m = Box::new(Mirror::tables(asm, &found, cfg, now));
        m.start_members(&found, &left_out);
        m
    }

    /// The mirror's tables, sized and filled from the assembly (whose
    /// legs are `found`).
    #[inline(never)]
    fn tables(asm: Assembly, found: &[Option<FoundLeg>], cfg: Config, now: u64) -> Mirror {
        let geo = asm.template.geometry;
        let template = asm.template;
        let legs = (0..MAX_LEGS)
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
                    position: found[slot].as_ref().map(|f| f.pos),
                    fail_cause: b'D',
                    rebuild: None,
                    read_stream_end: u64::MAX,
                }
            })
            .collect();
        let mut needs_resync = 0;
        let chunks = asm
            .chunks
            .iter()
            .map(|&disk| {
                // A chunk left DIRTY may differ between legs: copy it before trusting it.
                let dirty =
                    ChunkByte::from_raw(disk).is_some_and(|b| b.status() == ChunkStatus::Dirty);
                needs_resync += u64::from(dirty);
                let flags = if dirty { F_NEEDS_RESYNC } else { 0 };
                Chunk {
                    disk,
                    staged: NONE,
                    want: NONE,
                    flags,
                    inflight: 0,
                    holds: 0,
                    epoch: 0,
                    last_write: now,
                    last_write_gen: 0,
                }
            })
            .collect();
        let segments = asm
            .segment_serials
            .iter()
            .map(|&serial| Segment {
                serial,
                phase: Phase::Idle,
                buf: 0,
                pending: 0,
                queued: false,
                force: Force::No,
            })
            .collect::<Vec<_>>();
        let max_children = Self::max_children(&cfg);
        Mirror {
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
            reqs: vec![
                Req::new(Request {
                    id: 0,
                    op: ReqOp::Flush,
                    sector: 0,
                    sectors: 0,
                    fua: false,
                    preflush: false,
                    no_repair: false
                });
                cfg.max_requests
            ],
            req_free: (0..cfg.max_requests as u16).rev().collect(),
            waiting: Vec::with_capacity(cfg.max_requests),
            resync: vec![
                ResyncSlot {
                    chunk: 0,
                    phase: ResyncPhase::Free,
                    pending: 0,
                    source: 0,
                    targets: 0
                };
                cfg.resync_depth
            ],
            resync_cursor: 0,
            needs_resync,
            actions: VecDeque::with_capacity(Self::action_capacity(&cfg)),
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
            stats: Stats::default(),
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
        }
    }

    /// Starts a mirror just built: the devices left out said, the read
    /// source, the fast path, the members found or not, the first resync
    /// and metadata writes.
    #[inline(never)]
    fn start_members(&mut self, found: &[Option<FoundLeg>], left_out: &[(usize, AssemblyError)]) {
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

    fn max_children(cfg: &Config) -> usize {
        (cfg.max_requests + cfg.max_segment_updates + cfg.resync_depth + 2) * MAX_LEGS
    }

    fn action_capacity(cfg: &Config) -> usize {
        Self::max_children(cfg) + 2 * cfg.max_requests + 64
    }

    // ---- public API -------------------------------------------------------

    /// Accepts a request. Its completion comes as [`Action::Complete`].
    pub fn submit(&mut self, r: Request) -> Result<(), SubmitError> {
        let Some(idx) = self.req_free.pop() else {
            return Err(SubmitError::Busy);
        };
        let i = usize::from(idx);
        self.reqs[i] = Req::new(r);
        self.last_user_io = self.now;
        self.suspended = false;
        if matches!(r.op, ReqOp::Write | ReqOp::Discard) && self.template.clean {
            // The superblocks no longer describe a cleanly stopped mirror.
            self.template.clean = false;
            self.template.event += 1;
        }
        let end = r.sector.checked_add(u64::from(r.sectors));
        let bad_range = r.op != ReqOp::Flush
            && (r.sectors == 0 || end.is_none_or(|e| e > self.geo.data_sectors));
        if bad_range {
            self.finish(i, Err(IoError::Invalid));
        } else if self.dead {
            self.finish(i, Err(IoError::NoLeg));
        } else if r.preflush && r.op != ReqOp::Flush {
            self.start_flush(i, ReqState::Preflush);
        } else {
            self.start(i);
        }
        self.pump();
        Ok(())
    }

    /// Reports the completion of a child I/O.
    pub fn complete(&mut self, id: ChildId, ok: bool) {
        let c = id.0 as usize;
        let child = self.children[c];
        assert!(
            child.owner != Owner::Free,
            "completion of a child that is not in flight"
        );
        self.children[c].owner = Owner::Free;
        self.child_free.push(id.0);
        let leg = usize::from(child.leg);
        self.legs[leg].pending -= 1;
        if !ok && self.on_log(child.owner) {
            self.log_failed = true;
        }
        match child.owner {
            Owner::Free => unreachable!(),
            Owner::Request(r) => self.request_child_done(usize::from(r), leg, ok),
            Owner::Segment(s) => self.segment_child_done(s as usize, leg, ok),
            Owner::Superblock(l) => self.superblock_child_done(usize::from(l), ok),
            Owner::CleanFlush => self.clean_flush_done(leg, ok),
            Owner::Resync(s) => self.resync_child_done(usize::from(s), leg, ok),
            Owner::RebuildFlush(l, g) => self.rebuild_flush_done(usize::from(l), g, ok),
        }
        self.pump();
    }

    /// Lets time pass; the cleaner runs from here.
    pub fn tick(&mut self, now: u64) {
        self.now = self.now.max(now);
        if self.fast.take_user_io() {
            self.last_user_io = self.now;
        }
        if self.now >= self.next_clean_scan {
            self.scan_clean();
        }
        self.pump();
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The state requests may use without the lock (share it with every
    /// CPU); see [`FastPath`].
    pub fn fast_path(&self) -> &Arc<FastPath> {
        &self.fast
    }

    /// The metadata block a [`Buffer::Meta`] names.
    pub fn meta_block(&self, index: u16) -> &[u8; BLOCK_SIZE] {
        &self.meta[usize::from(index)]
    }

    /// The geometry every leg shares.
    pub fn geometry(&self) -> &Geometry {
        &self.geo
    }

    /// The current member table and event counter.
    pub fn superblock(&self) -> &Superblock {
        &self.template
    }

    /// Run-time health of the leg in `slot`.
    pub fn leg_health(&self, slot: usize) -> LegHealth {
        self.legs.get(slot).map_or(LegHealth::Empty, |l| l.health)
    }

    /// Table position of the device holding the leg in `slot`; for
    /// [`LOG_DEVICE`] in an external layout, `LOG_DEVICE` itself.
    pub fn leg_position(&self, slot: usize) -> Option<usize> {
        if self.geo.external && slot == usize::from(LOG_DEVICE) {
            return Some(slot);
        }
        self.legs.get(slot).and_then(|l| l.position)
    }

    /// External layout: a metadata write to the log device failed (the
    /// slots it was written for failed with it).
    pub fn log_failed(&self) -> bool {
        self.log_failed
    }

    /// Whether `id` names a child I/O in flight (a completion for it is due).
    pub fn is_child_in_flight(&self, id: ChildId) -> bool {
        self.children
            .get(id.0 as usize)
            .is_some_and(|c| c.owner != Owner::Free)
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Chunks that may still differ between legs.
    pub fn chunks_needing_resync(&self) -> u64 {
        self.needs_resync
    }

    /// The in-memory durable byte of `chunk` (for tests and status).
    pub fn chunk_byte(&self, chunk: u64) -> Option<ChunkByte> {
        self.chunks
            .get(chunk as usize)
            .and_then(|c| ChunkByte::from_raw(c.disk))
    }

    /// Whether nothing is in flight: no request, child I/O or metadata update.
    pub fn is_idle(&self) -> bool {
        self.req_free.len() == self.reqs.len() && self.child_free.len() == self.children.len()
    }

    /// LVM's status letter for the leg at table position `pos`: A alive,
    /// D write error (or missing), F flush error, S sync error, R read error.
    pub fn position_health_char(&self, pos: usize) -> char {
        // A slot given up keeps its position; the device there may since
        // serve a new member in another slot, which is the one to show.
        let mut at = self.legs.iter().filter(|l| l.position == Some(pos));
        if at.clone().any(|l| l.health.is_writable()) {
            return 'A';
        }
        match at.find(|l| l.health == LegHealth::Failed) {
            Some(l) => char::from(l.fail_cause),
            None => 'D',
        }
    }

    /// Chunks DIRTY and chunks MODIFIED (a scan: for status, not the I/O path).
    pub fn dirty_and_modified(&self) -> (u64, u64) {
        self.chunks.iter().fold((0, 0), |(d, m), c| {
            let b = ChunkByte::from_raw(c.disk).expect("valid");
            (
                d + u64::from(b.status() == ChunkStatus::Dirty),
                m + u64::from(b.is_modified()),
            )
        })
    }

    /// Every leg failed: requests fail.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Switches a known mistake in (test builds only).
    #[cfg(feature = "mutations")]
    pub fn set_mutation(&mut self, m: Mutation) {
        self.mutation = m;
    }

    // ---- helpers ----------------------------------------------------------

    fn push(&mut self, a: Action) {
        debug_assert!(
            self.actions.len() < self.actions.capacity(),
            "action queue sized too small"
        );
        self.actions.push_back(a);
    }

    fn legs_where(&self, f: impl Fn(&Leg) -> bool) -> u32 {
        (0..MAX_LEGS)
            .filter(|&l| f(&self.legs[l]))
            .fold(0, |m, l| m | mask(l))
    }

    /// Legs every write, bitmap update and superblock update goes to.
    fn writable(&self) -> u32 {
        self.legs_where(|l| l.health.is_writable())
    }

    /// Legs in sync for every chunk.
    fn in_sync(&self) -> u32 {
        self.legs_where(|l| l.health == LegHealth::Alive)
    }

    /// Legs that may serve a read of `r`: in-sync legs, and rebuilding legs
    /// that already hold every chunk it touches.
    fn readable(&self, r: &Request) -> u32 {
        let last = self.chunk_range(r.sector, r.sectors).end as u64;
        let mut legs = self.in_sync();
        for l in 0..MAX_LEGS {
            if self.legs[l].health == LegHealth::Rebuilding && self.rebuild_low(l) >= last {
                legs |= mask(l);
            }
        }
        legs
    }

    /// The current source if it is still in sync, else the lowest in-sync slot.
    fn source_leg(&self) -> Option<usize> {
        self.source
            .filter(|&l| self.legs[l].health == LegHealth::Alive)
            .or_else(|| (0..MAX_LEGS).find(|&l| self.legs[l].health == LegHealth::Alive))
    }

    /// Some member (not one the operator removed) is not in sync.
    fn degraded(&self) -> bool {
        (0..MAX_LEGS).any(|l| {
            self.template.members[l].is_some_and(|m| m.state != MemberState::Removed)
                && self.legs[l].health != LegHealth::Alive
        })
    }

    fn chunk_range(&self, sector: u64, sectors: u32) -> core::ops::Range<usize> {
        let first = self.geo.chunk_of(sector) as usize;
        let last = self.geo.chunk_of(sector + u64::from(sectors) - 1) as usize;
        first..last + 1
    }

    /// The request covers every sector of chunk `c`.
    fn covers_chunk(&self, r: &Request, c: usize) -> bool {
        let (start, len) = self.chunk_sectors(c);
        r.sector <= start && r.sector + u64::from(r.sectors) >= start + u64::from(len)
    }

    fn chunk_sectors(&self, chunk: usize) -> (u64, u32) {
        let start = chunk as u64 * u64::from(self.geo.chunk_sectors);
        let len = (self.geo.data_sectors - start).min(u64::from(self.geo.chunk_sectors));
        (start, len as u32)
    }

    // One argument per field of the child I/O it emits; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    fn issue(
        &mut self,
        owner: Owner,
        leg: usize,
        op: IoOp,
        sector: u64,
        sectors: u32,
        fua: bool,
        buffer: Buffer,
    ) {
        let id = self
            .child_free
            .pop()
            .expect("child table sized for the worst case");
        self.children[id as usize] = Child {
            owner,
            leg: leg as u8,
        };
        self.legs[leg].pending += 1;
        // An external layout keeps each slot's metadata on the log device;
        // completions still count against the slot.
        let (device, sector) = if self.on_log(owner) {
            (LOG_DEVICE, self.geo.log_sector(leg, sector))
        } else {
            (leg as u8, sector)
        };
        let io = ChildIo {
            child: ChildId(id),
            leg: device,
            op,
            sector,
            sectors,
            fua,
            buffer,
        };
        self.push(Action::Io(io));
    }

    /// The child I/O of `owner` goes to the log device: a slot's metadata
    /// in an external layout.
    fn on_log(&self, owner: Owner) -> bool {
        self.geo.external && matches!(owner, Owner::Superblock(_) | Owner::Segment(_))
    }

    /// Issues the same child I/O to every leg in `legs`.
    #[allow(clippy::too_many_arguments)]
    fn issue_each(
        &mut self,
        legs: u32,
        owner: Owner,
        op: IoOp,
        sector: u64,
        sectors: u32,
        fua: bool,
        buffer: Buffer,
    ) {
        for leg in 0..MAX_LEGS {
            if legs & mask(leg) != 0 {
                self.issue(owner, leg, op, sector, sectors, fua, buffer);
            }
        }
    }

    /// Issues `op` over the whole range of request `i` to every leg in
    /// `legs`, with the request's own buffer (none for a discard).
    fn issue_for_request(&mut self, i: usize, legs: u32, op: IoOp, fua: bool) {
        let r = self.reqs[i].r;
        let buffer = match op {
            IoOp::Discard => Buffer::None,
            _ => Buffer::Request {
                id: r.id,
                offset: 0,
            },
        };
        self.issue_each(
            legs,
            Owner::Request(i as u16),
            op,
            self.geo.data_offset + r.sector,
            r.sectors,
            fua,
            buffer,
        );
    }

    /// Every leg failure so far is durable in every writable leg's superblock.
    fn failures_recorded(&self) -> bool {
        (0..MAX_LEGS)
            .filter(|&l| self.legs[l].health == LegHealth::Alive)
            .all(|l| self.legs[l].sb_durable_event >= self.last_failure_event)
    }

    fn dirty_byte(&self, c: &Chunk) -> u8 {
        let modified = (ChunkByte::from_raw(c.disk).is_some_and(|b| b.is_modified())
            || self.degraded())
            && !mutated!(self, NoModifiedWhenDegraded);
        ChunkByte::new(ChunkStatus::Dirty, modified).raw()
    }

    /// A data write may go to this chunk now.
    fn chunk_writable(&self, c: &Chunk, degraded: bool) -> bool {
        let disk = ChunkByte::from_raw(c.disk).expect("valid");
        let staged_dirty = c.staged == NONE
            || ChunkByte::from_raw(c.staged).is_some_and(|b| b.status() == ChunkStatus::Dirty);
        c.flags & F_LOCKED == 0
            && disk.status() == ChunkStatus::Dirty
            && (!degraded || disk.is_modified() || mutated!(self, NoModifiedWhenDegraded))
            && staged_dirty
            && c.want == NONE
    }

    /// Another write or repair to overlapping sectors is in flight. Two
    /// overlapping writes in flight together may land in different orders on
    /// different legs and leave them different: the second one waits.
    fn overlaps_inflight_write(&self, i: usize) -> bool {
        let r = self.reqs[i].r;
        if self
            .chunk_range(r.sector, r.sectors)
            .all(|c| self.chunks[c].inflight == 0)
        {
            return false;
        }
        let end = r.sector + u64::from(r.sectors);
        self.reqs.iter().enumerate().any(|(j, q)| {
            j != i
                && matches!(q.state, ReqState::Writing | ReqState::Repairing)
                && q.r.sector < end
                && r.sector < q.r.sector + u64::from(q.r.sectors)
        })
    }

    fn write_ready(&self, i: usize) -> bool {
        let r = self.reqs[i].r;
        let degraded = self.degraded();
        self.chunk_range(r.sector, r.sectors).all(|c| {
            let ch = &self.chunks[c];
            self.chunk_writable(ch, degraded)
                || (mutated!(self, DataBeforeBitmap) && ch.flags & F_LOCKED == 0)
        }) && !self.overlaps_inflight_write(i)
            && self.range_drained(&r)
    }

    /// The legs may differ in chunk `c`: reads are pinned, resync copies it.
    pub(super) fn mark_needs_resync(&mut self, c: usize) {
        if self.chunks[c].flags & F_NEEDS_RESYNC == 0 {
            self.chunks[c].flags |= F_NEEDS_RESYNC;
            self.needs_resync += 1;
            self.fast_revoke_read(c);
        }
    }

    fn want(&mut self, chunk: usize, byte: u8) {
        let c = &mut self.chunks[chunk];
        if c.want == byte || (c.want == NONE && c.staged == NONE && c.disk == byte) {
            return;
        }
        c.want = byte;
        self.fast_revoke_write(chunk);
        let seg = self.geo.segment_of(chunk as u64) as usize;
        if !self.segments[seg].queued {
            self.segments[seg].queued = true;
            self.seg_queue.push_back(seg as u32);
        }
    }

    // ---- requests -----------------------------------------------------------

    fn start(&mut self, i: usize) {
        match self.reqs[i].r.op {
            ReqOp::Read => self.start_read(i),
            ReqOp::Write | ReqOp::Discard => self.try_write(i),
            ReqOp::Flush => self.start_flush(i, ReqState::Flushing),
        }
    }

    fn finish(&mut self, i: usize, result: Result<(), IoError>) {
        self.drop_holds(i);
        if self.reqs[i].moved {
            let r = self.reqs[i].r;
            for c in self.chunk_range(r.sector, r.sectors) {
                self.chunks[c].flags &= !F_READ_MOVED;
            }
        }
        let id = self.reqs[i].r.id;
        self.reqs[i].state = ReqState::Free;
        self.req_free.push(i as u16);
        self.push(Action::Complete { id, result });
    }

    fn wait(&mut self, i: usize, state: ReqState) {
        self.reqs[i].state = state;
        self.waiting.push(i as u16);
    }

    fn try_write(&mut self, i: usize) {
        self.take_holds(i);
        let r = self.reqs[i].r;
        let range = self.chunk_range(r.sector, r.sectors);
        let degraded = self.degraded();
        let mut ready = true;
        for c in range {
            let chunk = self.chunks[c];
            if self.chunk_writable(&chunk, degraded) {
                continue;
            }
            self.want_dirty_for(c, &r);
            // The mistake: go ahead while the bitmap update is in flight.
            ready &= mutated!(self, DataBeforeBitmap) && chunk.flags & F_LOCKED == 0;
        }
        if ready && !self.overlaps_inflight_write(i) && self.range_drained(&r) {
            self.start_write(i);
        } else {
            self.wait(i, ReqState::WaitChunks);
        }
    }

    /// Asks for chunk `c` to become durably DIRTY for write `r`, unless
    /// resync holds it or an update of it is in flight (asked again then).
    fn want_dirty_for(&mut self, c: usize, r: &Request) {
        let chunk = self.chunks[c];
        if chunk.flags & F_LOCKED != 0 || chunk.staged != NONE {
            return;
        }
        let disk = ChunkByte::from_raw(chunk.disk).expect("valid");
        if disk.status() == ChunkStatus::Unwritten {
            // Outside what this write covers, the legs hold whatever
            // they held: copy the chunk before trusting it.
            let whole = r.op == ReqOp::Write && self.covers_chunk(r, c);
            if !whole {
                self.mark_needs_resync(c);
            }
        }
        let byte = self.dirty_byte(&chunk);
        self.want(c, byte);
    }

    fn start_write(&mut self, i: usize) {
        let r = self.reqs[i].r;
        for c in self.chunk_range(r.sector, r.sectors) {
            debug_assert!(
                self.chunk_writable(&self.chunks[c], self.degraded())
                    || mutated!(self, DataBeforeBitmap),
                "data write to a chunk not durably DIRTY"
            );
            self.chunks[c].inflight += 1;
            // A read in flight over this chunk must not repair with what
            // it read: it may predate this write.
            self.chunks[c].last_write_gen = self.writes_started;
        }
        self.writes_started += 1;
        let legs = self.writable();
        let op = match r.op {
            ReqOp::Discard => IoOp::Discard,
            _ => IoOp::Write,
        };
        self.reqs[i].state = ReqState::Writing;
        self.reqs[i].pending = legs.count_ones() as u8;
        self.stats.data_writes += u64::from(legs.count_ones());
        self.issue_for_request(i, legs, op, r.fua);
        if legs == 0 {
            self.write_done(i);
        }
    }

    fn write_done(&mut self, i: usize) {
        let q = self.reqs[i];
        let now = self.now;
        let epoch = self.epoch;
        let discard = q.r.op == ReqOp::Discard;
        let reached_in_sync = q.ok & self.in_sync() != 0;
        let degraded = self.degraded();
        for c in self.chunk_range(q.r.sector, q.r.sectors) {
            let whole = self.covers_chunk(&q.r, c);
            let ch = &mut self.chunks[c];
            ch.inflight -= 1;
            ch.last_write = now;
            if !q.r.fua || discard {
                ch.epoch = epoch;
            }
            // A write that reached no in-sync leg may have left the legs
            // different; so may a discard (each leg may zero or keep).
            if !reached_in_sync || discard {
                self.mark_needs_resync(c);
            }
            // A chunk discarded whole holds nothing anybody stored: it may
            // go back to UNWRITTEN (reads stay pinned, no copy needed).
            if discard && whole && q.failed == 0 {
                let modified = degraded
                    || ChunkByte::from_raw(self.chunks[c].disk).is_some_and(|b| b.is_modified());
                self.want(c, ChunkByte::new(ChunkStatus::Unwritten, modified).raw());
            }
        }
        if !reached_in_sync {
            self.finish(i, Err(IoError::NoLeg));
        } else if self.failures_recorded() || mutated!(self, AckBeforeFailureRecorded) {
            self.finish(i, Ok(()));
        } else {
            self.wait(i, ReqState::WaitRecord);
        }
    }

    fn start_flush(&mut self, i: usize, state: ReqState) {
        let legs = self.writable();
        self.reqs[i].state = state;
        self.reqs[i].pending = legs.count_ones() as u8;
        self.reqs[i].flush_epoch = self.epoch;
        self.epoch += 1;
        self.issue_each(
            legs,
            Owner::Request(i as u16),
            IoOp::Flush,
            0,
            0,
            false,
            Buffer::None,
        );
        if legs == 0 {
            self.flush_done(i);
        }
    }

    fn flush_done(&mut self, i: usize) {
        let q = self.reqs[i];
        if q.ok & self.in_sync() == 0 {
            return self.finish(i, Err(IoError::NoLeg));
        }
        self.durable_epoch = self.durable_epoch.max(q.flush_epoch);
        if q.state == ReqState::Preflush {
            self.reqs[i].ok = 0;
            self.reqs[i].failed = 0;
            return self.start(i);
        }
        if self.failures_recorded() || mutated!(self, AckBeforeFailureRecorded) {
            self.finish(i, Ok(()));
        } else {
            self.wait(i, ReqState::WaitRecord);
        }
    }

    fn read_legs(&self, r: &Request) -> u32 {
        let pinned = self.chunk_range(r.sector, r.sectors).any(|c| {
            let ch = &self.chunks[c];
            ch.flags & F_NEEDS_RESYNC != 0
                || ChunkByte::from_raw(ch.disk)
                    .is_some_and(|b| b.status() == ChunkStatus::Unwritten)
        });
        match (
            pinned && !mutated!(self, ReadUnsyncedFromAnyLeg),
            self.source_leg(),
        ) {
            (true, Some(src)) => mask(src),
            _ => self.readable(r),
        }
    }

    fn pick_leg(&mut self, candidates: u32, sector: u64) -> Option<usize> {
        let legs = (0..MAX_LEGS).filter(|&l| candidates & mask(l) != 0);
        // Sequential affinity: a stream stays on the leg it started on (its
        // read-ahead and head position are there).
        let stream = (0..MAX_LEGS)
            .find(|&l| candidates & mask(l) != 0 && self.legs[l].read_stream_end == sector);
        if stream.is_some() && self.cfg.read_policy != ReadPolicy::Prefer {
            return stream;
        }
        match self.cfg.read_policy {
            ReadPolicy::Prefer => legs.min(),
            ReadPolicy::LeastPending => legs.min_by_key(|&l| self.legs[l].pending),
            ReadPolicy::RoundRobin => {
                self.rr = self.rr.wrapping_add(1);
                let start = self.rr % MAX_LEGS;
                (0..MAX_LEGS)
                    .map(|k| (start + k) % MAX_LEGS)
                    .find(|&l| candidates & mask(l) != 0)
            }
        }
    }

    /// A chunk of the read is being copied from a source that has since
    /// failed: until the copy lands, the other legs hold older data than
    /// what pinned reads returned.
    fn read_blocked(&self, r: &Request) -> bool {
        self.chunk_range(r.sector, r.sectors).any(|c| {
            self.chunks[c].flags & F_LOCKED != 0
                && self.resync.iter().any(|s| {
                    s.phase != ResyncPhase::Free
                        && s.chunk == c as u64
                        && self.legs[usize::from(s.source)].health != LegHealth::Alive
                })
        })
    }

    /// A read that failed somewhere may repair: the data it goes on to
    /// read must not be overtaken by a fast write it cannot see.
    fn read_may_start(&mut self, i: usize) -> bool {
        let q = self.reqs[i];
        if q.tried != 0 || q.retries != 0 {
            self.take_holds(i);
        }
        let other_moved = !q.moved
            && self
                .chunk_range(q.r.sector, q.r.sectors)
                .any(|c| self.chunks[c].flags & F_READ_MOVED != 0);
        !other_moved
            && !self.read_blocked(&q.r)
            && (!self.reqs[i].holds || self.range_drained(&q.r))
    }

    fn start_read(&mut self, i: usize) {
        let r = self.reqs[i].r;
        if !self.read_may_start(i) {
            return self.wait(i, ReqState::WaitRead);
        }
        let tried = self.reqs[i].tried;
        let pinned = self.read_legs(&r);
        let mut candidates = pinned & !tried;
        if candidates == 0 {
            // The pinned leg failed this read: any in-sync leg beats an error.
            candidates = self.readable(&r) & !tried;
            if pinned.count_ones() == 1 && candidates != 0 {
                // The legs may differ here: this read may return other
                // data than earlier ones did (once: the repair then writes
                // it over the pinned leg).
                self.push(Action::Log(LogEvent::PinnedReadMoved {
                    sector: r.sector,
                    sectors: r.sectors,
                }));
                if !self.reqs[i].moved {
                    self.reqs[i].moved = true;
                    for c in self.chunk_range(r.sector, r.sectors) {
                        self.chunks[c].flags |= F_READ_MOVED;
                    }
                }
            }
        }
        if candidates == 0 && self.reqs[i].rounds < READ_ROUNDS {
            // Every live leg failed this read once; errors may be transient,
            // and a write since may have rewritten a bad sector. (Counted
            // apart from the pinned leg's retries: a read that used those
            // up and moved to a leg that then died tries the pinned one
            // again.)
            self.reqs[i].rounds += 1;
            self.reqs[i].tried = 0;
            candidates = self.readable(&r);
        }
        let split = self.cfg.split_read_sectors;
        let first_try = tried == 0 && self.reqs[i].retries == 0 && self.reqs[i].rounds == 0;
        if first_try && split > 0 && r.sectors >= split && candidates.count_ones() > 1 {
            return self.start_split_read(i, candidates);
        }
        let Some(leg) = self.pick_leg(candidates, r.sector) else {
            return self.finish(i, Err(IoError::NoLeg));
        };
        self.reqs[i].state = ReqState::Reading;
        self.reqs[i].pending = 1;
        self.reqs[i].tried |= mask(leg);
        self.note_read_issued(i);
        self.legs[leg].read_stream_end = r.sector + u64::from(r.sectors);
        self.issue_for_request(i, mask(leg), IoOp::Read, false);
    }

    /// Reads one part of a big read from each candidate leg, in 4 KiB
    /// multiples. A part that fails sends the whole read down the usual
    /// path (another leg, then repair).
    fn start_split_read(&mut self, i: usize, candidates: u32) {
        let r = self.reqs[i].r;
        let parts = candidates.count_ones();
        let part = r
            .sectors
            .div_ceil(parts)
            .next_multiple_of(BLOCK_SECTORS as u32);
        self.reqs[i].state = ReqState::Reading;
        self.reqs[i].split = true;
        self.reqs[i].pending = 0;
        self.note_read_issued(i);
        let mut offset = 0;
        for leg in (0..MAX_LEGS).filter(|&l| candidates & mask(l) != 0) {
            if offset >= r.sectors {
                break;
            }
            let len = part.min(r.sectors - offset);
            self.reqs[i].pending += 1;
            self.reqs[i].tried |= mask(leg);
            self.legs[leg].read_stream_end = u64::MAX;
            self.issue(
                Owner::Request(i as u16),
                leg,
                IoOp::Read,
                self.geo.data_offset + r.sector + u64::from(offset),
                len,
                false,
                Buffer::Request { id: r.id, offset },
            );
            offset += len;
        }
    }

    /// What a later repair needs to know: a write in flight now, or one
    /// started from now on, may land on the legs before or after this
    /// read, so what it returns may not be written over another leg.
    fn note_read_issued(&mut self, i: usize) {
        let r = self.reqs[i].r;
        self.reqs[i].write_gen = self.writes_started;
        self.reqs[i].write_overlapped = self
            .chunk_range(r.sector, r.sectors)
            .any(|c| self.chunks[c].inflight > 0);
    }

    fn read_done(&mut self, i: usize, leg: usize, ok: bool) {
        if self.reqs[i].split {
            if self.reqs[i].pending > 0 {
                return;
            }
            self.reqs[i].split = false;
            if self.reqs[i].failed == 0 {
                return self.finish(i, Ok(()));
            }
            // Read it all again from a leg that did not fail, then repair.
            self.reqs[i].tried = self.reqs[i].failed;
            return self.start_read(i);
        }
        if !ok {
            let r = self.reqs[i].r;
            let pinned = self.read_legs(&r) == mask(leg) && self.readable(&r).count_ones() > 1;
            if pinned && self.reqs[i].retries < PINNED_READ_RETRIES {
                self.reqs[i].retries += 1;
                self.reqs[i].tried &= !mask(leg);
            }
            return self.start_read(i);
        }
        // The leg that served the read needs no repair, whatever it failed before.
        self.reqs[i].failed &= !mask(leg);
        // Repair: write the good data over the legs that failed to read it,
        // unless a write touched these sectors since the read was issued:
        // the data read may be older than what the legs now hold.
        let targets = self.reqs[i].failed & self.writable();
        let r = self.reqs[i].r;
        let since = self.reqs[i].write_gen;
        let stale = self.reqs[i].write_overlapped
            || self.chunk_range(r.sector, r.sectors).any(|c| {
                self.chunks[c].inflight > 0
                    || self.chunks[c].last_write_gen >= since && self.writes_started > since
            });
        if targets == 0 || stale {
            return self.finish(i, Ok(()));
        }
        if r.no_repair {
            // The buffer may not hold what was read: a resync copies the
            // chunks from the source leg instead.
            self.resync_chunks(r.sector, r.sectors);
            return self.finish(i, Ok(()));
        }
        for c in self.chunk_range(r.sector, r.sectors) {
            self.chunks[c].inflight += 1;
            self.chunks[c].last_write_gen = self.writes_started;
        }
        self.writes_started += 1;
        self.reqs[i].state = ReqState::Repairing;
        self.reqs[i].pending = targets.count_ones() as u8;
        self.reqs[i].failed = 0;
        self.stats.read_repairs += u64::from(targets.count_ones());
        self.issue_for_request(i, targets, IoOp::Write, false);
    }

    fn request_child_done(&mut self, i: usize, leg: usize, ok: bool) {
        let q = &mut self.reqs[i];
        if ok {
            q.ok |= mask(leg);
        } else {
            q.failed |= mask(leg);
        }
        q.pending -= 1;
        let state = q.state;
        if state == ReqState::Reading {
            return self.read_done(i, leg, ok);
        }
        if !ok {
            // A leg that fails a write, a flush or a repair is out of the mirror.
            let cause = match state {
                ReqState::Flushing | ReqState::Preflush => b'F',
                ReqState::Repairing => b'R',
                _ => b'D',
            };
            self.leg_failed(leg, cause);
        }
        if self.reqs[i].pending > 0 {
            return;
        }
        match state {
            ReqState::Writing => self.write_done(i),
            ReqState::Flushing | ReqState::Preflush => self.flush_done(i),
            ReqState::Repairing => {
                let r = self.reqs[i].r;
                for c in self.chunk_range(r.sector, r.sectors) {
                    self.chunks[c].inflight -= 1;
                }
                self.finish(i, Ok(()))
            }
            s => unreachable!("child completion in state {s:?}"),
        }
    }

    fn wake_waiters(&mut self) {
        let mut k = 0;
        while k < self.waiting.len() {
            let i = usize::from(self.waiting[k]);
            let ready = match self.reqs[i].state {
                ReqState::WaitChunks => self.dead || self.write_ready(i),
                ReqState::WaitRecord => self.dead || self.failures_recorded(),
                ReqState::WaitRead => self.dead || self.read_may_start(i),
                s => unreachable!("waiting request in state {s:?}"),
            };
            if !ready {
                k += 1;
                continue;
            }
            self.waiting.swap_remove(k);
            match (self.dead, self.reqs[i].state) {
                (true, _) => self.finish(i, Err(IoError::NoLeg)),
                (false, ReqState::WaitChunks) => self.start_write(i),
                (false, ReqState::WaitRead) => self.start_read(i),
                _ => self.finish(i, Ok(())),
            }
        }
        // Requests still waiting for chunks may need a bitmap update that
        // an earlier one could not start (a chunk was busy).
        for k in 0..self.waiting.len() {
            let i = usize::from(self.waiting[k]);
            if self.reqs[i].state == ReqState::WaitChunks {
                let r = self.reqs[i].r;
                for c in self.chunk_range(r.sector, r.sectors) {
                    if !self.chunk_writable(&self.chunks[c], self.degraded()) {
                        self.want_dirty_for(c, &r);
                    }
                }
            }
        }
    }

    // ---- superblocks ------------------------------------------------------------

    fn pump_superblocks(&mut self) {
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
    fn write_superblock(&mut self, leg: usize, role: CopyRole, serial: Serial, first: bool) {
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

    fn superblock_child_done(&mut self, leg: usize, ok: bool) {
        let phase = self.legs[leg].sb_phase;
        self.legs[leg].sb_phase = Phase::Idle;
        if !ok {
            self.legs[leg].writing = None;
            return self.leg_failed(leg, b'D');
        }
        if !self.legs[leg].health.is_writable() {
            return;
        }
        if phase == Phase::Primary {
            self.legs[leg].sb_durable_event = self.legs[leg].sb_writing_event;
            let serial = self.legs[leg].sb_serial;
            let second = match self.legs[leg].sb_first {
                CopyRole::Primary => CopyRole::Secondary,
                CopyRole::Secondary => CopyRole::Primary,
            };
            self.write_superblock(leg, second, serial, false);
            self.wake_waiters();
        } else {
            self.legs[leg].writing = None;
            // Both copies hold the update: the usual order from now on.
            self.legs[leg].sb_first = CopyRole::Primary;
        }
    }

    // ---- bitmap segments ------------------------------------------------------

    fn pump_segments(&mut self) {
        while !self.seg_queue.is_empty() && !self.seg_bufs_free.is_empty() && !self.dead {
            let s = self.seg_queue.pop_front().expect("not empty") as usize;
            self.segments[s].queued = false;
            if self.segments[s].phase != Phase::Idle {
                continue; // re-queued when its update ends
            }
            let (first, count) = self.geo.segment_chunks(s as u32);
            let mut any = false;
            for c in first as usize..(first + u64::from(count)) as usize {
                let ch = &mut self.chunks[c];
                if ch.want != NONE && ch.flags & F_LOCKED == 0 {
                    ch.staged = ch.want;
                    ch.want = NONE;
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
            self.segments[s] = Segment {
                serial,
                phase: Phase::Primary,
                buf,
                pending: 0,
                queued: false,
                force,
            };
            self.stats.bitmap_updates += 1;
            self.write_segment(s, CopyRole::Primary);
        }
    }

    fn write_segment(&mut self, s: usize, role: CopyRole) {
        let seg = self.segments[s];
        let (first, count) = self.geo.segment_chunks(s as u32);
        let content = &mut self.seg_scratch[..count as usize];
        for (k, b) in content.iter_mut().enumerate() {
            let ch = &self.chunks[first as usize + k];
            *b = if ch.staged != NONE {
                ch.staged
            } else {
                ch.disk
            };
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
        self.segments[s].pending = legs.count_ones() as u16;
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
        if legs == 0 {
            self.segment_update_done(s);
        }
    }

    fn segment_child_done(&mut self, s: usize, leg: usize, ok: bool) {
        if !ok {
            self.leg_failed(leg, b'D');
        }
        self.segments[s].pending -= 1;
        if self.segments[s].pending == 0 {
            self.segment_update_done(s);
        }
    }

    fn segment_update_done(&mut self, s: usize) {
        if self.dead {
            self.seg_bufs_free.push(self.segments[s].buf);
            self.segments[s].phase = Phase::Idle;
            return self.wake_waiters();
        }
        let (first, count) = self.geo.segment_chunks(s as u32);
        match self.segments[s].phase {
            Phase::Primary => {
                // The primary is durable on every leg still writable: the
                // staged bytes are now what a reader would find.
                for c in first as usize..(first + u64::from(count)) as usize {
                    if self.chunks[c].staged == NONE {
                        continue;
                    }
                    self.queue_publish(c);
                    let ch = &mut self.chunks[c];
                    let status = ChunkByte::from_raw(ch.staged).map(|b| b.status());
                    if status == Some(ChunkStatus::Clean) {
                        self.stats.cleaned_chunks += 1;
                    }
                    ch.disk = ch.staged;
                    ch.staged = NONE;
                    // Durably UNWRITTEN (a whole-chunk discard): reads
                    // are pinned as for resync, and nothing needs a copy.
                    // (Unless another change is already wanted: it
                    // may be DIRTY again, with the legs still different.)
                    if status == Some(ChunkStatus::Unwritten)
                        && ch.want == NONE
                        && ch.flags & (F_NEEDS_RESYNC | F_LOCKED) == F_NEEDS_RESYNC
                    {
                        ch.flags &= !F_NEEDS_RESYNC;
                        self.needs_resync -= 1;
                    }
                }
                self.segments[s].phase = Phase::Secondary;
                self.write_segment(s, CopyRole::Secondary);
                self.wake_waiters();
            }
            Phase::Secondary => {
                self.segments[s].phase = Phase::Idle;
                self.seg_bufs_free.push(self.segments[s].buf);
                if self.segments[s].force == Force::Writing {
                    self.segments[s].force = Force::No;
                    self.forced_segments -= 1;
                }
                let wants = self.segments[s].force == Force::Wanted
                    || (first as usize..(first + u64::from(count)) as usize)
                        .any(|c| self.chunks[c].want != NONE);
                if wants && !self.segments[s].queued {
                    self.segments[s].queued = true;
                    self.seg_queue.push_back(s as u32);
                }
            }
            Phase::Idle => unreachable!("update of an idle segment"),
        }
    }

    // ---- lazy clean -------------------------------------------------------------

    /// MODIFIED marks are no longer needed: no member is out, and every
    /// writable leg's superblock says tracking ended (else a later failure
    /// could find tracking "on since" an event whose marks were cleared).
    fn modified_clearable(&self) -> bool {
        !self.degraded()
            && self.template.modified_since_event == 0
            && (0..MAX_LEGS)
                .filter(|&l| self.writable() & mask(l) != 0)
                .all(|l| self.legs[l].sb_durable_event >= self.modified_reset_event)
    }

    fn scan_clean(&mut self) {
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
            let Some(disk) = ChunkByte::from_raw(self.chunks[c].disk) else {
                continue;
            };
            if disk.status() == ChunkStatus::Dirty {
                self.harvest_fast_writes(c);
            }
            let ch = self.chunks[c];
            let settled = ch.staged == NONE
                && ch.want == NONE
                && ch.inflight == 0
                && ch.flags & (F_LOCKED | F_NEEDS_RESYNC) == 0;
            if settled
                && disk.is_modified()
                && !keep_modified
                && disk.status() != ChunkStatus::Dirty
            {
                self.want(c, ChunkByte::new(disk.status(), false).raw());
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
            self.want(c, ChunkByte::new(ChunkStatus::Clean, modified).raw());
        }
        if need_flush && self.clean_flush.is_none() {
            let legs = self.writable();
            if legs != 0 {
                self.stats.clean_flushes += 1;
                self.clean_flush = Some((self.epoch, legs.count_ones() as u8));
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

    fn clean_flush_done(&mut self, leg: usize, ok: bool) {
        if !ok {
            self.leg_failed(leg, b'F');
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

    // ---- the pump -------------------------------------------------------------

    fn pump(&mut self) {
        // Any event may have released a waiter (an overlapping write ended,
        // a chunk was unlocked, a bitmap update landed).
        self.wake_waiters();
        self.pump_members();
        self.pump_superblocks();
        self.pump_segments();
        self.pump_resync();
        self.publish_fast();
    }
}
