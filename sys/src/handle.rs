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

struct Reader<'a> {
    read: ReadFn,
    ctx: *mut c_void,
    /// The table and its settings: what the mirror's memory depends on
    /// besides the geometry.
    words: &'a [String],
    cfg: Config,
}

impl BlockReader for Reader<'_> {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        // SAFETY: the caller's callback reads into a 4 KiB buffer.
        unsafe { (self.read)(self.ctx, pos as u32, sector, out.as_mut_ptr()) }
    }

    fn admit(&mut self, geometry: &Geometry) -> Result<(), MemoryShortfall> {
        let needs = memory_bound(geometry, &self.cfg, self.words);
        let room = alloc_room();
        if needs > room {
            return Err(MemoryShortfall {
                needs: needs as u64,
                room: room as u64,
            });
        }
        Ok(())
    }
}

#[cfg(all(target_os = "none", not(test)))]
use crate::kernel_alloc::room as alloc_room;

/// On the host the allocator has no limit of its own (a shortage is the
/// reservation's error); tests set one.
#[cfg(not(all(target_os = "none", not(test))))]
fn alloc_room() -> usize {
    #[cfg(test)]
    return tests::ROOM.with(|r| r.get());
    #[cfg(not(test))]
    usize::MAX
}

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
    }
}

/// Bytes a mirror over legs of `leg_sectors` with `chunk_sectors` chunks
/// and the table's options allocates at most, creation included: what the
/// allocator (the adapter's `dmm_kernel_alloc` in the kernel) must supply.
/// 0 if the table or the geometry is bad.
#[no_mangle]
pub unsafe extern "C" fn dmm_memory_bound(
    leg_sectors: u64,
    chunk_sectors: u32,
    argc: u32,
    argv: *const *const c_char,
) -> usize {
    // SAFETY: forwarded from the caller.
    let Some(words) = (unsafe { table_words(argc, argv, core::ptr::null_mut()) }) else {
        return 0;
    };
    let Some((cfg, external)) = with_table(&words, |t| {
        t.ok()
            .map(|t| (t.config(Config::default()), t.log_device().is_some()))
    }) else {
        return 0;
    };
    let geo = if external {
        Geometry::for_external(leg_sectors, chunk_sectors)
    } else {
        Geometry::for_leg(leg_sectors, chunk_sectors)
    };
    let Ok(geo) = geo else {
        return 0;
    };
    memory_bound(&geo, &cfg, &words)
}

fn memory_bound(geo: &Geometry, cfg: &Config, words: &[String]) -> usize {
    use core::mem::size_of;
    let text: usize = words.iter().map(|w| w.len()).sum();
    // Held while the mirror is built: the assembly's merged bitmap and
    // serials, its legs, its list of unusable legs, its two block buffers,
    // the superblocks it read, the segment buffer, and the table words
    // (twice: read once to check, once to keep).
    let assembly = geo.chunk_count as usize
        + geo.segment_count as usize * size_of::<Serial>()
        + MAX_LEGS
            * (32
                + size_of::<Option<dmmirror_core::mirror::FoundLeg>>()
                + size_of::<Superblock>()
                + 16)
        + 2 * BLOCK_SIZE
        + dmmirror_core::format::CHUNKS_PER_SEGMENT;
    Mirror::memory_bound(geo, cfg)
        + assembly
        + size_of::<dmm_mirror>()
        + size_of::<dmm_fast>()
        + 2 * (core::mem::size_of_val(words) + text)
}

/// Creates a mirror from a table (`argc` words) by assembling the legs it
/// names, whose metadata `read` reads (`ctx` is passed through). `now_ns`
/// is the caller's monotonic clock. On success `*out` is the handle. A
/// table with a disk log needs `dmm_create_with_log`.
#[no_mangle]
pub unsafe extern "C" fn dmm_create(
    argc: u32,
    argv: *const *const c_char,
    read: dmm_read_block_fn,
    ctx: *mut c_void,
    now_ns: u64,
    out: *mut *mut dmm_mirror,
    err: *mut dmm_error,
) -> i32 {
    // SAFETY: forwarded from the caller.
    unsafe { create(argc, argv, read, ctx, now_ns, None, out, err) }
}

