//! The fast path under real threads: writers and readers on every core,
//! most of them lock-free, the rest through the mirror behind a mutex, with
//! the cleaner running all the while. Checks that no two overlapping writes
//! are ever in flight together, that every request completes, and that the
//! legs are identical and the bitmap clean once the mirror settles.

use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

const CHUNK: u32 = 64;
const CHUNKS: u64 = 32;
const THREADS: u64 = 4;
const OPS: u64 = 100_000;

struct Legs<'a>(&'a [HashMap<u64, [u8; BLOCK_SIZE]>]);

impl BlockReader for Legs<'_> {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        *out = self.0[pos].get(&sector).copied().unwrap_or([0; BLOCK_SIZE]);
        true
    }
}

/// What every thread shares without the lock.
struct Disks {
    /// Per leg, per data sector: the id of the request that wrote it last.
    data: Vec<Vec<AtomicU64>>,
    /// Per data sector: the write executing over it now (0: none).
    writer: Vec<AtomicU64>,
    data_offset: u64,
}

impl Disks {
    /// Writes `id` over the sectors on `legs`, asserting that no other
    /// write is executing over any of them.
    fn write(&self, legs: u32, id: u64, leg_sector: u64, sectors: u32) {
        let first = (leg_sector - self.data_offset) as usize;
        let range = first..first + sectors as usize;
        for s in range.clone() {
            let other = self.writer[s].compare_exchange(0, id, SeqCst, SeqCst);
            assert_eq!(other, Ok(0), "write #{id} overlaps a write in flight");
        }
        for leg in (0..MAX_LEGS).filter(|&l| legs & (1 << l) != 0) {
            for s in range.clone() {
                self.data[leg][s].store(id, SeqCst);
            }
        }
        for s in range {
            self.writer[s].store(0, SeqCst);
        }
    }
}

/// What lives behind the lock.
struct Slow {
    m: Mirror,
    now: u64,
    done: HashSet<ReqId>,
    resync: Vec<Vec<u64>>,
}

impl Slow {
    /// Runs every action at once, child I/Os included (as memory copies).
    fn drain(&mut self, disks: &Disks) {
        let mut ios = VecDeque::new();
        loop {
            while let Some(a) = self.m.poll_action() {
                match a {
                    Action::Io(io) => ios.push_back(io),
                    Action::Complete { id, result } => {
                        assert_eq!(result, Ok(()), "request #{id}");
                        assert!(self.done.insert(id));
                    }
                    Action::WakeAt(_) | Action::Log(_) => {}
                }
            }
            let Some(io) = ios.pop_front() else {
                return;
            };
            let leg = usize::from(io.leg);
            let data = io.sector >= disks.data_offset;
            let first = io.sector.saturating_sub(disks.data_offset) as usize;
            match (io.op, io.buffer) {
                (IoOp::Write, Buffer::Request { id, .. }) => {
                    disks.write(1 << leg, id, io.sector, io.sectors)
                }
                (IoOp::Write, Buffer::Resync(b)) => {
                    for k in 0..io.sectors as usize {
                        disks.data[leg][first + k].store(self.resync[usize::from(b)][k], SeqCst);
                    }
                }
                (IoOp::Read, Buffer::Resync(b)) => {
                    for k in 0..io.sectors as usize {
                        self.resync[usize::from(b)][k] = disks.data[leg][first + k].load(SeqCst);
                    }
                }
                _ => assert!(!data || matches!(io.op, IoOp::Read), "{io:?}"),
            }
            self.m.complete(io.child, true);
        }
    }
}

