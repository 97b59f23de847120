//! `check` (compare the legs offline) and `resync` (repair them offline
//! with the core's own resync, through the engine).

use crate::leg::{Leg, LegMeta};
use crate::{fail, io_err, Failure, Outcome};
use dmmirror_core::format::*;
use dmmirror_engine::{Engine, Options};
use std::path::PathBuf;
use std::time::Duration;

/// A chunk where a leg's data differs from the first in-sync leg's.
struct Difference {
    chunk: u64,
    legs: Vec<usize>,
    byte: ChunkByte,
    covered: bool,
}

fn status_name(b: ChunkByte) -> &'static str {
    match b.status() {
        ChunkStatus::Clean => "CLEAN",
        ChunkStatus::Dirty => "DIRTY",
        ChunkStatus::Unwritten => "UNWRITTEN",
    }
}

/// Opens the legs and returns them with the newest valid superblock.
fn open_legs(paths: &[PathBuf]) -> Result<(Vec<Leg>, Vec<LegMeta>, Superblock), Failure> {
    let legs = paths
        .iter()
        .map(|p| Leg::open(p, false).map_err(io_err(p)))
        .collect::<Result<Vec<_>, _>>()?;
    let metas = legs
        .iter()
        .map(|l| LegMeta::read(l).map_err(io_err(&l.path)))
        .collect::<Result<Vec<_>, _>>()?;
    let newest = metas
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.superblock().map(|s| (i, *s)))
        .max_by_key(|(_, s)| s.event);
    let Some((_, sb)) = newest else {
        return fail(1, "no leg holds a valid dm-mirror superblock");
    };
    for (leg, m) in legs.iter().zip(&metas) {
        match m.superblock() {
            None => return fail(1, format!("{}: no valid superblock", leg.path.display())),
            Some(s) if s.mirror_uuid != sb.mirror_uuid => {
                return fail(
                    1,
                    format!("{}: a leg of another mirror", leg.path.display()),
                )
            }
            Some(s) if s.geometry != sb.geometry => {
                return fail(1, format!("{}: geometry differs", leg.path.display()))
            }
            Some(_) => {}
        }
    }
    Ok((legs, metas, sb))
}

/// Whether the newest superblock counts the leg as in sync.
fn in_sync(sb: &Superblock, m: &LegMeta) -> bool {
    m.superblock().is_some_and(|s| {
        sb.members[usize::from(s.slot)]
            .is_some_and(|mm| mm.uuid == s.leg_uuid && mm.state == MemberState::InSync)
    })
}

