//! The plain-data types of the C ABI and their conversions.

use core::fmt::Write;
use dmmirror_core::mirror::{
    Action, Buffer, ChildIo, FastRead, FastWrite, IoError, IoOp, LogEvent, ReqOp, Request,
};

/// Success.
pub const DMM_OK: i32 = 0;
/// A pointer, index or value is not valid.
pub const DMM_ERR_ARG: i32 = 1;
/// The table is malformed (the message names the argument and why).
pub const DMM_ERR_TABLE: i32 = 2;
/// The legs do not assemble into a mirror (the message says why).
pub const DMM_ERR_ASSEMBLY: i32 = 3;
/// Memory for the mirror's tables could not be had.
pub const DMM_ERR_NOMEM: i32 = 4;
/// The request table is full: retry after a request completes.
pub const DMM_ERR_BUSY: i32 = 5;
/// The caller's buffer is too small.
pub const DMM_ERR_SPACE: i32 = 6;
/// The operator's request was refused (the message says why).
pub const DMM_ERR_ADMIN: i32 = 7;

/// Request operations.
pub const DMM_OP_READ: u32 = 0;
pub const DMM_OP_WRITE: u32 = 1;
pub const DMM_OP_FLUSH: u32 = 2;
pub const DMM_OP_DISCARD: u32 = 3;

/// Request flags.
pub const DMM_REQ_FUA: u32 = 1;
pub const DMM_REQ_PREFLUSH: u32 = 2;
/// A read whose buffer must not be written back to a leg: read errors are
/// mended by a resync of the chunks instead of a repair write.
pub const DMM_REQ_NO_REPAIR: u32 = 4;

/// Action kinds.
pub const DMM_ACTION_IO: u32 = 1;
pub const DMM_ACTION_COMPLETE: u32 = 2;
pub const DMM_ACTION_WAKE: u32 = 3;
pub const DMM_ACTION_LOG: u32 = 4;

/// Which memory a child I/O uses.
pub const DMM_BUF_NONE: u32 = 0;
/// The parent request's data, `buffer_offset` sectors into it.
pub const DMM_BUF_REQUEST: u32 = 1;
/// Metadata block `buffer_index`: `dmm_meta_block`.
pub const DMM_BUF_META: u32 = 2;
/// The caller's resync buffer `buffer_index` (one chunk each).
pub const DMM_BUF_RESYNC: u32 = 3;

/// Results of a completed request.
pub const DMM_IO_OK: i32 = 0;
/// No leg could serve it.
pub const DMM_IO_NO_LEG: i32 = 1;
/// Outside the data area, or malformed.
pub const DMM_IO_INVALID: i32 = 2;

/// Log event kinds.
pub const DMM_LOG_LEG_FAILED: u32 = 1;
pub const DMM_LOG_RESYNC_STARTED: u32 = 2;
pub const DMM_LOG_RESYNC_FINISHED: u32 = 3;
pub const DMM_LOG_ALL_LEGS_FAILED: u32 = 4;
pub const DMM_LOG_REBUILD_STARTED: u32 = 5;
pub const DMM_LOG_REBUILD_FINISHED: u32 = 6;
pub const DMM_LOG_LEG_REMOVED: u32 = 7;
pub const DMM_LOG_PINNED_READ_MOVED: u32 = 8;
pub const DMM_LOG_COPY_READ_ERROR: u32 = 9;
pub const DMM_LOG_SUSPENDED: u32 = 10;
/// A device the table names was left out at assembly (`leg`: its table
/// position); the text says why.
pub const DMM_LOG_LEG_LEFT_OUT: u32 = 11;
/// A read error on `leg` was repaired from another leg (`value`: the
/// read's first sector).
pub const DMM_LOG_READ_REPAIRED: u32 = 12;

/// What `dmm_fast_write_done` asks for.
pub const DMM_FAST_COMPLETE: i32 = 0;
/// Complete the request, then call `dmm_kick` (with the lock).
pub const DMM_FAST_COMPLETE_KICK: i32 = 1;
/// Call `dmm_adopt_write` (with the lock); it completes the request.
pub const DMM_FAST_ADOPT: i32 = 2;

/// Leg health (`dmm_leg_health`).
pub const DMM_LEG_EMPTY: u32 = 0;
pub const DMM_LEG_ALIVE: u32 = 1;
pub const DMM_LEG_REBUILDING: u32 = 2;
pub const DMM_LEG_FAILED: u32 = 3;
pub const DMM_LEG_MISSING: u32 = 4;

