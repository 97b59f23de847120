//! The lock-free fast path beside the locked one.

mod common;

use common::rig::*;
use dmmirror_core::format::*;
use dmmirror_core::mirror::*;

// ---- the lock-free fast path ----------------------------------------------

fn write_req(id: ReqId, sector: u64, sectors: u32) -> Request {
    Request::new(id, ReqOp::Write, sector, sectors)
}

fn read_req(id: ReqId, sector: u64, sectors: u32) -> Request {
    Request::new(id, ReqOp::Read, sector, sectors)
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
    let logged = LogEvent::ReadRepaired {
        leg: rd.leg,
        sector: 0,
        sectors: 4,
    };
    assert!(
        r.logs.contains(&logged),
        "the repair is logged: {:?}",
        r.logs
    );
}

#[test]
fn a_long_read_is_split_only_across_idle_legs() {
    let (legs, _) = new_legs(2);
    let cfg = Config {
        split_read_sectors: 2 * CHUNK,
        ..config()
    };
    let mut r = Rig::assemble(legs, cfg);
    let fast = r.m.fast_path().clone();
    r.write_every_chunk();
    let long = |id, sector| read_req(id, sector, 2 * CHUNK);
    // Both legs idle: the mirror splits it; try_read_part starts the
    // first half lock-free and leaves the rest to the caller, whose own
    // request finds one idle leg and goes whole to it.
    assert_eq!(fast.try_read(&long(100, 0)), None, "both legs idle: split");
    let first = fast.try_read_part(&long(101, 0)).expect("in sync");
    assert_eq!((first.request.sector, first.request.sectors), (0, CHUNK));
    let rest = fast
        .try_read_part(&read_req(102, u64::from(CHUNK), CHUNK))
        .expect("the rest");
    assert_eq!(rest.request.sectors, CHUNK);
    assert_ne!(rest.leg, first.leg, "the rest goes to the idle leg");
    fast.read_done(&rest);
    // One leg busy: a long read goes whole to the idle one.
    let whole = fast.try_read(&long(103, 0)).expect("one idle leg: whole");
    assert_eq!(whole.request.sectors, 2 * CHUNK);
    assert_ne!(whole.leg, first.leg);
    // Both busy: whole, to the least busy.
    let also = fast
        .try_read_part(&long(104, 0))
        .expect("no idle leg: whole");
    assert_eq!(also.request.sectors, 2 * CHUNK);
    for rd in [first, whole, also] {
        fast.read_done(&rd);
    }
    assert_eq!(fast.try_read(&long(105, 0)), None, "idle again: split");
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
