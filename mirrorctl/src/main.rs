//! mirrorctl: create and inspect dm-mirror legs offline.

/// `print!` to stdout; a closed stdout (`mirrorctl ... | head -1`) ends
/// the program quietly, as SIGPIPE ends a C tool, instead of a panic.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::write_stdout(format_args!($($t)*))
    };
}

/// `println!` with [`out!`]'s handling of a closed stdout.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($t)*)))
    };
}

mod leg;
mod offline;
mod records;

use clap::{Parser, Subcommand, ValueEnum};
use dmmirror_core::format::*;
use leg::{foreign_signature, newest_serial, Leg, LegMeta};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mirrorctl",
    version,
    about = "Create and inspect dm-mirror legs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write fresh metadata (superblocks and bitmaps) on every leg.
    Create {
        /// Chunk size: bytes, or with a K, M or G suffix; a power of two from 4K to 1G.
        #[arg(long, default_value = "1M", value_parser = parse_size)]
        chunk_size: u64,
        /// Overwrite legs that carry a filesystem, partition table or mirror metadata.
        #[arg(long)]
        force: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The legs: files or block devices.
        #[arg(required = true, num_args = 1..=MAX_LEGS)]
        legs: Vec<PathBuf>,
    },
    /// Print a leg's superblock copies and bitmap summary.
    Examine {
        leg: PathBuf,
        /// The device is the log of an LVM mirror (an external layout):
        /// examine the metadata area of this slot.
        #[arg(long, value_name = "SLOT")]
        log_area: Option<usize>,
        /// Also list the chunks that are not CLEAN or UNWRITTEN, or that are MODIFIED.
        #[arg(long)]
        chunks: bool,
        /// Print JSON (always with the chunk list).
        #[arg(long)]
        json: bool,
    },
    /// Compare the legs offline: every chunk where they differ, and whether
    /// the bitmap covers it (exit 3 if some difference is not covered, 4 if
    /// fewer legs were compared than the mirror has).
    Check {
        /// Exit 0 even if some of the mirror's legs were not compared (not
        /// in sync, or not given).
        #[arg(long)]
        partial: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[arg(required = true, num_args = 1..=MAX_LEGS)]
        legs: Vec<PathBuf>,
    },
    /// Assemble the legs and run the core's resync and rebuild offline,
    /// then stop cleanly.
    Resync {
        /// Assemble despite split brain or disagreeing legs.
        #[arg(long)]
        force: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[arg(required = true, num_args = 1..=MAX_LEGS)]
        legs: Vec<PathBuf>,
    },
    /// Low-level operations for tests and demonstrations.
    #[command(subcommand)]
    Debug(Debug),
}

