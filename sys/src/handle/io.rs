//! The event loop: requests in, completions of child I/O, time, actions out.

use super::*;

/// Accepts a request; its completion comes as a COMPLETE action.
/// `DMM_ERR_BUSY`: the request table is full, retry after a completion.
#[no_mangle]
pub unsafe extern "C" fn dmm_submit(m: *mut dmm_mirror, r: *const dmm_request) -> i32 {
    // SAFETY: see `handle`; `r` is null or readable.
    let (Some(h), Some(r)) = (unsafe { handle(m) }, unsafe { r.as_ref() }) else {
        return DMM_ERR_ARG;
    };
    let Some(r) = r.to_core() else {
        return DMM_ERR_ARG;
    };
    match h.mirror.submit(r) {
        Ok(()) => DMM_OK,
        Err(_) => DMM_ERR_BUSY,
    }
}

/// Reports the completion of child I/O `child`.
#[no_mangle]
pub unsafe extern "C" fn dmm_complete(m: *mut dmm_mirror, child: u32, success: bool) -> i32 {
    // SAFETY: see `handle`.
    let Some(h) = (unsafe { handle(m) }) else {
        return DMM_ERR_ARG;
    };
    if !h.mirror.is_child_in_flight(ChildId(child)) {
        return DMM_ERR_ARG;
    }
    h.mirror.complete(ChildId(child), success);
    DMM_OK
}

/// Lets time pass (`now_ns`, the caller's monotonic clock).
#[no_mangle]
pub unsafe extern "C" fn dmm_tick(m: *mut dmm_mirror, now_ns: u64) -> i32 {
    // SAFETY: see `handle`.
    unsafe { on_mirror(m, |mirror| mirror.tick(now_ns)) }
}

/// Runs the slow path after `dmm_fast_write_done` said so.
#[no_mangle]
pub unsafe extern "C" fn dmm_kick(m: *mut dmm_mirror) -> i32 {
    // SAFETY: see `handle`.
    unsafe { on_mirror(m, |mirror| mirror.kick()) }
}

/// Takes the next action into `*out`; false when there is none.
#[no_mangle]
pub unsafe extern "C" fn dmm_poll(m: *mut dmm_mirror, out: *mut dmm_action) -> bool {
    // SAFETY: see `handle`; `out` is null or writable.
    let (Some(h), Some(out)) = (unsafe { handle(m) }, unsafe { out.as_mut() }) else {
        return false;
    };
    match h.mirror.poll_action() {
        Some(a) => {
            out.fill(&a);
            true
        }
        None => false,
    }
}

/// The 4 KiB metadata block a `DMM_BUF_META` I/O writes; valid until that
/// I/O completes (read it under the lock, or copy it there). Null if
/// `index` names none.
#[no_mangle]
pub unsafe extern "C" fn dmm_meta_block(m: *mut dmm_mirror, index: u32) -> *const u8 {
    // SAFETY: see `handle`.
    let Some(h) = (unsafe { handle(m) }) else {
        return core::ptr::null();
    };
    let cfg = h.mirror.config();
    if index as usize >= cfg.max_segment_updates + MAX_LEGS {
        return core::ptr::null();
    }
    h.mirror.meta_block(index as u16).as_ptr()
}
