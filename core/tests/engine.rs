//! Unit tests for each path of the state machine, on a tiny rig that runs
//! child I/Os at once, in order. The simulator (sim/) is the main proof;
//! these pin down the exact sequence of actions for one path at a time.

mod common;

use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use std::collections::{HashMap, VecDeque};

const CHUNK: u32 = 8;
const CHUNKS: u64 = 64;

#[derive(Clone, Default)]
struct Leg {
    meta: HashMap<u64, [u8; BLOCK_SIZE]>,
    /// Data sector to the id of the request that wrote it (0: never).
    data: HashMap<u64, u64>,
    fail_writes: bool,
}

impl Leg {
    fn superblock(&self) -> Superblock {
        let block = |s| self.meta.get(&s).copied().unwrap_or([0; BLOCK_SIZE]);
        let [p, q] = geometry::SUPERBLOCK_SECTOR.map(block);
        *SuperblockLoad::read(&p, &q)
            .superblock()
            .expect("a valid superblock")
    }
}

impl Leg {
    /// Rewrites both superblock copies after `change` (a newer serial).
    fn rewrite_superblock(&mut self, change: impl FnOnce(&mut Superblock)) {
        let mut sb = self.superblock();
        change(&mut sb);
        sb.serial = sb.serial.next();
        for role in CopyRole::BOTH {
            let mut block = [0u8; BLOCK_SIZE];
            sb.encode(role, &mut block).unwrap();
            self.meta
                .insert(geometry::SUPERBLOCK_SECTOR[role.index()], block);
        }
    }
}

struct Legs<'a>(&'a [Leg]);

impl BlockReader for Legs<'_> {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        *out = self.0[pos]
            .meta
            .get(&sector)
            .copied()
            .unwrap_or([0; BLOCK_SIZE]);
        true
    }
}

struct Rig {
    m: Mirror,
    legs: Vec<Leg>,
    /// Leg (table position) of each slot.
    disk_of_slot: [Option<usize>; MAX_LEGS],
    geo: Geometry,
    now: u64,
    /// Child I/Os issued and not yet run.
    queue: VecDeque<ChildIo>,
    /// Every child I/O run, in order.
    done: Vec<ChildIo>,
    completed: HashMap<ReqId, Result<(), IoError>>,
    logs: Vec<LogEvent>,
    wakes: Vec<u64>,
    resync_bufs: Vec<Vec<u64>>,
    reads: HashMap<ReqId, Vec<u64>>,
}

fn config() -> Config {
    common::test_config()
}

fn new_legs(n: usize) -> (Vec<Leg>, Geometry) {
    new_legs_with(n, CHUNKS)
}

fn new_legs_with(n: usize, chunks: u64) -> (Vec<Leg>, Geometry) {
    let geo = Geometry::for_leg(2048 + chunks * u64::from(CHUNK), CHUNK).unwrap();
    let uuids: Vec<Uuid> = (0..n).map(|i| Uuid([i as u8 + 1; 16])).collect();
    let mut legs = vec![Leg::default(); n];
    for (slot, leg) in legs.iter_mut().enumerate() {
        let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
        new_leg_blocks::<()>(&sb, |sector, b| {
            leg.meta.insert(sector, *b);
            Ok(())
        })
        .unwrap();
    }
    (legs, geo)
}

impl Rig {
    fn new(n: usize) -> Rig {
        let (legs, _) = new_legs(n);
        Rig::assemble(legs, config())
    }

    fn assemble(legs: Vec<Leg>, cfg: Config) -> Rig {
        let asm = assemble(&mut Legs(&legs), legs.len()).expect("assembles");
        let geo = asm.template.geometry;
        let disk_of_slot = core::array::from_fn(|s| asm.legs[s].as_ref().map(|l| l.pos));
        let mut rig = Rig {
            m: Mirror::new(asm, cfg, 0),
            legs,
            disk_of_slot,
            geo,
            now: 0,
            queue: VecDeque::new(),
            done: Vec::new(),
            completed: HashMap::new(),
            logs: Vec::new(),
            wakes: Vec::new(),
            resync_bufs: vec![vec![0; CHUNK as usize]; cfg.resync_depth],
            reads: HashMap::new(),
        };
        rig.collect();
        rig
    }

    fn collect(&mut self) {
        self.m.check_invariants();
        while let Some(a) = self.m.poll_action() {
            match a {
                Action::Io(io) => self.queue.push_back(io),
                Action::Complete { id, result } => {
                    assert!(
                        self.completed.insert(id, result).is_none(),
                        "completed twice"
                    );
                }
                Action::WakeAt(t) => self.wakes.push(t),
                Action::Log(e) => self.logs.push(e),
            }
        }
    }

    /// Runs one queued child I/O.
    fn step(&mut self) -> bool {
        let Some(io) = self.queue.pop_front() else {
            return false;
        };
        let leg = &mut self.legs[self.disk_of_slot[usize::from(io.leg)].unwrap()];
        let ok = match (io.op, io.buffer) {
            (IoOp::Write, _) if leg.fail_writes => false,
            (IoOp::Write, Buffer::Meta(b)) => {
                leg.meta.insert(io.sector, *self.m.meta_block(b));
                true
            }
            (IoOp::Write, Buffer::Request { id, offset }) => {
                for k in 0..u64::from(io.sectors) {
                    leg.data.insert(io.sector + k, id + u64::from(offset));
                }
                true
            }
            (IoOp::Write, Buffer::Resync(s)) => {
                for k in 0..io.sectors as usize {
                    leg.data
                        .insert(io.sector + k as u64, self.resync_bufs[usize::from(s)][k]);
                }
                true
            }
            (IoOp::Read, Buffer::Resync(s)) => {
                for k in 0..io.sectors as usize {
                    self.resync_bufs[usize::from(s)][k] =
                        leg.data.get(&(io.sector + k as u64)).copied().unwrap_or(0);
                }
                true
            }
            (IoOp::Read, Buffer::Request { id, .. }) => {
                let v = (0..u64::from(io.sectors))
                    .map(|k| leg.data.get(&(io.sector + k)).copied().unwrap_or(0))
                    .collect();
                self.reads.insert(id, v);
                true
            }
            (IoOp::Discard, _) => {
                for k in 0..u64::from(io.sectors) {
                    leg.data.remove(&(io.sector + k));
                }
                true
            }
            (IoOp::Flush, _) => true,
            other => panic!("unexpected child I/O {other:?}"),
        };
        self.done.push(io);
        self.m.complete(io.child, ok);
        self.collect();
        true
    }