#[derive(Subcommand)]
enum Debug {
    /// Update chunk bytes in a leg's bitmap with the spec's two-copy protocol.
    Mark {
        leg: PathBuf,
        /// Chunk indexes, comma separated.
        #[arg(long, value_delimiter = ',', required = true)]
        chunks: Vec<u64>,
        #[arg(long, value_enum)]
        state: StateArg,
        /// Also set MODIFIED.
        #[arg(long)]
        modified: bool,
        /// Simulate a crash: write only this many sectors (0-7) of the
        /// first segment's primary copy, then stop.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..8))]
        tear_primary: Option<u8>,
    },
    /// Write numbered 4 KiB records through the engine with FUA, printing
    /// "ack N" once record N is durable (kill it to test crash recovery).
    Workload {
        #[arg(long, default_value_t = 10_000)]
        records: u64,
        #[arg(long, default_value_t = 4)]
        threads: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Spread the records over the first SPAN bytes (default: all).
        #[arg(long, value_parser = parse_size)]
        span: Option<u64>,
        #[arg(required = true, num_args = 1..=MAX_LEGS)]
        legs: Vec<PathBuf>,
    },
    /// Check that every record acknowledged in a workload's output is on
    /// every leg given (exit 1 if one is missing).
    Verify {
        /// The workload's stdout.
        #[arg(long)]
        acked: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The workload's --span.
        #[arg(long, value_parser = parse_size)]
        span: Option<u64>,
        /// Bytes into the mirror where the records start (a workload
        /// written at an offset, as vm-test's recwrite can).
        #[arg(long, value_parser = parse_size, default_value = "0")]
        base: u64,
        /// The legs hold data only (no superblock): the mirror's data
        /// starts this many bytes into each (an LVM mirror image on a PV).
        #[arg(long, value_parser = parse_size, requires = "span")]
        raw_at: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[arg(required = true, num_args = 1..=MAX_LEGS)]
        legs: Vec<PathBuf>,
    },
    /// Flip one byte of one metadata copy (silent media corruption).
    Corrupt {
        leg: PathBuf,
        /// Bitmap segment index; without it, the superblock.
        #[arg(long)]
        segment: Option<u32>,
        #[arg(long, value_enum)]
        copy: CopyArg,
        /// Byte offset within the 4 KiB block.
        #[arg(long, default_value_t = 100)]
        byte: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum StateArg {
    Clean,
    Dirty,
    Unwritten,
}

#[derive(Clone, Copy, ValueEnum)]
enum CopyArg {
    Primary,
    Secondary,
}

impl From<CopyArg> for CopyRole {
    fn from(c: CopyArg) -> CopyRole {
        match c {
            CopyArg::Primary => CopyRole::Primary,
            CopyArg::Secondary => CopyRole::Secondary,
        }
    }
}

/// An error with the exit code it maps to: 1 for bad metadata, I/O or an
/// unfinished resync, 2 for bad usage (clap uses 2 as well), 3 for legs
/// that differ where the bitmap says CLEAN, 4 for a check that compared
/// fewer legs than the mirror has.
struct Failure(u8, String);

type Outcome = Result<(), Failure>;

fn fail<T>(code: u8, msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure(code, msg.into()))
}

fn io_err(path: &std::path::Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure(1, format!("{}: {e}", path.display()))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("'{s}' is not a size (try 64K, 1M)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Create {
            chunk_size,
            force,
            json,
            legs,
        } => create(chunk_size, force, json, &legs),
        Command::Examine {
            leg,
            log_area,
            chunks,
            json,
        } => examine(&leg, log_area, chunks, json),
        Command::Check {
            partial,
            json,
            legs,
        } => offline::check(&legs, partial, json),
        Command::Resync {
            force,
            timeout,
            json,
            legs,
        } => offline::resync(&legs, force, timeout, json),
        Command::Debug(Debug::Mark {
            leg,
            chunks,
            state,
            modified,
            tear_primary,
        }) => mark(&leg, &chunks, state, modified, tear_primary),
        Command::Debug(Debug::Corrupt {
            leg,
            segment,
            copy,
            byte,
        }) => corrupt(&leg, segment, copy.into(), byte),
        Command::Debug(Debug::Workload {
            records,
            threads,
            seed,
            span,
            legs,
        }) => records::workload(&legs, records, threads, seed, span),
        Command::Debug(Debug::Verify {
            acked,
            seed,
            span,
            base,
            raw_at,
            json,
            legs,
        }) => {
            let data_at = raw_at.map_or(records::DataAt::Metadata, records::DataAt::Raw);
            records::verify(&legs, &acked, seed, span, base, data_at, json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, msg)) => {
            eprintln!("mirrorctl: {msg}");
            ExitCode::from(code)
        }
    }
}

fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // 128 + SIGPIPE: what a shell reports for a tool SIGPIPE ended.
            std::process::exit(141);
        }
        eprintln!("mirrorctl: writing to stdout: {e}");
        std::process::exit(1);
    }
}

fn random_uuid() -> std::io::Result<Uuid> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(Uuid::from_random_bytes(bytes))
}

