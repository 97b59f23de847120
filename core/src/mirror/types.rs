//! Events the core takes and actions it returns.

/// The caller's identifier of a request; the core only echoes it.
pub type ReqId = u64;

/// A child I/O issued by the core; the caller reports its completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChildId(pub u32);

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReqOp {
    /// Read sectors into the request's buffer.
    Read,
    /// Write sectors from the request's buffer.
    Write,
    /// Make every completed write durable.
    Flush,
    /// The sectors' contents are no longer needed.
    Discard,
}

/// A request from above (a bio, a buf).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    /// Echoed in the completion.
    pub id: ReqId,
    /// What to do.
    pub op: ReqOp,
    /// First sector, relative to the mirror's data area.
    pub sector: u64,
    /// Length in sectors (0 for a flush).
    pub sectors: u32,
    /// Durable on completion (forced unit access).
    pub fua: bool,
    /// Flush every leg before the request runs.
    pub preflush: bool,
    /// A read whose buffer must not be written back: a read error on one
    /// leg is mended by resyncing its chunks instead of a repair write
    /// (DragonFly may map pages of a read's buffer to its bogus page).
    pub no_repair: bool,
}

/// A device's position in the table (the order the table names the legs),
/// as opposed to a leg's slot in the member table: the two part once legs
/// are removed and added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(pub usize);

impl Request {
    /// A plain request: no FUA, no preflush, repairs allowed.
    pub const fn new(id: ReqId, op: ReqOp, sector: u64, sectors: u32) -> Request {
        Request {
            id,
            op,
            sector,
            sectors,
            fua: false,
            preflush: false,
            no_repair: false,
        }
    }
}

/// What a child I/O does on its leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoOp {
    /// Read into the buffer.
    Read,
    /// Write from the buffer.
    Write,
    /// Flush the leg's write cache.
    Flush,
    /// Discard sectors.
    Discard,
}

/// The memory a child I/O reads from or writes into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Buffer {
    /// No data (flush, discard).
    None,
    /// The parent request's data, starting `offset` sectors into it.
    Request {
        /// The parent request.
        id: ReqId,
        /// Sectors into the request's buffer.
        offset: u32,
    },
    /// A 4 KiB metadata block the core encoded: [`crate::mirror::Mirror::meta_block`].
    Meta(u16),
    /// A resync buffer of one chunk, owned by the caller, indexed 0..resync_depth.
    Resync(u16),
}

/// The [`ChildIo::leg`] of metadata I/O in an external layout: the log
/// device, not a leg.
pub const LOG_DEVICE: u8 = crate::format::MAX_LEGS as u8;

/// A child I/O for the caller to issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildIo {
    /// Report its completion with this.
    pub child: ChildId,
    /// Member slot of the leg, or [`LOG_DEVICE`].
    pub leg: u8,
    /// Operation.
    pub op: IoOp,
    /// Absolute sector on the leg (or the log device).
    pub sector: u64,
    /// Length in sectors.
    pub sectors: u32,
    /// Forced unit access.
    pub fua: bool,
    /// Where the data is.
    pub buffer: Buffer,
}

/// Why a request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoError {
    /// No leg could serve it.
    NoLeg,
    /// The request lies outside the data area or is malformed.
    Invalid,
}

impl core::fmt::Display for IoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            IoError::NoLeg => "no leg could serve it",
            IoError::Invalid => "outside the data area, or malformed",
        })
    }
}