/// Read policies.
pub const DMM_POLICY_LEAST_PENDING: u32 = 0;
pub const DMM_POLICY_ROUND_ROBIN: u32 = 1;
pub const DMM_POLICY_PREFER: u32 = 2;
pub const DMM_POLICY_STRIPED: u32 = 3;

/// Size of a metadata block, and of the superblock reads of assembly.
pub const DMM_BLOCK_SIZE: u32 = 4096;
/// Most legs a mirror has; slots are 0..DMM_MAX_LEGS.
pub const DMM_MAX_LEGS: u32 = 16;
/// Length of `dmm_error.message` and `dmm_action.text`.
pub const DMM_MESSAGE_LEN: usize = 160;
/// The position (in reads) and leg (in I/O actions) of the log device of
/// a table with a disk log: every slot's metadata lives there.
pub const DMM_LOG_DEVICE: u32 = 16;
// A literal for cbindgen; the core's value is the one that counts.
const _: () = assert!(DMM_LOG_DEVICE == dmmirror_core::mirror::LOG_DEVICE as u32);
/// The most words a table may have (dm's `max_argc` for the target).
pub const DMM_MAX_TABLE_WORDS: u32 = 64;
const _: () = assert!(DMM_MAX_TABLE_WORDS as usize == dmmirror_core::table::MAX_TABLE_WORDS);
// The block and leg limits the header states are the core's.
const _: () = assert!(DMM_BLOCK_SIZE as usize == dmmirror_core::format::BLOCK_SIZE);
const _: () = assert!(DMM_MAX_LEGS as usize == dmmirror_core::format::MAX_LEGS);
/// `dmm_table_log`: the table has no log device.
pub const DMM_NO_LOG: u32 = 0xffff_ffff;

/// An error code and a NUL-terminated message the caller can print.
#[repr(C)]
pub struct dmm_error {
    pub code: i32,
    pub message: [u8; DMM_MESSAGE_LEN],
}

/// A request from above.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dmm_request {
    /// The caller's identifier, echoed in its completion.
    pub id: u64,
    /// `DMM_OP_*`.
    pub op: u32,
    /// `DMM_REQ_*`.
    pub flags: u32,
    /// First sector of the mirror's data area.
    pub sector: u64,
    /// Length in 512-byte sectors (0 for a flush).
    pub sectors: u32,
}

/// One action from `dmm_poll`. Which fields mean something depends on
/// `kind`.
#[repr(C)]
pub struct dmm_action {
    /// `DMM_ACTION_*`.
    pub kind: u32,
    /// IO: report its completion with `dmm_complete(child, ok)`.
    pub child: u32,
    /// IO: member slot of the leg.
    pub leg: u32,
    /// IO: `DMM_OP_READ`, `WRITE`, `FLUSH` or `DISCARD`.
    pub op: u32,
    /// IO: forced unit access.
    pub fua: u32,
    /// IO: `DMM_BUF_*`.
    pub buffer: u32,
    /// IO: absolute sector on the leg (add the table's leg offset).
    pub sector: u64,
    /// IO: length in sectors.
    pub sectors: u32,
    /// IO with `DMM_BUF_REQUEST`: sectors into the request's data.
    pub buffer_offset: u32,
    /// IO with `DMM_BUF_META` or `DMM_BUF_RESYNC`: which buffer.
    pub buffer_index: u32,
    /// COMPLETE: `DMM_IO_*`. LOG: `DMM_LOG_*`.
    pub result: i32,
    /// IO with `DMM_BUF_REQUEST`, and COMPLETE: the request's id.
    /// WAKE: call `dmm_tick` no later than this time (ns). LOG: a count or
    /// a sector, when the event has one.
    pub value: u64,
    /// LOG: a NUL-terminated line for the system log.
    pub text: [u8; DMM_MESSAGE_LEN],
}

/// A write started lock-free by `dmm_fast_try_write`: write the request's
/// data to every leg in `legs` at `leg_sector`, with FUA if it asked.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dmm_fast_write {
    pub request: dmm_request,
    /// A bit per member slot.
    pub legs: u32,
    pub leg_sector: u64,
    /// Table position of each slot's device (0xff: none) as the write
    /// started: write to these devices, even if a slot changed hands since.
    pub positions: [u8; DMM_MAX_LEGS as usize],
}

/// A read started lock-free by `dmm_fast_try_read`: read the request's
/// range from slot `leg` at `leg_sector`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dmm_fast_read {
    pub request: dmm_request,
    pub leg: u32,
    pub leg_sector: u64,
    /// Table position of the leg's device.
    pub position: u32,
    /// Nonzero: counted in the leg's reads in flight; `dmm_fast_read_done`
    /// must see it end. Zero: a read that succeeded needs no call.
    pub counted: u32,
}

