//! The engine's records: a chunk, a bitmap segment, a request, a child
//! I/O, a resync copy, and the states each goes through.

use super::*;

/// A chunk's in-memory flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ChunkFlags(u8);

impl ChunkFlags {
    pub(super) const NONE: ChunkFlags = ChunkFlags(0);
    /// Legs may differ in this chunk: reads are pinned, resync must copy it.
    pub(super) const NEEDS_RESYNC: ChunkFlags = ChunkFlags(1);
    /// Resync owns this chunk: user writes wait.
    pub(super) const LOCKED: ChunkFlags = ChunkFlags(2);
    /// Queued for its fast-path bits to be published.
    pub(super) const PUBLISH: ChunkFlags = ChunkFlags(4);
    /// A read moved off the pinned leg here: until it and its repair
    /// finish, other reads wait (they would see the version the repair
    /// replaces).
    pub(super) const READ_MOVED: ChunkFlags = ChunkFlags(8);
    /// Its segment's legs disagreed at assembly: no write relies on the
    /// merged byte until an update has made it durable.
    pub(super) const UNSETTLED: ChunkFlags = ChunkFlags(16);

    pub(super) fn contains(self, f: ChunkFlags) -> bool {
        self.0 & f.0 == f.0
    }

    pub(super) fn insert(&mut self, f: ChunkFlags) {
        self.0 |= f.0;
    }

    pub(super) fn remove(&mut self, f: ChunkFlags) {
        self.0 &= !f.0;
    }
}

/// A read pinned to the resync source retries it this often before it
/// falls back to another leg (whose data may differ until resync).
pub(super) const PINNED_READ_RETRIES: u8 = 4;
/// Rounds over every readable leg once all have failed a read.
pub(super) const READ_ROUNDS: u8 = 4;
/// Resync reads that may fail in a row before the source leg is failed.
pub(super) const RESYNC_READ_RETRIES: u32 = 8;
/// User I/O within this long counts as active for the resync rate (ns).
pub(super) const USER_IO_WINDOW_NS: u64 = 100_000_000;

#[derive(Clone, Copy, Debug)]
pub(super) struct Chunk {
    /// The byte durable in the primary bitmap copy of every writable leg.
    pub(super) disk: ChunkByte,
    /// The byte an in-flight bitmap update is writing.
    pub(super) staged: Option<ChunkByte>,
    /// The byte the next bitmap update should write.
    pub(super) want: Option<ChunkByte>,
    pub(super) flags: ChunkFlags,
    /// Data writes in flight.
    pub(super) inflight: u16,
    /// Slow requests that need the chunk free of fast writes.
    pub(super) holds: u16,
    /// Flush epoch of the last non-FUA write; durable once a flush of this
    /// epoch completed. 0: nothing waits for a flush.
    pub(super) epoch: u32,
    /// Time the last write completed.
    pub(super) last_write: u64,
    /// `writes_started` when the last write to this chunk was issued.
    pub(super) last_write_gen: u64,
    /// The clean delay doubles this many times: the chunk was written
    /// again soon after a clean (in memory only).
    pub(super) warmth: u8,
}

/// How far ahead of a sequential writer chunks are marked DIRTY (at most
/// 8 chunks).
pub(super) const DIRTY_AHEAD_SECTORS: u64 = 16384;

impl Chunk {
    /// Nothing is wanted, staged, in flight or held on the chunk, and it
    /// needs no copy.
    pub(super) fn settled(&self) -> bool {
        self.staged.is_none()
            && self.want.is_none()
            && self.inflight == 0
            && !self.flags.contains(ChunkFlags::LOCKED)
            && !self.flags.contains(ChunkFlags::NEEDS_RESYNC)
    }
}

/// A chunk's clean delay grows to at most `clean_delay << MAX_WARMTH`.
pub(super) const MAX_WARMTH: u8 = 1;

