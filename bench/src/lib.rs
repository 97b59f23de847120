//! Shared pieces of the benchmarks: the core over in-memory legs that
//! complete every child I/O at once (to count CPU and metadata writes,
//! not devices), workload traces, and a reference model of md's bitmap
//! policy replayed on the same traces.

use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use std::collections::{BTreeSet, HashMap};

/// The simulator's deterministic generator.
pub use dmmirror_sim::rng::Rng;

struct MetaBlocks<'a>(&'a [HashMap<u64, [u8; BLOCK_SIZE]>]);

impl BlockReader for MetaBlocks<'_> {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        *out = self.0[pos].get(&sector).copied().unwrap_or([0; BLOCK_SIZE]);
        true
    }
}

/// The core over legs that hold only metadata and finish every I/O at once.
pub struct MemMirror {
    pub mirror: Mirror,
    pub legs: usize,
    pub geometry: Geometry,
    /// Virtual time, ns.
    pub now: u64,
    /// Metadata block writes issued, over all legs.
    pub meta_writes: u64,
    /// Requests completed.
    pub completed: u64,
    next_id: u64,
    pending: Vec<ChildId>,
}

impl MemMirror {
    /// A fresh mirror of `legs` legs holding `data_bytes` in chunks of
    /// `chunk_bytes`.
    pub fn new(legs: usize, data_bytes: u64, chunk_bytes: u64, config: Config) -> MemMirror {
        MemMirror::build(legs, data_bytes, chunk_bytes, config, ChunkByte::UNWRITTEN)
    }

    /// As [`new`](Self::new), but a mirror in service: every chunk was
    /// written once and cleaned (CLEAN, the legs in sync), as md's bitmap
    /// with every bit clear. On a fresh mirror a write covering part of a
    /// never-written chunk also has the chunk copied before it may clean.
    pub fn in_service(legs: usize, data_bytes: u64, chunk_bytes: u64, config: Config) -> MemMirror {
        MemMirror::build(legs, data_bytes, chunk_bytes, config, ChunkByte::CLEAN)
    }

    fn build(
        legs: usize,
        data_bytes: u64,
        chunk_bytes: u64,
        config: Config,
        every_chunk: ChunkByte,
    ) -> MemMirror {
        let chunk_sectors = (chunk_bytes / 512) as u32;
        let leg_sectors = data_bytes / 512 + 4096 + data_bytes / 512 / 1024;
        let geometry = Geometry::for_leg(leg_sectors, chunk_sectors).expect("geometry");
        let uuids: Vec<Uuid> = (0..legs).map(|i| Uuid([i as u8 + 1; 16])).collect();
        let mut blocks = vec![HashMap::new(); legs];
        for (slot, b) in blocks.iter_mut().enumerate() {
            let sb = new_superblock(Uuid([0xee; 16]), &uuids, slot, geometry).expect("superblock");
            new_leg_blocks::<()>(&sb, |sector, block| {
                b.insert(sector, *block);
                Ok(())
            })
            .expect("in memory");
            bitmap_blocks::<()>(&sb, every_chunk, |sector, block| {
                b.insert(sector, *block);
                Ok(())
            })
            .expect("in memory");
        }
        let asm = assemble(&mut MetaBlocks(&blocks), legs).expect("fresh legs assemble");
        let mut m = MemMirror {
            mirror: Mirror::new(asm, config, 0),
            legs,
            geometry,
            now: 0,
            meta_writes: 0,
            completed: 0,
            next_id: 1,
            pending: Vec::with_capacity(64),
        };
        m.run();
        m
    }

    /// A write request of `sectors` at `sector` (not yet submitted).
    pub fn write_request(&mut self, sector: u64, sectors: u32) -> Request {
        self.next_id += 1;
        Request::new(self.next_id, ReqOp::Write, sector, sectors)
    }

    /// Submits a write through the mirror (the locked path).
    pub fn submit_write(&mut self, sector: u64, sectors: u32) {
        let r = self.write_request(sector, sectors);
        self.mirror.submit(r).expect("a free request slot");
    }

    /// Runs every action to quiescence, completing child I/O at once.
    pub fn run(&mut self) {
        loop {
            while let Some(a) = self.mirror.poll_action() {
                match a {
                    Action::Io(io) => {
                        if io.op == IoOp::Write && matches!(io.buffer, Buffer::Meta(_)) {
                            self.meta_writes += 1;
                        }
                        self.pending.push(io.child);
                    }
                    Action::Complete { result, .. } => {
                        debug_assert!(result.is_ok());
                        self.completed += 1;
                    }
                    Action::WakeAt(_) | Action::Log(_) => {}
                }
            }
            if self.pending.is_empty() {
                return;
            }
            for c in std::mem::take(&mut self.pending) {
                self.mirror.complete(c, true);
            }
        }
    }

