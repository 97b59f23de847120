//! The operator's calls and the state they read.

use super::*;

fn admin(err: *mut dmm_error, r: Result<(), AdminError>) -> i32 {
    match r {
        Ok(()) => ok(err),
        Err(e) => set_error(err, DMM_ERR_ADMIN, format_args!("{e}")),
    }
}

/// Health of the leg in `slot`: `DMM_LEG_*`.
#[no_mangle]
pub unsafe extern "C" fn dmm_leg_health(m: *mut dmm_mirror, slot: u32) -> u32 {
    // SAFETY: see `handle`.
    let Some(h) = (unsafe { handle(m) }) else {
        return DMM_LEG_EMPTY;
    };
    match h.mirror.leg_health(slot as usize) {
        LegHealth::Empty => DMM_LEG_EMPTY,
        LegHealth::Alive => DMM_LEG_ALIVE,
        LegHealth::Rebuilding => DMM_LEG_REBUILDING,
        LegHealth::Failed => DMM_LEG_FAILED,
        LegHealth::Missing => DMM_LEG_MISSING,
    }
}

/// Table position of the device behind `slot`, or -1.
#[no_mangle]
pub unsafe extern "C" fn dmm_leg_position(m: *mut dmm_mirror, slot: u32) -> i32 {
    // SAFETY: see `handle`.
    unsafe { handle(m) }
        .and_then(|h| h.mirror.leg_position(slot as usize))
        .map_or(-1, |p| p.0 as i32)
}

/// Fails the leg in `slot` (refused for the last in-sync leg).
#[no_mangle]
pub unsafe extern "C" fn dmm_fail_leg(m: *mut dmm_mirror, slot: u32, err: *mut dmm_error) -> i32 {
    // SAFETY: see `handle`.
    let Some(h) = (unsafe { handle(m) }) else {
        return set_error(err, DMM_ERR_ARG, format_args!("no mirror"));
    };
    admin(err, h.mirror.fail_leg(slot as usize))
}

/// Removes the leg in `slot` from the mirror (refused for the last one).
#[no_mangle]
pub unsafe extern "C" fn dmm_remove_leg(m: *mut dmm_mirror, slot: u32, err: *mut dmm_error) -> i32 {
    // SAFETY: see `handle`.
    let Some(h) = (unsafe { handle(m) }) else {
        return set_error(err, DMM_ERR_ARG, format_args!("no mirror"));
    };
    admin(err, h.mirror.remove_leg(slot as usize))
}

/// Adds the device at table `position` (of `device_sectors`) as a leg.
/// `primary` and `secondary` are its two superblock blocks (4 KiB each,
/// at sectors 0 and 8), read by the caller before it took the lock, or
/// null where they could not be read: a former member returns and copies
/// only what changed; anything else is a new leg named `uuid`, 16 bytes.
/// `*slot` receives its slot. Allocates nothing (the caller holds its
/// lock).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn dmm_add_leg(
    m: *mut dmm_mirror,
    position: u32,
    primary: *const u8,
    secondary: *const u8,
    uuid: *const u8,
    device_sectors: u64,
    slot: *mut u32,
    err: *mut dmm_error,
) -> i32 {
    // SAFETY: see `handle`.
    let (Some(h), false) = (unsafe { handle(m) }, uuid.is_null()) else {
        return set_error(err, DMM_ERR_ARG, format_args!("no mirror or uuid"));
    };
    if position as usize >= h.legs {
        return set_error(
            err,
            DMM_ERR_ADMIN,
            format_args!(
                "no device at table position {position}: the table names {} legs",
                h.legs
            ),
        );
    }
    let mut id = [0u8; 16];
    // SAFETY: the caller passes 16 readable bytes.
    id.copy_from_slice(unsafe { core::slice::from_raw_parts(uuid, 16) });
    // SAFETY: the caller passes null or 4 KiB readable bytes for each.
    let blocks = unsafe { [block_at(primary), block_at(secondary)] };
    match add_leg(
        &mut h.mirror,
        position as usize,
        blocks,
        Uuid(id),
        device_sectors,
    ) {
        Ok(s) => {
            // SAFETY: the caller passes null or a writable u32.
            if let Some(out) = unsafe { slot.as_mut() } {
                *out = s as u32;
            }
            ok(err)
        }
        Err(e) => set_error(err, DMM_ERR_ADMIN, format_args!("{e}")),
    }
}

