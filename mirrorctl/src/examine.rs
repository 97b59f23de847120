//! `mirrorctl examine`: a leg's superblock copies, the mirror they
//! describe, its members and bitmap, as text or JSON.

use crate::leg::{Leg, LegMeta};
use crate::{fail, io_err, Outcome};
use dmmirror_core::format::*;
use std::fmt::Write as _;
use std::path::Path;

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

pub fn examine(path: &Path, log_area: Option<usize>, list_chunks: bool, json: bool) -> Outcome {
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
    } else {
        out!("{}", examine_text(path, &meta, &problems, list_chunks));
    }
    match (meta.superblock(), problems.first()) {
        (None, _) => fail(1, format!("{}: {}", path.display(), no_superblock(&meta))),
        (Some(_), Some(p)) => fail(1, p.clone()),
        (Some(_), None) => Ok(()),
    }
}

/// `examine`'s text: the copies, then (with a trusted superblock) the
/// mirror, its members, the bitmap and, if asked, the chunks.
fn examine_text(path: &Path, meta: &LegMeta, problems: &[String], list_chunks: bool) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "{}:", path.display());
    let sbl = &meta.superblocks;
    let _ = writeln!(w, "superblock copies:");
    for role in CopyRole::BOTH {
        let copy = &sbl.copies[role.index()];
        let _ = writeln!(w, "  {}", copy_line(role, copy, |s| s.serial, sbl.chosen));
    }
    let Some(sb) = meta.superblock() else {
        return out;
    };
    text_mirror(w, sb, problems);
    text_members(w, sb);
    text_bitmap(w, sb, meta);
    if list_chunks {
        text_chunks(w, meta);
    }
    out
}

/// The mirror's identity, state and layout, and the problems found.
fn text_mirror(w: &mut String, sb: &Superblock, problems: &[String]) {
    let g = &sb.geometry;
    let _ = writeln!(w, "mirror uuid:   {}", sb.mirror_uuid);
    let _ = writeln!(w, "leg uuid:      {} (slot {})", sb.leg_uuid, sb.slot);
    let _ = writeln!(w, "event:         {}", sb.event);
    let shutdown = if sb.clean { "clean" } else { "UNCLEAN" };
    let _ = writeln!(w, "shutdown:      {shutdown}");
    let kib = u64::from(g.chunk_sectors) / 2;
    let _ = writeln!(w, "chunk size:    {kib} KiB, {} chunks", g.chunk_count);
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
        let since = sb.modified_since_event;
        let _ = writeln!(w, "degraded:      MODIFIED recorded since event {since}");
    }
    for p in problems {
        let _ = writeln!(w, "PROBLEM:       {p}");
    }
}

/// The member table, one line per used slot.
fn text_members(w: &mut String, sb: &Superblock) {
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
}

/// Chunk counts by state, and the segments whose copies are damaged or
/// one update apart.
fn text_bitmap(w: &mut String, sb: &Superblock, meta: &LegMeta) {
    let c = count_chunks(&meta.chunks);
    let stale = if c.modified > 0 && sb.modified_since_event == 0 {
        " (stale: MODIFIED tracking is off, so they are ignored; the next clean stop clears them)"
    } else {
        ""
    };
    let _ = writeln!(
        w,
        "bitmap chunks: {} clean, {} dirty, {} unwritten, {} modified{stale}",
        c.clean, c.dirty, c.unwritten, c.modified
    );
    let damaged = meta
        .segments
        .iter()
        .filter(|l| l.copies.iter().any(Result::is_err));
    let _ = writeln!(
        w,
        "bitmap segments: {} of {} with a damaged copy, {} more whose copies' serials differ",
        damaged.count(),
        meta.segments.len(),
        meta.segments.iter().filter(|l| serials_differ(l)).count()
    );
    for (index, load) in meta.segments.iter().enumerate().filter(|(_, l)| uneven(l)) {
        let _ = writeln!(w, "  segment {index}:");
        for role in CopyRole::BOTH {
            let copy = &load.copies[role.index()];
            let _ = writeln!(w, "    {}", copy_line(role, copy, |s| *s, load.chosen));
        }
        if load.chosen == Chosen::Neither {
            let (first, count) = sb.geometry.segment_chunks(index as u32);
            let last = first + u64::from(count) - 1;
            let _ = writeln!(
                w,
                "    both copies lost: chunks {first}-{last} taken as DIRTY+MODIFIED"
            );
        }
    }
}