fn create(chunk_bytes: u64, force: bool, json: bool, paths: &[PathBuf]) -> Outcome {
    if chunk_bytes % SECTOR_SIZE as u64 != 0
        || chunk_bytes / SECTOR_SIZE as u64 > u64::from(u32::MAX)
    {
        return fail(
            2,
            format!("chunk size {chunk_bytes} is not a whole number of sectors"),
        );
    }
    let chunk_sectors = (chunk_bytes / SECTOR_SIZE as u64) as u32;
    for (i, p) in paths.iter().enumerate() {
        if paths[..i].iter().any(|q| q == p) {
            return fail(2, format!("{} named twice", p.display()));
        }
    }
    let legs = paths
        .iter()
        .map(|p| Leg::open(p, true).map_err(io_err(p)))
        .collect::<Result<Vec<_>, _>>()?;
    for leg in &legs {
        if let Some(what) = foreign_signature(leg).map_err(io_err(&leg.path))? {
            if !force {
                return fail(
                    1,
                    format!(
                        "{} holds {what}; use --force to overwrite it",
                        leg.path.display()
                    ),
                );
            }
            eprintln!(
                "mirrorctl: overwriting {what} on {} (--force)",
                leg.path.display()
            );
        }
    }
    let smallest = legs.iter().map(|l| l.sectors).min().unwrap_or(0);
    let geometry = Geometry::for_leg(smallest, chunk_sectors)
        .map_err(|e| Failure(1, format!("cannot create: {e}")))?;
    let uuid = || random_uuid().map_err(|e| Failure(1, format!("random uuid: {e}")));
    let mirror_uuid = uuid()?;
    let leg_uuids = legs.iter().map(|_| uuid()).collect::<Result<Vec<_>, _>>()?;
    for (slot, leg) in legs.iter().enumerate() {
        let sb = new_superblock(mirror_uuid, &leg_uuids, slot, geometry)
            .map_err(|e| Failure(2, e.to_string()))?;
        new_leg_blocks(&sb, |sector, block| leg.write_durable(sector, block))
            .map_err(io_err(&leg.path))?;
    }
    let table = dmsetup_table(geometry.data_sectors, paths);
    if json {
        let out = serde_json::json!({
            "mirror_uuid": mirror_uuid.to_string(),
            "legs": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "chunk_bytes": chunk_bytes,
            "chunks": geometry.chunk_count,
            "data_sectors": geometry.data_sectors,
            "data_offset": geometry.data_offset,
            "table": table,
        });
        outln!("{out}");
        return Ok(());
    }
    outln!(
        "mirror {mirror_uuid}: {} legs, {} chunks of {} KiB",
        legs.len(),
        geometry.chunk_count,
        chunk_bytes / 1024
    );
    outln!(
        "data: {} sectors at sector {} of each leg",
        geometry.data_sectors,
        geometry.data_offset
    );
    outln!("dmsetup table line (legs as the kernel will name them):");
    outln!("{table}");
    Ok(())
}

/// The dmsetup table line for these legs in the native syntax.
fn dmsetup_table(data_sectors: u64, paths: &[PathBuf]) -> String {
    let legs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    format!("0 {data_sectors} mirror {} {}", legs.len(), legs.join(" "))
}

fn copy_line<T>(
    role: CopyRole,
    r: &Result<T, DecodeError>,
    serial: impl Fn(&T) -> Serial,
    chosen: Chosen,
) -> String {
    let mark = if chosen.role() == Some(role) {
        " (used)"
    } else {
        ""
    };
    match r {
        Ok(v) => format!("{:<9} valid, serial {}{mark}", role.name(), serial(v)),
        Err(e) => format!("{:<9} INVALID: {e}", role.name()),
    }
}