/// A 4 KiB block the caller lends, or none.
unsafe fn block_at<'a>(p: *const u8) -> Option<&'a [u8]> {
    // SAFETY: the caller passes null or BLOCK_SIZE readable bytes.
    (!p.is_null()).then(|| unsafe { core::slice::from_raw_parts(p, BLOCK_SIZE) })
}

/// Decodes the device's trusted superblock in this frame (no allocation:
/// the caller holds its lock) and adds the leg. (Not inlined: a superblock
/// is 760 bytes, and the message path has little stack to spare.)
#[inline(never)]
fn add_leg(
    mirror: &mut Mirror,
    position: usize,
    blocks: [Option<&[u8]>; 2],
    uuid: Uuid,
    device_sectors: u64,
) -> Result<usize, AdminError> {
    let mut sb = Superblock::BLANK;
    let [p, q] = blocks.map(|b| b.unwrap_or(&[]));
    // Copies that disagree tell nothing of the device's past: a new leg.
    let serials = Superblock::decode_trusted(p, q, &mut sb).unwrap_or([None; 2]);
    let found = serials.iter().any(Option::is_some).then_some(&sb);
    mirror.add_leg(
        dmmirror_core::mirror::Position(position),
        found,
        uuid,
        device_sectors,
    )
}

/// Sets the read policy (`DMM_POLICY_*`).
#[no_mangle]
pub unsafe extern "C" fn dmm_set_read_policy(m: *mut dmm_mirror, policy: u32) -> i32 {
    // SAFETY: see `handle`.
    let Some(h) = (unsafe { handle(m) }) else {
        return DMM_ERR_ARG;
    };
    let p = match policy {
        DMM_POLICY_LEAST_PENDING => ReadPolicy::LeastPending,
        DMM_POLICY_ROUND_ROBIN => ReadPolicy::RoundRobin,
        DMM_POLICY_PREFER => ReadPolicy::Prefer,
        DMM_POLICY_STRIPED => ReadPolicy::Striped,
        _ => return DMM_ERR_ARG,
    };
    h.mirror.set_read_policy(p);
    DMM_OK
}

/// Sets the resync speed: `min_kib` while user I/O runs, `max_kib` while
/// it does not (0: none while I/O runs / unlimited).
#[no_mangle]
pub unsafe extern "C" fn dmm_set_resync_rate(
    m: *mut dmm_mirror,
    min_kib: u32,
    max_kib: u32,
) -> i32 {
    // SAFETY: see `handle`.
    unsafe { on_mirror(m, |mirror| mirror.set_resync_rate(min_kib, max_kib)) }
}

/// Copies every chunk from the source leg to the others.
#[no_mangle]
pub unsafe extern "C" fn dmm_start_full_resync(m: *mut dmm_mirror) -> i32 {
    // SAFETY: see `handle`.
    unsafe { on_mirror(m, |mirror| mirror.start_full_resync()) }
}

/// Starts a clean stop: no new resync, everything cleaned, superblocks
/// marked clean; `dmm_is_suspended` says when it is done.
#[no_mangle]
pub unsafe extern "C" fn dmm_suspend(m: *mut dmm_mirror) -> i32 {
    // SAFETY: see `handle`.
    unsafe { on_mirror(m, |mirror| mirror.suspend()) }
}

/// Resumes after `dmm_suspend`.
#[no_mangle]
pub unsafe extern "C" fn dmm_resume(m: *mut dmm_mirror) -> i32 {
    // SAFETY: see `handle`.
    unsafe { on_mirror(m, |mirror| mirror.resume()) }
}

/// Whether a suspend has finished.
#[no_mangle]
pub unsafe extern "C" fn dmm_is_suspended(m: *mut dmm_mirror) -> bool {
    // SAFETY: see `handle`.
    unsafe { handle(m) }.is_some_and(|h| h.mirror.is_suspended())
}

/// Chunks that may still differ between legs.
#[no_mangle]
pub unsafe extern "C" fn dmm_chunks_needing_resync(m: *mut dmm_mirror) -> u64 {
    // SAFETY: see `handle`.
    unsafe { handle(m) }.map_or(0, |h| h.mirror.chunks_needing_resync())
}

/// Whether nothing is in flight (no request, child I/O or metadata write).
#[no_mangle]
pub unsafe extern "C" fn dmm_is_idle(m: *mut dmm_mirror) -> bool {
    // SAFETY: see `handle`.
    unsafe { handle(m) }.is_some_and(|h| h.mirror.is_idle())
}
