//! Assembly and configuration: force, tables, legs left out, resync
//! budgets, damaged and forked superblocks.

mod common;

use common::rig::*;
use dmmirror_core::format::*;
use dmmirror_core::mirror::*;

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

/// Lands the first sector of a 4 KiB metadata write over what the leg
/// held (a write torn by a crash).
fn land_torn(leg: &mut Leg, io: &ChildIo, block: &[u8; BLOCK_SIZE]) {
    let old = leg.meta.get(&io.sector).copied().unwrap_or([0; BLOCK_SIZE]);
    leg.meta.insert(io.sector, common::tear(block, &old, 1));
}

/// Chunks x = 600 and y = 601 (bytes in the segment's second sector, so
/// that a tear can leave a copy invalid) written and cleaned; then x is
/// dirtied and the update's first copy lands on the legs `landed` only,
/// and the machine stops. Returns the legs and x, y.
fn crash_after_first_copy(landed: &[u8]) -> (Vec<Leg>, u64, u64) {
    let (legs, _) = new_legs_with(2, 1024);
    let mut r = Rig::assemble(legs, config());
    let (x, y) = (600, 601);
    r.submit(1, ReqOp::Write, x * u64::from(CHUNK), CHUNK);
    r.submit(2, ReqOp::Write, y * u64::from(CHUNK), CHUNK);
    r.settle();
    assert_eq!(r.status(x).0, ChunkStatus::Clean);
    r.submit(100, ReqOp::Write, x * u64::from(CHUNK), 1);
    let first = r.queue.front().copied().expect("a segment write");
    assert!(is_segment(&first, &r.geo));
    while let Some(io) = r.queue.front().copied() {
        if io.sector != first.sector {
            break;
        }
        if landed.contains(&io.leg) {
            r.step();
        } else {
            r.queue.pop_front();
        }
    }
    (r.legs, x, y)
}

/// A crash between a segment update's two copies leaves the new state in
/// one copy only; the mirror assembled from it relies on that state (a
/// write to a chunk it marks DIRTY goes ahead at once). The next update
/// must not overwrite that copy first: torn by a second crash, it would
/// leave the older copy, which has the chunk CLEAN while the write in
/// flight left the legs different.
#[test]
fn after_a_crash_between_copies_the_copy_holding_the_newest_state_is_written_last() {
    let (legs, x, y) = crash_after_first_copy(&[0, 1]);
    let at = |c: u64| c * u64::from(CHUNK);
    // Assembled again: chunk x is DIRTY, so a write to it goes at once,
    // and a write to chunk y needs the segment's next update.
    let mut r = Rig::assemble(legs, config());
    assert_eq!(r.status(x).0, ChunkStatus::Dirty);
    r.run();
    r.submit(101, ReqOp::Write, at(y), 1);
    r.submit(102, ReqOp::Write, at(x), 1);
    // The second crash: write 102 reached leg 0 only, and the update's
    // first copy landed torn (its first sector) on both legs.
    let queued: Vec<ChildIo> = r.queue.drain(..).collect();
    let update = queued.iter().find(|io| is_segment(io, &r.geo)).copied();
    let update = update.expect("the segment's next update");
    let mut torn = 0;
    for io in &queued {
        let disk = r.disk_of_slot[usize::from(io.leg)].unwrap();
        if is_segment(io, &r.geo) {
            assert_eq!(io.sector, update.sector, "one copy at a time");
            let Buffer::Meta(b) = io.buffer else {
                panic!("{io:?}")
            };
            let block = *r.m.meta_block(b);
            land_torn(&mut r.legs[disk], io, &block);
            torn += 1;
        } else if io.op == IoOp::Write && disk == 0 {
            r.legs[0].data.insert(io.sector, 102);
        }
    }
    assert_eq!(torn, 2, "the update's first copy went to both legs");
    assert_ne!(
        r.legs[0].data.get(&(r.geo.data_offset + at(x))),
        r.legs[1].data.get(&(r.geo.data_offset + at(x))),
        "the legs differ in chunk x"
    );
    let r = Rig::assemble(r.legs.clone(), config());
    assert_eq!(
        r.status(x).0,
        ChunkStatus::Dirty,
        "a chunk the legs may differ on is resynced"
    );
}

/// The first copy reached leg 0 only: the legs disagree on chunk x, and a
/// write to it waits until an update has made the merged byte durable
/// (else a torn update would leave leg 1's older copy as the only state).
#[test]
fn a_write_waits_for_a_segment_the_legs_disagreed_on_to_be_rewritten() {
    let (legs, x, _) = crash_after_first_copy(&[0]);
    let mut r = Rig::assemble(legs, config());
    assert_eq!(r.status(x).0, ChunkStatus::Dirty, "merged: DIRTY");
    r.submit(200, ReqOp::Write, x * u64::from(CHUNK), 1);
    let issued = |r: &Rig| {
        let write = Buffer::Request { id: 200, offset: 0 };
        r.queue.iter().any(|io| io.buffer == write)
    };
    while !issued(&r) {
        assert!(r.step(), "the write is not stuck");
    }
    let rewritten = r.done.iter().filter(|io| is_segment(io, &r.geo)).count();
    assert!(
        rewritten >= 2,
        "the segment's first copy reached both legs first"
    );
    r.run();
    assert_eq!(r.completed[&200], Ok(()));
}

/// The superblock's twin of the segment case: leg 7's failure (its member
/// entry in the superblock's second sector) reached leg 0's primary
/// superblock only before a crash. The next superblock update must write
/// the older secondary first: torn, it leaves the primary, which still has
/// leg 7 failed. (Written primary first, a tear left the secondary, with
/// leg 7 in sync though it missed writes.)
#[test]
fn after_a_crash_between_superblock_copies_the_newer_copy_is_written_last() {
    let mut r = Rig::new(8);
    r.write_every_chunk();
    r.m.fail_leg(7).unwrap();
    r.collect();
    let sb_write = |io: &ChildIo| io.op == IoOp::Write && io.sector < 2 * BLOCK_SECTORS;
    // Leg 0's first superblock copy lands; the machine stops.
    let first = *r
        .queue
        .iter()
        .find(|io| sb_write(io))
        .expect("a superblock write");
    assert_eq!(
        (first.leg, first.sector),
        (0, geometry::SUPERBLOCK_SECTOR[0])
    );
    let k = r.queue.iter().position(|io| *io == first).unwrap();
    let io = r.queue.remove(k).unwrap();
    r.queue.push_front(io);
    r.step();
    let mut r = Rig::assemble(r.legs.clone(), config());
    assert_ne!(r.m.leg_health(7), LegHealth::Alive, "leg 7 recorded failed");
    // The next superblock write on leg 0 lands torn: its first sector only.
    let io = *r
        .queue
        .iter()
        .find(|io| sb_write(io) && io.leg == 0)
        .expect("a superblock write");
    let Buffer::Meta(b) = io.buffer else {
        panic!("{io:?}")
    };
    let block = *r.m.meta_block(b);
    land_torn(&mut r.legs[0], &io, &block);
    let r = Rig::assemble(r.legs.clone(), config());
    assert_ne!(
        r.m.leg_health(7),
        LegHealth::Alive,
        "leg 7 still recorded failed"
    );
}
