//! `check` (compare the legs offline) and `resync` (repair them offline
//! with the core's own resync, through the engine).

use crate::leg::{at_most_max_legs, same_storage, Leg, LegMeta};
use crate::{fail, io_err, Failure, Outcome};
use dmmirror_core::format::*;
use dmmirror_core::mirror::{LegHealth, Stats};
use dmmirror_engine::{Engine, EngineError, Options};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A chunk where a leg's data differs from the first in-sync leg's.
struct Difference {
    chunk: u64,
    legs: Vec<usize>,
    byte: ChunkByte,
    covered: bool,
}

fn status_name(b: ChunkByte) -> &'static str {
    b.status().name()
}

/// Opens the legs and returns them with the newest valid superblock,
/// refusing a set that is not legs of one mirror.
fn open_legs(paths: &[PathBuf]) -> Result<(Vec<Leg>, Vec<LegMeta>, Superblock), Failure> {
    let legs = Leg::open_all(paths, false)?;
    let metas = legs
        .iter()
        .map(|l| LegMeta::read(l).map_err(io_err(&l.path)))
        .collect::<Result<Vec<_>, _>>()?;
    let newest = metas
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.superblock().map(|s| (i, *s)))
        .max_by_key(|(_, s)| s.event);
    let Some((newest_at, sb)) = newest else {
        return fail(1, "no leg holds a valid dm-mirror superblock");
    };
    for (i, (leg, m)) in legs.iter().zip(&metas).enumerate() {
        let name = leg.path.display();
        let Some(s) = m.superblock() else {
            let why = if m.superblocks.disagree {
                DecodeError::CopiesDisagree.to_string()
            } else {
                "no valid dm-mirror superblock (blank, foreign or damaged): not a member".into()
            };
            return fail(1, format!("{name}: {why}"));
        };
        if s.mirror_uuid != sb.mirror_uuid {
            return fail(
                1,
                format!(
                    "{name} is a leg of mirror {}, {} of mirror {}: legs of two mirrors",
                    s.mirror_uuid,
                    legs[newest_at].path.display(),
                    sb.mirror_uuid
                ),
            );
        }
        if s.geometry != sb.geometry {
            return fail(1, format!("{name}: geometry differs"));
        }
        if let Some(j) =
            (0..i).find(|&j| metas[j].superblock().map(|t| t.leg_uuid) == Some(s.leg_uuid))
        {
            return fail(
                1,
                format!(
                    "{name} and {} hold the same leg (uuid {}): one is a copy of the other",
                    legs[j].path.display(),
                    s.leg_uuid
                ),
            );
        }
        if let Some(why) = leg.too_small_for(s) {
            return fail(1, why);
        }
    }
    Ok((legs, metas, sb))
}

/// The members the newest superblock counts as active (in sync or being
/// rebuilt) that are not among the legs given: assembling without them
/// records them failed.
fn missing_members(metas: &[LegMeta], sb: &Superblock) -> Vec<(usize, Member)> {
    let given: Vec<Uuid> = metas
        .iter()
        .filter_map(|m| m.superblock().map(|s| s.leg_uuid))
        .collect();
    sb.members
        .iter()
        .enumerate()
        .filter_map(|(slot, m)| Some((slot, (*m)?)))
        .filter(|(_, m)| matches!(m.state, MemberState::InSync | MemberState::Rebuilding))
        .filter(|(_, m)| !given.contains(&m.uuid))
        .collect()
}

/// Whether the newest superblock counts the leg as in sync.
fn in_sync(sb: &Superblock, m: &LegMeta) -> bool {
    m.superblock().is_some_and(|s| {
        sb.members[usize::from(s.slot)]
            .is_some_and(|mm| mm.uuid == s.leg_uuid && mm.state == MemberState::InSync)
    })
}

pub fn check(paths: &[PathBuf], partial: bool, json: bool) -> Outcome {
    let (legs, metas, sb) = open_legs(paths)?;
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
    let diffs = compare(&legs, &compared, &sb.geometry, &bitmap)?;
    let report = CheckReport {
        legs: &legs,
        compared: &compared,
        skipped: &skipped,
        diffs: &diffs,
        chunks: sb.geometry.chunk_count,
    };
    if json {
        outln!("{}", report.json());
    } else {
        out!("{}", report.text());
    }
    let uncovered = diffs.iter().filter(|d| !d.covered).count();
    if uncovered > 0 {
        return fail(
            3,
            format!("{uncovered} chunks differ where the bitmap says CLEAN"),
        );
    }
    let members = sb
        .members
        .iter()
        .flatten()
        .filter(|m| m.state != MemberState::Removed)
        .count();
    if compared.len() < members && !partial {
        return fail(
            4,
            format!(
                "compared {} of the mirror's {members} legs (the others are not in sync or not given): run mirrorctl resync first, or pass --partial to accept it",
                compared.len()
            ),
        );
    }
    Ok(())
}