/// A small deterministic generator per thread.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn worker(t: u64, slow: &Mutex<Slow>, disks: &Disks, fast: &FastPath) -> (u64, u64) {
    let mut rng = 0x9e37_79b9_7f4a_7c15 ^ (t + 1);
    let data_sectors = CHUNKS * u64::from(CHUNK);
    let (mut fast_writes, mut fast_reads) = (0, 0);
    for op in 0..OPS {
        let id = (t + 1) * 1_000_000 + op;
        if op % 32 == 0 {
            // Time passes: the cleaner runs beside the fast writes.
            let mut s = slow.lock().unwrap();
            s.now += 1_000;
            let now = s.now;
            s.m.tick(now);
            s.drain(disks);
        }
        // Most requests hit two hot chunks, so that they collide.
        let span = if next(&mut rng) % 4 == 0 {
            data_sectors
        } else {
            2 * u64::from(CHUNK)
        };
        let sector = next(&mut rng) % span;
        let sectors = (1 + next(&mut rng) % 8).min(data_sectors - sector) as u32;
        let write = next(&mut rng) % 2 == 0;
        let op = if write { ReqOp::Write } else { ReqOp::Read };
        let r = Request::new(id, op, sector, sectors);
        if write {
            if let Some(w) = fast.try_write(&r) {
                fast_writes += 1;
                disks.write(w.legs, id, w.leg_sector, sectors);
                match fast.write_done(&w, 0) {
                    FastWriteDone::Complete { kick: false } => {}
                    FastWriteDone::Complete { kick: true } => {
                        let mut s = slow.lock().unwrap();
                        s.m.kick();
                        s.drain(disks);
                    }
                    FastWriteDone::Adopt => panic!("no leg fails here"),
                }
                continue;
            }
        } else if let Some(rd) = fast.try_read(&r) {
            fast_reads += 1;
            fast.read_done(&rd);
            continue;
        }
        {
            let mut s = slow.lock().unwrap();
            s.m.submit(r).expect("room: one request per thread");
            s.drain(disks);
        }
        // Another thread's fast write may hold the chunk: wait for the kick.
        loop {
            if slow.lock().unwrap().done.remove(&id) {
                break;
            }
            std::thread::yield_now();
        }
    }
    (fast_writes, fast_reads)
}

#[test]
fn threads_share_the_fast_path_without_losing_or_overlapping_a_write() {
    let geo = Geometry::for_leg(2048 + CHUNKS * u64::from(CHUNK), CHUNK).unwrap();
    let uuids = [Uuid([1; 16]), Uuid([2; 16])];
    let mut meta = vec![HashMap::new(); 2];
    for (slot, leg) in meta.iter_mut().enumerate() {
        let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
        new_leg_blocks::<()>(&sb, |sector, b| {
            leg.insert(sector, *b);
            Ok(())
        })
        .unwrap();
    }
    let asm = assemble(&mut Legs(&meta), 2).unwrap();
    let cfg = Config {
        max_requests: THREADS as usize,
        clean_delay_ns: 2_000,
        // Copies run flat out beside the requests.
        resync_min_kib: 0x7fff_ffff,
        resync_max_kib: 0,
        ..Config::default()
    };
    let m = Mirror::new(asm, cfg, 0);
    let fast = m.fast_path().clone();
    let sectors = geo.data_sectors as usize;
    let disks = Arc::new(Disks {
        data: (0..2)
            .map(|_| (0..sectors).map(|_| AtomicU64::new(0)).collect())
            .collect(),
        writer: (0..sectors).map(|_| AtomicU64::new(0)).collect(),
        data_offset: geo.data_offset,
    });
    let slow = Arc::new(Mutex::new(Slow {
        m,
        now: 0,
        done: HashSet::new(),
        resync: vec![vec![0; CHUNK as usize]; cfg.resync_depth],
    }));
    slow.lock().unwrap().drain(&disks);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (slow, disks, fast) = (slow.clone(), disks.clone(), fast.clone());
            std::thread::spawn(move || worker(t, &slow, &disks, &fast))
        })
        .collect();
    let (mut fast_writes, mut fast_reads) = (0, 0);
    for h in handles {
        let (w, r) = h.join().unwrap();
        fast_writes += w;
        fast_reads += r;
    }
    println!(
        "lock-free: {fast_writes} writes, {fast_reads} reads of {}",
        THREADS * OPS
    );
    assert!(fast_writes > THREADS * OPS / 10, "the fast path was used");
    assert!(fast_reads > THREADS * OPS / 10, "the fast path was used");
    let mut s = slow.lock().unwrap();
    let stats = s.m.stats();
    assert!(
        stats.cleaned_chunks > 100 && stats.resynced_chunks > 0,
        "cleaning and resync ran beside the fast path: {stats:?}"
    );
    for _ in 0..100 {
        s.now += 1_000_000;
        let now = s.now;
        s.m.tick(now);
        s.drain(&disks);
    }
    assert!(s.m.is_idle());
    for c in 0..CHUNKS {
        let b = s.m.chunk_byte(c).unwrap();
        assert_ne!(b.status(), ChunkStatus::Dirty, "chunk {c} left DIRTY");
    }
    for k in 0..sectors {
        let (a, b) = (disks.data[0][k].load(SeqCst), disks.data[1][k].load(SeqCst));
        assert_eq!(a, b, "legs differ at data sector {k}");
    }
}