/// As `dmm_create`, for any table: one with a disk log (LVM's) keeps every
/// slot's metadata on that device, which `read` reads as position
/// `DMM_LOG_DEVICE`, and whose I/O comes as leg `DMM_LOG_DEVICE`; `log`
/// gives the sizes and the identity of a mirror a blank log starts.
#[no_mangle]
pub unsafe extern "C" fn dmm_create_with_log(
    argc: u32,
    argv: *const *const c_char,
    read: dmm_read_block_fn,
    ctx: *mut c_void,
    now_ns: u64,
    log: *const dmm_log_args,
    out: *mut *mut dmm_mirror,
    err: *mut dmm_error,
) -> i32 {
    // SAFETY: the caller passes null or a readable dmm_log_args.
    let Some(log) = (unsafe { log.as_ref() }) else {
        return set_error(err, DMM_ERR_ARG, format_args!("no log arguments"));
    };
    // SAFETY: forwarded from the caller.
    unsafe { create(argc, argv, read, ctx, now_ns, Some(*log), out, err) }
}

/// Assembles the legs (or the log) of a parsed table; the error code with
/// `err` filled in when they do not form a mirror. (Not inlined: kernel
/// stacks are small.)
#[inline(never)]
fn assemble_table(
    reader: &mut Reader,
    t: &Table<'_>,
    log: Option<dmm_log_args>,
    err: *mut dmm_error,
) -> Result<Assembly, i32> {
    let assembly_error = |e: AssemblyError| {
        let code = match e {
            AssemblyError::OutOfMemory(_) => DMM_ERR_NOMEM,
            _ => DMM_ERR_ASSEMBLY,
        };
        set_error(err, code, format_args!("{e}"))
    };
    if t.log_device().is_none() {
        return assemble_with(reader, t.leg_count, t.force).map_err(assembly_error);
    }
    let Some(log) = log else {
        return Err(set_error(
            err,
            DMM_ERR_ARG,
            format_args!("a table with a disk log needs the devices' sizes (dmm_create_with_log)"),
        ));
    };
    let chunk = t
        .chunk_sectors
        .unwrap_or(dmmirror_core::format::geometry::DEFAULT_CHUNK_SECTORS);
    let geo = Geometry::for_external(log.data_sectors, chunk)
        .map_err(|e| set_error(err, DMM_ERR_TABLE, format_args!("{e}")))?;
    let uuid = Uuid::from_random_bytes(log.uuid);
    assemble_external(
        reader,
        t.leg_count,
        geo,
        log.log_sectors,
        t.force,
        t.blank_log(),
        uuid,
    )
    .map_err(assembly_error)
}

#[allow(clippy::too_many_arguments)]
unsafe fn create(
    argc: u32,
    argv: *const *const c_char,
    read: dmm_read_block_fn,
    ctx: *mut c_void,
    now_ns: u64,
    log: Option<dmm_log_args>,
    out: *mut *mut dmm_mirror,
    err: *mut dmm_error,
) -> i32 {
    let (Some(read), false) = (read, out.is_null()) else {
        return set_error(
            err,
            DMM_ERR_ARG,
            format_args!("no read callback or no handle pointer"),
        );
    };
    // SAFETY: forwarded from the caller.
    let Some(words) = (unsafe { table_words(argc, argv, err) }) else {
        return DMM_ERR_TABLE;
    };
    let mut reader = Reader {
        read,
        ctx,
        words: &words,
        cfg: Config::default(),
    };
    let (asm, parsed) = match parse_and_assemble(&words, &mut reader, log, err) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let geo = asm.template.geometry;
    if let Some(chunk_sectors) = parsed.chunk_sectors.filter(|&c| c != geo.chunk_sectors) {
        return set_error(
            err,
            DMM_ERR_TABLE,
            format_args!(
                "the table's chunk size {chunk_sectors} differs from the legs' {}",
                geo.chunk_sectors
            ),
        );
    }
    // Ask for the memory once before building, so that a shortage is an
    // error here rather than a stop inside the build.
    let bound = Mirror::memory_bound(&geo, &parsed.cfg);
    if Vec::<u8>::new().try_reserve_exact(bound).is_err() {
        return set_error(
            err,
            DMM_ERR_NOMEM,
            format_args!("{bound} bytes not available"),
        );
    }
    // SAFETY: checked non-null above.
    unsafe { *out = Box::into_raw(build(asm, parsed.cfg, parsed.legs, now_ns, words)) };
    ok(err)
}

