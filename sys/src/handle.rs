//! The functions of the C ABI: the handle, its I/O calls, the fast path,
//! status and table text, the operator's requests.

use crate::abi::*;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ffi::{c_char, c_void, CStr};
use core::fmt::Write;
use dmmirror_core::format::{Geometry, Serial, Superblock, Uuid, BLOCK_SIZE, MAX_LEGS};
use dmmirror_core::mirror::{
    assemble_external, assemble_with, AdminError, Assembly, AssemblyError, BlockReader, ChildId,
    Config, FastPath, FastWriteDone, LegHealth, MemoryShortfall, Mirror, ReadPolicy,
};
use dmmirror_core::table::{self, Message, Table};

mod admin;
mod create;
mod fast;
mod io;
mod tables;
mod text;

pub use admin::*;
pub use create::*;
pub use fast::*;
pub use io::*;
pub use tables::*;
pub use text::*;

/// Most words a table may have (16 legs with offsets, a log, options).
const MAX_TABLE_WORDS: usize = DMM_MAX_TABLE_WORDS as usize;

/// Reads the 4 KiB block at `sector` of the device at table `position`
/// into `block`; returns false if it cannot.
pub type dmm_read_block_fn = Option<
    unsafe extern "C" fn(ctx: *mut c_void, position: u32, sector: u64, block: *mut u8) -> bool,
>;

type ReadFn =
    unsafe extern "C" fn(ctx: *mut c_void, position: u32, sector: u64, block: *mut u8) -> bool;

/// A running mirror. Opaque to C.
pub struct dmm_mirror {
    /// Boxed on its own: built on the heap, never moved through a frame.
    mirror: Box<Mirror>,
    /// The table's words, kept to print the table and the status.
    words: Vec<String>,
    /// How many legs the table names.
    legs: usize,
    /// Owned here, shared with every CPU: a raw pointer, so that the
    /// caller's `&mut` to the handle never claims it.
    fast: *mut dmm_fast,
}

/// The lock-free side of a mirror. Opaque to C.
pub struct dmm_fast {
    path: Arc<FastPath>,
}

fn set_error(err: *mut dmm_error, code: i32, msg: core::fmt::Arguments<'_>) -> i32 {
    // SAFETY: the caller passes null or a valid, writable dmm_error.
    if let Some(e) = unsafe { err.as_mut() } {
        e.code = code;
        let mut t = Text::new(&mut e.message);
        let _ = t.write_fmt(msg);
    }
    code
}

fn ok(err: *mut dmm_error) -> i32 {
    set_error(err, DMM_OK, format_args!(""))
}

/// The table words as strings; `None` (with the error set) when bad.
unsafe fn table_words(
    argc: u32,
    argv: *const *const c_char,
    err: *mut dmm_error,
) -> Option<Vec<String>> {
    if argv.is_null() || argc as usize > MAX_TABLE_WORDS {
        set_error(
            err,
            DMM_ERR_TABLE,
            format_args!("a table has 1 to {MAX_TABLE_WORDS} words, not {argc}"),
        );
        return None;
    }
    let mut words = Vec::with_capacity(argc as usize);
    for i in 0..argc as usize {
        // SAFETY: the caller passes `argc` pointers, each null or a C string.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            set_error(err, DMM_ERR_ARG, format_args!("table word {i} is null"));
            return None;
        }
        // SAFETY: as above.
        let Ok(s) = unsafe { CStr::from_ptr(p) }.to_str() else {
            set_error(
                err,
                DMM_ERR_TABLE,
                format_args!("table word {i} is not UTF-8"),
            );
            return None;
        };
        words.push(String::from(s));
    }
    Some(words)
}

/// Parses `words` where they are (no allocation, no array of slices).
fn with_table<R>(
    words: &[String],
    f: impl FnOnce(Result<Table<'_>, table::TableError<'_>>) -> R,
) -> R {
    f(table::parse(&words))
}

/// Frees a handle (the caller has stopped all I/O).
#[no_mangle]
pub unsafe extern "C" fn dmm_destroy(m: *mut dmm_mirror) {
    if m.is_null() {
        return;
    }
    // SAFETY: `m` came from dmm_create and is not used again.
    let h = unsafe { Box::from_raw(m) };
    // SAFETY: `fast` came from Box::into_raw in dmm_create.
    drop(unsafe { Box::from_raw(h.fast) });
}

/// The handle behind a pointer, if any.
unsafe fn handle<'a>(m: *mut dmm_mirror) -> Option<&'a mut dmm_mirror> {
    // SAFETY: the caller passes null or a live handle, under its lock.
    unsafe { m.as_mut() }
}

/// Runs `f` on the mirror behind `m`: `DMM_ERR_ARG` when there is none.
unsafe fn on_mirror(m: *mut dmm_mirror, f: impl FnOnce(&mut Mirror)) -> i32 {
    // SAFETY: see `handle`.
    match unsafe { handle(m) } {
        Some(h) => {
            f(&mut h.mirror);
            DMM_OK
        }
        None => DMM_ERR_ARG,
    }
}

/// Fills `*out` with the mirror's shape.
#[no_mangle]
pub unsafe extern "C" fn dmm_get_info(m: *mut dmm_mirror, out: *mut dmm_info) -> i32 {
    // SAFETY: see `handle`; `out` is null or writable.
    let (Some(h), Some(out)) = (unsafe { handle(m) }, unsafe { out.as_mut() }) else {
        return DMM_ERR_ARG;
    };
    let geo = h.mirror.geometry();
    let cfg = h.mirror.config();
    *out = dmm_info {
        data_sectors: geo.data_sectors,
        data_offset: geo.data_offset,
        chunk_sectors: geo.chunk_sectors,
        chunk_count: geo.chunk_count,
        resync_buffers: cfg.resync_depth as u32,
        max_requests: cfg.max_requests as u32,
    };
    DMM_OK
}

/// The on-disk format version the linked core reads and writes.
#[no_mangle]
pub extern "C" fn dmm_format_version() -> u32 {
    u32::from(dmmirror_core::format::FORMAT_VERSION)
}