/// Every chunk where a compared leg differs from the first, and whether
/// the bitmap covers the difference.
fn compare(
    legs: &[Leg],
    compared: &[usize],
    g: &Geometry,
    bitmap: &[u8],
) -> Result<Vec<Difference>, Failure> {
    let Some((&first, rest)) = compared.split_first() else {
        return Ok(Vec::new());
    };
    let chunk_bytes = g.chunk_sectors as usize * SECTOR_SIZE;
    let mut bufs = vec![vec![0u8; chunk_bytes]; legs.len()];
    let mut diffs = Vec::new();
    for c in 0..g.chunk_count {
        let start = c * u64::from(g.chunk_sectors);
        let len = (g.data_sectors - start).min(u64::from(g.chunk_sectors)) as usize * SECTOR_SIZE;
        let at = (g.data_offset + start) * SECTOR_SIZE as u64;
        for &i in compared {
            legs[i]
                .read_bytes(at, &mut bufs[i][..len])
                .map_err(io_err(&legs[i].path))?;
        }
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
        diffs.push(Difference {
            chunk: c,
            legs: std::iter::once(first).chain(differ).collect(),
            byte,
            covered: byte.status() != ChunkStatus::Clean,
        });
    }
    Ok(diffs)
}

/// What `check` found, to print.
struct CheckReport<'a> {
    legs: &'a [Leg],
    compared: &'a [usize],
    skipped: &'a [usize],
    diffs: &'a [Difference],
    chunks: u64,
}

impl CheckReport<'_> {
    fn names(&self, which: &[usize]) -> Vec<String> {
        which
            .iter()
            .map(|&i| self.legs[i].path.display().to_string())
            .collect()
    }

    fn json(&self) -> serde_json::Value {
        let list: Vec<_> = self
            .diffs
            .iter()
            .map(|d| {
                serde_json::json!({
                    "chunk": d.chunk,
                    "legs": self.names(&d.legs),
                    "bitmap": status_name(d.byte),
                    "modified": d.byte.is_modified(),
                    "covered": d.covered,
                })
            })
            .collect();
        serde_json::json!({
            "chunks": self.chunks,
            "compared_legs": self.names(self.compared),
            "skipped_legs": self.names(self.skipped),
            "differences": list,
            "uncovered": self.diffs.iter().filter(|d| !d.covered).count(),
        })
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for name in self.names(self.skipped) {
            out += &format!("{name}: not in sync per the superblocks: not compared\n");
        }
        for d in self.diffs {
            let legs: Vec<String> = d.legs.iter().map(|i| i.to_string()).collect();
            let modified = if d.byte.is_modified() {
                "+MODIFIED"
            } else {
                ""
            };
            let verdict = if d.covered {
                "covered"
            } else {
                "NOT COVERED: the bitmap says the legs agree"
            };
            out += &format!(
                "chunk {}: legs {} differ; bitmap {}{modified}: {verdict}\n",
                d.chunk,
                legs.join(","),
                status_name(d.byte)
            );
        }
        out += &format!(
            "{} chunks compared over {} legs: {} differ, {} not covered by the bitmap\n",
            self.chunks,
            self.compared.len(),
            self.diffs.len(),
            self.diffs.iter().filter(|d| !d.covered).count()
        );
        out
    }
}

pub fn resync(paths: &[PathBuf], force: bool, run: bool, timeout_s: u64, json: bool) -> Outcome {
    let missing = refuse_partial(paths, run)?;
    let o = Options {
        force,
        ..Options::default()
    };
    let report = run_resync(&open_engine(paths, &o)?, paths, timeout_s);
    if json {
        outln!("{}", report.json(&missing));
    } else {
        out!("{}", report.text(paths.len(), missing.len()));
    }
    report.verdict(timeout_s)
}

/// The members missing from `paths` (none, or with `run` the ones the
/// resync will record failed); refuses a partial mirror without `run`,
/// before anything is written.
fn refuse_partial(paths: &[PathBuf], run: bool) -> Result<Vec<(usize, Member)>, Failure> {
    let (_legs, metas, sb) = open_legs(paths)?;
    let missing = missing_members(&metas, &sb);
    if missing.is_empty() {
        return Ok(missing);
    }
    let names: Vec<String> = missing
        .iter()
        .map(|(slot, m)| format!("slot {slot} (leg {}, {})", m.uuid, m.state.name()))
        .collect();
    if !run {
        return fail(
            1,
            format!(
                "mirror {} has members not given: {}; nothing was changed. Name every leg, or pass --run to resync without them (they are then recorded as failed and rebuilt when they return)",
                sb.mirror_uuid,
                names.join(", ")
            ),
        );
    }
    eprintln!(
        "mirrorctl: running without {} (--run): recorded as failed",
        names.join(", ")
    );
    Ok(missing)
}

/// What one offline resync did.
struct ResyncReport {
    needing: u64,
    stats: Stats,
    left: u64,
    in_sync: u64,
    total: u64,
    behind: Vec<String>,
    rested: bool,
    suspended: bool,
    log: Vec<String>,
}

