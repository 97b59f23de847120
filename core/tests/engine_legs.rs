//! Legs failing, removed, added and returning: rebuilds, checkpoints,
//! slots and former members.

mod common;

use common::rig::*;
use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use std::collections::HashMap;

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
    assert_eq!(r.m.position_health_char(Position(1)), 'D');
    r.m.remove_leg(1).unwrap();
    r.collect();
    r.settle();
    // The new disk at position 1 takes another slot; status shows it.
    let sectors = r.geo.data_offset + r.geo.data_sectors;
    r.legs[1] = Leg::default();
    let slot =
        r.m.add_leg(Position(1), None, Uuid([7; 16]), sectors)
            .unwrap();
    assert_ne!(slot, 1);
    r.disk_of_slot[slot] = Some(1);
    r.collect();
    assert_eq!(r.m.position_health_char(Position(1)), 'A');
    r.settle();
    assert_eq!(r.m.position_health_char(Position(0)), 'A');
    assert_eq!(r.m.position_health_char(Position(1)), 'A');
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
        r.m.add_leg(Position(1), None, Uuid([7; 16]), sectors - 1),
        Err(AdminError::TooSmall { need: sectors })
    );
    let slot =
        r.m.add_leg(Position(1), None, Uuid([7; 16]), sectors)
            .unwrap();
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
    let slot =
        r.m.add_leg(Position(1), Some(&own), Uuid([7; 16]), sectors)
            .unwrap();
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
    let slot =
        r.m.add_leg(Position(1), Some(&own), Uuid([7; 16]), sectors)
            .unwrap();
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
        r.m.add_leg(Position(1), Some(&own), Uuid([7; 16]), sectors),
        Err(AdminError::AlreadyMember { slot: 1 })
    );
    assert_eq!(
        r.m.add_leg(Position(2), None, Uuid([1; 16]), sectors),
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
        r.m.add_leg(Position(1), Some(&own), Uuid([9; 16]), sectors),
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
    assert_eq!(
        r.m.add_leg(Position(1), Some(&own), Uuid([9; 16]), sectors),
        Ok(slot)
    );
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