/// Operator messages (`dmm_parse_message`).
pub const DMM_MSG_FAIL_LEG: u32 = 1;
pub const DMM_MSG_REMOVE_LEG: u32 = 2;
pub const DMM_MSG_ADD_LEG: u32 = 3;
pub const DMM_MSG_READ_POLICY: u32 = 4;
pub const DMM_MSG_RESYNC_RATE: u32 = 5;
pub const DMM_MSG_FULL_RESYNC: u32 = 6;

/// A parsed operator message: `kind` (`DMM_MSG_*`) and its arguments
/// (a leg position, a `DMM_POLICY_*`, or the minimum and maximum rate).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct dmm_message {
    pub kind: u32,
    pub a: u32,
    pub b: u32,
}

/// A leg named by a table: its word in the table and its offset on the
/// device (0 in the native syntax).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dmm_leg_spec {
    pub argv_index: u32,
    pub offset: u64,
}

/// What a table with a disk log needs besides its words: the sizes of the
/// devices, and an identity for a mirror that a blank log starts.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dmm_log_args {
    /// The mirror's length in sectors: the data each leg holds from its
    /// table offset.
    pub data_sectors: u64,
    /// The log device's size in sectors.
    pub log_sectors: u64,
    /// Random bytes: the UUID of a mirror started on a blank log.
    pub uuid: [u8; 16],
}

/// The shape of a running mirror.
#[repr(C)]
pub struct dmm_info {
    /// Size of the mirrored device, in sectors.
    pub data_sectors: u64,
    /// Where data starts on every leg (before it: metadata).
    pub data_offset: u64,
    pub chunk_sectors: u32,
    pub chunk_count: u64,
    /// Resync buffers of `chunk_sectors` each the caller provides.
    pub resync_buffers: u32,
    /// Requests in flight at once through `dmm_submit`.
    pub max_requests: u32,
}

/// Writes into a fixed byte buffer, always NUL-terminated, cutting off.
pub(crate) struct Text<'a> {
    pub buf: &'a mut [u8],
    pub len: usize,
    pub cut: bool,
}

impl<'a> Text<'a> {
    pub fn new(buf: &'a mut [u8]) -> Text<'a> {
        if let Some(b) = buf.first_mut() {
            *b = 0;
        }
        Text {
            buf,
            len: 0,
            cut: false,
        }
    }
}

impl Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(self.len + 1);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if let Some(b) = self.buf.get_mut(self.len) {
            *b = 0;
        }
        if n < s.len() {
            self.cut = true;
            return Err(core::fmt::Error);
        }
        Ok(())
    }
}

impl dmm_request {
    pub(crate) fn to_core(self) -> Option<Request> {
        let op = match self.op {
            DMM_OP_READ => ReqOp::Read,
            DMM_OP_WRITE => ReqOp::Write,
            DMM_OP_FLUSH => ReqOp::Flush,
            DMM_OP_DISCARD => ReqOp::Discard,
            _ => return None,
        };
        Some(Request {
            id: self.id,
            op,
            sector: self.sector,
            sectors: self.sectors,
            fua: self.flags & DMM_REQ_FUA != 0,
            preflush: self.flags & DMM_REQ_PREFLUSH != 0,
            no_repair: self.flags & DMM_REQ_NO_REPAIR != 0,
        })
    }

    pub(crate) fn from_core(r: &Request) -> dmm_request {
        let op = match r.op {
            ReqOp::Read => DMM_OP_READ,
            ReqOp::Write => DMM_OP_WRITE,
            ReqOp::Flush => DMM_OP_FLUSH,
            ReqOp::Discard => DMM_OP_DISCARD,
        };
        let flags = if r.fua { DMM_REQ_FUA } else { 0 }
            | if r.preflush { DMM_REQ_PREFLUSH } else { 0 }
            | if r.no_repair { DMM_REQ_NO_REPAIR } else { 0 };
        dmm_request {
            id: r.id,
            op,
            flags,
            sector: r.sector,
            sectors: r.sectors,
        }
    }
}

impl dmm_fast_write {
    pub(crate) fn from_core(w: &FastWrite) -> dmm_fast_write {
        dmm_fast_write {
            request: dmm_request::from_core(&w.request),
            legs: w.legs,
            leg_sector: w.leg_sector,
            positions: w.positions,
        }
    }

    pub(crate) fn to_core(self) -> Option<FastWrite> {
        Some(FastWrite {
            request: self.request.to_core()?,
            legs: self.legs,
            leg_sector: self.leg_sector,
            positions: self.positions,
        })
    }
}

