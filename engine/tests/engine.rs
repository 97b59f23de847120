//! The engine over real files: concurrent writers and readers, through the
//! lock and lock-free, then the legs compared byte for byte.

use dmmirror_core::format::*;
use dmmirror_engine::{Engine, Options};
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Two fresh legs of `chunks` chunks of 64 KiB in a new directory.
fn new_legs(name: &str, chunks: u64) -> (Vec<PathBuf>, Geometry) {
    let dir = std::env::temp_dir().join(format!("dmmirror-engine-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let chunk = 128;
    let leg_sectors = 4096 + chunks * chunk as u64;
    let geo = Geometry::for_leg(leg_sectors, chunk).unwrap();
    let uuids = [Uuid([1; 16]), Uuid([2; 16])];
    let paths: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("leg{i}.img"))).collect();
    for (slot, p) in paths.iter().enumerate() {
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(p)
            .unwrap();
        f.set_len(leg_sectors * 512).unwrap();
        let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
        new_leg_blocks::<std::io::Error>(&sb, |sector, b| f.write_all_at(b, sector * 512)).unwrap();
    }
    (paths, geo)
}

fn pattern(thread: u64, n: u64) -> Vec<u8> {
    (0..4096u64)
        .map(|i| (thread * 7 + n * 13 + i / 512) as u8)
        .collect()
}

#[test]
fn threads_write_and_read_back_and_the_legs_end_identical() {
    let (paths, geo) = new_legs("threads", 256);
    let o = Options {
        config: dmmirror_core::mirror::Config {
            clean_delay_ns: 20_000_000,
            ..Default::default()
        },
        ..Options::default()
    };
    let e = Arc::new(Engine::open(&paths, &o).unwrap());
    assert_eq!(e.data_sectors(), geo.data_sectors);
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                // Each thread owns every fourth 4 KiB block: no overlaps.
                let blocks = geo.data_sectors / 8;
                for n in 0..400u64 {
                    let block = (n * 37 + t) % (blocks / 4) * 4 + t;
                    let data = pattern(t, n);
                    e.write(block * 8, &data, n % 50 == 0).unwrap();
                    let mut back = vec![0; 4096];
                    e.read(block * 8, &mut back).unwrap();
                    assert_eq!(back, data, "thread {t} write {n} read back");
                    if n % 100 == 0 {
                        e.flush().unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // A whole chunk discarded: both legs punch a hole (or keep the data).
    e.discard(0, 128).unwrap();
    assert!(e.settle(Duration::from_secs(10)), "the mirror came to rest");
    drop(e);
    let legs: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let data = geo.data_offset as usize * 512;
    assert!(legs[0][data..] == legs[1][data..], "legs differ");
    assert!(legs[0][data..].iter().any(|&b| b != 0), "data was written");
    let _ = std::fs::remove_dir_all(paths[0].parent().unwrap());
}

#[test]
fn large_and_durable_writes_reach_every_leg_and_the_bitmap_off_baseline_bypasses_it() {
    let (paths, geo) = new_legs("parallel", 64);
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i / 4096) as u8 ^ 0x5a).collect();
    let e = Engine::open(&paths, &Options::default()).unwrap();
    // Twice: the first goes through the lock, the second lock-free.
    for _ in 0..2 {
        e.write(0, &big, false).unwrap();
        e.write(4096, &big[..4096], true).unwrap();
    }
    drop(e);
    let at = geo.data_offset * 512;
    for p in &paths {
        let f = std::fs::File::open(p).unwrap();
        let mut back = vec![0; big.len()];
        f.read_exact_at(&mut back, at).unwrap();
        assert!(back == big, "{}", p.display());
    }

    let o = Options {
        bitmap: false,
        ..Options::default()
    };
    let e = Engine::open(&paths, &o).unwrap();
    let chunk_bytes = geo.chunk_sectors as usize * 512;
    let beyond = (40 * chunk_bytes / 512) as u64;
    e.write(beyond, &big[..8192], false).unwrap();
    let mut back = vec![0; 8192];
    e.read(beyond, &mut back).unwrap();
    assert_eq!(back, big[..8192]);
    e.flush().unwrap();
    // Nothing went through the core: chunk 40 is still UNWRITTEN.
    assert_eq!(
        e.with_mirror(|m| m.chunk_byte(40)).map(|b| b.status()),
        Some(ChunkStatus::Unwritten)
    );
    for p in &paths {
        let f = std::fs::File::open(p).unwrap();
        f.read_exact_at(&mut back, at + beyond * 512).unwrap();
        assert_eq!(back, big[..8192]);
    }
}
