//! The write path: a chunk durably DIRTY before its data, group commit,
//! lazy clean, failures recorded before acknowledgement, MODIFIED while
//! degraded, discards, suspend.

mod common;

use common::rig::*;
use dmmirror_core::format::*;
use dmmirror_core::mirror::*;

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

/// With two legs in sync an update writes one copy, the one not holding
/// the state relied upon, and the next update the other: one block per
/// leg per update. A lone leg in sync gets both copies, in order.
#[test]
fn updates_write_one_copy_in_turn_while_two_legs_are_in_sync() {
    let mut r = Rig::new(2);
    let primary = r.geo.segment_sector(CopyRole::Primary, 0);
    let secondary = r.geo.segment_sector(CopyRole::Secondary, 0);
    let copies_of = |r: &mut Rig, id: ReqId, chunk: u64| {
        r.done.clear();
        r.submit(id, ReqOp::Write, chunk * u64::from(CHUNK), CHUNK);
        r.run();
        let segs: Vec<u64> = r
            .done
            .iter()
            .filter(|io| is_segment(io, &r.geo))
            .map(|io| io.sector)
            .collect();
        segs
    };
    // A fresh mirror's copies are equal: the primary goes first.
    assert_eq!(copies_of(&mut r, 1, 0), vec![primary; 2]);
    assert_eq!(copies_of(&mut r, 2, 1), vec![secondary; 2]);
    assert_eq!(copies_of(&mut r, 3, 2), vec![primary; 2]);
    // Assembled again, the next update writes the older copy.
    let mut r = Rig::assemble(r.legs.clone(), config());
    r.run();
    assert_eq!(copies_of(&mut r, 4, 3), vec![secondary; 2]);
    // One leg in sync: both copies, the older first.
    r.m.fail_leg(1).unwrap();
    r.run();
    let both = copies_of(&mut r, 5, 4);
    assert!(
        !both.is_empty() && both.chunks(2).all(|u| u == [primary, secondary]),
        "{both:?}"
    );
    assert_eq!(r.completed[&5], Ok(()));
}

/// Single-copy updates leave each segment's other copy one update behind;
/// when a leg's departure leaves one leg in sync, every segment is written
/// again with both copies (no other leg covers a bad newest copy now).
#[test]
fn the_last_leg_in_sync_gets_every_segment_in_both_copies() {
    let (legs, geo) = new_legs_with(2, 8000);
    assert!(geo.segment_count >= 2);
    let mut r = Rig::assemble(legs, config());
    r.submit(1, ReqOp::Write, 0, 1);
    r.run();
    r.done.clear();
    r.m.fail_leg(1).unwrap();
    r.collect();
    r.run();
    for s in 0..geo.segment_count {
        for role in CopyRole::BOTH {
            let sector = geo.segment_sector(role, s);
            assert!(
                r.done.iter().any(|io| io.leg == 0 && io.sector == sector),
                "segment {s} {role:?} rewritten on leg 0"
            );
        }
    }
}

/// A chunk ready to clean waits for its segment's next update, which
/// writes its CLEAN byte and the new DIRTY ones in one block.
#[test]
fn a_chunk_ready_to_clean_rides_on_its_segments_next_update() {
    let mut r = Rig::new(2);
    notice_ready_to_clean(&mut r, 0);
    assert_eq!(r.status(0).0, ChunkStatus::Dirty, "noticed, not written");
    let updates = r.m.stats().bitmap_updates;
    r.submit(2, ReqOp::Write, u64::from(CHUNK), CHUNK);
    r.run();
    assert_eq!(
        r.m.stats().bitmap_updates,
        updates + 1,
        "one update for both"
    );
    assert_eq!(r.status(0).0, ChunkStatus::Clean);
    assert_eq!(r.status(1).0, ChunkStatus::Dirty);
    assert_eq!(r.m.stats().cleans_carried, 1);
}