    fn run(&mut self) {
        while self.step() {}
    }

    fn submit(&mut self, id: ReqId, op: ReqOp, sector: u64, sectors: u32) {
        let r = Request {
            id,
            op,
            sector,
            sectors,
            fua: false,
            preflush: false,
            no_repair: false,
        };
        self.m.submit(r).expect("room for the request");
        self.collect();
    }

    fn advance(&mut self, ns: u64) {
        self.now += ns;
        self.m.tick(self.now);
        self.collect();
    }

    /// Lets time pass and runs I/O until the mirror is at rest.
    fn settle(&mut self) {
        for _ in 0..100 {
            self.run();
            self.advance(config().clean_delay_ns);
            self.run();
        }
    }

    /// Writes every chunk whole, one at a time, and lets the mirror settle.
    fn write_every_chunk(&mut self) {
        for c in 0..CHUNKS {
            self.submit(c + 1, ReqOp::Write, c * u64::from(CHUNK), CHUNK);
            self.run();
        }
        self.settle();
    }

    /// Adds a blank device as a new leg; returns its slot.
    fn add_blank_leg(&mut self) -> usize {
        self.legs.push(Leg::default());
        let sectors = self.geo.data_offset + self.geo.data_sectors;
        let pos = self.legs.len() - 1;
        let slot = self.m.add_leg(pos, None, Uuid([7; 16]), sectors).unwrap();
        self.disk_of_slot[slot] = Some(pos);
        self.collect();
        slot
    }

    fn status(&self, c: u64) -> (ChunkStatus, bool) {
        let b = self.m.chunk_byte(c).unwrap();
        (b.status(), b.is_modified())
    }
}

fn is_segment(io: &ChildIo, g: &Geometry) -> bool {
    io.op == IoOp::Write && io.sector >= g.bitmap_sector[0] && io.sector < g.data_offset
}

#[test]
fn a_write_reaches_the_legs_only_after_its_chunk_is_durably_dirty() {
    let mut r = Rig::new(2);
    r.submit(1, ReqOp::Write, 3, 2);
    // No data yet: the bitmap primaries go first, FUA, one per leg (and
    // the superblocks, which drop the fresh mirror's clean flag).
    assert!(r
        .queue
        .iter()
        .all(|io| io.sector < r.geo.data_offset && io.fua));
    assert_eq!(
        r.queue.iter().filter(|io| is_segment(io, &r.geo)).count(),
        2
    );
    r.run();
    let first_data = r
        .done
        .iter()
        .position(|io| io.sector >= r.geo.data_offset)
        .unwrap();
    let primary = r.geo.segment_sector(CopyRole::Primary, 0);
    let primaries_before = r.done[..first_data]
        .iter()
        .filter(|io| io.sector == primary)
        .count();
    assert_eq!(primaries_before, 2, "primary on both legs before the data");
    assert_eq!(r.completed[&1], Ok(()));
    assert_eq!(r.status(0), (ChunkStatus::Dirty, false));
    // A second write to the same chunk needs no metadata I/O.
    let before = r.m.stats().bitmap_updates;
    r.submit(2, ReqOp::Write, 0, 1);
    assert!(r.queue.iter().all(|io| io.sector >= r.geo.data_offset));
    r.run();
    assert_eq!(r.m.stats().bitmap_updates, before);
}

#[test]
fn writes_arriving_during_a_bitmap_update_share_the_next_one() {
    let mut r = Rig::new(2);
    r.submit(1, ReqOp::Write, 0, 1);
    // While chunk 0's update is in flight, five more chunks are asked for.
    for (id, chunk) in (2..7).zip(1..6u64) {
        r.submit(id, ReqOp::Write, chunk * u64::from(CHUNK), 1);
    }
    r.run();
    assert_eq!(r.completed.len(), 6);
    assert!(r.completed.values().all(|v| v.is_ok()));
    assert_eq!(
        r.m.stats().bitmap_updates,
        2,
        "one update, then one for the batch"
    );
}

#[test]
fn a_chunk_cleans_only_after_a_flush_and_the_delay() {
    let mut r = Rig::new(2);
    r.submit(1, ReqOp::Write, 0, CHUNK);
    r.run();
    r.advance(config().clean_delay_ns / 2);
    r.run();
    assert_eq!(r.status(0).0, ChunkStatus::Dirty, "too early");
    r.advance(config().clean_delay_ns);
    // The write was not FUA: the cleaner flushes the legs first.
    let flushes = r.queue.iter().filter(|io| io.op == IoOp::Flush).count();
    assert_eq!(flushes, 2);
    assert_eq!(r.status(0).0, ChunkStatus::Dirty);
    r.settle();
    assert_eq!(r.status(0), (ChunkStatus::Clean, false));
    assert_eq!(r.m.stats().clean_flushes, 1);
}

#[test]
fn a_write_failing_on_one_leg_is_acknowledged_after_the_failure_is_recorded() {
    let mut r = Rig::new(2);
    r.legs[1].fail_writes = true;
    r.submit(1, ReqOp::Write, 0, 1);
    while !r.completed.contains_key(&1) {
        assert!(r.step(), "the write never completed");
    }
    assert_eq!(r.completed[&1], Ok(()));
    // By then leg 0's superblock (primary) records leg 1 as failed.
    let sb = r.legs[0].superblock();
    assert_eq!(sb.members[1].unwrap().state, MemberState::Failed);
    assert_eq!(r.m.leg_health(1), LegHealth::Failed);
    assert!(r.logs.contains(&LogEvent::LegFailed { leg: 1 }));
}

#[test]
fn a_resync_finishing_while_a_leg_is_out_says_the_mirror_is_degraded() {
    let mut r = Rig::new(2);
    r.submit(1, ReqOp::Write, 0, 1);
    r.run();
    r.m.start_full_resync();
    r.collect();
    r.settle();
    assert!(r
        .logs
        .contains(&LogEvent::ResyncFinished { degraded: false }));
    r.m.fail_leg(1).unwrap();
    r.logs.clear();
    r.m.start_full_resync();
    r.collect();
    r.settle();
    // Only leg 0 was copied to itself: "the legs are in sync" would lie.
    assert!(r
        .logs
        .contains(&LogEvent::ResyncFinished { degraded: true }));
    assert!(!r
        .logs
        .contains(&LogEvent::ResyncFinished { degraded: false }));
}