pub fn check(paths: &[PathBuf], json: bool) -> Outcome {
    let (legs, metas, sb) = open_legs(paths)?;
    let g = sb.geometry;
    let compared: Vec<usize> = (0..legs.len())
        .filter(|&i| in_sync(&sb, &metas[i]))
        .collect();
    let skipped: Vec<usize> = (0..legs.len()).filter(|i| !compared.contains(i)).collect();
    // The bitmap of the newest in-sync leg is the mirror's.
    let bitmap = compared
        .iter()
        .map(|&i| &metas[i])
        .max_by_key(|m| m.superblock().map_or(0, |s| s.event))
        .map(|m| m.chunks.clone())
        .unwrap_or_default();
    let chunk_bytes = g.chunk_sectors as usize * SECTOR_SIZE;
    let mut bufs = vec![vec![0u8; chunk_bytes]; legs.len()];
    let mut diffs = Vec::new();
    for c in 0..g.chunk_count {
        let start = c * u64::from(g.chunk_sectors);
        let len = (g.data_sectors - start).min(u64::from(g.chunk_sectors)) as usize * SECTOR_SIZE;
        for &i in &compared {
            let at = (g.data_offset + start) * SECTOR_SIZE as u64;
            legs[i]
                .read_bytes(at, &mut bufs[i][..len])
                .map_err(io_err(&legs[i].path))?;
        }
        let Some((&first, rest)) = compared.split_first() else {
            break;
        };
        let differ: Vec<usize> = rest
            .iter()
            .copied()
            .filter(|&i| bufs[i][..len] != bufs[first][..len])
            .collect();
        if differ.is_empty() {
            continue;
        }
        let byte = ChunkByte::from_raw(bitmap[c as usize])
            .unwrap_or(ChunkByte::new(ChunkStatus::Dirty, true));
        // DIRTY: resync copies it; UNWRITTEN: nothing was stored there and
        // reads are pinned to one leg. CLEAN and different is damage.
        let covered = byte.status() != ChunkStatus::Clean;
        diffs.push(Difference {
            chunk: c,
            legs: std::iter::once(first).chain(differ).collect(),
            byte,
            covered,
        });
    }
    let uncovered = diffs.iter().filter(|d| !d.covered).count();
    if json {
        let list: Vec<_> = diffs
            .iter()
            .map(|d| {
                serde_json::json!({
                    "chunk": d.chunk,
                    "legs": d.legs.iter().map(|&i| legs[i].path.display().to_string()).collect::<Vec<_>>(),
                    "bitmap": status_name(d.byte),
                    "modified": d.byte.is_modified(),
                    "covered": d.covered,
                })
            })
            .collect();
        let out = serde_json::json!({
            "chunks": g.chunk_count,
            "compared_legs": compared.iter().map(|&i| legs[i].path.display().to_string()).collect::<Vec<_>>(),
            "skipped_legs": skipped.iter().map(|&i| legs[i].path.display().to_string()).collect::<Vec<_>>(),
            "differences": list,
            "uncovered": uncovered,
        });
        println!("{out}");
    } else {
        for &i in &skipped {
            println!(
                "{}: not in sync per the superblocks: not compared",
                legs[i].path.display()
            );
        }
        for d in &diffs {
            println!(
                "chunk {}: legs {} differ; bitmap {}{}: {}",
                d.chunk,
                d.legs
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                status_name(d.byte),
                if d.byte.is_modified() {
                    "+MODIFIED"
                } else {
                    ""
                },
                if d.covered {
                    "covered"
                } else {
                    "NOT COVERED: the bitmap says the legs agree"
                }
            );
        }
        println!(
            "{} chunks compared over {} legs: {} differ, {} not covered by the bitmap",
            g.chunk_count,
            compared.len(),
            diffs.len(),
            uncovered
        );
    }
    if uncovered > 0 {
        return fail(
            3,
            format!("{uncovered} chunks differ where the bitmap says CLEAN"),
        );
    }
    Ok(())
}

pub fn resync(paths: &[PathBuf], force: bool, timeout_s: u64, json: bool) -> Outcome {
    let o = Options {
        force,
        ..Options::default()
    };
    let e = Engine::open(paths, &o).map_err(|e| Failure(1, format!("assembly: {e}")))?;
    let needing = e.with_mirror(|m| m.chunks_needing_resync());
    let rested = e.settle(Duration::from_secs(timeout_s));
    let suspended = e.stop_cleanly(Duration::from_secs(timeout_s));
    let (stats, left) = e.with_mirror(|m| (m.stats(), m.chunks_needing_resync()));
    let log = e.take_log();
    drop(e);
    if json {
        let out = serde_json::json!({
            "needed_resync": needing,
            "resynced": stats.resynced_chunks,
            "rebuilt": stats.rebuilt_chunks,
            "left": left,
            "clean_stop": suspended,
        });
        println!("{out}");
    } else {
        for l in &log {
            println!("core: {l:?}");
        }
        println!(
            "{needing} chunks needed resync; {} copied, {} rebuilt; {left} left; superblocks {}",
            stats.resynced_chunks,
            stats.rebuilt_chunks,
            if suspended {
                "marked clean"
            } else {
                "NOT marked clean"
            }
        );
    }
    if !rested || left > 0 || !suspended {
        return fail(1, format!("resync did not finish within {timeout_s} s"));
    }
    Ok(())
}
