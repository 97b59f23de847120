//! The engine: tables sized at creation, then no allocation.

use super::assemble::{Assembly, AssemblyError, FoundLeg, SegmentFound};
use super::fast::FastPath;
use super::legset::LegSet;
use super::types::*;
use crate::format::*;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use resync::Rebuild;
use state::*;

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
mod bitmap;
mod clean;
mod create;
mod fastpath;
mod invariants;
mod read;
mod request;
mod resync;
mod state;
mod superblock;
mod write;

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

/// Why a leg failed: the I/O that failed on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailCause {
    /// A write (data or metadata), or the operator's request.
    Write,
    /// A flush.
    Flush,
    /// A copy of resync or rebuild.
    Sync,
    /// A read and its repair.
    Read,
}

impl FailCause {
    /// Its letter in LVM's status (Linux dm-mirror's `D`, `F`, `S`, `R`).
    fn letter(self) -> char {
        match self {
            FailCause::Write => 'D',
            FailCause::Flush => 'F',
            FailCause::Sync => 'S',
            FailCause::Read => 'R',
        }
    }
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
    position: Option<Position>,
    /// Why it failed, for status.
    fail_cause: FailCause,
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
    /// Of those, chunks cleaned by an update their segment had anyway.
    pub cleans_carried: u64,
    /// Times a chunk written again soon after its clean got a longer
    /// clean delay.
    pub delays_lengthened: u64,
    /// CLEAN chunks marked DIRTY ahead of a sequential writer.
    pub chunks_dirtied_ahead: u64,
    /// Read errors repaired from another leg.
    pub read_repairs: u64,
    /// Chunks copied to rebuilding legs.
    pub rebuilt_chunks: u64,
    /// Rebuild checkpoints recorded.
    pub rebuild_checkpoints: u64,
    /// Chunks the crash resync looked at for a copy (its CPU cost).
    pub resync_scanned: u64,
    /// Log lines dropped because the caller left too many undrained.
    pub logs_dropped: u64,
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
    /// The earliest wake-up asked for since the last poll: one action,
    /// delivered after the others.
    wake_at: Option<u64>,
    /// Log lines in `actions`.
    queued_logs: usize,
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
    /// Boxed: the mirror is built on the stack before it is boxed (kernel stacks).
    stats: Box<Stats>,
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
    /// ChunkFlags::PUBLISH, so never longer than the chunk count).
    publish_queue: Vec<u32>,
    #[cfg(feature = "mutations")]
    mutation: Mutation,
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
        let a = self.actions.pop_front();
        if let Some(Action::Log(_)) = a {
            self.queued_logs -= 1;
        }
        a.or_else(|| self.wake_at.take().map(Action::WakeAt))
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
    pub fn leg_position(&self, slot: usize) -> Option<Position> {
        if self.geo.external && slot == usize::from(LOG_DEVICE) {
            return Some(Position(slot));
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
        *self.stats
    }

    /// Chunks that may still differ between legs.
    pub fn chunks_needing_resync(&self) -> u64 {
        self.needs_resync
    }

    /// The in-memory durable byte of `chunk` (for tests and status).
    pub fn chunk_byte(&self, chunk: u64) -> Option<ChunkByte> {
        self.chunks.get(chunk as usize).map(|c| c.disk)
    }

    /// Whether nothing is in flight: no request, child I/O or metadata update.
    pub fn is_idle(&self) -> bool {
        self.req_free.len() == self.reqs.len() && self.child_free.len() == self.children.len()
    }

    /// LVM's status letter for the leg at table position `pos`: A alive,
    /// D write error (or missing), F flush error, S sync error, R read error.
    pub fn position_health_char(&self, pos: Position) -> char {
        // A slot given up keeps its position; the device there may since
        // serve a new member in another slot, which is the one to show.
        let mut at = self.legs.iter().filter(|l| l.position == Some(pos));
        if at.clone().any(|l| l.health.is_writable()) {
            return 'A';
        }
        match at.find(|l| l.health == LegHealth::Failed) {
            Some(l) => l.fail_cause.letter(),
            None => 'D',
        }
    }

    /// Chunks DIRTY and chunks MODIFIED (a scan: for status, not the I/O path).
    pub fn dirty_and_modified(&self) -> (u64, u64) {
        self.chunks.iter().fold((0, 0), |(d, m), c| {
            let b = c.disk;
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
        match a {
            Action::WakeAt(t) => {
                self.wake_at = Some(self.wake_at.map_or(t, |w| w.min(t)));
                return;
            }
            // Log lines have a share of the queue; past it (events of many
            // calls left undrained) one is dropped and counted, never an
            // I/O or a completion.
            Action::Log(_) if self.queued_logs >= Self::log_lines_per_call(&self.cfg) => {
                self.stats.logs_dropped += 1;
                return;
            }
            Action::Log(_) => self.queued_logs += 1,
            _ => {}
        }
        // Growing would allocate, under the caller's lock in a kernel.
        assert!(
            self.actions.len() < self.actions.capacity(),
            "action queue full: the caller must drain actions after every call"
        );
        self.actions.push_back(a);
    }

    fn legs_where(&self, f: impl Fn(&Leg) -> bool) -> LegSet {
        (0..MAX_LEGS)
            .filter(|&l| f(&self.legs[l]))
            .fold(LegSet::EMPTY, |m, l| m | LegSet::of(l))
    }

    /// Legs every write, bitmap update and superblock update goes to.
    fn writable(&self) -> LegSet {
        self.legs_where(|l| l.health.is_writable())
    }

    /// Legs in sync for every chunk.
    fn in_sync(&self) -> LegSet {
        self.legs_where(|l| l.health == LegHealth::Alive)
    }

    /// Legs that may serve a read of `r`: in-sync legs, and rebuilding legs
    /// that already hold every chunk it touches.
    fn readable(&self, r: &Request) -> LegSet {
        let last = self.chunk_range(r.sector, r.sectors).end as u64;
        let mut legs = self.in_sync();
        for l in 0..MAX_LEGS {
            if self.legs[l].health == LegHealth::Rebuilding && self.rebuild_low(l) >= last {
                legs.insert(l);
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
        legs: LegSet,
        owner: Owner,
        op: IoOp,
        sector: u64,
        sectors: u32,
        fua: bool,
        buffer: Buffer,
    ) {
        for leg in 0..MAX_LEGS {
            if legs.contains(leg) {
                self.issue(owner, leg, op, sector, sectors, fua, buffer);
            }
        }
    }

    /// Issues `op` over the whole range of request `i` to every leg in
    /// `legs`, with the request's own buffer (none for a discard).
    fn issue_for_request(&mut self, i: usize, legs: LegSet, op: IoOp, fua: bool) {
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

    /// Every leg failure so far is durable in the superblock of every
    /// alive (in-sync) leg; rebuilding legs are not waited for.
    fn failures_recorded(&self) -> bool {
        (0..MAX_LEGS)
            .filter(|&l| self.legs[l].health == LegHealth::Alive)
            .all(|l| self.legs[l].sb_durable_event >= self.last_failure_event)
    }

    fn dirty_byte(&self, c: &Chunk) -> ChunkByte {
        let modified =
            (c.disk.is_modified() || self.degraded()) && !mutated!(self, NoModifiedWhenDegraded);
        ChunkByte::new(ChunkStatus::Dirty, modified)
    }

    /// A data write may go to this chunk now.
    fn chunk_writable(&self, c: &Chunk, degraded: bool) -> bool {
        let disk = c.disk;
        let staged_dirty = c.staged.is_none_or(|b| b.status() == ChunkStatus::Dirty);
        !c.flags.contains(ChunkFlags::LOCKED)
            && !c.flags.contains(ChunkFlags::UNSETTLED)
            && disk.status() == ChunkStatus::Dirty
            && (!degraded || disk.is_modified() || mutated!(self, NoModifiedWhenDegraded))
            && staged_dirty
            && c.want.is_none()
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
                || (mutated!(self, DataBeforeBitmap) && !ch.flags.contains(ChunkFlags::LOCKED))
        }) && !self.overlaps_inflight_write(i)
            && self.range_drained(&r)
    }

    /// The legs may differ in chunk `c`: reads are pinned, resync copies it.
    pub(super) fn mark_needs_resync(&mut self, c: usize) {
        if !self.chunks[c].flags.contains(ChunkFlags::NEEDS_RESYNC) {
            self.chunks[c].flags.insert(ChunkFlags::NEEDS_RESYNC);
            self.needs_resync += 1;
            self.fast_revoke_read(c);
        }
    }

    fn want(&mut self, chunk: usize, byte: ChunkByte) {
        let c = &mut self.chunks[chunk];
        if c.want == Some(byte) || (c.want.is_none() && c.staged.is_none() && c.disk == byte) {
            return;
        }
        c.want = Some(byte);
        self.fast_revoke_write(chunk);
        let seg = self.geo.segment_of(chunk as u64) as usize;
        if !self.segments[seg].queued {
            self.segments[seg].queued = true;
            self.seg_queue.push_back(seg as u32);
        }
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