/// Events worth a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogEvent {
    /// A device the table names was left out at assembly (unreadable,
    /// blank, foreign to this mirror, or no longer a member).
    LegLeftOut {
        /// Its table position.
        position: u8,
        /// Why.
        reason: super::assemble::AssemblyError,
    },
    /// A leg failed and is no longer used.
    LegFailed {
        /// Its slot.
        leg: u8,
    },
    /// Chunks that may differ between legs are being copied.
    ResyncStarted {
        /// How many.
        chunks: u64,
    },
    /// Every chunk is in sync again on the legs in sync; `degraded`: some
    /// member is failed or still rebuilding, so not every leg has the data.
    ResyncFinished {
        /// Some member is not in sync.
        degraded: bool,
    },
    /// The last leg failed: every request now fails.
    AllLegsFailed,
    /// A leg joined (or returned) and is being copied to.
    RebuildStarted {
        /// Its slot.
        leg: u8,
        /// Every written chunk is copied, not only the MODIFIED ones.
        full: bool,
    },
    /// A rebuilt leg is in sync.
    RebuildFinished {
        /// Its slot.
        leg: u8,
    },
    /// The operator removed a leg.
    LegRemoved {
        /// Its slot.
        leg: u8,
    },
    /// A read of chunks whose legs may differ could not be served by the
    /// source leg and went to another: it may return other data than
    /// earlier reads of these sectors (the source is then repaired with it).
    PinnedReadMoved {
        /// First sector of the read.
        sector: u64,
        /// Its length.
        sectors: u32,
    },
    /// The last in-sync leg keeps failing to read a chunk being copied;
    /// copying pauses and tries again (the leg is kept: it is the last).
    CopyReadError {
        /// The source leg.
        leg: u8,
        /// The chunk.
        chunk: u64,
    },
    /// Suspend finished: nothing in flight, the bitmap clean, the
    /// superblocks marked clean.
    Suspended,
    /// A leg failed to read sectors that another leg then returned; the
    /// good data was written back over them and the leg stays in use.
    ReadRepaired {
        /// The leg repaired.
        leg: u8,
        /// First sector of the read.
        sector: u64,
        /// Its length.
        sectors: u32,
    },
}

impl core::fmt::Display for LogEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            LogEvent::LegLeftOut { reason, .. } => {
                write!(f, "{reason}: left out (a missing member, status D)")
            }
            LogEvent::LegFailed { leg } => {
                write!(f, "leg {leg} failed; the mirror goes on without it")
            }
            LogEvent::ResyncStarted { chunks } => write!(f, "resync of {chunks} chunks started"),
            LogEvent::ResyncFinished { degraded: true } => {
                f.write_str("resync finished: the legs in sync agree; the mirror is degraded")
            }
            LogEvent::ResyncFinished { degraded: false } => {
                f.write_str("resync finished: the legs are in sync")
            }
            LogEvent::AllLegsFailed => f.write_str("every leg failed: requests fail"),
            LogEvent::RebuildStarted { leg, full } => {
                let what = if full {
                    "every written chunk"
                } else {
                    "MODIFIED chunks only"
                };
                write!(f, "rebuild of leg {leg} started ({what})")
            }
            LogEvent::RebuildFinished { leg } => write!(f, "leg {leg} rebuilt: in sync"),
            LogEvent::LegRemoved { leg } => write!(f, "leg {leg} removed"),
            LogEvent::PinnedReadMoved { sector, sectors } => write!(
                f,
                "read of {sectors} sectors at {sector} moved off the resync source"
            ),
            LogEvent::CopyReadError { leg, chunk } => write!(
                f,
                "leg {leg}, the last in sync, cannot read chunk {chunk}; copying retries"
            ),
            LogEvent::Suspended => f.write_str("suspended: superblocks marked clean"),
            LogEvent::ReadRepaired {
                leg,
                sector,
                sectors,
            } => write!(
                f,
                "leg {leg} failed to read {sectors} sectors at {sector}: read from another leg and written back"
            ),
        }
    }
}

/// What the core asks the caller to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Issue this child I/O and report its completion.
    Io(ChildIo),
    /// Complete the request.
    Complete {
        /// The request.
        id: ReqId,
        /// Its outcome.
        result: Result<(), IoError>,
    },
    /// Call `tick` no later than this time (ns).
    WakeAt(u64),
    /// Something happened worth a log line.
    Log(LogEvent),
}

/// Why a request was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubmitError {
    /// The request table is full: retry after a completion.
    Busy,
}

impl core::fmt::Display for SubmitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SubmitError::Busy => f.write_str("the request table is full: retry after a completion"),
        }
    }
}

