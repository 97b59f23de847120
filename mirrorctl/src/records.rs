//! `debug workload` and `debug verify`: numbered 4 KiB records written
//! through the engine with FUA, each acknowledged on stdout once durable;
//! after a crash, every acknowledged record must be on every in-sync leg.

use crate::leg::{Leg, LegMeta};
use crate::{fail, io_err, Failure, Outcome};
use dmmirror_engine::Options;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub const RECORD_BYTES: usize = 4096;
const RECORD_SECTORS: u64 = (RECORD_BYTES / 512) as u64;
const MAGIC: &[u8; 8] = b"DMMREC01";

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The contents of record `n` of a run with `seed`.
pub fn record(seed: u64, n: u64) -> Vec<u8> {
    let mut b = vec![0u8; RECORD_BYTES];
    b[..8].copy_from_slice(MAGIC);
    b[8..16].copy_from_slice(&n.to_le_bytes());
    b[16..24].copy_from_slice(&seed.to_le_bytes());
    let mut x = seed ^ n.rotate_left(32);
    for w in b[24..].chunks_mut(8) {
        let v = splitmix(&mut x).to_le_bytes();
        w.copy_from_slice(&v[..w.len()]);
    }
    b
}

/// Where record `n` lives: records are spread over the first `data_sectors`
/// of the device (a stride coprime with the number of slots visits every
/// slot once).
pub fn record_sector(data_sectors: u64, n: u64) -> u64 {
    let slots = data_sectors / RECORD_SECTORS;
    let mut stride = 1_000_003 % slots.max(1);
    while stride > 1 && gcd(stride, slots) != 1 {
        stride -= 1;
    }
    (n.wrapping_mul(stride.max(1)) % slots) * RECORD_SECTORS
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn capacity(data_sectors: u64) -> u64 {
    data_sectors / RECORD_SECTORS
}

/// The sectors records are spread over: the device, or its first `span` bytes.
fn span_sectors(data_sectors: u64, span: Option<u64>) -> u64 {
    span.map_or(data_sectors, |b| (b / 512).min(data_sectors))
}

pub fn workload(
    paths: &[PathBuf],
    records: u64,
    threads: usize,
    seed: u64,
    span: Option<u64>,
) -> Outcome {
    let e = crate::offline::open_engine(paths, &Options::default())?;
    let sectors = span_sectors(e.data_sectors(), span);
    if records > capacity(sectors) {
        return fail(
            2,
            format!(
                "{records} records do not fit: the mirror holds {}",
                capacity(sectors)
            ),
        );
    }
    let next = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let n = next.fetch_add(1, Relaxed);
                if n >= records {
                    break;
                }
                match e.write(record_sector(sectors, n), &record(seed, n), true) {
                    Ok(()) => {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "ack {n}");
                        let _ = out.flush();
                    }
                    Err(err) => {
                        eprintln!("mirrorctl: record {n}: {err}");
                        failed.fetch_add(1, Relaxed);
                    }
                }
            });
        }
    });
    if !e.stop_cleanly(std::time::Duration::from_secs(600)) {
        return fail(1, "the mirror did not stop cleanly within 600 s");
    }
    match failed.load(Relaxed) {
        0 => Ok(()),
        n => fail(1, format!("{n} records failed")),
    }
}

/// Reads the acknowledged record numbers ("ack N" lines) from `acked`.
fn acked_records(acked: &Path) -> Result<Vec<u64>, Failure> {
    let text = std::fs::read_to_string(acked).map_err(io_err(acked))?;
    // The last line may be torn by the kill: only whole lines count.
    let whole = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    whole
        .lines()
        .filter_map(|l| l.strip_prefix("ack "))
        .map(|n| {
            n.trim()
                .parse()
                .map_err(|_| Failure(2, format!("{}: bad line 'ack {n}'", acked.display())))
        })
        .collect()
}

/// The last acknowledged record at each place: a workload that wraps
/// around its span overwrites earlier records (sorted by place).
fn latest_per_place(numbers: &[u64], span_sectors: u64) -> Vec<(u64, u64)> {
    let mut latest = std::collections::BTreeMap::new();
    for &n in numbers {
        let e = latest.entry(record_sector(span_sectors, n)).or_insert(n);
        *e = (*e).max(n);
    }
    latest.into_iter().collect()
}