#[test]
fn writes_while_degraded_set_modified_before_the_data() {
    let mut r = Rig::new(2);
    r.m.fail_leg(1).unwrap();
    r.collect();
    r.run();
    r.submit(1, ReqOp::Write, 9, 1);
    r.run();
    assert_eq!(r.status(1), (ChunkStatus::Dirty, true));
    r.settle();
    // Clean again, but MODIFIED stays while a member is out.
    assert_eq!(r.status(1), (ChunkStatus::Clean, true));
    assert_eq!(r.status(2), (ChunkStatus::Unwritten, false));
}

#[test]
fn the_last_in_sync_leg_cannot_be_failed_or_removed() {
    let mut r = Rig::new(2);
    r.m.remove_leg(1).unwrap();
    assert_eq!(r.m.remove_leg(0), Err(AdminError::LastLeg));
    assert_eq!(r.m.fail_leg(0), Err(AdminError::LastLeg));
    assert_eq!(r.m.remove_leg(5), Err(AdminError::NotAMember { slot: 5 }));
    r.collect();
    r.settle();
    // One leg left: it keeps working, and assembles alone later.
    r.submit(1, ReqOp::Write, 0, 4);
    r.settle();
    assert_eq!(r.completed[&1], Ok(()));
    let alone = vec![r.legs[0].clone()];
    let r2 = Rig::assemble(alone, config());
    assert_eq!(r2.m.leg_health(0), LegHealth::Alive);
    assert_eq!(
        r2.m.superblock().members[1].unwrap().state,
        MemberState::Removed
    );
}

#[test]
fn a_replaced_disk_shows_alive_at_its_table_position() {
    let mut r = Rig::new(2);
    r.m.fail_leg(1).unwrap();
    r.collect();
    r.settle();
    assert_eq!(r.m.position_health_char(1), 'D');
    r.m.remove_leg(1).unwrap();
    r.collect();
    r.settle();
    // The new disk at position 1 takes another slot; status shows it.
    let sectors = r.geo.data_offset + r.geo.data_sectors;
    r.legs[1] = Leg::default();
    let slot = r.m.add_leg(1, None, Uuid([7; 16]), sectors).unwrap();
    assert_ne!(slot, 1);
    r.disk_of_slot[slot] = Some(1);
    r.collect();
    assert_eq!(r.m.position_health_char(1), 'A');
    r.settle();
    assert_eq!(r.m.position_health_char(0), 'A');
    assert_eq!(r.m.position_health_char(1), 'A');
}

#[test]
fn a_blank_leg_is_added_and_receives_only_the_written_chunks() {
    let mut r = Rig::new(1);
    for (id, chunk) in (1..=5).zip([0u64, 3, 4, 10, 63]) {
        r.submit(id, ReqOp::Write, chunk * u64::from(CHUNK), CHUNK);
    }
    r.settle();
    r.legs.push(Leg::default());
    let sectors = r.geo.data_offset + r.geo.data_sectors;
    assert_eq!(
        r.m.add_leg(1, None, Uuid([7; 16]), sectors - 1),
        Err(AdminError::TooSmall { need: sectors })
    );
    let slot = r.m.add_leg(1, None, Uuid([7; 16]), sectors).unwrap();
    r.disk_of_slot[slot] = Some(1);
    r.collect();
    assert_eq!(r.m.leg_health(slot), LegHealth::Rebuilding);
    assert!(r.logs.contains(&LogEvent::RebuildStarted {
        leg: slot as u8,
        full: true
    }));
    r.settle();
    assert!(r
        .logs
        .contains(&LogEvent::RebuildFinished { leg: slot as u8 }));
    assert_eq!(r.m.leg_health(slot), LegHealth::Alive);
    assert_eq!(r.m.stats().rebuilt_chunks, 5, "only the written chunks");
    assert!(r.m.stats().rebuild_checkpoints >= 1);
    for c in [0u64, 3, 4, 10, 63] {
        let s = r.geo.data_offset + c * u64::from(CHUNK);
        assert_eq!(r.legs[1].data.get(&s), r.legs[0].data.get(&s));
    }
    // The new leg's own metadata is complete: it assembles alone.
    let sb = r.legs[1].superblock();
    assert_eq!(sb.members[slot].unwrap().state, MemberState::InSync);
    let r2 = Rig::assemble(vec![r.legs[1].clone()], config());
    assert_eq!(r2.m.leg_health(slot), LegHealth::Alive);
    assert_eq!(r2.m.chunk_byte(3).unwrap().status(), ChunkStatus::Clean);
    assert_eq!(r2.m.chunk_byte(5).unwrap().status(), ChunkStatus::Unwritten);
}

#[test]
fn a_returning_leg_receives_only_the_chunks_written_while_it_was_away() {
    let mut r = Rig::new(2);
    for (id, chunk) in (1..=4).zip([0u64, 1, 2, 3]) {
        r.submit(id, ReqOp::Write, chunk * u64::from(CHUNK), CHUNK);
    }
    r.settle();
    r.m.fail_leg(1).unwrap();
    r.collect();
    r.submit(10, ReqOp::Write, 2 * u64::from(CHUNK) + 1, 2);
    r.submit(11, ReqOp::Write, 7 * u64::from(CHUNK), 1);
    r.settle();
    let own = r.legs[1].superblock();
    let sectors = r.geo.data_offset + r.geo.data_sectors;
    let slot = r.m.add_leg(1, Some(&own), Uuid([7; 16]), sectors).unwrap();
    assert_eq!(slot, 1, "back in its own slot");
    r.collect();
    assert!(r.logs.contains(&LogEvent::RebuildStarted {
        leg: 1,
        full: false
    }));
    r.settle();
    assert_eq!(r.m.leg_health(1), LegHealth::Alive);
    assert_eq!(r.m.stats().rebuilt_chunks, 2, "chunks 2 and 7 only");
    assert_eq!(written(&r.legs[0]), written(&r.legs[1]));
    // Every member in sync: the MODIFIED marks are gone, on disk too.
    assert_eq!(r.status(2), (ChunkStatus::Clean, false));
    assert_eq!(r.m.dirty_and_modified(), (0, 0));
    assert_eq!(r.legs[0].superblock().modified_since_event, 0);
}

