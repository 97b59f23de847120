//! `dmsetup status` and `table` text into the caller's buffer.

use super::*;

fn text_into(
    buf: *mut c_char,
    len: usize,
    f: impl FnOnce(&mut Text<'_>) -> core::fmt::Result,
) -> i32 {
    if buf.is_null() || len == 0 {
        return DMM_ERR_SPACE;
    }
    // SAFETY: the caller passes `len` writable bytes at `buf`.
    let bytes = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    let mut t = Text::new(bytes);
    match f(&mut t) {
        Ok(()) => DMM_OK,
        Err(_) if t.cut => DMM_ERR_SPACE,
        Err(_) => DMM_ERR_ARG,
    }
}

/// The leg names the caller gives (one C string per leg, in table order),
/// or none when `names` is null; `None` if one is null or not UTF-8.
unsafe fn leg_names(
    h: &dmm_mirror,
    names: *const *const c_char,
    given: &mut [&str; MAX_LEGS],
) -> Option<usize> {
    if names.is_null() {
        return Some(0);
    }
    let legs = h.legs;
    for (k, slot) in given.iter_mut().enumerate().take(legs) {
        // SAFETY: the caller passes one C string per leg, alive as long as
        // the call.
        let p = unsafe { *names.add(k) };
        if p.is_null() {
            return None;
        }
        // SAFETY: as above.
        *slot = unsafe { CStr::from_ptr(p) }.to_str().ok()?;
    }
    Some(legs)
}

/// The preamble `dmm_status` and `dmm_table` share: the handle, the leg
/// names, the parsed table; then `write` fills the caller's buffer.
unsafe fn mirror_text(
    m: *mut dmm_mirror,
    names: *const *const c_char,
    buf: *mut c_char,
    len: usize,
    write: impl for<'a> FnOnce(
        &Mirror,
        table::Table<'a>,
        &[&'a str],
        &mut Text<'_>,
    ) -> core::fmt::Result,
) -> i32 {
    // SAFETY: see `handle`.
    let Some(h) = (unsafe { handle(m) }) else {
        return DMM_ERR_ARG;
    };
    let mut given = [""; MAX_LEGS];
    // SAFETY: forwarded from the caller.
    let Some(n) = (unsafe { leg_names(h, names, &mut given) }) else {
        return DMM_ERR_ARG;
    };
    let mirror = &h.mirror;
    with_table(&h.words, |t| {
        let Ok(t) = t else {
            return DMM_ERR_ARG;
        };
        text_into(buf, len, |out| write(mirror, t, &given[..n], out))
    })
}

/// Writes the `dmsetup status` line into `buf` (`len` bytes, NUL
/// included). `names` gives each leg's device name (`major:minor`) in table
/// order, or is null to print the table's words.
#[no_mangle]
pub unsafe extern "C" fn dmm_status(
    m: *mut dmm_mirror,
    names: *const *const c_char,
    buf: *mut c_char,
    len: usize,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        mirror_text(m, names, buf, len, |mirror, t, given, out| {
            table::write_status(mirror, &t, given, out)
        })
    }
}

/// Writes the normalised `dmsetup table` line into `buf`, each leg named
/// by `names` as for `dmm_status` (or by the table's words when null).
#[no_mangle]
pub unsafe extern "C" fn dmm_table(
    m: *mut dmm_mirror,
    names: *const *const c_char,
    buf: *mut c_char,
    len: usize,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        mirror_text(m, names, buf, len, |_, mut t, given, out| {
            t.legs[..given.len()].copy_from_slice(given);
            table::write_table(&t, out)
        })
    }
}