fn examine(path: &Path, log_area: Option<usize>, list_chunks: bool, json: bool) -> Outcome {
    let leg = match log_area {
        Some(slot) => Leg::open_log_area(path, slot),
        None => Leg::open(path, false),
    }
    .map_err(io_err(path))?;
    let meta = LegMeta::read(&leg).map_err(io_err(path))?;
    let problems = meta
        .superblock()
        .map_or_else(Vec::new, |sb| leg_problems(&leg, sb, log_area));
    if json {
        outln!("{}", examine_json(&leg, &meta, &problems));
        return match (meta.superblock(), problems.first()) {
            (None, _) => fail(1, format!("{}: {}", path.display(), no_superblock(&meta))),
            (Some(_), Some(p)) => fail(1, p.clone()),
            (Some(_), None) => Ok(()),
        };
    }
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{}:", path.display());
    let sbl = &meta.superblocks;
    let _ = writeln!(w, "superblock copies:");
    for role in CopyRole::BOTH {
        let _ = writeln!(
            w,
            "  {}",
            copy_line(role, &sbl.copies[role.index()], |s| s.serial, sbl.chosen)
        );
    }
    let Some(sb) = meta.superblock() else {
        out!("{out}");
        return fail(1, format!("{}: {}", path.display(), no_superblock(&meta)));
    };
    let g = &sb.geometry;
    let _ = writeln!(w, "mirror uuid:   {}", sb.mirror_uuid);
    let _ = writeln!(w, "leg uuid:      {} (slot {})", sb.leg_uuid, sb.slot);
    let _ = writeln!(w, "event:         {}", sb.event);
    let _ = writeln!(
        w,
        "shutdown:      {}",
        if sb.clean { "clean" } else { "UNCLEAN" }
    );
    let _ = writeln!(
        w,
        "chunk size:    {} KiB, {} chunks",
        u64::from(g.chunk_sectors) / 2,
        g.chunk_count
    );
    if g.external {
        let _ = writeln!(
            w,
            "data:          {} sectors from each leg's table offset; metadata on a log device, {} sectors per slot",
            g.data_sectors,
            g.meta_sectors()
        );
    } else {
        let _ = writeln!(
            w,
            "data:          {} sectors at sector {}",
            g.data_sectors, g.data_offset
        );
    }
    let _ = writeln!(
        w,
        "bitmap:        {} segments per copy at sectors {} and {}",
        g.segment_count, g.bitmap_sector[0], g.bitmap_sector[1]
    );
    if sb.modified_since_event != 0 {
        let _ = writeln!(
            w,
            "degraded:      MODIFIED recorded since event {}",
            sb.modified_since_event
        );
    }
    for p in &problems {
        let _ = writeln!(w, "PROBLEM:       {p}");
    }
    let _ = writeln!(w, "members:");
    for (slot, m) in sb.members.iter().enumerate() {
        let Some(m) = m else { continue };
        let this = if slot == usize::from(sb.slot) {
            "  <- this leg"
        } else {
            ""
        };
        let mut cp = if m.state == MemberState::Rebuilding {
            format!(" checkpoint {}", m.rebuild_checkpoint)
        } else {
            String::new()
        };
        if m.full_copy {
            cp.push_str(" (full copy)");
        }
        let _ = writeln!(
            w,
            "  {slot:>2} {} {:<10} since event {}{cp}{this}",
            m.uuid,
            m.state.name(),
            m.state_event
        );
    }
    let mut counts = [0u64; 4];
    for &b in &meta.chunks {
        let cb = ChunkByte::from_raw(b).expect("loaded bytes are valid");
        counts[cb.status() as usize] += 1;
        counts[3] += u64::from(cb.is_modified());
    }
    let _ = writeln!(
        w,
        "bitmap chunks: {} clean, {} dirty, {} unwritten, {} modified{}",
        counts[ChunkStatus::Clean as usize],
        counts[ChunkStatus::Dirty as usize],
        counts[ChunkStatus::Unwritten as usize],
        counts[3],
        if counts[3] > 0 && sb.modified_since_event == 0 {
            " (stale: MODIFIED tracking is off, so they are ignored; the next clean stop clears them)"
        } else {
            ""
        }
    );
    let damaged = meta
        .segments
        .iter()
        .filter(|l| l.copies.iter().any(Result::is_err))
        .count();
    let _ = writeln!(
        w,
        "bitmap segments: {damaged} of {} with a damaged copy, {} more whose copies' serials differ",
        meta.segments.len(),
        meta.segments.iter().filter(|l| serials_differ(l)).count()
    );
    let uneven = meta
        .segments
        .iter()
        .enumerate()
        .filter(|(_, l)| l.copies.iter().any(Result::is_err) || serials_differ(l));
    for (index, load) in uneven {
        let _ = writeln!(w, "  segment {index}:");
        for role in CopyRole::BOTH {
            let _ = writeln!(
                w,
                "    {}",
                copy_line(role, &load.copies[role.index()], |s| *s, load.chosen)
            );
        }
        if load.chosen == Chosen::Neither {
            let (first, count) = g.segment_chunks(index as u32);
            let _ = writeln!(
                w,
                "    both copies lost: chunks {first}-{} taken as DIRTY+MODIFIED",
                first + u64::from(count) - 1
            );
        }
    }
    if list_chunks {
        let _ = writeln!(w, "chunks not clean/unwritten, or modified:");
        for (i, &b) in meta.chunks.iter().enumerate() {
            let cb = ChunkByte::from_raw(b).expect("loaded bytes are valid");
            if cb.status() == ChunkStatus::Dirty || cb.is_modified() {
                let m = if cb.is_modified() { "+MODIFIED" } else { "" };
                let _ = writeln!(w, "  {i:>10} {}{m}", cb.status().name());
            }
        }
    }
    out!("{out}");
    match problems.first() {
        Some(p) => fail(1, p.clone()),
        None => Ok(()),
    }
}