#[test]
fn a_removed_leg_coming_back_after_tracking_ended_is_copied_whole() {
    let mut r = Rig::new(2);
    r.submit(1, ReqOp::Write, 0, CHUNK);
    r.submit(2, ReqOp::Write, 5 * u64::from(CHUNK), CHUNK);
    r.settle();
    r.m.remove_leg(1).unwrap();
    r.collect();
    r.settle();
    let own = r.legs[1].superblock();
    let sectors = r.geo.data_offset + r.geo.data_sectors;
    let slot = r.m.add_leg(1, Some(&own), Uuid([7; 16]), sectors).unwrap();
    r.collect();
    assert!(r.logs.contains(&LogEvent::RebuildStarted {
        leg: slot as u8,
        full: true
    }));
    r.settle();
    assert_eq!(r.m.stats().rebuilt_chunks, 2);
    assert_eq!(r.m.leg_health(slot), LegHealth::Alive);
}

#[test]
fn a_leg_already_in_the_mirror_is_not_added_twice() {
    let mut r = Rig::new(2);
    let own = r.legs[1].superblock();
    let sectors = r.geo.data_offset + r.geo.data_sectors;
    assert_eq!(
        r.m.add_leg(1, Some(&own), Uuid([7; 16]), sectors),
        Err(AdminError::AlreadyMember { slot: 1 })
    );
    assert_eq!(
        r.m.add_leg(2, None, Uuid([1; 16]), sectors),
        Err(AdminError::BadUuid),
        "uuid of leg 0"
    );
}

#[test]
fn a_rebuild_interrupted_by_a_crash_resumes_from_its_checkpoint() {
    let mut r = Rig::new(1);
    r.write_every_chunk();
    let slot = r.add_blank_leg();
    // Copy until two checkpoints are recorded, then lose power.
    while r.m.stats().rebuild_checkpoints < 2 {
        assert!(r.step());
    }
    let copied = r.m.stats().rebuilt_chunks;
    let checkpoint = r.legs[0].superblock().members[slot]
        .unwrap()
        .rebuild_checkpoint;
    assert!(
        checkpoint > 0 && checkpoint < CHUNKS,
        "checkpoint {checkpoint}"
    );
    let mut r2 = Rig::assemble(r.legs.clone(), config());
    assert_eq!(r2.m.leg_health(slot), LegHealth::Rebuilding);
    r2.settle();
    assert_eq!(r2.m.leg_health(slot), LegHealth::Alive);
    assert_eq!(
        r2.m.stats().rebuilt_chunks,
        CHUNKS - checkpoint,
        "resumed at {checkpoint}, not from 0 (first run copied {copied})"
    );
    assert_eq!(r2.legs[0].data, r2.legs[1].data);
}

/// Data with never-written sectors (0) left out.
fn written(l: &Leg) -> HashMap<u64, u64> {
    l.data
        .iter()
        .filter(|(_, &v)| v != 0)
        .map(|(&k, &v)| (k, v))
        .collect()
}

#[test]
fn a_whole_chunk_discard_returns_it_to_unwritten() {
    let mut r = Rig::new(2);
    r.submit(1, ReqOp::Write, 0, 3 * CHUNK);
    r.settle();
    // Chunk 1 whole, chunk 2 in part.
    r.submit(2, ReqOp::Discard, u64::from(CHUNK), CHUNK + 2);
    r.settle();
    assert_eq!(r.completed[&2], Ok(()));
    assert_eq!(r.status(1).0, ChunkStatus::Unwritten);
    assert_eq!(r.status(2).0, ChunkStatus::Clean, "resynced, then cleaned");
    assert_eq!(r.m.chunks_needing_resync(), 0);
}

#[test]
fn suspend_cleans_the_bitmap_and_marks_the_superblocks_clean() {
    let mut r = Rig::new(2);
    // Whole chunks: a partial first write to a never-written chunk needs a
    // resync, which suspend leaves for later (the chunk stays DIRTY).
    r.submit(1, ReqOp::Write, 0, CHUNK);
    r.submit(2, ReqOp::Write, 40, CHUNK);
    r.run();
    assert_eq!(r.m.dirty_and_modified().0, 2);
    r.m.suspend();
    r.collect();
    // No time passes: suspend does not wait for the clean delay.
    r.run();
    assert!(r.m.is_suspended());
    assert!(r.logs.contains(&LogEvent::Suspended));
    assert_eq!(r.m.dirty_and_modified().0, 0);
    assert!(r.legs.iter().all(|l| l.superblock().clean));
    // The next assembly finds nothing to resync.
    let r2 = Rig::assemble(r.legs.clone(), config());
    assert_eq!(r2.m.chunks_needing_resync(), 0);
    // A write after resume clears the flag again.
    r.m.resume();
    r.submit(3, ReqOp::Write, 0, 1);
    r.run();
    assert!(r.legs.iter().all(|l| !l.superblock().clean));
}

#[test]
fn resync_keeps_to_its_rate_while_user_io_runs() {
    let (legs, _) = new_legs(1);
    let cfg = Config {
        resync_min_kib: 4, // 8 sectors, one chunk, per second
        resync_max_kib: 0, // unlimited when idle
        ..config()
    };
    let mut r = Rig::assemble(legs, cfg);
    r.write_every_chunk();
    let slot = r.add_blank_leg();
    // Five seconds of steady reads: about one chunk a second is copied,
    // plus at most a burst of resync_depth chunks.
    for k in 0..100 {
        r.submit(1000 + k, ReqOp::Read, 0, 1);
        r.run();
        r.advance(50_000_000);
        r.run();
    }
    let copied = r.m.stats().rebuilt_chunks;
    assert!((4..=7).contains(&copied), "{copied} chunks in 5 s");
    assert!(
        r.wakes.iter().any(|&t| t > r.now - 1_000_000_000),
        "woken for the budget"
    );
    // Idle, with no ceiling: the rest goes at once.
    r.settle();
    assert_eq!(r.m.leg_health(slot), LegHealth::Alive);
    assert_eq!(r.m.stats().rebuilt_chunks, CHUNKS);
}

#[test]
fn force_assembles_a_split_brain_trusting_the_first_leg() {
    // Each leg is run alone (the other missing) and written.
    let (legs, _) = new_legs(2);
    let mut a = Rig::assemble(vec![legs[0].clone(), Leg::default()], config());
    a.submit(1, ReqOp::Write, 0, 1);
    a.settle();
    let mut b = Rig::assemble(vec![Leg::default(), legs[1].clone()], config());
    b.disk_of_slot[1] = Some(1);
    b.submit(2, ReqOp::Write, 8, 1);
    b.settle();
    let both = vec![a.legs[0].clone(), b.legs[1].clone()];
    assert_eq!(
        assemble(&mut Legs(&both), 2).err(),
        Some(AssemblyError::SplitBrain { pos: [0, 1] })
    );
    let asm = assemble_with(&mut Legs(&both), 2, true).unwrap();
    assert!(asm.legs[0].as_ref().unwrap().in_sync);
    assert!(!asm.legs[1].as_ref().unwrap().in_sync);
    let m = Mirror::new(asm, config(), 0);
    assert_eq!(m.leg_health(1), LegHealth::Rebuilding);
    assert!(m.superblock().members[1].unwrap().full_copy);
}