/// With no update to ride on, the clean gets its own one scan interval
/// after a scan first found the chunk ready.
#[test]
fn a_chunk_ready_to_clean_with_nothing_to_ride_on_is_cleaned_a_scan_later() {
    let interval = config().clean_delay_ns / 4;
    let mut r = Rig::new(2);
    notice_ready_to_clean(&mut r, 0);
    r.advance(interval - 1);
    r.run();
    assert_eq!(r.status(0).0, ChunkStatus::Dirty, "no scan yet");
    r.advance(1);
    r.run();
    assert_eq!(r.status(0).0, ChunkStatus::Clean);
    assert_eq!(r.m.stats().cleans_carried, 0);
}

/// A chunk written again within one delay of its clean: its next clean
/// waits twice the delay (md's daemon clears after 5 to 10 s); after a
/// long rest the delay is back to one.
#[test]
fn a_chunk_written_soon_after_its_clean_waits_longer_for_the_next() {
    let delay = config().clean_delay_ns;
    let mut r = Rig::new(2);
    let first = ns_until_clean(&mut r, 1, 0);
    assert!((delay..2 * delay).contains(&first), "{first}");
    let second = ns_until_clean(&mut r, 2, 0);
    assert!(second >= 2 * delay, "{second}");
    assert_eq!(r.m.stats().delays_lengthened, 1);
    r.advance(10 * delay);
    r.run();
    let rested = ns_until_clean(&mut r, 3, 0);
    assert!(rested < 2 * delay, "{rested}");
}

/// Writes chunk `c` whole, lets the cleaner flush it and a scan find it
/// ready to clean.
fn notice_ready_to_clean(r: &mut Rig, c: u64) {
    r.submit(1, ReqOp::Write, c * u64::from(CHUNK), CHUNK);
    r.run();
    r.advance(config().clean_delay_ns);
    r.run();
    assert_eq!(r.m.stats().clean_flushes, 1, "the data flushed first");
    r.advance(1);
    r.run();
}

/// Writes chunk `c` whole as request `id`; the time until it is CLEAN.
fn ns_until_clean(r: &mut Rig, id: ReqId, c: u64) -> u64 {
    let step = config().clean_delay_ns / 20;
    r.submit(id, ReqOp::Write, c * u64::from(CHUNK), CHUNK);
    r.run();
    let start = r.now;
    while r.status(c).0 != ChunkStatus::Clean {
        assert!(
            r.now - start < 10 * config().clean_delay_ns,
            "never cleaned"
        );
        r.advance(step);
        r.run();
    }
    r.now - start
}

/// A sequential writer entering a CLEAN chunk (at its first sector, the
/// chunk before DIRTY) has the chunks after it marked DIRTY in the same
/// update, and writes on through them with no other; a write elsewhere in
/// a chunk, or not after a DIRTY one, marks nothing ahead.
#[test]
fn a_sequential_writer_has_chunks_marked_dirty_ahead() {
    let mut r = Rig::new(2);
    r.write_every_chunk();
    assert!((0..CHUNKS).all(|c| r.status(c).0 == ChunkStatus::Clean));
    let updates = r.m.stats().bitmap_updates;
    let mut id = 100;
    let mut write = |r: &mut Rig, sector: u64, sectors: u32| {
        id += 1;
        r.submit(id, ReqOp::Write, sector, sectors);
        r.run();
    };
    let chunk = u64::from(CHUNK);
    write(&mut r, 10 * chunk, CHUNK);
    write(&mut r, 31 * chunk + 1, 1);
    write(&mut r, 30 * chunk + 1, 1);
    assert_eq!(r.m.stats().chunks_dirtied_ahead, 0);
    assert_eq!(r.m.stats().bitmap_updates, updates + 3);
    write(&mut r, 11 * chunk, 1);
    assert_eq!(r.m.stats().bitmap_updates, updates + 4, "one update");
    assert_eq!(r.m.stats().chunks_dirtied_ahead, 8);
    assert!((11..20).all(|c| r.status(c).0 == ChunkStatus::Dirty));
    assert_eq!(r.status(20).0, ChunkStatus::Clean);
    for c in 12..20 {
        write(&mut r, c * chunk, CHUNK);
    }
    assert_eq!(r.m.stats().bitmap_updates, updates + 4, "no other");
    // Marked ahead, never written: cleaned after the delay all the same.
    r.settle();
    assert!((0..CHUNKS).all(|c| r.status(c).0 == ChunkStatus::Clean));
}