fn copy_json<T>(r: &Result<T, DecodeError>, serial: impl Fn(&T) -> Serial) -> serde_json::Value {
    match r {
        Ok(v) => serde_json::json!({ "valid": true, "serial": serial(v).get() }),
        Err(e) => serde_json::json!({ "valid": false, "error": e.to_string() }),
    }
}

fn chosen_name(c: Chosen) -> Option<&'static str> {
    c.role().map(CopyRole::name)
}

/// Why a leg has no trusted superblock.
fn no_superblock(meta: &LegMeta) -> String {
    if meta.superblocks.disagree {
        DecodeError::CopiesDisagree.to_string()
    } else {
        "no valid superblock copy: not a dm-mirror leg, or both copies are damaged".into()
    }
}

/// Why a leg whose superblock is valid still cannot serve: too small for
/// its data area, or (on a log device) an area holding another slot's
/// metadata.
fn leg_problems(leg: &Leg, sb: &Superblock, log_area: Option<usize>) -> Vec<String> {
    let mut problems: Vec<String> = leg.too_small_for(sb).into_iter().collect();
    if let Some(area) = log_area.filter(|&a| a != usize::from(sb.slot)) {
        problems.push(format!(
            "log area {area} holds the metadata of slot {} (areas swapped or overwritten): the kernel refuses it",
            sb.slot
        ));
    }
    problems
}

/// Both copies are valid and their serials differ (an update in flight at
/// a crash, or one copy written and the other not yet).
fn serials_differ(load: &SegmentLoad) -> bool {
    matches!(load.copies, [Ok(p), Ok(s)] if p != s)
}

/// `examine --json`: the same facts as the text, for scripts.
fn examine_json(leg: &Leg, meta: &LegMeta, problems: &[String]) -> serde_json::Value {
    use serde_json::json;
    let path = &leg.path;
    let sbl = &meta.superblocks;
    let copies = json!({
        "primary": copy_json(&sbl.copies[CopyRole::Primary.index()], |s| s.serial),
        "secondary": copy_json(&sbl.copies[CopyRole::Secondary.index()], |s| s.serial),
        "used": chosen_name(sbl.chosen),
        "copies_disagree": sbl.disagree,
    });
    let Some(sb) = meta.superblock() else {
        return json!({ "leg": path.display().to_string(), "superblock": copies });
    };
    let g = &sb.geometry;
    let members: Vec<_> = sb
        .members
        .iter()
        .enumerate()
        .filter_map(|(slot, m)| m.map(|m| (slot, m)))
        .map(|(slot, m)| {
            json!({
                "slot": slot,
                "uuid": m.uuid.to_string(),
                "state": m.state.name(),
                "since_event": m.state_event,
                "rebuild_checkpoint": m.rebuild_checkpoint,
                "full_copy": m.full_copy,
            })
        })
        .collect();
    let (mut clean, mut dirty, mut unwritten, mut modified) = (0u64, 0u64, 0u64, 0u64);
    let mut listed = Vec::new();
    for (i, &b) in meta.chunks.iter().enumerate() {
        let cb = ChunkByte::from_raw(b).expect("loaded bytes are valid");
        match cb.status() {
            ChunkStatus::Clean => clean += 1,
            ChunkStatus::Dirty => dirty += 1,
            ChunkStatus::Unwritten => unwritten += 1,
        }
        modified += u64::from(cb.is_modified());
        if cb.status() == ChunkStatus::Dirty || cb.is_modified() {
            listed.push(
                json!({ "chunk": i, "state": cb.status().name(), "modified": cb.is_modified() }),
            );
        }
    }
    let segments: Vec<_> = meta
        .segments
        .iter()
        .enumerate()
        .filter(|(_, l)| l.copies.iter().any(Result::is_err) || serials_differ(l))
        .map(|(i, l)| {
            json!({
                "segment": i,
                "primary": copy_json(&l.copies[CopyRole::Primary.index()], |s| *s),
                "secondary": copy_json(&l.copies[CopyRole::Secondary.index()], |s| *s),
                "used": chosen_name(l.chosen),
            })
        })
        .collect();
    json!({
        "leg": path.display().to_string(),
        "superblock": copies,
        "mirror_uuid": sb.mirror_uuid.to_string(),
        "leg_uuid": sb.leg_uuid.to_string(),
        "slot": sb.slot,
        "event": sb.event,
        "clean_shutdown": sb.clean,
        "chunk_bytes": u64::from(g.chunk_sectors) * SECTOR_SIZE as u64,
        "chunk_count": g.chunk_count,
        "data_sectors": g.data_sectors,
        "data_offset": g.data_offset,
        "external_log": g.external,
        "segment_count": g.segment_count,
        "bitmap_sector": g.bitmap_sector,
        "leg_sectors": leg.sectors,
        "leg_sectors_needed": (!g.external).then(|| g.leg_sectors_needed()),
        "problems": problems,
        "modified_since_event": sb.modified_since_event,
        "stale_modified": modified > 0 && sb.modified_since_event == 0,
        "members": members,
        "bitmap": { "clean": clean, "dirty": dirty, "unwritten": unwritten, "modified": modified },
        // Segments with a damaged copy or copies whose serials differ.
        "uneven_segments": segments,
        "chunks": listed,
    })
}

