//! dmm-bench: every benchmark of docs/bench.md as a ratio against a baseline
//! measured in the same run, then the document itself (`make bench`).
//!
//! Usage: dmm-bench [--quick] [--out DIR] [--scratch DIR] [--ram DIR]
//!   --out      where bench.md and the plot data go (default docs)
//!   --scratch  disk-backed directory for legs (default build/bench)
//!   --ram      RAM-backed directory for legs (default /dev/shm)
//!   --quick    small sizes: proves the harness runs, not the figures
//!   --only A,B run only these of metadata, recovery, full_resync, bitmap,
//!              engine (the others keep their results from the last run)

use dmmirror_bench::{metadata_writes, Rng, Workload};
use dmmirror_core::format::*;
use dmmirror_core::mirror::Config;
use dmmirror_engine::{Engine, Options};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

struct Args {
    quick: bool,
    out: PathBuf,
    scratch: PathBuf,
    ram: PathBuf,
    /// Run only these sections (the report keeps the others' old results).
    only: Vec<String>,
    /// Run nothing: write bench.md again from the results on file.
    report_only: bool,
}

fn args() -> Args {
    let mut a = Args {
        quick: false,
        out: "docs".into(),
        scratch: "build/bench".into(),
        ram: "/dev/shm".into(),
        only: Vec::new(),
        report_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(s) = it.next() {
        let mut path = || PathBuf::from(it.next().expect("a path after the option"));
        match s.as_str() {
            "--quick" => a.quick = true,
            "--report-only" => a.report_only = true,
            "--out" => a.out = path(),
            "--scratch" => a.scratch = path(),
            "--ram" => a.ram = path(),
            "--only" => {
                a.only = it
                    .next()
                    .expect("sections")
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            other => {
                eprintln!("dmm-bench: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// Fresh sparse legs with metadata for `data_bytes` in `chunk_bytes` chunks.
fn create_legs(
    dir: &Path,
    name: &str,
    legs: usize,
    data_bytes: u64,
    chunk_bytes: u64,
) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("scratch directory");
    let chunk_sectors = (chunk_bytes / 512) as u32;
    let leg_sectors = data_bytes / 512 + 8192 + data_bytes / 512 / 512;
    let geo = Geometry::for_leg(leg_sectors, chunk_sectors).expect("geometry");
    let uuids: Vec<Uuid> = (0..legs).map(|i| Uuid([i as u8 + 1; 16])).collect();
    (0..legs)
        .map(|slot| {
            let p = dir.join(format!("{name}-{slot}.img"));
            let f = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&p)
                .expect("leg file");
            f.set_len(leg_sectors * 512).expect("size");
            let sb = new_superblock(Uuid([0xbe; 16]), &uuids, slot, geo).expect("superblock");
            new_leg_blocks::<std::io::Error>(&sb, |s, b| f.write_all_at(b, s * 512))
                .expect("metadata");
            p
        })
        .collect()
}

fn remove(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

fn scratch_file(dir: &Path, name: &str, bytes: u64) -> (PathBuf, File) {
    let p = dir.join(name);
    let f = OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(true)
        .open(&p)
        .expect("scratch file");
    f.set_len(bytes).expect("size");
    (p, f)
}

/// A stream of writes: `count` of `size` bytes, sequential or random over
/// `span` bytes, each followed by a flush when `flush`.
#[derive(Clone, Copy)]
struct Stream {
    name: &'static str,
    size: usize,
    count: u64,
    random: bool,
    flush: bool,
    span: u64,
}

/// Runs `s` from `threads` threads; returns MB/s.
fn drive(
    threads: usize,
    s: Stream,
    write: &(dyn Fn(u64, &[u8]) + Sync),
    flush: &(dyn Fn() + Sync),
) -> f64 {
    let next = AtomicU64::new(0);
    let slots = s.span / s.size as u64;
    let start = Instant::now();
    std::thread::scope(|sc| {
        for t in 0..threads {
            let next = &next;
            sc.spawn(move || {
                let buf: Vec<u8> = (0..s.size).map(|i| (i as u8) ^ (t as u8)).collect();
                loop {
                    let n = next.fetch_add(1, Relaxed);
                    if n >= s.count {
                        break;
                    }
                    let slot = if s.random {
                        Rng::new(n ^ 0xabcd).below(slots)
                    } else {
                        n % slots
                    };
                    write(slot * s.size as u64, &buf);
                    if s.flush {
                        flush();
                    }
                }
            });
        }
    });
    (s.count * s.size as u64) as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn engine_write(e: &Engine) -> impl Fn(u64, &[u8]) + Sync + '_ {
    |off, d| e.write(off / 512, d, false).expect("engine write")
}

/// Throughput through the engine against the same writes straight to files.
fn engine_vs_files(a: &Args, threads: usize) -> Value {
    let span = if a.quick { 64 * MIB } else { GIB };
    let rows = [1usize, 2]
        .into_iter()
        .flat_map(|legs| engine_vs_files_on(a, threads, legs, span))
        .collect();
    Value::Array(rows)
}

/// The workloads of the engine-against-files comparison.
fn engine_streams(q: bool, span: u64) -> [Stream; 4] {
    [
        Stream {
            name: "sequential 1 MiB",
            size: MIB as usize,
            count: if q { 32 } else { 768 },
            random: false,
            flush: false,
            span,
        },
        Stream {
            name: "sequential 1 MiB + flush",
            size: MIB as usize,
            count: if q { 8 } else { 192 },
            random: false,
            flush: true,
            span,
        },
        Stream {
            name: "random 4 KiB",
            size: 4096,
            count: if q { 4000 } else { 200_000 },
            random: true,
            flush: false,
            span,
        },
        Stream {
            name: "random 4 KiB + flush",
            size: 4096,
            count: if q { 100 } else { 2_000 },
            random: true,
            flush: true,
            span,
        },
    ]
}

/// The baseline's write: the same bytes to every file (large ones at once).
fn write_files(files: &[(PathBuf, File)], off: u64, d: &[u8]) {
    if d.len() >= 256 * 1024 && files.len() > 1 {
        std::thread::scope(|sc| {
            for (_, f) in files {
                sc.spawn(move || f.write_all_at(d, off).expect("raw write"));
            }
        });
    } else {
        for (_, f) in files {
            f.write_all_at(d, off).expect("raw write");
        }
    }
}

fn flush_files(files: &[(PathBuf, File)]) {
    std::thread::scope(|sc| {
        for (_, f) in files {
            sc.spawn(move || f.sync_data().expect("raw flush"));
        }
    })
}

/// The engine over `legs` legs against the same writes to as many files.
fn engine_vs_files_on(a: &Args, threads: usize, legs: usize, span: u64) -> Vec<Value> {
    let streams = engine_streams(a.quick, span);
    let rounds = if a.quick { 1 } else { 3 };
    let dir = &a.scratch;
    let mut rows = Vec::new();
    let paths = create_legs(dir, "tput", legs, span, MIB);
    let files: Vec<(PathBuf, File)> = (0..legs)
        .map(|i| scratch_file(dir, &format!("raw-{i}.img"), span))
        .collect();
    let raw_write = |off: u64, d: &[u8]| write_files(&files, off, d);
    let raw_flush = || flush_files(&files);
    let e = Engine::open(&paths, &Options::default()).expect("engine");
    // Allocate every block once on both sides: the runs compare writes,
    // not the file system's first allocation.
    let fill = Stream {
        name: "fill",
        size: MIB as usize,
        count: span / MIB,
        random: false,
        flush: false,
        span,
    };
    drive(threads, fill, &raw_write, &raw_flush);
    drive(threads, fill, &engine_write(&e), &|| e.flush().unwrap());
    e.flush().unwrap();
    raw_flush();
    for s in streams {
        let (mut raw, mut eng) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            // Each run starts with no dirty pages from the one before.
            raw_flush();
            e.flush().unwrap();
            raw.push(drive(threads, s, &raw_write, &raw_flush));
            raw_flush();
            e.flush().unwrap();
            eng.push(drive(threads, s, &engine_write(&e), &|| e.flush().unwrap()));
        }
        let (r, m) = (median(raw), median(eng));
        println!(
            "engine {legs} leg(s) vs {legs} file(s), {}: {m:.0} vs {r:.0} MB/s = {:.3}",
            s.name,
            m / r
        );
        rows.push(json!({
            "legs": legs, "workload": s.name, "engine_mbps": m, "files_mbps": r, "ratio": m / r,
            "target": if s.random { 0.90 } else { 0.95 },
        }));
    }
    drop(e);
    remove(&paths);
    for (p, _) in &files {
        let _ = std::fs::remove_file(p);
    }
    rows
}

/// The bitmap's cost: 4 KiB random writes on RAM-backed legs, with the
/// bitmap and with it switched off.
fn bitmap_cost(a: &Args, threads: usize) -> Value {
    let q = a.quick;
    let span = if q { 64 * MIB } else { 512 * MIB };
    let dir = a.ram.join(format!("dmm-bench-{}", std::process::id()));
    let s = Stream {
        name: "random 4 KiB",
        size: 4096,
        count: if q { 20_000 } else { 400_000 },
        random: true,
        flush: false,
        span,
    };
    let open = |bitmap: bool| {
        let paths = create_legs(&dir, if bitmap { "on" } else { "off" }, 2, span, MIB);
        let e = Engine::open(
            &paths,
            &Options {
                bitmap,
                ..fast_resync()
            },
        )
        .expect("engine");
        // Steady state: every chunk written whole once (DIRTY; the page
        // cache of both leg sets filled the same way) before measuring;
        // the runs stay well inside the 5 s clean delay.
        let fill = Stream {
            size: MIB as usize,
            count: span / MIB,
            random: false,
            ..s
        };
        drive(threads, fill, &engine_write(&e), &|| ());
        wait_in_sync(&e);
        e
    };
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let mut slow = None;
    // Which leg set is made first decides where tmpfs puts its pages,
    // worth 3% either way on this VM: both orders, half the runs each.
    for on_first in [true, false] {
        let (e_on, e_off) = if on_first {
            let e_on = open(true);
            (e_on, open(false))
        } else {
            let e_off = open(false);
            (open(true), e_off)
        };
        // Either order within a pair in turn, too.
        for i in 0..if q { 1 } else { 5 } {
            if i % 2 == 1 {
                on.push(drive(threads, s, &engine_write(&e_on), &|| ()));
            }
            off.push(drive(threads, s, &engine_write(&e_off), &|| ()));
            if i % 2 == 0 {
                on.push(drive(threads, s, &engine_write(&e_on), &|| ()));
            }
        }
        slow = Some(e_on.with_mirror(|m| m.stats()));
        drop((e_on, e_off));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let slow = slow.expect("ran");
    let (on, off) = (median(on), median(off));
    println!(
        "bitmap on vs off, {threads} threads: {on:.0} vs {off:.0} MB/s = {:.3}",
        on / off
    );
    println!("  (slow-path stats with the bitmap: {slow:?})");
    json!({ "threads": threads, "bitmap_mbps": on, "no_bitmap_mbps": off, "ratio": on / off, "target": 0.98 })
}

fn metadata(a: &Args) -> Value {
    let writes = if a.quick { 20_000 } else { 200_000 };
    let rows: Vec<Value> = Workload::ALL
        .iter()
        .map(|&w| {
            let c = metadata_writes(w, writes, 16, 10_000, 12_000_000_000, 16 * GIB, MIB);
            println!(
                "metadata writes per 10^4 writes, {}: ours {:.1}, md model {:.1} (first writes alone {:.1} and {:.1})",
                w.name(),
                c.ours,
                c.md,
                c.ours_first,
                c.md_first
            );
            json!({ "workload": w.name(), "ours": c.ours, "md": c.md,
                    "ours_first_writes": c.ours_first, "md_first_writes": c.md_first })
        })
        .collect();
    // The traces make bench-kernel runs in the guest, replayed the same
    // way: 16 KiB chunks over 184 MiB, 2500 writes/s for 16 s, 12 s idle.
    let guest: Vec<Value> = Workload::ALL
        .iter()
        .map(|&w| {
            let c = metadata_writes(w, 40_000, 16, 2_500, 12_000_000_000, 184 * MIB, 16 * 1024);
            json!({ "workload": w.name(), "ours": c.ours, "md": c.md })
        })
        .collect();
    json!({ "writes": writes, "queue_depth": 16, "iops": 10_000, "volume_gib": 16, "chunk_mib": 1, "rows": rows,
            "guest_shape": { "writes": 40_000, "iops": 2_500, "chunk_kib": 16, "volume_mib": 184, "rows": guest } })
}

fn wait_in_sync(e: &Engine) {
    while e.with_mirror(|m| m.chunks_needing_resync()) > 0 {
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn fast_resync() -> Options {
    Options {
        config: Config {
            resync_min_kib: 0,
            resync_max_kib: 0,
            ..Config::default()
        },
        ..Options::default()
    }
}

/// Recovery after a crash with 16 dirty chunks, as the volume grows.
fn recovery(a: &Args) -> Value {
    let sizes: &[u64] = if a.quick {
        &[1, 4]
    } else {
        &[1, 8, 64, 512, 1024]
    };
    let mut rows = Vec::new();
    for &gib in sizes {
        let paths = create_legs(&a.scratch, "recovery", 2, gib * GIB, MIB);
        let e = Engine::open(&paths, &Options::default()).expect("engine");
        let chunks = e.with_mirror(|m| m.geometry().chunk_count);
        let block = vec![0x3cu8; 4096];
        for k in 0..16 {
            e.write(k * (chunks / 16) * (MIB / 512), &block, false)
                .unwrap();
        }
        // The crash: no clean shutdown, the 16 chunks stay DIRTY on disk.
        drop(e);
        let t0 = Instant::now();
        let e = Engine::open(&paths, &fast_resync()).expect("engine");
        let assembled = t0.elapsed();
        let needed = e.with_mirror(|m| m.chunks_needing_resync());
        wait_in_sync(&e);
        let total = t0.elapsed();
        drop(e);
        remove(&paths);
        println!(
            "recovery, {gib} GiB: {needed} chunks, assembly {:.1} ms, in sync after {:.1} ms",
            assembled.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3
        );
        rows.push(json!({ "gib": gib, "chunks": chunks, "resynced": needed,
            "assembly_ms": assembled.as_secs_f64() * 1e3, "in_sync_ms": total.as_secs_f64() * 1e3 }));
    }
    Value::Array(rows)
}

/// A full resync against a plain copy of the leg's data.
fn full_resync(a: &Args) -> Value {
    let bytes = if a.quick { 64 * MIB } else { GIB };
    let paths = create_legs(&a.scratch, "full", 2, bytes, MIB);
    let e = Engine::open(&paths, &Options::default()).expect("engine");
    let data = e.data_sectors() * 512;
    let fill = Stream {
        name: "fill",
        size: MIB as usize,
        count: data / MIB,
        random: false,
        flush: false,
        span: data,
    };
    drive(2, fill, &engine_write(&e), &|| ());
    assert!(e.stop_cleanly(Duration::from_secs(600)), "no clean stop");
    let offset = e.with_mirror(|m| m.geometry().data_offset) * 512;
    drop(e);
    let (copy_path, copy) = scratch_file(&a.scratch, "copy.img", data);
    let src = File::open(&paths[0]).expect("leg");
    let (mut plain, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..if a.quick { 1 } else { 3 } {
        let t = Instant::now();
        let mut buf = vec![0u8; MIB as usize];
        let mut at = 0;
        while at + MIB <= data {
            src.read_exact_at(&mut buf, offset + at).expect("read");
            copy.write_all_at(&buf, at).expect("write");
            at += MIB;
        }
        copy.sync_data().expect("sync");
        plain.push(at as f64 / t.elapsed().as_secs_f64() / 1e6);

        let e = Engine::open(&paths, &fast_resync()).expect("engine");
        let t = Instant::now();
        e.with_mirror(|m| m.start_full_resync());
        wait_in_sync(&e);
        e.flush().expect("flush");
        ours.push(data as f64 / t.elapsed().as_secs_f64() / 1e6);
        let copied = e.with_mirror(|m| m.stats().resynced_chunks + m.stats().rebuilt_chunks);
        assert!(copied > 0, "the full resync copied nothing");
        drop(e);
    }
    let (p, o) = (median(plain), median(ours));
    remove(&paths);
    let _ = std::fs::remove_file(copy_path);
    println!(
        "full resync vs plain copy, {} MiB: {o:.0} vs {p:.0} MB/s = {:.3}",
        data / MIB,
        o / p
    );
    json!({ "mib": data / MIB, "resync_mbps": o, "copy_mbps": p, "ratio": o / p })
}

/// Criterion's estimates from `cargo bench --bench core`, if it ran.
fn criterion_results() -> Value {
    let read = |name: &str| -> Option<f64> {
        let p = format!("target/criterion/write_4k/{name}/new/estimates.json");
        let v: Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
        v["mean"]["point_estimate"].as_f64()
    };
    json!({
        "locked_ns": read("locked"),
        "lock_free_ns": read("lock_free"),
        "copy_4k_ns": read("copy_4k_baseline"),
    })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{} cores ({cpu}), Linux {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel.trim()
    )
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

fn report(r: &Value, out: &Path) -> String {
    let mut d = String::new();
    let w = &mut d;
    report_header(w, r);
    report_core(w, r);
    report_engine(w, r);
    report_bitmap(w, r);
    report_metadata(w, r, out);
    report_recovery(w, r, out);
    report_full_resync(w, r);
    report_peers(w, r, out);
    report_notes(w);
    d
}

/// The title and what the figures are.
fn report_header(w: &mut String, r: &Value) {
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(w, "Generated by `make bench` (which runs `cargo bench -p dmmirror-bench --bench core` and then `cargo run --release -p dmmirror-bench --bin dmm-bench`); every figure is a ratio against a baseline measured in the same run on the same machine. Machine: {}. Raw results: [bench/results.json](bench/results.json). What each benchmark means and why the figures are what they are: [the notes at the end](#notes).\n", r["machine"].as_str().unwrap_or(""));
}

/// The core's CPU cost per write, against a memcpy.
fn report_core(w: &mut String, r: &Value) {
    let c = &r["core"];
    let _ = writeln!(w, "## Core CPU cost per 4 KiB write (criterion)\n");
    let _ = writeln!(w, "Submit to completion on legs that finish every I/O at once, for a chunk already durably DIRTY (the steady state); target under 200 ns.\n");
    let _ = writeln!(
        w,
        "| path | ns per write | × a 4 KiB memcpy | target |\n|---|---|---|---|"
    );
    let copy = c["copy_4k_ns"].as_f64();
    let rows = [
        (
            "lock-free: every write to a chunk already DIRTY",
            "lock_free_ns",
            true,
        ),
        (
            "through the lock: a chunk's first write, or while the mirror changes",
            "locked_ns",
            false,
        ),
    ];
    for (name, key, targeted) in rows {
        match (c[key].as_f64(), copy) {
            (Some(ns), Some(cp)) => {
                let verdict = if targeted {
                    format!("< 200 ns {}", met(ns < 200.0))
                } else {
                    "none (the rare path)".to_owned()
                };
                let _ = writeln!(w, "| {name} | {ns:.0} | {:.2} | {verdict} |", ns / cp);
            }
            _ => {
                let _ = writeln!(w, "| {name} | not run | | |");
            }
        }
    }
    if let Some(cp) = copy {
        let _ = writeln!(w, "\nBaseline: copying 4 KiB takes {cp:.0} ns here.");
    }
}

/// The engine against the same writes straight to files.
fn report_engine(w: &mut String, r: &Value) {
    let _ = writeln!(
        w,
        "\n## Engine throughput against the same writes straight to files\n"
    );
    let _ = writeln!(w, "{} writer threads; legs and baseline files on the same disk-backed file system (page cache, `fdatasync` for flushes). A 1-leg mirror does exactly the I/O of one file, so its ratio is the engine's own cost; a 2-leg mirror is compared with the same writes to two files.\n", r["threads"]);
    let _ = writeln!(w, "| legs | workload | engine MB/s | files MB/s | ratio | target |\n|---|---|---|---|---|---|");
    for row in r["engine"].as_array().into_iter().flatten() {
        let ratio = row["ratio"].as_f64().unwrap_or(0.0);
        let target = row["target"].as_f64().unwrap_or(1.0);
        let _ = writeln!(
            w,
            "| {} | {} | {:.0} | {:.0} | {ratio:.3} | ≥ {target:.2} {} |",
            row["legs"],
            row["workload"].as_str().unwrap_or(""),
            row["engine_mbps"].as_f64().unwrap_or(0.0),
            row["files_mbps"].as_f64().unwrap_or(0.0),
            met(ratio >= target)
        );
    }
}

/// The bitmap's cost at high queue depth.
fn report_bitmap(w: &mut String, r: &Value) {
    let b = &r["bitmap"];
    let ratio = b["ratio"].as_f64().unwrap_or(0.0);
    let _ = writeln!(
        w,
        "\n## The bitmap's cost at high queue depth (RAM-backed legs)\n"
    );
    let _ = writeln!(w, "4 KiB random writes from {} threads over 2 legs in tmpfs, the same engine with the bitmap on and switched off (`Options::bitmap = false`: writes go straight to both legs).\n", b["threads"]);
    let _ = writeln!(w, "| bitmap on MB/s | bitmap off MB/s | ratio | target | md llbitmap | md classic bitmap |\n|---|---|---|---|---|---|");
    let _ = writeln!(
        w,
        "| {:.0} | {:.0} | {ratio:.3} | ≥ 0.98 {} | ≈ 0.98 (reported) | ≈ 0.26 (reported) |",
        b["bitmap_mbps"].as_f64().unwrap_or(0.0),
        b["no_bitmap_mbps"].as_f64().unwrap_or(0.0),
        met(ratio >= 0.98)
    );
}

/// Metadata writes per 10^4 writes, ours and md's model (and its plot data).
fn report_metadata(w: &mut String, r: &Value, out: &Path) {
    let m = &r["metadata"];
    let _ = writeln!(w, "\n## Metadata writes per 10^4 writes\n");
    let _ = writeln!(w, "{} writes of 4 KiB, {} at a time, {} per second, on a {} GiB volume with {} MiB chunks, then 12 s idle; the same trace replayed through the core, on a mirror in service (every chunk CLEAN: written once and cleaned), and through a model of md's bitmap policy (every bit clear; set before write with writes queued together sharing a page write; clear on the daemon's second 5 s pass without writes). Both count block writes per member disk; ours writes one 4 KiB segment copy per update while two legs are in sync (1 byte per chunk: 4032 chunks, 3.9 GiB here), md one 4 KiB page (1 bit per chunk: 32768 chunks, 32 GiB here). *First writes alone*: the updates the first write to each chunk needs (each batch's segments, or pages, holding a chunk not written before), what each would write if it cleaned nothing during the run and marked no chunk ahead of a sequential writer (ours does: one update per 9 chunks there).\n", m["writes"], m["queue_depth"], m["iops"], m["volume_gib"], m["chunk_mib"]);
    let _ = writeln!(
        w,
        "| workload | ours | md model | ours / md | ours, first writes alone | md, first writes alone |\n|---|---|---|---|---|---|"
    );
    let mut dat = String::from("# workload ours md\n");
    for row in m["rows"].as_array().into_iter().flatten() {
        let (o, md) = (
            row["ours"].as_f64().unwrap_or(0.0),
            row["md"].as_f64().unwrap_or(0.0),
        );
        let name = row["workload"].as_str().unwrap_or("");
        let first = |k: &str| row[k].as_f64().map_or("".into(), |v| format!("{v:.1}"));
        let _ = writeln!(
            w,
            "| {name} | {o:.1} | {md:.1} | {:.2} | {} | {} |",
            o / md.max(f64::MIN_POSITIVE),
            first("ours_first_writes"),
            first("md_first_writes")
        );
        let _ = writeln!(dat, "{name} {o:.2} {md:.2}");
    }
    let _ = std::fs::write(out.join("bench/metadata.dat"), dat);
    let _ = writeln!(w, "\n![metadata writes per workload](bench/metadata.png)");
}

/// Recovery time as the volume grows (and its plot data).
fn report_recovery(w: &mut String, r: &Value, out: &Path) {
    let _ = writeln!(w, "\n## Recovery after a crash as the volume grows\n");
    let _ = writeln!(w, "Sparse legs, 1 MiB chunks, 16 chunks DIRTY after the crash (a 4 KiB write each, the engine dropped without a clean shutdown); time from opening the legs to every chunk in sync, resync unthrottled.\n");
    let _ = writeln!(
        w,
        "| volume | chunks | resynced | assembly ms | in sync after ms |\n|---|---|---|---|---|"
    );
    let mut dat = String::from("# GiB assembly_ms in_sync_ms\n");
    let rows: Vec<&Value> = r["recovery"].as_array().into_iter().flatten().collect();
    for row in &rows {
        let _ = writeln!(
            w,
            "| {} GiB | {} | {} | {:.1} | {:.1} |",
            row["gib"],
            row["chunks"],
            row["resynced"],
            row["assembly_ms"].as_f64().unwrap_or(0.0),
            row["in_sync_ms"].as_f64().unwrap_or(0.0)
        );
        let _ = writeln!(
            dat,
            "{} {:.3} {:.3}",
            row["gib"],
            row["assembly_ms"].as_f64().unwrap_or(0.0),
            row["in_sync_ms"].as_f64().unwrap_or(0.0)
        );
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let growth = last["in_sync_ms"].as_f64().unwrap_or(0.0)
            / first["in_sync_ms"].as_f64().unwrap_or(1.0);
        let size = last["gib"].as_f64().unwrap_or(1.0) / first["gib"].as_f64().unwrap_or(1.0);
        let _ = writeln!(
            w,
            "\nThe volume grows {size:.0}×; the time to in-sync grows {growth:.2}×."
        );
    }
    let _ = std::fs::write(out.join("bench/recovery.dat"), dat);
    let _ = writeln!(
        w,
        "\n![recovery time against volume size](bench/recovery.png)"
    );
}

/// A full resync against a plain copy.
fn report_full_resync(w: &mut String, r: &Value) {
    let f = &r["full_resync"];
    let _ = writeln!(w, "\n## Full resync against a plain copy\n");
    let _ = writeln!(w, "A {} MiB leg: the core's full resync (read one leg, write the other, chunk by chunk, {} chunks at a time) against a single-threaded 1 MiB read/write copy of the same data to another file, each ending with `fdatasync`.\n", f["mib"], Config::default().resync_depth);
    let _ = writeln!(
        w,
        "| full resync MB/s | plain copy MB/s | ratio |\n|---|---|---|"
    );
    let _ = writeln!(
        w,
        "| {:.0} | {:.0} | {:.3} |",
        f["resync_mbps"].as_f64().unwrap_or(0.0),
        f["copy_mbps"].as_f64().unwrap_or(0.0),
        f["ratio"].as_f64().unwrap_or(0.0)
    );
}

/// Metadata writes counted in the guest (vm-test/bench-metadata.py),
/// beside the core's replay and md's model of the same traces.
fn report_kernel_metadata(w: &mut String, r: &Value) {
    let _ = writeln!(
        w,
        "\n## Beside md raid1 and Linux dm-mirror, in the kernel: metadata writes\n"
    );
    let k = &r["peers"]["metadata"];
    let Some(rows) = k["rows"].as_array() else {
        let _ = writeln!(w, "Not measured yet: run `make bench-kernel`.");
        return;
    };
    let chunks = k["span_mib"].as_u64().unwrap_or(0) * 1024 / k["chunk_kib"].as_u64().unwrap_or(1);
    let _ = writeln!(w, "Measured by `make bench-kernel` in a QEMU guest ({}): each mirror in service on the same RAM disks (every chunk written once and cleaned; md `--assume-clean`, dm-mirror and ours with a blank log and `nosync`, their metadata on a log device), {} KiB chunks or regions over {} MiB ({chunks} chunks: {} of our segments, one md page, the shape of the section above), then {} writes of 4 KiB per second, 16 in flight (`ioload`: one shared sequential stream; anywhere; 90% to every hundredth chunk), for {} s and {} s idle. Counted: the write I/Os each disk completed (a dm-linear device over each RAM disk counts them), less one per leg per request, shared out over the two legs, per 10^4 writes. Beside them, the same traces replayed through the core and md's model as in the section above, with the requests arriving 16 together rather than as each thread gets its turn.\n",
        k["accel"].as_str().unwrap_or("?"), k["chunk_kib"], k["span_mib"], chunks.div_ceil(CHUNKS_PER_SEGMENT as u64), k["rate"], k["seconds"], k["tail_seconds"]);
    let _ = writeln!(w, "| workload | ours | md | dm-mirror | ours / md | ours, replayed | md, model |\n|---|---|---|---|---|---|---|");
    let replay = r["metadata"]["guest_shape"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for row in rows {
        let name = row["workload"].as_str().unwrap_or("");
        let same = replay.iter().find(|x| x["workload"].as_str() == Some(name));
        let fig = |v: Option<&Value>, k: &str| {
            v.and_then(|v| v[k].as_f64())
                .map_or("".into(), |f| format!("{f:.1}"))
        };
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {} | {:.2} | {} | {} |",
            fig(Some(row), "ours"),
            fig(Some(row), "md"),
            fig(Some(row), "dm_mirror"),
            row["ours_over_md"].as_f64().unwrap_or(0.0),
            fig(same, "ours"),
            fig(same, "md")
        );
    }
}

/// The kernel comparisons, from the QEMU rig's tables: throughput on RAM
/// disks (make bench-kernel), then a crash and its recovery (vm-test).
fn report_peers(w: &mut String, r: &Value, out: &Path) {
    let _ = writeln!(
        w,
        "\n## Beside md raid1 and Linux dm-mirror, in the kernel: throughput\n"
    );
    match std::fs::read_to_string(out.join("bench/kernel.md")) {
        Ok(table) => {
            let _ = writeln!(w, "{}", table.trim_end());
        }
        Err(_) => {
            let _ = writeln!(w, "Not measured yet: run `make bench-kernel`.");
        }
    }
    report_kernel_metadata(w, r);
    let _ = writeln!(
        w,
        "\n## Beside md raid1 and Linux dm-mirror, in the kernel: a crash and its recovery\n"
    );
    match std::fs::read_to_string(out.join("bench/peers.md")) {
        Ok(peers) => {
            let _ = writeln!(w, "{}", peers.trim_end());
            let _ = writeln!(w, "\nCopied after the crash: ours, the chunks DIRTY at assembly (every chunk written in the last `clean_delay`, 5 s); md, the dirty bits `mdadm -X` reports before assembly times the bitmap chunk; dm-mirror, the regions its status counts out of sync right after activation (its log clears a region soon after the writes to it end, so little is dirty at any moment). Under TCG single runs moved by a factor of two, hence the rounds and the ranges; KVM would give figures that rank. The same medians are rows of `results.json` (`peers.crash`). The sequential row writes 48 MiB on a fresh mirror, so every 1 MiB write is a chunk's first and waits for a bitmap update (one FUA copy per leg since 2026-12-02, two before; md 1.48x ours then, 1.25x now); fsync'd records went from md 1.22x ours to 0.96x.");
        }
        Err(_) => {
            let _ = writeln!(
                w,
                "Not measured yet: run `DMM_WRITE_DOCS=1 vm-test/run.sh peers`."
            );
        }
    }
}

/// The notes at the end.
fn report_notes(w: &mut String) {
    let _ = writeln!(w, "\n## Notes\n");
    let _ = write!(w, "{}", include_str!("notes.md"));
}

fn main() {
    let a = args();
    std::fs::create_dir_all(&a.scratch).expect("scratch directory");
    std::fs::create_dir_all(a.out.join("bench")).expect("output directory");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let results = a.out.join("bench/results.json");
    if a.report_only {
        let r = serde_json::from_slice(&std::fs::read(&results).expect("results on file"))
            .expect("results");
        std::fs::write(a.out.join("bench.md"), report(&r, &a.out)).expect("bench.md");
        return;
    }
    let mut r: Value = match (a.only.is_empty(), std::fs::read(&results)) {
        (false, Ok(old)) => serde_json::from_slice(&old).expect("earlier results"),
        _ => json!({}),
    };
    r["machine"] = json!(machine());
    r["threads"] = json!(threads);
    r["quick"] = json!(a.quick);
    r["core"] = criterion_results();
    let run = |name: &str| a.only.is_empty() || a.only.iter().any(|o| o == name);
    if run("metadata") {
        r["metadata"] = metadata(&a);
    }
    if run("recovery") {
        r["recovery"] = recovery(&a);
    }
    if run("full_resync") {
        r["full_resync"] = full_resync(&a);
    }
    if run("bitmap") {
        r["bitmap"] = bitmap_cost(&a, threads);
    }
    if run("engine") {
        r["engine"] = engine_vs_files(&a, threads);
    }
    std::fs::write(&results, serde_json::to_string_pretty(&r).unwrap() + "\n").expect("results");
    std::fs::write(a.out.join("bench.md"), report(&r, &a.out)).expect("bench.md");
    println!("wrote {}", a.out.join("bench.md").display());
}