    /// Lets virtual time pass.
    pub fn advance_to(&mut self, now: u64) {
        self.now = now;
        self.mirror.tick(now);
        self.run();
    }
}

/// md's write-intent bitmap policy as a reference (drivers/md/md-bitmap.c
/// in outline): one bit per chunk on disk, 4 KiB pages of bits; a write to
/// a chunk whose bit is clear sets it and writes its page to every member
/// before the data (writes queued together share one page write); a
/// daemon wakes every 5 s and clears the bit of a chunk on its second pass
/// without writes, writing each page it changed.
pub struct MdModel {
    chunk_sectors: u64,
    legs: u64,
    /// Per chunk: 0 clear; 2 just written; 1 one idle daemon pass.
    counters: Vec<u8>,
    /// Chunks whose counter is not 0.
    set: BTreeSet<u64>,
    next_daemon: u64,
    /// Bitmap page writes, over all members.
    pub page_writes: u64,
}

const MD_DAEMON_NS: u64 = 5_000_000_000;
const MD_BITS_PER_PAGE: u64 = 4096 * 8;

impl MdModel {
    pub fn new(chunks: u64, chunk_sectors: u64, legs: usize) -> MdModel {
        MdModel {
            chunk_sectors,
            legs: legs as u64,
            counters: vec![0; chunks as usize],
            set: BTreeSet::new(),
            next_daemon: MD_DAEMON_NS,
            page_writes: 0,
        }
    }

    /// Writes that arrive together at `now`: (sector, sectors) each.
    pub fn batch(&mut self, now: u64, writes: &[(u64, u32)]) {
        self.advance_to(now);
        let mut pages = BTreeSet::new();
        for &(sector, sectors) in writes {
            let first = sector / self.chunk_sectors;
            let last = (sector + u64::from(sectors) - 1) / self.chunk_sectors;
            for c in first..=last {
                if self.counters[c as usize] == 0 {
                    pages.insert(c / MD_BITS_PER_PAGE);
                    self.set.insert(c);
                }
                self.counters[c as usize] = 2;
            }
        }
        self.page_writes += pages.len() as u64 * self.legs;
    }

    /// Runs the daemon's passes due by `now`.
    pub fn advance_to(&mut self, now: u64) {
        while self.next_daemon <= now {
            self.next_daemon += MD_DAEMON_NS;
            let mut pages = BTreeSet::new();
            let mut cleared = Vec::new();
            for &c in &self.set {
                let k = &mut self.counters[c as usize];
                *k -= 1;
                if *k == 0 {
                    pages.insert(c / MD_BITS_PER_PAGE);
                    cleared.push(c);
                }
            }
            for c in cleared {
                self.set.remove(&c);
            }
            self.page_writes += pages.len() as u64 * self.legs;
        }
    }
}

/// A workload of 4 KiB writes for the metadata comparison.
#[derive(Clone, Copy, Debug)]
pub enum Workload {
    /// Each write follows the last.
    Sequential,
    /// Anywhere on the volume.
    Uniform,
    /// 90% to 1% of the chunks, the rest anywhere.
    HotSet,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::Sequential, Workload::Uniform, Workload::HotSet];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Sequential => "sequential",
            Workload::Uniform => "uniform",
            Workload::HotSet => "hot-set",
        }
    }

    /// The sector of write `n` (4 KiB aligned) on a volume of `sectors`.
    pub fn sector(self, rng: &mut Rng, n: u64, sectors: u64, chunk_sectors: u64) -> u64 {
        let blocks = sectors / 8;
        match self {
            Workload::Sequential => (n % blocks) * 8,
            Workload::Uniform => rng.below(blocks) * 8,
            Workload::HotSet => {
                let chunks = sectors / chunk_sectors;
                let hot = (chunks / 100).max(1);
                if rng.below(10) < 9 {
                    // The hot chunks are spread over the volume.
                    let c = rng.below(hot) * (chunks / hot);
                    c * chunk_sectors + rng.below(chunk_sectors / 8) * 8
                } else {
                    rng.below(blocks) * 8
                }
            }
        }
    }
}

/// The figures of one metadata run.
#[derive(Clone, Copy, Debug)]
pub struct MetaCount {
    /// Our metadata block writes per leg per 10^4 writes.
    pub ours: f64,
    /// md's bitmap page writes per member per 10^4 writes.
    pub md: f64,
    /// The updates first writes alone need (each batch's segments, or
    /// md's pages, holding a chunk the trace had not written before): the
    /// figures with no clean during the run, per member per 10^4 writes.
    pub ours_first: f64,
    pub md_first: f64,
}