/// What `create` needs of the table besides the assembly.
struct Parsed {
    chunk_sectors: Option<u32>,
    cfg: Config,
    legs: usize,
}

/// The table's assembly, chunk size, configuration and leg count. (The
/// steps of `create` are not inlined into it: kernel stacks are small.)
#[inline(never)]
fn parse_and_assemble(
    words: &[String],
    reader: &mut Reader,
    log: Option<dmm_log_args>,
    err: *mut dmm_error,
) -> Result<(Assembly, Parsed), i32> {
    let t = parse_boxed(words, err)?;
    reader.cfg = t.config(Config::default());
    let asm = assemble_table(reader, &t, log, err)?;
    let parsed = Parsed {
        chunk_sectors: t.chunk_sectors,
        cfg: reader.cfg,
        legs: t.leg_count,
    };
    Ok((asm, parsed))
}

/// The parsed table on the heap, parsed in a frame of its own.
#[inline(never)]
fn parse_boxed<'a>(words: &'a [String], err: *mut dmm_error) -> Result<Box<Table<'a>>, i32> {
    match table::parse(&words) {
        Ok(t) => Ok(Box::new(t)),
        Err(e) => Err(set_error(err, DMM_ERR_TABLE, format_args!("{e}"))),
    }
}

#[inline(never)]
fn build(
    asm: Assembly,
    cfg: Config,
    legs: usize,
    now_ns: u64,
    words: Vec<String>,
) -> Box<dmm_mirror> {
    let mirror = Mirror::new_boxed(asm, cfg, now_ns);
    let fast = Box::into_raw(Box::new(dmm_fast {
        path: mirror.fast_path().clone(),
    }));
    Box::new(dmm_mirror {
        mirror,
        words,
        legs,
        fast,
    })
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

// ---- the fast path ------------------------------------------------------------

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
    let (Some(f), Some(r), Some(out)) = (unsafe { f.as_ref() }, unsafe { r.as_ref() }, unsafe {
        out.as_mut()
    }) else {
        return false;
    };
    let Some(rd) = r.to_core().and_then(|r| f.path.try_read(&r)) else {
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

// ---- text -------------------------------------------------------------------

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
        text_into(buf, len, |out| {
            table::write_status(mirror, &t, &given[..n], out)
        })
    })
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
    // SAFETY: see `handle`.
    let Some(h) = (unsafe { handle(m) }) else {
        return DMM_ERR_ARG;
    };
    let mut given = [""; MAX_LEGS];
    // SAFETY: forwarded from the caller.
    let Some(n) = (unsafe { leg_names(h, names, &mut given) }) else {
        return DMM_ERR_ARG;
    };
    with_table(&h.words, |t| {
        let Ok(mut t) = t else {
            return DMM_ERR_ARG;
        };
        t.legs[..n].copy_from_slice(&given[..n]);
        text_into(buf, len, |out| table::write_table(&t, out))
    })
}

// ---- the operator -------------------------------------------------------------

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
        .map_or(-1, |p| p as i32)
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
    let valid = Superblock::decode_trusted(p, q, &mut sb).unwrap_or([false; 2]);
    let found = valid.contains(&true).then_some(&sb);
    mirror.add_leg(position, found, uuid, device_sectors)
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

