//! Reading a table's words without a mirror: its legs, its log device,
//! an operator message.

use super::*;

/// Lists the legs a table names: for each, the index of its word in
/// `argv` and its offset on the device. `out` has room for `cap` entries;
/// `count` receives how many there are.
#[no_mangle]
pub unsafe extern "C" fn dmm_table_legs(
    argc: u32,
    argv: *const *const c_char,
    out: *mut dmm_leg_spec,
    cap: u32,
    count: *mut u32,
    err: *mut dmm_error,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        on_table(argc, argv, err, |words, t| {
            if out.is_null() || count.is_null() || (cap as usize) < t.leg_count {
                return set_error(
                    err,
                    DMM_ERR_SPACE,
                    format_args!("room for {cap} legs, the table names {}", t.leg_count),
                );
            }
            for k in 0..t.leg_count {
                let spec = dmm_leg_spec {
                    argv_index: word_index(words, t.legs[k]),
                    offset: t.leg_offsets[k],
                };
                // SAFETY: `out` has room for `cap` >= leg_count entries.
                *out.add(k) = spec;
            }
            // SAFETY: checked non-null above.
            *count = t.leg_count as u32;
            ok(err)
        })
    }
}

/// Runs `f` on a table's words and its parse; `DMM_ERR_TABLE` with the
/// reason when the table is bad.
unsafe fn on_table(
    argc: u32,
    argv: *const *const c_char,
    err: *mut dmm_error,
    f: impl FnOnce(&[String], Table<'_>) -> i32,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let Some(words) = (unsafe { table_words(argc, argv, err) }) else {
        return DMM_ERR_TABLE;
    };
    with_table(&words, |t| match t {
        Ok(t) => f(&words, t),
        Err(e) => set_error(err, DMM_ERR_TABLE, format_args!("{e}")),
    })
}

/// The index among `words` of `word`, a slice the parser lent from them.
fn word_index(words: &[String], word: &str) -> u32 {
    words
        .iter()
        .position(|w| core::ptr::eq(w.as_ptr(), word.as_ptr()))
        .expect("the parser lends slices of the words") as u32
}

/// The word index in `argv` of the table's log device into `*out`, or
/// `DMM_NO_LOG` when the table keeps its metadata on the legs.
#[no_mangle]
pub unsafe extern "C" fn dmm_table_log(
    argc: u32,
    argv: *const *const c_char,
    out: *mut u32,
    err: *mut dmm_error,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe {
        on_table(argc, argv, err, |words, t| {
            let index = t
                .log_device()
                .map_or(DMM_NO_LOG, |log| word_index(words, log));
            // SAFETY: the caller passes null or a writable u32.
            match out.as_mut() {
                Some(o) => *o = index,
                None => return set_error(err, DMM_ERR_ARG, format_args!("no place for the index")),
            }
            ok(err)
        })
    }
}

/// Parses an operator message (`dmsetup message` words) into `out`;
/// `DMM_ERR_TABLE` with the word at fault and why. Positions are checked
/// by the call that carries the message out.
#[no_mangle]
pub unsafe extern "C" fn dmm_parse_message(
    argc: u32,
    argv: *const *const c_char,
    out: *mut dmm_message,
    err: *mut dmm_error,
) -> i32 {
    // SAFETY: forwarded from the caller.
    let Some(words) = (unsafe { table_words(argc, argv, err) }) else {
        return DMM_ERR_TABLE;
    };
    let msg = match table::parse_message(&words.as_slice())
        .map_err(|e| set_error(err, DMM_ERR_TABLE, format_args!("{e}")))
    {
        Ok(m) => m,
        Err(code) => return code,
    };
    let (kind, a, b) = match msg {
        Message::FailLeg(p) => (DMM_MSG_FAIL_LEG, p, 0),
        Message::RemoveLeg(p) => (DMM_MSG_REMOVE_LEG, p, 0),
        Message::AddLeg(p) => (DMM_MSG_ADD_LEG, p, 0),
        Message::ReadPolicy(p) => (DMM_MSG_READ_POLICY, policy_code(p), 0),
        Message::ResyncRate(min, max) => (DMM_MSG_RESYNC_RATE, min, max),
        Message::FullResync => (DMM_MSG_FULL_RESYNC, 0, 0),
    };
    // SAFETY: the caller passes null or a valid, writable dmm_message.
    match unsafe { out.as_mut() } {
        Some(o) => *o = dmm_message { kind, a, b },
        None => return set_error(err, DMM_ERR_ARG, format_args!("no place for the message")),
    }
    ok(err)
}

fn policy_code(p: ReadPolicy) -> u32 {
    match p {
        ReadPolicy::LeastPending => DMM_POLICY_LEAST_PENDING,
        ReadPolicy::RoundRobin => DMM_POLICY_ROUND_ROBIN,
        ReadPolicy::Prefer => DMM_POLICY_PREFER,
        ReadPolicy::Striped => DMM_POLICY_STRIPED,
    }
}