#[test]
fn a_table_sets_the_configuration() {
    let w: Vec<&str> = "2 /dev/a /dev/b 5 read_policy round-robin clean_delay 250 force"
        .split_whitespace()
        .collect();
    let t = dmmirror_core::table::parse(&w).unwrap();
    let cfg = t.config(config());
    assert_eq!(cfg.read_policy, ReadPolicy::RoundRobin);
    assert_eq!(cfg.clean_delay_ns, 250_000_000);
    assert_eq!(cfg.max_requests, config().max_requests);
    assert!(t.force);
    assert!(t.chunk_size_matches(2048));
}

#[test]
fn a_big_read_is_split_across_the_legs_and_a_stream_stays_on_one() {
    let (legs, _) = new_legs(2);
    let cfg = Config {
        split_read_sectors: 32,
        ..config()
    };
    let mut r = Rig::assemble(legs, cfg);
    r.submit(1, ReqOp::Write, 0, 8 * CHUNK);
    r.settle();
    r.done.clear();
    r.submit(2, ReqOp::Read, 0, 8 * CHUNK);
    let parts: Vec<(u8, u64, u32, Buffer)> = r
        .queue
        .iter()
        .map(|io| (io.leg, io.sector - r.geo.data_offset, io.sectors, io.buffer))
        .collect();
    assert_eq!(
        parts,
        vec![
            (0, 0, 32, Buffer::Request { id: 2, offset: 0 }),
            (1, 32, 32, Buffer::Request { id: 2, offset: 32 })
        ]
    );
    r.run();
    assert_eq!(r.completed[&2], Ok(()));
    // Small sequential reads stay on the leg the stream began on.
    r.done.clear();
    for (k, id) in (10..18).enumerate() {
        r.submit(id, ReqOp::Read, k as u64 * 4, 4);
        r.run();
    }
    let legs: Vec<u8> = r.done.iter().map(|io| io.leg).collect();
    assert!(legs.iter().all(|&l| l == legs[0]), "{legs:?}");
}

/// Written chunks read back as request 2, split over both legs (and
/// `no_repair` if asked); the part on leg 1 fails, and leg 1's copy of
/// those sectors is spoiled.
fn split_read_failing_on_leg_1(no_repair: bool) -> Rig {
    let (legs, _) = new_legs(2);
    let cfg = Config {
        split_read_sectors: 16,
        ..config()
    };
    let mut r = Rig::assemble(legs, cfg);
    r.submit(1, ReqOp::Write, 0, 4 * CHUNK);
    r.settle();
    let read = Request {
        id: 2,
        op: ReqOp::Read,
        sector: 0,
        sectors: 4 * CHUNK,
        fua: false,
        preflush: false,
        no_repair,
    };
    r.m.submit(read).expect("room for the request");
    r.collect();
    let io = r.queue.iter().position(|io| io.leg == 1).unwrap();
    let io = r.queue.remove(io).unwrap();
    for k in 0..u64::from(io.sectors) {
        r.legs[1].data.insert(io.sector + k, 666);
    }
    r.m.complete(io.child, false);
    r.collect();
    r
}

#[test]
fn a_failed_part_of_a_split_read_is_read_again_and_repaired() {
    let mut r = split_read_failing_on_leg_1(false);
    r.run();
    assert_eq!(r.completed[&2], Ok(()));
    assert_eq!(r.reads[&2], vec![1; 32], "the whole read from leg 0");
    assert_eq!(r.m.stats().read_repairs, 1);
}

#[test]
fn a_read_whose_buffer_must_not_be_written_back_is_mended_by_a_resync() {
    let mut r = split_read_failing_on_leg_1(true);
    let before = r.done.len();
    r.settle();
    assert_eq!(r.completed[&2], Ok(()));
    assert_eq!(r.reads[&2], vec![1; 32], "the whole read from leg 0");
    assert_eq!(r.m.stats().read_repairs, 0);
    let from_buffer = r.done[before..]
        .iter()
        .any(|io| io.op == IoOp::Write && matches!(io.buffer, Buffer::Request { .. }));
    assert!(!from_buffer, "no write from the reader's buffer");
    assert!(
        r.logs
            .iter()
            .any(|l| matches!(l, LogEvent::ResyncStarted { .. })),
        "the chunks are resynced"
    );
    assert_eq!(r.legs[0].data, r.legs[1].data, "leg 1 copied from leg 0");
}

#[test]
fn a_device_left_out_at_assembly_is_said_with_why() {
    let (legs, _) = new_legs(2);
    let r = Rig::assemble(vec![legs[0].clone(), Leg::default()], config());
    let left_out: Vec<_> = r
        .logs
        .iter()
        .filter(|l| matches!(l, LogEvent::LegLeftOut { .. }))
        .collect();
    assert_eq!(
        left_out,
        [&LogEvent::LegLeftOut {
            position: 1,
            reason: AssemblyError::NoMetadata { pos: 1 },
        }]
    );
}

/// Legs whose leg 1 ends `short` sectors before its data area does.
struct ShortLeg1<'a>(Legs<'a>, u64);

impl BlockReader for ShortLeg1<'_> {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        if pos == 1 && sector + 8 > self.1 {
            return false;
        }
        self.0.read_block(pos, sector, out)
    }
}

#[test]
fn a_leg_smaller_than_the_geometry_is_left_out_before_any_write() {
    let (legs, geo) = new_legs(2);
    let need = geo.data_offset + geo.data_sectors;
    let asm = assemble(&mut ShortLeg1(Legs(&legs), need - 1), 2).expect("assembles on leg 0");
    assert!(asm.legs[1].is_none(), "leg 1 is not used");
    assert_eq!(
        asm.unusable,
        [(1, AssemblyError::DataAreaUnreadable { pos: 1, need })]
    );
    // Exactly the size it needs: used.
    let asm = assemble(&mut ShortLeg1(Legs(&legs), need), 2).expect("assembles");
    assert!(asm.legs[1].is_some(), "leg 1 placed");
    assert!(asm.unusable.is_empty(), "{:?}", asm.unusable);
}

