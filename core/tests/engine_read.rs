//! Reads: policies, split reads, retries and repair.

mod common;

use common::rig::*;
use dmmirror_core::mirror::*;

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
        no_repair,
        ..Request::new(2, ReqOp::Read, 0, 4 * CHUNK)
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

/// Round-robin gives each in-sync leg its turn, the lock-free path and
/// the locked one alike, whichever slots the legs hold (it once sent a
/// fifteenth of the reads to slot 1 and the rest to slot 0).
#[test]
fn round_robin_spreads_reads_evenly_over_the_legs() {
    for n in [2, 3] {
        let (legs, _) = new_legs(n);
        let mut r = Rig::assemble(legs, config());
        r.write_every_chunk();
        r.m.set_read_policy(ReadPolicy::RoundRobin);
        r.collect();
        let fast = r.m.fast_path().clone();
        let mut fast_reads = vec![0; n];
        let mut locked_reads = vec![0; n];
        for k in 0..(16 * n as u64) {
            // Never where the last read ended: no sequential affinity.
            let sector = (k * 3 % u64::from(CHUNK)) + 16 * u64::from(CHUNK) * (k % 2);
            let rd = fast
                .try_read(&Request::new(1000 + k, ReqOp::Read, sector, 1))
                .expect("in sync");
            fast_reads[usize::from(rd.leg)] += 1;
            fast.read_done(&rd);
            r.done.clear();
            r.submit(2000 + k, ReqOp::Read, sector + 1, 1);
            r.run();
            for io in &r.done {
                locked_reads[usize::from(io.leg)] += 1;
            }
        }
        assert_eq!(fast_reads, vec![16; n], "{n} legs, lock-free");
        assert_eq!(locked_reads, vec![16; n], "{n} legs, locked");
    }
}

/// The striped policy (the default): a read goes to the home leg of its
/// 1 MiB stripe, the stripes dealt out over the in-sync legs in turn, on
/// either path, and a lock-free one is not counted; a long read is split
/// across idle legs as before, and counted.
#[test]
fn striped_reads_go_to_their_stripes_home_leg() {
    assert_eq!(Config::default().read_policy, ReadPolicy::Striped);
    let stripe = READ_STRIPE_SECTORS;
    for n in [2usize, 3] {
        let (legs, _) = new_legs_with(n, 6 * stripe / u64::from(CHUNK));
        let cfg = Config {
            read_policy: ReadPolicy::Striped,
            split_read_sectors: 16,
            ..config()
        };
        let mut r = Rig::assemble(legs, cfg);
        for s in 0..6 {
            r.submit(s + 1, ReqOp::Write, s * stripe, CHUNK);
            r.run();
        }
        r.settle();
        let fast = r.m.fast_path().clone();
        for s in 0..6u64 {
            let home = s as usize % n;
            let sector = s * stripe + 3;
            let rd = fast
                .try_read(&Request::new(100 + s, ReqOp::Read, sector, 1))
                .expect("in sync");
            assert_eq!(
                (usize::from(rd.leg), rd.counted),
                (home, false),
                "stripe {s}"
            );
            r.done.clear();
            r.submit(200 + s, ReqOp::Read, sector + 1, 1);
            r.run();
            let legs: Vec<usize> = r.done.iter().map(|io| usize::from(io.leg)).collect();
            assert_eq!(legs, vec![home], "stripe {s}, locked");
        }
        let long = Request::new(300, ReqOp::Read, 0, 8);
        assert!(fast.try_read_part(&long).is_some_and(|rd| !rd.counted));
        let long = Request::new(301, ReqOp::Read, 0, 16);
        let part = fast.try_read_part(&long).expect("in sync");
        assert!(part.counted && part.request.sectors < 16, "{part:?}");
        fast.read_done(&part);
    }
}