/// Replays `writes` 4 KiB writes of `w`, `depth` arriving together every
/// `depth / iops` seconds, through the core and through the md model, then
/// `tail_ns` of idle time; counts metadata writes.
pub fn metadata_writes(
    w: Workload,
    writes: u64,
    depth: u64,
    iops: u64,
    tail_ns: u64,
    data_bytes: u64,
    chunk_bytes: u64,
) -> MetaCount {
    let legs = 2;
    let config = Config {
        max_requests: depth as usize * 2,
        ..Config::default()
    };
    let mut ours = MemMirror::in_service(legs, data_bytes, chunk_bytes, config);
    let g = ours.geometry;
    let chunk_sectors = u64::from(g.chunk_sectors);
    let mut md = MdModel::new(g.chunk_count, chunk_sectors, legs);
    let before = ours.meta_writes;
    let mut rng = Rng::new(0x5eed ^ w as u64);
    let gap = 1_000_000_000 * depth / iops;
    let mut batch = Vec::with_capacity(depth as usize);
    let mut written = vec![false; g.chunk_count as usize];
    let (mut ours_first, mut md_first) = (0, 0);
    let mut now = 0;
    let mut n = 0;
    while n < writes {
        now += gap;
        ours.advance_to(now);
        batch.clear();
        for _ in 0..depth.min(writes - n) {
            batch.push((w.sector(&mut rng, n, g.data_sectors, chunk_sectors), 8));
            n += 1;
        }
        for &(s, len) in &batch {
            ours.submit_write(s, len);
        }
        ours.run();
        md.batch(now, &batch);
        let (segments, pages) = first_write_blocks(&batch, &mut written, &g);
        ours_first += segments;
        md_first += pages;
    }
    let end = now + tail_ns;
    while now < end {
        now += 100_000_000;
        ours.advance_to(now);
        md.advance_to(now);
    }
    assert_eq!(ours.completed, writes, "every write completed");
    let per = |count: u64| count as f64 / legs as f64 * 10_000.0 / writes as f64;
    MetaCount {
        ours: per(ours.meta_writes - before),
        md: per(md.page_writes),
        ours_first: per(ours_first * legs as u64),
        md_first: per(md_first * legs as u64),
    }
}

/// The segments, and md's pages, that hold chunks `batch` writes first.
fn first_write_blocks(batch: &[(u64, u32)], written: &mut [bool], g: &Geometry) -> (u64, u64) {
    let mut segments = BTreeSet::new();
    let mut pages = BTreeSet::new();
    for &(sector, sectors) in batch {
        let first = sector / u64::from(g.chunk_sectors);
        let last = (sector + u64::from(sectors) - 1) / u64::from(g.chunk_sectors);
        for c in first..=last {
            if !std::mem::replace(&mut written[c as usize], true) {
                segments.insert(g.segment_of(c));
                pages.insert(c / MD_BITS_PER_PAGE);
            }
        }
    }
    (segments.len() as u64, pages.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_md_model_sets_before_writing_and_clears_after_two_idle_passes() {
        let mut md = MdModel::new(200_000, 8, 2);
        md.batch(1, &[(0, 8), (8, 8), (800_000, 8)]);
        // Chunks 0, 1 share page 0; chunk 100000 is on page 3: 2 pages, 2 legs.
        assert_eq!(md.page_writes, 4);
        md.batch(2, &[(0, 8)]);
        assert_eq!(md.page_writes, 4, "a set bit costs nothing");
        md.advance_to(MD_DAEMON_NS);
        assert_eq!(md.page_writes, 4, "first idle pass only counts down");
        md.advance_to(2 * MD_DAEMON_NS);
        assert_eq!(
            md.page_writes, 8,
            "second pass clears and writes both pages"
        );
        md.batch(2 * MD_DAEMON_NS + 1, &[(0, 8)]);
        assert_eq!(md.page_writes, 10);
    }

    #[test]
    fn the_core_writes_metadata_once_per_dirty_chunk_and_cleans_lazily() {
        let mut m = MemMirror::new(2, 64 << 20, 1 << 20, Config::default());
        let start = m.meta_writes;
        m.submit_write(0, 8);
        m.run();
        let first = m.meta_writes - start;
        assert!(first > 0, "the DIRTY bit is written before the data");
        m.submit_write(8, 8);
        m.run();
        assert_eq!(
            m.meta_writes - start,
            first,
            "an already DIRTY chunk costs nothing"
        );
        // The scan flushes the data first, then cleans at the next scan.
        for step in 1..=100 {
            m.advance_to(step * 100_000_000);
        }
        assert!(
            m.meta_writes - start > first,
            "the lazy clean writes the bitmap"
        );
        assert_eq!(m.completed, 2);
    }

    #[test]
    fn metadata_counts_are_per_ten_thousand_writes() {
        let count = |w| metadata_writes(w, 20_000, 16, 10_000, 12_000_000_000, 1 << 30, 1 << 20);
        let c = count(Workload::HotSet);
        assert!(c.ours > 0.0 && c.md > 0.0, "{c:?}");
        let s = count(Workload::Sequential);
        // 20000 4 KiB writes cross 79 chunks: each is set and later cleared.
        assert!(s.ours < 200.0, "{s:?}");
    }
}