#[test]
fn a_crash_resync_without_budget_for_a_chunk_does_not_scan() {
    let chunks = 20_000;
    let (legs, _) = new_legs_with(2, chunks);
    let cfg = Config {
        resync_min_kib: 4, // one 4 KiB chunk a second
        resync_max_kib: 4,
        clean_delay_ns: u64::MAX / 2,
        ..config()
    };
    let mut r = Rig::assemble(legs, cfg);
    // One chunk far from the scan's start, DIRTY when the power goes.
    r.submit(1, ReqOp::Write, (chunks - 1) * u64::from(CHUNK), CHUNK);
    r.run();
    let mut r = Rig::assemble(r.legs.clone(), cfg);
    assert_eq!(r.m.chunks_needing_resync(), 1);
    // 50 ms of reads: no budget for a chunk yet, so no event may pay for
    // a scan of the 20,000 chunks that would start nothing.
    for k in 0..50 {
        r.submit(100 + k, ReqOp::Read, 0, 1);
        r.run();
        r.advance(1_000_000);
        r.run();
    }
    assert_eq!(r.m.stats().resync_scanned, 0);
    assert_eq!(r.m.chunks_needing_resync(), 1);
    // Once a chunk's budget has accrued, the copy happens.
    r.advance(1_000_000_000);
    r.settle();
    assert_eq!(r.m.chunks_needing_resync(), 0);
    assert!(r.m.stats().resync_scanned > 0);
}

#[test]
fn a_sparse_rebuild_of_a_big_mirror_scans_in_bounded_steps() {
    let chunks = 20_000;
    let (legs, _) = new_legs_with(1, chunks);
    let mut r = Rig::assemble(legs, config());
    r.submit(1, ReqOp::Write, 0, CHUNK);
    r.submit(2, ReqOp::Write, (chunks - 1) * u64::from(CHUNK), CHUNK);
    r.settle();
    r.wakes.clear();
    let slot = r.add_blank_leg();
    // The first chunk's copy is issued at once; the scan for the next one
    // stops after a bounded stretch and asks to be called again right away
    // (any event continues it too).
    assert!(r.wakes.contains(&r.now), "{:?}", r.wakes);
    assert_eq!(r.m.leg_health(slot), LegHealth::Rebuilding);
    r.settle();
    assert_eq!(r.m.leg_health(slot), LegHealth::Alive);
    assert_eq!(r.m.stats().rebuilt_chunks, 2);
}

#[test]
fn a_damaged_secondary_superblock_is_rewritten_first() {
    let (mut legs, _) = new_legs(2);
    legs[0]
        .meta
        .insert(geometry::SUPERBLOCK_SECTOR[1], [0; BLOCK_SIZE]);
    let mut r = Rig::assemble(legs, config());
    r.run();
    r.done.clear();
    r.m.fail_leg(1).unwrap();
    r.collect();
    r.run();
    let copies: Vec<u64> = r
        .done
        .iter()
        .filter(|io| io.leg == 0 && io.sector < geometry::SUPERBLOCK_SECTOR[1] + 8)
        .map(|io| io.sector)
        .collect();
    assert_eq!(
        copies[..2],
        geometry::SUPERBLOCK_SECTOR[..]
            .iter()
            .rev()
            .copied()
            .collect::<Vec<_>>()[..]
    );
    let block = |s| r.legs[0].meta[&s];
    let load = SuperblockLoad::read(&block(0), &block(8));
    assert!(
        load.copies.iter().all(|c| c.is_ok()),
        "both copies valid again"
    );
}

#[test]
fn a_former_member_whose_slot_was_given_away_is_left_out() {
    let (mut legs, _) = new_legs(2);
    // Leg 0's table gives slot 1 to another leg; leg 1 still claims it.
    legs[0].rewrite_superblock(|sb| {
        sb.event += 1;
        let m = sb.members[1].as_mut().unwrap();
        m.uuid = Uuid([8; 16]);
        m.state = MemberState::Rebuilding;
        m.full_copy = true;
    });
    let asm = assemble(&mut Legs(&legs), 2).expect("assembles without the stale leg");
    assert_eq!(
        asm.unusable,
        vec![(1, AssemblyError::NotAMember { pos: 1 })]
    );
    assert!(asm.legs[1].is_none());
    assert!(asm.legs[0].as_ref().unwrap().in_sync);
}

#[test]
fn forked_tables_at_one_event_defer_to_the_in_sync_leg() {
    let (mut legs, _) = new_legs(2);
    // Same event, different tables: leg 0 recorded leg 1 as failed; leg 1,
    // rebuilding in its own table, got an update leg 0 never saw.
    legs[0].rewrite_superblock(|sb| {
        sb.event = 5;
        sb.members[1].as_mut().unwrap().state = MemberState::Failed;
    });
    legs[1].rewrite_superblock(|sb| {
        sb.event = 5;
        let m = sb.members[1].as_mut().unwrap();
        m.state = MemberState::Rebuilding;
        m.rebuild_checkpoint = 3;
    });
    let asm = assemble(&mut Legs(&legs), 2).expect("the in-sync leg's table wins");
    assert_eq!(asm.template.members[1].unwrap().state, MemberState::Failed);
    // Two in-sync legs that disagree are still refused.
    let (mut legs, _) = new_legs(2);
    legs[0].rewrite_superblock(|sb| sb.event = 5);
    legs[1].rewrite_superblock(|sb| {
        sb.event = 5;
        sb.modified_since_event = 4;
    });
    assert_eq!(
        assemble(&mut Legs(&legs), 2).err(),
        Some(AssemblyError::MemberTablesDiffer { pos: [0, 1] })
    );
}