/// Whether `buf` holds record `n`, or a later record of the same run at
/// the same place (written after `n` was acknowledged: it may have landed
/// whether or not it was acknowledged itself).
fn holds(buf: &[u8], seed: u64, n: u64, span_sectors: u64) -> bool {
    if buf[..8] != MAGIC[..] {
        return false;
    }
    let m = u64::from_le_bytes(buf[8..16].try_into().expect("8 bytes"));
    m >= n
        && record_sector(span_sectors, m) == record_sector(span_sectors, n)
        && buf == record(seed, m).as_slice()
}

/// Where the legs' data lies: after their own metadata, or (`Raw`) from
/// a byte offset of a leg that holds data only (an image of a mirror whose
/// metadata is on a log device).
#[derive(Clone, Copy)]
pub enum DataAt {
    Metadata,
    Raw(u64),
}

// One argument per command-line option.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    paths: &[PathBuf],
    acked: &Path,
    seed: u64,
    span: Option<u64>,
    base: u64,
    data_at: DataAt,
    json: bool,
) -> Outcome {
    let numbers = acked_records(acked)?;
    let mut missing = Vec::new();
    for p in paths {
        let leg = Leg::open(p, false).map_err(io_err(p))?;
        let (data_offset, data_sectors) = match data_at {
            DataAt::Raw(bytes) => (bytes / 512, leg.sectors.saturating_sub(bytes / 512)),
            DataAt::Metadata => {
                let meta = LegMeta::read(&leg).map_err(io_err(p))?;
                let Some(sb) = meta.superblock() else {
                    return fail(1, format!("{}: no valid superblock", p.display()));
                };
                (sb.geometry.data_offset, sb.geometry.data_sectors)
            }
        };
        let span_sectors = span_sectors(data_sectors, span);
        let mut buf = vec![0u8; RECORD_BYTES];
        for (sector, n) in latest_per_place(&numbers, span_sectors) {
            let at = (data_offset + sector) * 512 + base;
            leg.read_bytes(at, &mut buf).map_err(io_err(p))?;
            if !holds(&buf, seed, n, span_sectors) {
                missing.push((p.display().to_string(), n));
            }
        }
    }
    if json {
        let out = serde_json::json!({
            "acknowledged": numbers.len(),
            "legs": paths.len(),
            "missing": missing.iter().map(|(l, n)| serde_json::json!({"leg": l, "record": n})).collect::<Vec<_>>(),
        });
        outln!("{out}");
    } else {
        for (l, n) in missing.iter().take(20) {
            outln!("{l}: acknowledged record {n} is MISSING");
        }
        outln!(
            "{} acknowledged records checked on {} legs: {} missing",
            numbers.len(),
            paths.len(),
            missing.len()
        );
    }
    if missing.is_empty() {
        Ok(())
    } else {
        fail(1, format!("{} acknowledged records lost", missing.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_fill_distinct_slots() {
        for sectors in [8u64, 64, 4096, 2_095_104, 1 << 21] {
            let slots = capacity(sectors);
            let mut seen = std::collections::HashSet::new();
            for n in 0..slots.min(50_000) {
                let s = record_sector(sectors, n);
                assert!(s + RECORD_SECTORS <= sectors);
                assert!(seen.insert(s), "record {n} reuses sector {s}");
            }
        }
        assert_ne!(record(1, 2), record(1, 3));
        assert_ne!(record(1, 2), record(2, 2));
    }

    #[test]
    fn an_overwritten_record_counts_by_its_latest_at_the_place() {
        let sectors = 64; // 8 places: record n + 8 overwrites record n
        let latest = latest_per_place(&[1, 2, 9, 10, 17], sectors);
        assert_eq!(latest.len(), 2);
        assert!(latest.contains(&(record_sector(sectors, 1), 17)));
        assert!(latest.contains(&(record_sector(sectors, 2), 10)));
        // The acknowledged record, or a later one at its place, holds.
        assert!(holds(&record(5, 10), 5, 10, sectors));
        assert!(holds(&record(5, 18), 5, 10, sectors));
        // An earlier one, another place's, another run's or zeros do not.
        assert!(!holds(&record(5, 2), 5, 10, sectors));
        assert!(!holds(&record(5, 11), 5, 10, sectors));
        assert!(!holds(&record(6, 10), 5, 10, sectors));
        assert!(!holds(&[0u8; RECORD_BYTES], 5, 10, sectors));
    }
}