/// Runs the resync and rebuilds to the end or the timeout, then stops.
fn run_resync(e: &Engine, paths: &[PathBuf], timeout_s: u64) -> ResyncReport {
    let needing = e.with_mirror(|m| m.chunks_needing_resync());
    let rested = settle_showing_progress(e, Duration::from_secs(timeout_s));
    // What is left is read before the stop: suspending pauses the copies.
    let (in_sync, total) = e.with_mirror(|m| m.sync_progress());
    let behind = behind_legs(e, paths);
    let suspended = e.stop_cleanly(Duration::from_secs(timeout_s));
    let (stats, left) = e.with_mirror(|m| (m.stats(), m.chunks_needing_resync()));
    ResyncReport {
        needing,
        stats,
        left,
        in_sync,
        total,
        behind,
        rested,
        suspended,
        log: e.take_log().iter().map(|l| l.to_string()).collect(),
    }
}

impl ResyncReport {
    fn json(&self, missing: &[(usize, Member)]) -> serde_json::Value {
        let missing: Vec<_> = missing
            .iter()
            .map(|(slot, m)| serde_json::json!({"slot": slot, "leg_uuid": m.uuid.to_string()}))
            .collect();
        serde_json::json!({
            "needed_resync": self.needing,
            "resynced": self.stats.resynced_chunks,
            "rebuilt": self.stats.rebuilt_chunks,
            "left": self.left,
            "in_sync_chunks": self.in_sync,
            "chunks": self.total,
            "not_in_sync": self.behind,
            "missing_members": missing,
            "clean_stop": self.suspended,
        })
    }

    fn text(&self, given: usize, missing: usize) -> String {
        // The lines the kernel module would log for the same events.
        let mut out: String = self
            .log
            .iter()
            .map(|l| format!("dm-mirror: {l}\n"))
            .collect();
        let legs = if missing == 0 {
            "every leg".to_string()
        } else {
            format!("the {given} legs given (degraded: {missing} missing)")
        };
        out += &format!(
            "{} chunks needed resync; {} copied, {} rebuilt; {} of {} chunks in sync on {legs}; superblocks {}\n",
            self.needing,
            self.stats.resynced_chunks,
            self.stats.rebuilt_chunks,
            self.in_sync,
            self.total,
            if self.suspended {
                "marked clean"
            } else {
                "NOT marked clean"
            }
        );
        out
    }

    fn verdict(&self, timeout_s: u64) -> Outcome {
        if !self.behind.is_empty() || self.in_sync < self.total || self.left > 0 {
            let legs = if self.behind.is_empty() {
                String::new()
            } else {
                format!(" ({} not in sync)", self.behind.join(", "))
            };
            return fail(
                1,
                format!(
                    "not finished within {timeout_s} s: {} of {} chunks still to copy{legs}; run resync again to go on from the last checkpoint",
                    self.total - self.in_sync,
                    self.total
                ),
            );
        }
        if !self.rested || !self.suspended {
            return fail(
                1,
                format!("the mirror did not come to rest within {timeout_s} s"),
            );
        }
        Ok(())
    }
}

/// Starts the engine on the legs, naming them in its refusals.
pub fn open_engine(paths: &[PathBuf], o: &Options) -> Result<Engine, Failure> {
    at_most_max_legs(paths)?;
    Engine::open(paths, o).map_err(|e| match e {
        EngineError::SameStorage { first, second } => {
            Failure(2, same_storage(&paths[first], &paths[second]))
        }
        e => Failure(1, format!("assembly: {e}")),
    })
}

/// The legs given that are not in sync: rebuilding, failed or missing.
fn behind_legs(e: &Engine, paths: &[PathBuf]) -> Vec<String> {
    e.with_mirror(|m| {
        (0..MAX_LEGS)
            .filter_map(|slot| Some((slot, m.leg_position(slot)?.0)))
            .filter(|&(slot, _)| m.leg_health(slot) != LegHealth::Alive)
            .map(|(slot, pos)| {
                let name = paths
                    .get(pos)
                    .map_or(String::from("?"), |p| p.display().to_string());
                format!("{name}: {}", m.leg_health(slot).name())
            })
            .collect()
    })
}

/// Waits as [`Engine::settle`] does; on a terminal, shows how far the
/// copy is once a second.
fn settle_showing_progress(e: &Engine, timeout: Duration) -> bool {
    let tty = std::io::stderr().is_terminal();
    let end = Instant::now() + timeout;
    let mut shown = false;
    let rested = loop {
        let slice = end
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(1));
        if e.settle(slice) {
            break true;
        }
        if Instant::now() >= end {
            break false;
        }
        if tty {
            let (in_sync, total) = e.with_mirror(|m| m.sync_progress());
            eprint!(
                "\rresync: {in_sync} of {total} chunks in sync ({}%)",
                in_sync * 100 / total.max(1)
            );
            shown = true;
        }
    };
    if shown {
        eprintln!();
    }
    rested
}