impl dmm_fast_read {
    pub(crate) fn from_core(r: &FastRead) -> dmm_fast_read {
        dmm_fast_read {
            request: dmm_request::from_core(&r.request),
            leg: u32::from(r.leg),
            leg_sector: r.leg_sector,
            position: u32::from(r.position),
            counted: u32::from(r.counted),
        }
    }

    pub(crate) fn to_core(self) -> Option<FastRead> {
        Some(FastRead {
            request: self.request.to_core()?,
            leg: u8::try_from(self.leg).ok()?,
            leg_sector: self.leg_sector,
            position: u8::try_from(self.position).ok()?,
            counted: self.counted != 0,
        })
    }
}

fn io_op(op: IoOp) -> u32 {
    match op {
        IoOp::Read => DMM_OP_READ,
        IoOp::Write => DMM_OP_WRITE,
        IoOp::Flush => DMM_OP_FLUSH,
        IoOp::Discard => DMM_OP_DISCARD,
    }
}

impl dmm_action {
    pub(crate) fn fill(&mut self, a: &Action) {
        *self = dmm_action {
            kind: 0,
            child: 0,
            leg: 0,
            op: 0,
            fua: 0,
            buffer: DMM_BUF_NONE,
            sector: 0,
            sectors: 0,
            buffer_offset: 0,
            buffer_index: 0,
            result: 0,
            value: 0,
            text: [0; DMM_MESSAGE_LEN],
        };
        match *a {
            Action::Io(io) => self.fill_io(&io),
            Action::Complete { id, result } => {
                self.kind = DMM_ACTION_COMPLETE;
                self.value = id;
                self.result = match result {
                    Ok(()) => DMM_IO_OK,
                    Err(IoError::NoLeg) => DMM_IO_NO_LEG,
                    Err(IoError::Invalid) => DMM_IO_INVALID,
                };
            }
            Action::WakeAt(t) => {
                self.kind = DMM_ACTION_WAKE;
                self.value = t;
            }
            Action::Log(e) => self.fill_log(&e),
        }
    }

    fn fill_io(&mut self, io: &ChildIo) {
        self.kind = DMM_ACTION_IO;
        self.child = io.child.0;
        self.leg = u32::from(io.leg);
        self.op = io_op(io.op);
        self.fua = u32::from(io.fua);
        self.sector = io.sector;
        self.sectors = io.sectors;
        match io.buffer {
            Buffer::None => {}
            Buffer::Request { id, offset } => {
                self.buffer = DMM_BUF_REQUEST;
                self.value = id;
                self.buffer_offset = offset;
            }
            Buffer::Meta(i) => {
                self.buffer = DMM_BUF_META;
                self.buffer_index = u32::from(i);
            }
            Buffer::Resync(i) => {
                self.buffer = DMM_BUF_RESYNC;
                self.buffer_index = u32::from(i);
            }
        }
    }

    fn fill_log(&mut self, e: &LogEvent) {
        self.kind = DMM_ACTION_LOG;
        let _ = write!(Text::new(&mut self.text), "{e}");
        let (kind, leg, value) = match *e {
            LogEvent::LegLeftOut { position, .. } => (DMM_LOG_LEG_LEFT_OUT, position, 0),
            LogEvent::LegFailed { leg } => (DMM_LOG_LEG_FAILED, leg, 0),
            LogEvent::ResyncStarted { chunks } => (DMM_LOG_RESYNC_STARTED, 0, chunks),
            LogEvent::ResyncFinished { degraded } => {
                (DMM_LOG_RESYNC_FINISHED, 0, u64::from(degraded))
            }
            LogEvent::AllLegsFailed => (DMM_LOG_ALL_LEGS_FAILED, 0, 0),
            LogEvent::RebuildStarted { leg, full } => {
                (DMM_LOG_REBUILD_STARTED, leg, u64::from(full))
            }
            LogEvent::RebuildFinished { leg } => (DMM_LOG_REBUILD_FINISHED, leg, 0),
            LogEvent::LegRemoved { leg } => (DMM_LOG_LEG_REMOVED, leg, 0),
            LogEvent::PinnedReadMoved { sector, .. } => (DMM_LOG_PINNED_READ_MOVED, 0, sector),
            LogEvent::CopyReadError { leg, chunk } => (DMM_LOG_COPY_READ_ERROR, leg, chunk),
            LogEvent::Suspended => (DMM_LOG_SUSPENDED, 0, 0),
            LogEvent::ReadRepaired { leg, sector, .. } => (DMM_LOG_READ_REPAIRED, leg, sector),
        };
        self.result = kind as i32;
        self.leg = u32::from(leg);
        self.value = value;
    }
}