/// The chunks that are DIRTY or MODIFIED.
fn text_chunks(w: &mut String, meta: &LegMeta) {
    let _ = writeln!(w, "chunks not clean/unwritten, or modified:");
    for (i, cb) in listed_chunks(&meta.chunks) {
        let m = if cb.is_modified() { "+MODIFIED" } else { "" };
        let _ = writeln!(w, "  {i:>10} {}{m}", cb.status().name());
    }
}

/// Chunks by state.
struct ChunkCounts {
    clean: u64,
    dirty: u64,
    unwritten: u64,
    modified: u64,
}

fn count_chunks(bytes: &[u8]) -> ChunkCounts {
    let mut c = ChunkCounts {
        clean: 0,
        dirty: 0,
        unwritten: 0,
        modified: 0,
    };
    for cb in bytes.iter().map(|&b| chunk_byte(b)) {
        match cb.status() {
            ChunkStatus::Clean => c.clean += 1,
            ChunkStatus::Dirty => c.dirty += 1,
            ChunkStatus::Unwritten => c.unwritten += 1,
        }
        c.modified += u64::from(cb.is_modified());
    }
    c
}

/// The chunks worth listing: DIRTY, or MODIFIED, with their index.
fn listed_chunks(bytes: &[u8]) -> impl Iterator<Item = (usize, ChunkByte)> + '_ {
    bytes
        .iter()
        .map(|&b| chunk_byte(b))
        .enumerate()
        .filter(|(_, cb)| cb.status() == ChunkStatus::Dirty || cb.is_modified())
}

/// A chunk byte as `LegMeta::read` loaded it (the decoder let only
/// valid ones through).
fn chunk_byte(b: u8) -> ChunkByte {
    ChunkByte::from_raw(b).expect("loaded bytes are valid")
}

/// A segment whose copies are not both valid and equal.
fn uneven(load: &SegmentLoad) -> bool {
    load.copies.iter().any(Result::is_err) || serials_differ(load)
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
fn members_json(sb: &Superblock) -> Vec<serde_json::Value> {
    sb.members
        .iter()
        .enumerate()
        .filter_map(|(slot, m)| m.map(|m| (slot, m)))
        .map(|(slot, m)| {
            serde_json::json!({
                "slot": slot,
                "uuid": m.uuid.to_string(),
                "state": m.state.name(),
                "since_event": m.state_event,
                "rebuild_checkpoint": m.rebuild_checkpoint,
                "full_copy": m.full_copy,
            })
        })
        .collect()
}

fn uneven_segments_json(meta: &LegMeta) -> Vec<serde_json::Value> {
    meta.segments
        .iter()
        .enumerate()
        .filter(|(_, l)| uneven(l))
        .map(|(i, l)| {
            serde_json::json!({
                "segment": i,
                "primary": copy_json(&l.copies[CopyRole::Primary.index()], |s| *s),
                "secondary": copy_json(&l.copies[CopyRole::Secondary.index()], |s| *s),
                "used": chosen_name(l.chosen),
            })
        })
        .collect()
}

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
    let c = count_chunks(&meta.chunks);
    let listed: Vec<_> = listed_chunks(&meta.chunks)
        .map(|(i, cb)| json!({ "chunk": i, "state": cb.status().name(), "modified": cb.is_modified() }))
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
        "stale_modified": c.modified > 0 && sb.modified_since_event == 0,
        "members": members_json(sb),
        "bitmap": { "clean": c.clean, "dirty": c.dirty, "unwritten": c.unwritten, "modified": c.modified },
        // Segments with a damaged copy or copies whose serials differ.
        "uneven_segments": uneven_segments_json(meta),
        "chunks": listed,
    })
}