#[test]
fn a_slot_takes_no_leg_while_its_earlier_leg_has_io_in_flight() {
    let mut r = Rig::new(1);
    r.write_every_chunk();
    let slot = r.add_blank_leg();
    // Run until the rebuild's first checkpoint flush is issued; hold it.
    let flush = loop {
        if let Some(k) = r
            .queue
            .iter()
            .position(|io| io.op == IoOp::Flush && usize::from(io.leg) == slot)
        {
            break r.queue.remove(k).unwrap();
        }
        assert!(r.step(), "no checkpoint flush");
    };
    // The leg leaves, and comes back while its flush is still out: a
    // completion arriving later would count for the leg now in the slot.
    r.m.remove_leg(slot).unwrap();
    r.collect();
    r.run();
    let own = r.legs[slot].superblock();
    let sectors = r.geo.data_offset + r.geo.data_sectors;
    assert_eq!(
        r.m.add_leg(1, Some(&own), Uuid([9; 16]), sectors),
        Err(AdminError::SlotBusy { slot })
    );
    let checkpoints = r.m.stats().rebuild_checkpoints;
    r.m.complete(flush.child, true);
    r.collect();
    assert_eq!(
        r.m.stats().rebuild_checkpoints,
        checkpoints,
        "the removed leg's flush records nothing"
    );
    assert_eq!(r.m.add_leg(1, Some(&own), Uuid([9; 16]), sectors), Ok(slot));
    r.collect();
    r.settle();
    assert_eq!(r.m.leg_health(slot), LegHealth::Alive);
}

#[test]
fn a_just_rebuilt_leg_counts_as_in_sync_once_its_superblock_says_so() {
    let mut r = Rig::new(1);
    r.write_every_chunk();
    let slot = r.add_blank_leg();
    while !r
        .logs
        .contains(&LogEvent::RebuildFinished { leg: slot as u8 })
    {
        assert!(r.step(), "the rebuild never finished");
    }
    // In use at once, but a power loss now would find it rebuilding: the
    // other leg is still the only one to trust.
    assert_eq!(r.m.leg_health(slot), LegHealth::Alive);
    assert!(!r.m.is_durably_in_sync(slot));
    assert_eq!(r.m.remove_leg(0), Err(AdminError::LastLeg));
    assert_eq!(r.m.fail_leg(0), Err(AdminError::LastLeg));
    r.run();
    assert!(r.m.is_durably_in_sync(slot));
    assert_eq!(r.m.remove_leg(0), Ok(()));
}

// ---- the lock-free fast path ----------------------------------------------

fn write_req(id: ReqId, sector: u64, sectors: u32) -> Request {
    Request {
        id,
        op: ReqOp::Write,
        sector,
        sectors,
        fua: false,
        preflush: false,
        no_repair: false,
    }
}

fn read_req(id: ReqId, sector: u64, sectors: u32) -> Request {
    Request {
        op: ReqOp::Read,
        ..write_req(id, sector, sectors)
    }
}

impl Rig {
    /// Runs the data writes of a fast write on its legs (as the glue would).
    fn run_fast_write(&mut self, w: &FastWrite) {
        for slot in (0..MAX_LEGS).filter(|&l| w.legs & (1 << l) != 0) {
            let leg = &mut self.legs[self.disk_of_slot[slot].unwrap()];
            for k in 0..u64::from(w.request.sectors) {
                leg.data.insert(w.leg_sector + k, w.request.id);
            }
        }
    }

    fn data_writes_queued(&self) -> usize {
        let start = self.geo.data_offset;
        self.queue
            .iter()
            .filter(|io| io.op == IoOp::Write && io.sector >= start)
            .count()
    }
}

#[test]
fn a_fast_write_needs_a_durably_dirty_chunk_and_excludes_overlapping_ones() {
    let mut r = Rig::new(2);
    let fast = r.m.fast_path().clone();
    assert_eq!(fast.try_write(&write_req(1, 2, 1)), None, "chunk not DIRTY");
    r.submit(2, ReqOp::Write, 0, 1);
    r.run();
    let w = fast
        .try_write(&write_req(3, 2, 2))
        .expect("chunk 0 is DIRTY");
    assert_eq!(w.legs, 0b11);
    assert_eq!(w.leg_sector, r.geo.data_offset + 2);
    assert!(
        r.queue.is_empty(),
        "no metadata I/O, nothing through the core"
    );
    // Overlapping sectors wait for the slow path; others in the chunk go.
    assert_eq!(fast.try_write(&write_req(4, 3, 1)), None);
    let other = fast.try_write(&write_req(5, 5, 1)).expect("no overlap");
    // Another chunk, never written: not yet.
    assert_eq!(fast.try_write(&write_req(6, u64::from(CHUNK), 1)), None);
    r.run_fast_write(&w);
    assert_eq!(
        fast.write_done(&w, 0),
        FastWriteDone::Complete { kick: false }
    );
    assert!(fast.try_write(&write_req(7, 3, 1)).is_some(), "released");
    assert_eq!(
        fast.write_done(&other, 0),
        FastWriteDone::Complete { kick: false }
    );
}

#[test]
fn a_chunk_is_not_cleaned_under_a_fast_write_and_is_flushed_after_one() {
    let mut r = Rig::new(2);
    let fast = r.m.fast_path().clone();
    // Whole: no resync of the chunk waits for the fast write.
    r.submit(1, ReqOp::Write, 0, CHUNK);
    r.run();
    let w = fast.try_write(&write_req(2, 1, 1)).unwrap();
    r.settle();
    assert_eq!(r.status(0).0, ChunkStatus::Dirty, "write in flight");
    r.run_fast_write(&w);
    let flushes = r.m.stats().clean_flushes;
    assert_eq!(
        fast.write_done(&w, 0),
        FastWriteDone::Complete { kick: false }
    );
    r.settle();
    assert_eq!(r.status(0).0, ChunkStatus::Clean);
    assert!(
        r.m.stats().clean_flushes > flushes,
        "the fast write was flushed before the chunk was cleaned"
    );
    assert_eq!(fast.try_write(&write_req(3, 1, 1)), None, "CLEAN again");
}

#[test]
fn a_slow_write_waits_for_the_fast_writes_on_its_chunk() {
    let mut r = Rig::new(2);
    let fast = r.m.fast_path().clone();
    r.submit(1, ReqOp::Write, 0, 1);
    r.run();
    let w = fast.try_write(&write_req(2, 2, 4)).unwrap();
    r.submit(3, ReqOp::Write, 4, 1);
    assert_eq!(r.data_writes_queued(), 0, "overlaps the fast write");
    // Once a slow write waits, new fast writes to the chunk go slow too.
    assert_eq!(fast.try_write(&write_req(4, 7, 1)), None);
    r.run_fast_write(&w);
    assert_eq!(
        fast.write_done(&w, 0),
        FastWriteDone::Complete { kick: true }
    );
    r.m.kick();
    r.collect();
    assert_eq!(r.data_writes_queued(), 2);
    r.run();
    assert_eq!(r.completed[&3], Ok(()));
    assert_eq!(
        r.legs[0].data[&(r.geo.data_offset + 4)],
        3,
        "the later write wins"
    );
    assert!(fast.try_write(&write_req(5, 7, 1)).is_some(), "fast again");
}