/// The on-disk format version the linked core reads and writes.
#[no_mangle]
pub extern "C" fn dmm_format_version() -> u32 {
    u32::from(dmmirror_core::format::FORMAT_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmmirror_core::format::{new_leg_blocks, new_superblock};
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::ffi::CString;

    std::thread_local! {
        /// What `alloc_room` answers in this test's thread.
        pub(super) static ROOM: Cell<usize> = const { Cell::new(usize::MAX) };
    }

    /// Metadata blocks of each leg, by sector; the rest reads as zeros.
    struct Legs(Vec<HashMap<u64, [u8; BLOCK_SIZE]>>);

    unsafe extern "C" fn read_block(ctx: *mut c_void, pos: u32, sector: u64, out: *mut u8) -> bool {
        // SAFETY: ctx is the test's Legs; out has room for a block.
        let legs = unsafe { &*(ctx as *const Legs) };
        let block = legs.0[pos as usize]
            .get(&sector)
            .copied()
            .unwrap_or([0; BLOCK_SIZE]);
        unsafe { core::ptr::copy_nonoverlapping(block.as_ptr(), out, BLOCK_SIZE) };
        true
    }

    fn new_legs(leg_sectors: u64, chunk: u32) -> Legs {
        let geo = Geometry::for_leg(leg_sectors, chunk).unwrap();
        let uuids = [Uuid([1; 16]), Uuid([2; 16])];
        let mut legs = Legs(vec![HashMap::new(); 2]);
        for (slot, leg) in legs.0.iter_mut().enumerate() {
            let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
            new_leg_blocks::<()>(&sb, |sector, b| {
                leg.insert(sector, *b);
                Ok(())
            })
            .unwrap();
        }
        legs
    }

    /// dmm_create with the allocator's room set to `room`: its code and message.
    fn create_with_room(legs: &mut Legs, room: usize) -> (i32, String) {
        let words: Vec<CString> = ["2", "/dev/da1", "/dev/da2"]
            .iter()
            .map(|w| CString::new(*w).unwrap())
            .collect();
        let argv: Vec<*const c_char> = words.iter().map(|w| w.as_ptr()).collect();
        let mut m = core::ptr::null_mut();
        let mut e = dmm_error {
            code: 0,
            message: [0; DMM_MESSAGE_LEN],
        };
        ROOM.with(|r| r.set(room));
        let ctx = legs as *mut Legs as *mut c_void;
        // SAFETY: valid words, callback, context and out pointers.
        let code =
            unsafe { dmm_create(3, argv.as_ptr(), Some(read_block), ctx, 0, &mut m, &mut e) };
        ROOM.with(|r| r.set(usize::MAX));
        // SAFETY: m is null or the handle just created.
        unsafe { dmm_destroy(m) };
        let text = CStr::from_bytes_until_nul(&e.message).unwrap();
        (code, text.to_str().unwrap().into())
    }

    #[test]
    fn a_mirror_larger_than_the_allocator_can_give_is_refused_before_it_allocates() {
        let (chunk, leg_sectors) = (8, 2048 + 8 * (1u64 << 14) + 4096);
        let mut legs = new_legs(leg_sectors, chunk);
        let argv = [c"2".as_ptr(), c"/dev/da1".as_ptr(), c"/dev/da2".as_ptr()];
        // SAFETY: three valid words.
        let bound = unsafe { dmm_memory_bound(leg_sectors, chunk, 3, argv.as_ptr()) };
        assert!(bound > 0);
        let (code, message) = create_with_room(&mut legs, bound - 1);
        assert_eq!(code, DMM_ERR_NOMEM, "{message}");
        let want = format!(
            "needs up to {bound} bytes of kernel memory and {} are available",
            bound - 1
        );
        assert!(message.contains(&want), "{message}");
        let (code, message) = create_with_room(&mut legs, bound);
        assert_eq!(code, DMM_OK, "exactly the bound is enough: {message}");
    }
}
