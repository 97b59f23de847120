//! Creating a mirror: the table parsed, the legs assembled through the
//! caller's reader, the memory asked for up front, the handle built.

use super::*;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    use crate::test_legs::{read_block, two_leg_words, Legs};

    std::thread_local! {
        /// What `alloc_room` answers in this test's thread.
        pub(super) static ROOM: Cell<usize> = const { Cell::new(usize::MAX) };
    }

    /// dmm_create with the allocator's room set to `room`: its code and message.
    fn create_with_room(legs: &mut Legs, room: usize) -> (i32, String) {
        let (_words, argv) = two_leg_words();
        let mut m = core::ptr::null_mut();
        let mut e = dmm_error {
            code: 0,
            message: [0; DMM_MESSAGE_LEN],
        };
        ROOM.with(|r| r.set(room));
        let ctx = legs.ctx();
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
        let mut legs = Legs::new(leg_sectors, chunk);
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