#[test]
fn a_fast_write_failing_on_a_leg_is_adopted_and_acknowledged_once_recorded() {
    let mut r = Rig::new(2);
    let fast = r.m.fast_path().clone();
    r.submit(1, ReqOp::Write, 0, 1);
    r.run();
    let w = fast.try_write(&write_req(2, 1, 1)).unwrap();
    r.run_fast_write(&w);
    assert_eq!(fast.write_done(&w, 0b10), FastWriteDone::Adopt);
    r.m.adopt_write(&w, 0b10).unwrap();
    r.collect();
    assert!(
        !r.completed.contains_key(&2),
        "leg 1's failure is not durable yet"
    );
    r.run();
    assert_eq!(r.completed[&2], Ok(()));
    assert_eq!(r.m.leg_health(1), LegHealth::Failed);
    assert_eq!(
        r.legs[0].superblock().members[1].unwrap().state,
        MemberState::Failed
    );
    // Degraded: the failure marked the DIRTY chunk MODIFIED; fast writes
    // go on to the survivor alone.
    assert_eq!(r.status(0), (ChunkStatus::Dirty, true));
    assert_eq!(
        fast.try_write(&write_req(3, 1, 1)).map(|w| w.legs),
        Some(0b01)
    );
}

#[test]
fn a_fast_read_serves_in_sync_chunks_and_a_failed_one_is_repaired() {
    let mut r = Rig::new(2);
    let fast = r.m.fast_path().clone();
    assert_eq!(
        fast.try_read(&read_req(1, 0, 1)),
        None,
        "never written: pinned"
    );
    r.submit(2, ReqOp::Write, 0, CHUNK);
    r.run();
    let rd = fast.try_read(&read_req(3, 0, 4)).expect("in sync");
    fast.read_done(&rd);
    // The leg failed the read: the core reads another leg, then repairs.
    r.m.retry_read(&rd).unwrap();
    r.collect();
    let other = 1 - rd.leg;
    assert!(r
        .queue
        .iter()
        .all(|io| io.leg == other && io.op == IoOp::Read));
    r.run();
    assert_eq!(r.completed[&3], Ok(()));
    assert_eq!(r.reads[&3], vec![2; 4]);
    let repaired = r
        .done
        .iter()
        .any(|io| io.leg == rd.leg && io.op == IoOp::Write && io.sector == rd.leg_sector);
    assert!(repaired, "the failed leg was rewritten");
    assert_eq!(r.m.stats().read_repairs, 1);
}

#[test]
fn nothing_runs_lock_free_while_suspended_or_after_a_clean_start() {
    let mut r = Rig::new(2);
    let fast = r.m.fast_path().clone();
    r.submit(1, ReqOp::Write, 0, CHUNK);
    r.run();
    r.m.suspend();
    r.collect();
    assert_eq!(fast.try_write(&write_req(2, 1, 1)), None);
    r.settle();
    assert!(r.m.is_suspended());
    // Reassembled from cleanly stopped legs: the first write marks them
    // "not clean" through the slow path.
    let legs = r.legs.clone();
    let mut r = Rig::assemble(legs, config());
    let fast = r.m.fast_path().clone();
    assert!(
        fast.try_read(&read_req(3, 0, 1)).is_some(),
        "reads go at once"
    );
    r.submit(4, ReqOp::Write, 0, 1);
    r.run();
    assert!(fast.try_write(&write_req(5, 1, 1)).is_some());
}

#[test]
fn the_fast_path_writes_to_all_sixteen_legs() {
    let (legs, _) = new_legs(MAX_LEGS);
    let mut r = Rig::assemble(legs, config());
    let fast = r.m.fast_path().clone();
    r.submit(1, ReqOp::Write, 0, CHUNK);
    r.run();
    let w = fast.try_write(&write_req(2, 0, 1)).unwrap();
    assert_eq!(w.legs, 0xffff);
    assert_eq!(
        fast.write_done(&w, 0),
        FastWriteDone::Complete { kick: false }
    );
    r.m.fail_leg(15).unwrap();
    r.collect();
    r.run();
    // The regime moved on: the failed leg gets nothing, reads avoid it.
    assert_eq!(
        fast.try_write(&write_req(3, 0, 1)).map(|w| w.legs),
        Some(0x7fff)
    );
    for id in 4..40 {
        let rd = fast.try_read(&read_req(id, 0, 1)).unwrap();
        assert!(rd.leg < 15);
    }
}

/// A fast read of chunk 0 failed and is retried on the other leg; the
/// retry reaches the media before write 3 lands and completes after it.
/// Write 3 is issued before the retry (`write_first`) or after it. Either
/// way the retry's data may predate write 3: no repair.
fn repair_under_a_write(write_first: bool) {
    let mut r = Rig::new(2);
    let fast = r.m.fast_path().clone();
    r.submit(1, ReqOp::Write, 0, CHUNK);
    r.run();
    let rd = fast.try_read(&read_req(2, 0, 4)).unwrap();
    fast.read_done(&rd);
    if write_first {
        r.submit(3, ReqOp::Write, 0, 4);
        assert_eq!(r.data_writes_queued(), 2);
    }
    r.m.retry_read(&rd).unwrap();
    r.collect();
    let read = r.queue.pop_back().unwrap();
    assert_eq!(read.op, IoOp::Read);
    let old = r.legs[r.disk_of_slot[usize::from(read.leg)].unwrap()].data[&read.sector];
    r.reads.insert(2, vec![old; 4]);
    if !write_first {
        r.submit(3, ReqOp::Write, 0, 4);
    }
    r.run();
    assert_eq!(r.completed[&3], Ok(()));
    r.m.complete(read.child, true);
    r.collect();
    r.run();
    assert_eq!(r.completed[&2], Ok(()));
    assert_eq!(
        r.m.stats().read_repairs,
        0,
        "the data read may predate write 3"
    );
    for leg in &r.legs {
        assert_eq!(leg.data[&read.sector], 3);
    }
}

#[test]
fn a_repair_is_dropped_when_a_write_started_and_ended_while_the_read_ran() {
    repair_under_a_write(false);
}

#[test]
fn a_repair_is_dropped_when_a_write_was_in_flight_as_the_read_started() {
    repair_under_a_write(true);
}