/// Reads go to the home leg of their stripe of this many sectors
/// ([`ReadPolicy::Striped`]).
pub const READ_STRIPE_SECTORS: u64 = 2048;

/// How reads choose a leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReadPolicy {
    /// Each 1 MiB stripe of the volume has a home among the in-sync
    /// legs, the stripes dealt out in turn: a read goes to its home, with
    /// nothing shared written per read, and each leg's cache holds its
    /// own half. Long reads as `LeastPending`.
    Striped,
    /// The in-sync leg with the fewest I/Os in flight.
    LeastPending,
    /// In-sync legs in turn.
    RoundRobin,
    /// The lowest-numbered in-sync leg.
    Prefer,
}

/// Sizes and tunables, fixed at creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Requests in flight at once.
    pub max_requests: usize,
    /// Bitmap segment updates in flight at once.
    pub max_segment_updates: usize,
    /// Chunks resynced at once (also the number of resync buffers).
    pub resync_depth: usize,
    /// A chunk returns to CLEAN after this long without writes (ns).
    pub clean_delay_ns: u64,
    /// Initial read policy.
    pub read_policy: ReadPolicy,
    /// Resync and rebuild speed while user I/O is active, KiB/s (the
    /// floor, like md's speed_limit_min). 0: none while user I/O runs.
    pub resync_min_kib: u32,
    /// Resync and rebuild speed when user I/O is idle, KiB/s (the ceiling,
    /// like md's speed_limit_max). 0: unlimited.
    pub resync_max_kib: u32,
    /// Reads at least this long (sectors) are split across the in-sync
    /// legs, one part each. 0: never split.
    pub split_read_sectors: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_requests: 256,
            max_segment_updates: 16,
            resync_depth: 4,
            clean_delay_ns: 5_000_000_000,
            read_policy: ReadPolicy::Striped,
            resync_min_kib: 1_000,
            resync_max_kib: 200_000,
            split_read_sectors: 1024,
        }
    }
}

/// Why an operator's request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AdminError {
    /// No such member.
    NotAMember {
        /// The slot asked for.
        slot: usize,
    },
    /// No other leg is in sync (with that state durable: a leg whose
    /// rebuild just finished counts once its superblock says so).
    LastLeg,
    /// The leg is already in the mirror (in sync or rebuilding).
    AlreadyMember {
        /// Its slot.
        slot: usize,
    },
    /// Every member slot is taken.
    NoFreeSlot,
    /// The leg that held this slot still has I/O in flight: retry once it
    /// completed.
    SlotBusy {
        /// The slot.
        slot: usize,
    },
    /// The device is smaller than a leg of this mirror.
    TooSmall {
        /// Sectors a leg needs.
        need: u64,
    },
    /// The UUID offered for a new leg is nil or already used.
    BadUuid,
    /// No leg is in sync: nothing to copy from.
    NoSource,
    /// The mirror is suspended.
    Suspended,
    /// The legs of a mirror with its metadata on a log device are the
    /// table's (LVM changes them by reloading the table).
    ExternalLog,
}

impl core::fmt::Display for AdminError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AdminError::NotAMember { slot } => write!(f, "slot {slot} holds no member"),
            AdminError::LastLeg => f.write_str("no other leg is durably in sync; refusing"),
            AdminError::AlreadyMember { slot } => {
                write!(f, "the leg is already in the mirror (slot {slot})")
            }
            AdminError::NoFreeSlot => f.write_str("every member slot is taken; remove a leg first"),
            AdminError::SlotBusy { slot } => write!(
                f,
                "slot {slot}'s previous leg still has I/O in flight; retry once it completes"
            ),
            AdminError::TooSmall { need } => {
                write!(f, "device too small: a leg needs {need} sectors")
            }
            AdminError::BadUuid => f.write_str("the new leg's uuid is nil or already in use"),
            AdminError::NoSource => f.write_str("no leg is in sync to copy from"),
            AdminError::Suspended => f.write_str("the mirror is suspended"),
            AdminError::ExternalLog => {
                f.write_str("legs of a mirror with a log device change by table reload")
            }
        }
    }
}