fn mark(path: &Path, chunks: &[u64], state: StateArg, modified: bool, tear: Option<u8>) -> Outcome {
    let leg = Leg::open(path, true).map_err(io_err(path))?;
    let meta = LegMeta::read(&leg).map_err(io_err(path))?;
    let Some(sb) = meta.superblock().copied() else {
        return fail(1, format!("{}: no valid superblock", path.display()));
    };
    let g = sb.geometry;
    let status = match state {
        StateArg::Clean => ChunkStatus::Clean,
        StateArg::Dirty => ChunkStatus::Dirty,
        StateArg::Unwritten => ChunkStatus::Unwritten,
    };
    let mut bytes = meta.chunks.clone();
    let mut touched: Vec<u32> = Vec::new();
    for &c in chunks {
        if c >= g.chunk_count {
            return fail(
                2,
                format!("chunk {c} out of range (the mirror has {})", g.chunk_count),
            );
        }
        bytes[c as usize] = ChunkByte::new(status, modified).raw();
        touched.push(g.segment_of(c));
    }
    touched.sort_unstable();
    touched.dedup();
    for index in touched {
        let (first, count) = g.segment_chunks(index);
        let serial = newest_serial(&meta.segments[index as usize]).next();
        let content = &bytes[first as usize..(first + u64::from(count)) as usize];
        for role in CopyRole::BOTH {
            let header = SegmentHeader {
                role,
                index,
                serial,
                mirror_uuid: sb.mirror_uuid,
                chunk_count: g.chunk_count,
            };
            let mut block = [0u8; BLOCK_SIZE];
            encode_segment(&header, content, &mut block).expect("valid by construction");
            let sector = g.segment_sector(role, index);
            if let (CopyRole::Primary, Some(n)) = (role, tear) {
                let len = usize::from(n) * SECTOR_SIZE;
                leg.write_durable(sector, &block[..len])
                    .map_err(io_err(path))?;
                outln!("segment {index}: wrote {n} of 8 sectors of the primary (serial {serial}), then stopped as if crashed");
                return Ok(());
            }
            leg.write_durable(sector, &block).map_err(io_err(path))?;
        }
        outln!("segment {index}: both copies written with serial {serial}");
    }
    Ok(())
}

fn corrupt(path: &Path, segment: Option<u32>, role: CopyRole, byte: usize) -> Outcome {
    if byte >= BLOCK_SIZE {
        return fail(
            2,
            format!("byte offset {byte} is outside the {BLOCK_SIZE}-byte block"),
        );
    }
    let leg = Leg::open(path, true).map_err(io_err(path))?;
    let sector = match segment {
        None => geometry::SUPERBLOCK_SECTOR[role.index()],
        Some(index) => {
            let meta = LegMeta::read(&leg).map_err(io_err(path))?;
            let Some(sb) = meta.superblock() else {
                return fail(1, "no valid superblock to locate the bitmap");
            };
            if index >= sb.geometry.segment_count {
                return fail(
                    2,
                    format!(
                        "segment {index} out of range ({} segments)",
                        sb.geometry.segment_count
                    ),
                );
            }
            sb.geometry.segment_sector(role, index)
        }
    };
    let mut block = leg.read_block(sector).map_err(io_err(path))?;
    if block.len < BLOCK_SIZE {
        return fail(
            1,
            format!("the block at sector {sector} runs past the end of the leg"),
        );
    }
    block.bytes[byte] ^= 0xff;
    leg.write_durable(sector, &block.bytes)
        .map_err(io_err(path))?;
    outln!(
        "flipped byte {byte} of the {} copy at sector {sector}",
        role.name()
    );
    Ok(())
}