/// An update's progress. Segments write `Segment::first` in `Primary`
/// (the first copy, whichever role it has), then the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    Idle,
    Primary,
    Secondary,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Segment {
    pub(super) serial: Serial,
    pub(super) phase: Phase,
    pub(super) buf: u16,
    pub(super) pending: u16,
    pub(super) queued: bool,
    /// A leg joined: write this segment even with nothing changed.
    pub(super) force: Force,
    /// The copy each update writes first: the other holds the state the
    /// mirror relies on until the first is durable.
    pub(super) first: CopyRole,
    /// The update in flight writes `first` only.
    pub(super) single: bool,
    /// When a clean scan first found chunks here ready to clean: they
    /// ride on the segment's next update, or get one of their own a scan
    /// interval later.
    pub(super) clean_due: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Force {
    No,
    Wanted,
    /// The update in flight is the forced one.
    Writing,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owner {
    Free,
    Request(u16),
    Segment(u32),
    Superblock(u8),
    CleanFlush,
    Resync(u16),
    RebuildFlush(u8, u32),
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Child {
    pub(super) owner: Owner,
    pub(super) leg: u8,
}

/// Where a request is; every change goes through `Mirror::set_state`,
/// which checks it against `ReqState::may_follow`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReqState {
    /// The slot holds no request.
    Free,
    /// Accepted, not started yet.
    New,
    /// A read waiting for its chunks (a copy or a moved read on them).
    WaitRead,
    /// The flush every leg gets before the request runs.
    Preflush,
    /// A write waiting for its chunks to be durably DIRTY (or free of
    /// overlapping writes and copies).
    WaitChunks,
    /// A write's data in flight.
    Writing,
    /// Done on some legs, failed on others: waits until those failures
    /// are durable in the superblocks before it completes.
    WaitRecord,
    /// A read in flight (on one leg, or split across several).
    Reading,
    /// A read served by another leg; the repair write in flight.
    Repairing,
    /// A flush in flight on every writable leg.
    Flushing,
}

impl ReqState {
    /// Whether a request may go from `self` to `next`.
    pub(super) fn may_follow(self, next: ReqState) -> bool {
        use ReqState::*;
        match (self, next) {
            // Any request ends; a free slot does not end again.
            (Free, _) => false,
            (_, Free) => true,
            // Starting (at once, or after its preflush) goes anywhere.
            (New | Preflush, _) => true,
            (WaitRead, WaitRead | Reading) => true,
            (WaitChunks, WaitChunks | Writing) => true,
            (Writing, WaitRecord) => true,
            (Reading, Reading | WaitRead | Repairing | WaitRecord) => true,
            (Repairing, WaitRecord) => true,
            (Flushing, WaitRecord) => true,
            (WaitRecord, WaitRecord) => true,
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Req {
    pub(super) r: Request,
    pub(super) state: ReqState,
    pub(super) pending: u8,
    pub(super) ok: LegSet,
    pub(super) failed: LegSet,
    pub(super) tried: LegSet,
    pub(super) flush_epoch: u32,
    /// For reads: `writes_started` when the read was issued.
    pub(super) write_gen: u64,
    /// For reads: a write over its chunks was in flight when it was issued.
    pub(super) write_overlapped: bool,
    /// For reads pinned to the resync source: errors retried on it.
    pub(super) retries: u8,
    /// For reads: rounds over every readable leg after all had failed.
    pub(super) rounds: u8,
    /// A read split across legs, its parts in flight.
    pub(super) split: bool,
    /// Holds its chunks against fast writes until it finishes.
    pub(super) holds: bool,
    /// Moved off the pinned leg: its chunks carry ChunkFlags::READ_MOVED.
    pub(super) moved: bool,
}

impl Req {
    /// A request that has not started yet.
    pub(super) fn new(r: Request) -> Req {
        Req {
            r,
            state: ReqState::New,
            pending: 0,
            ok: LegSet::EMPTY,
            failed: LegSet::EMPTY,
            tried: LegSet::EMPTY,
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
pub(super) enum ResyncPhase {
    Free,
    Reading,
    Writing,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct ResyncSlot {
    pub(super) chunk: u64,
    pub(super) phase: ResyncPhase,
    pub(super) pending: u8,
    pub(super) source: u8,
    /// Legs the chunk is copied to.
    pub(super) targets: LegSet,
}

impl ResyncSlot {
    /// A slot no copy holds.
    pub(super) const FREE: ResyncSlot = ResyncSlot {
        chunk: 0,
        phase: ResyncPhase::Free,
        pending: 0,
        source: 0,
        targets: LegSet::EMPTY,
    };
}
