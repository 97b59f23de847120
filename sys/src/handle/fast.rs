//! The lock-free side: fast writes and reads, and their hand-overs to the
//! locked side.

use super::*;
use dmmirror_core::mirror::{FastRead, Request};

/// The lock-free side of the mirror, valid until `dmm_destroy`. Its calls
/// need no lock.
#[no_mangle]
pub unsafe extern "C" fn dmm_fast_path(m: *mut dmm_mirror) -> *const dmm_fast {
    // SAFETY: see `handle`.
    unsafe { handle(m) }.map_or(core::ptr::null(), |h| h.fast as *const dmm_fast)
}

/// Starts a write without the lock. False: submit it with `dmm_submit`.
#[no_mangle]
pub unsafe extern "C" fn dmm_fast_try_write(
    f: *const dmm_fast,
    r: *const dmm_request,
    out: *mut dmm_fast_write,
) -> bool {
    // SAFETY: the caller passes null or valid pointers; `f` is shared.
    let (Some(f), Some(r), Some(out)) = (unsafe { f.as_ref() }, unsafe { r.as_ref() }, unsafe {
        out.as_mut()
    }) else {
        return false;
    };
    let Some(w) = r.to_core().and_then(|r| f.path.try_write(&r)) else {
        return false;
    };
    *out = dmm_fast_write::from_core(&w);
    true
}

/// Every leg of a fast write completed (`failed`: a bit per leg that
/// returned an error). Returns `DMM_FAST_COMPLETE`, `DMM_FAST_COMPLETE_KICK`
/// or `DMM_FAST_ADOPT`; negative codes are argument errors.
#[no_mangle]
pub unsafe extern "C" fn dmm_fast_write_done(
    f: *const dmm_fast,
    w: *const dmm_fast_write,
    failed: u32,
) -> i32 {
    // SAFETY: as in dmm_fast_try_write.
    let (Some(f), Some(w)) = (unsafe { f.as_ref() }, unsafe { w.as_ref() }) else {
        return -DMM_ERR_ARG;
    };
    let Some(w) = w.to_core() else {
        return -DMM_ERR_ARG;
    };
    match f.path.write_done(&w, failed) {
        FastWriteDone::Complete { kick: false } => DMM_FAST_COMPLETE,
        FastWriteDone::Complete { kick: true } => DMM_FAST_COMPLETE_KICK,
        FastWriteDone::Adopt => DMM_FAST_ADOPT,
    }
}

/// Starts a read without the lock. False: submit it with `dmm_submit`.
#[no_mangle]
pub unsafe extern "C" fn dmm_fast_try_read(
    f: *const dmm_fast,
    r: *const dmm_request,
    out: *mut dmm_fast_read,
) -> bool {
    // SAFETY: as in dmm_fast_try_write.
    unsafe { start_read(f, r, out, FastPath::try_read) }
}

/// As `dmm_fast_try_read`, but a read the mirror would split across idle
/// legs starts as its first part: `out->request.sectors` is then less than
/// asked, and the caller serves the rest as a new request.
#[no_mangle]
pub unsafe extern "C" fn dmm_fast_try_read_part(
    f: *const dmm_fast,
    r: *const dmm_request,
    out: *mut dmm_fast_read,
) -> bool {
    // SAFETY: as in dmm_fast_try_write.
    unsafe { start_read(f, r, out, FastPath::try_read_part) }
}

/// # Safety
/// As `dmm_fast_try_write`: null or valid pointers.
#[inline(always)]
unsafe fn start_read(
    f: *const dmm_fast,
    r: *const dmm_request,
    out: *mut dmm_fast_read,
    start: impl Fn(&FastPath, &Request) -> Option<FastRead>,
) -> bool {
    // SAFETY: the caller passes null or valid pointers; `f` is shared.
    let (Some(f), Some(r), Some(out)) = (unsafe { f.as_ref() }, unsafe { r.as_ref() }, unsafe {
        out.as_mut()
    }) else {
        return false;
    };
    let Some(rd) = r.to_core().and_then(|r| start(&f.path, &r)) else {
        return false;
    };
    *out = dmm_fast_read::from_core(&rd);
    true
}

/// A fast read completed. If it failed, call `dmm_retry_read` (with the
/// lock), which completes it.
#[no_mangle]
pub unsafe extern "C" fn dmm_fast_read_done(f: *const dmm_fast, rd: *const dmm_fast_read) {
    // SAFETY: as in dmm_fast_try_write.
    if let (Some(f), Some(rd)) = (unsafe { f.as_ref() }, unsafe { rd.as_ref() }) {
        if let Some(rd) = rd.to_core() {
            f.path.read_done(&rd);
        }
    }
}

/// Takes over a fast write `dmm_fast_write_done` asked to adopt; its
/// completion comes as an action. `DMM_ERR_BUSY`: call again after a
/// request completes (the write keeps its claims until then).
#[no_mangle]
pub unsafe extern "C" fn dmm_adopt_write(
    m: *mut dmm_mirror,
    w: *const dmm_fast_write,
    failed: u32,
) -> i32 {
    // SAFETY: see `handle`; `w` is null or readable.
    let (Some(h), Some(w)) = (unsafe { handle(m) }, unsafe { w.as_ref() }) else {
        return DMM_ERR_ARG;
    };
    let Some(w) = w.to_core() else {
        return DMM_ERR_ARG;
    };
    match h.mirror.adopt_write(&w, failed) {
        Ok(()) => DMM_OK,
        Err(_) => DMM_ERR_BUSY,
    }
}

/// Takes over a fast read that failed: another leg serves it and the
/// failed one is repaired. `DMM_ERR_BUSY`: call again later.
#[no_mangle]
pub unsafe extern "C" fn dmm_retry_read(m: *mut dmm_mirror, rd: *const dmm_fast_read) -> i32 {
    // SAFETY: see `handle`; `rd` is null or readable.
    let (Some(h), Some(rd)) = (unsafe { handle(m) }, unsafe { rd.as_ref() }) else {
        return DMM_ERR_ARG;
    };
    let Some(rd) = rd.to_core() else {
        return DMM_ERR_ARG;
    };
    match h.mirror.retry_read(&rd) {
        Ok(()) => DMM_OK,
        Err(_) => DMM_ERR_BUSY,
    }
}
