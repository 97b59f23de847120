//! The external layout (LVM's disk log): every slot's superblocks and
//! bitmap on a log device, the data from sector 0 of each leg. A tiny rig
//! runs child I/Os at once; the simulator covers crashes and faults.

mod common;

use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use std::collections::HashMap;

const CHUNK: u32 = 8;
const DATA_SECTORS: u64 = 64 * CHUNK as u64;

#[derive(Clone, Default)]
struct Devices {
    /// The log device: 4 KiB blocks by first sector.
    log: HashMap<u64, [u8; BLOCK_SIZE]>,
    /// Each leg's data: sector to the id of the request that wrote it.
    legs: Vec<HashMap<u64, u64>>,
}

impl BlockReader for Devices {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        assert_eq!(
            pos,
            usize::from(LOG_DEVICE),
            "metadata is read from the log only"
        );
        *out = self.log.get(&sector).copied().unwrap_or([0; BLOCK_SIZE]);
        true
    }
}

fn geometry() -> Geometry {
    Geometry::for_external(DATA_SECTORS, CHUNK).unwrap()
}

fn config() -> Config {
    common::test_config()
}

fn log_sectors(legs: usize) -> u64 {
    legs as u64 * geometry().meta_sectors()
}

fn assemble(d: &mut Devices, blank: BlankLog) -> Result<Assembly, AssemblyError> {
    let n = d.legs.len();
    assemble_external(
        d,
        n,
        geometry(),
        log_sectors(n),
        false,
        blank,
        Uuid([5; 16]),
    )
}

/// Runs every action to the end; returns the I/Os in the order run.
fn run(m: &mut Mirror, d: &mut Devices, now: &mut u64) -> Vec<ChildIo> {
    let mut done = Vec::new();
    let mut resync: HashMap<u16, Vec<u64>> = HashMap::new();
    for _ in 0..50 {
        m.check_invariants();
        while let Some(a) = m.poll_action() {
            let Action::Io(io) = a else { continue };
            let ok = match (io.op, io.buffer) {
                (IoOp::Write, Buffer::Meta(b)) => {
                    assert_eq!(io.leg, LOG_DEVICE, "metadata goes to the log: {io:?}");
                    d.log.insert(io.sector, *m.meta_block(b));
                    true
                }
                (_, Buffer::Meta(_)) => panic!("unexpected {io:?}"),
                (IoOp::Write, Buffer::Request { id, .. }) => {
                    let leg = &mut d.legs[usize::from(io.leg)];
                    for k in 0..u64::from(io.sectors) {
                        leg.insert(io.sector + k, id);
                    }
                    true
                }
                (IoOp::Read, Buffer::Resync(s)) => {
                    let leg = &d.legs[usize::from(io.leg)];
                    let v = (0..u64::from(io.sectors))
                        .map(|k| leg.get(&(io.sector + k)).copied().unwrap_or(0))
                        .collect();
                    resync.insert(s, v);
                    true
                }
                (IoOp::Write, Buffer::Resync(s)) => {
                    let leg = &mut d.legs[usize::from(io.leg)];
                    for (k, &v) in resync[&s].iter().enumerate() {
                        leg.insert(io.sector + k as u64, v);
                    }
                    true
                }
                _ => true,
            };
            assert!(
                io.leg == LOG_DEVICE || io.sector + u64::from(io.sectors) <= DATA_SECTORS,
                "data I/O beyond the leg: {io:?}"
            );
            done.push(io);
            m.complete(io.child, ok);
        }
        // Past the user-I/O window, so that copies run at full speed.
        *now += 10_000_000;
        m.tick(*now);
    }
    done
}

fn write(m: &mut Mirror, id: u64, sector: u64) {
    m.submit(Request::new(id, ReqOp::Write, sector, CHUNK))
        .unwrap();
}

#[test]
fn the_layout_puts_data_at_sector_0_and_each_slots_metadata_in_its_log_area() {
    let g = geometry();
    assert!(g.external);
    assert_eq!(g.data_offset, 0);
    assert_eq!(g.data_sectors, DATA_SECTORS);
    assert_eq!(g.leg_sectors_needed(), DATA_SECTORS);
    let area = g.meta_sectors();
    assert_eq!(area, g.bitmap_sector[1] + u64::from(g.segment_count) * 8);
    assert_eq!(g.log_sector(2, 8), 2 * area + 8);
    assert_eq!(g.validate(), Ok(()));
    // A superblock keeps the layout: the flag round-trips.
    let sb = new_superblock(Uuid([1; 16]), &[Uuid([2; 16])], 0, g).unwrap();
    let mut block = [0u8; BLOCK_SIZE];
    sb.encode(CopyRole::Primary, &mut block).unwrap();
    let back = Superblock::decode(&block, CopyRole::Primary).unwrap();
    assert_eq!(back.geometry, g);
    // An external layout whose data does not start at 0 is refused.
    let bad = Geometry {
        data_offset: 8,
        ..g
    };
    assert_eq!(bad.validate(), Err(GeometryError::Overlap));
}

#[test]
fn a_blank_log_starts_a_new_mirror_that_copies_everything_unless_nosync() {
    let mut d = Devices {
        legs: vec![HashMap::new(); 2],
        ..Devices::default()
    };
    let asm = assemble(&mut d, BlankLog::Sync).unwrap();
    assert!(asm.legs[..2]
        .iter()
        .all(|l| l.as_ref().is_some_and(|l| l.in_sync)));
    let mut m = Mirror::new(asm, config(), 0);
    assert_eq!(m.chunks_needing_resync(), geometry().chunk_count);
    let mut now = 0;
    let ios = run(&mut m, &mut d, &mut now);
    assert_eq!(m.chunks_needing_resync(), 0);
    assert!(ios.iter().any(|io| io.op == IoOp::Write
        && io.leg == LOG_DEVICE
        && io.sector == geometry().log_sector(1, 0)));
    let nosync = assemble(
        &mut Devices {
            legs: vec![HashMap::new(); 2],
            ..Devices::default()
        },
        BlankLog::NoSync,
    )
    .unwrap();
    assert_eq!(Mirror::new(nosync, config(), 0).chunks_needing_resync(), 0);
    // What LVM leaves on a log it creates: 0xff (in sync) or 0x00
    // throughout, its 16-byte dm-log header at byte 0.
    for fill in [0x00, 0xff] {
        let mut d = Devices {
            legs: vec![HashMap::new(); 2],
            ..Devices::default()
        };
        for s in (0..log_sectors(2)).step_by(8) {
            d.log.insert(s, [fill; BLOCK_SIZE]);
        }
        let first = d.log.get_mut(&0).unwrap();
        first[..4].copy_from_slice(&0x4d69_5272u32.to_le_bytes());
        first[4..8].copy_from_slice(&2u32.to_le_bytes());
        first[8..16].fill(0xff);
        let asm = assemble(&mut d, BlankLog::NoSync).unwrap();
        assert_eq!(asm.template.mirror_uuid, Uuid([5; 16]), "fill {fill:#x}");
    }
}

#[test]
fn a_log_that_is_not_blank_and_not_ours_is_refused_not_started_afresh() {
    let mut d = Devices {
        legs: vec![HashMap::new(); 2],
        ..Devices::default()
    };
    d.log.insert(0, [0xa5; BLOCK_SIZE]);
    d.log
        .insert(geometry().log_sector(1, 0), [0xa5; BLOCK_SIZE]);
    assert_eq!(
        assemble(&mut d, BlankLog::Sync).unwrap_err(),
        AssemblyError::NoMetadata { pos: 0 }
    );
}

#[test]
fn a_log_too_small_for_every_slot_is_refused_with_the_size_needed() {
    let mut d = Devices {
        legs: vec![HashMap::new(); 3],
        ..Devices::default()
    };
    let need = log_sectors(3);
    let r = assemble_external(
        &mut d,
        3,
        geometry(),
        need - 1,
        false,
        BlankLog::Sync,
        Uuid([5; 16]),
    );
    assert_eq!(r.unwrap_err(), AssemblyError::LogTooSmall { need });
}

/// A mirror started on a blank log, written and stopped cleanly.
fn used_mirror() -> Devices {
    let mut d = Devices {
        legs: vec![HashMap::new(); 2],
        ..Devices::default()
    };
    let mut m = Mirror::new(assemble(&mut d, BlankLog::NoSync).unwrap(), config(), 0);
    let mut now = 0;
    write(&mut m, 7, 0);
    write(&mut m, 8, u64::from(CHUNK) * 5);
    run(&mut m, &mut d, &mut now);
    m.suspend();
    run(&mut m, &mut d, &mut now);
    assert!(m.superblock().clean);
    d
}

#[test]
fn a_used_log_assembles_its_mirror_again_with_the_data_on_both_legs() {
    let mut d = used_mirror();
    assert_eq!(d.legs[0], d.legs[1]);
    assert_eq!(d.legs[0].get(&0), Some(&7));
    let asm = assemble(&mut d, BlankLog::Sync).unwrap();
    assert!(asm.template.clean);
    assert_eq!(asm.template.mirror_uuid, Uuid([5; 16]));
    let m = Mirror::new(asm, config(), 0);
    assert_eq!(m.chunks_needing_resync(), 0);
    assert_eq!(m.leg_health(1), LegHealth::Alive);
}

#[test]
fn log_areas_in_the_wrong_order_are_refused() {
    let mut d = used_mirror();
    let area = geometry().meta_sectors();
    let log = std::mem::take(&mut d.log);
    for (sector, block) in log {
        let swapped = if sector < area {
            sector + area
        } else {
            sector - area
        };
        d.log.insert(swapped, block);
    }
    assert!(matches!(
        assemble(&mut d, BlankLog::Sync),
        Err(AssemblyError::WrongLogArea { .. })
    ));
}

#[test]
fn a_member_whose_area_is_blank_is_recorded_failed_and_copied_whole() {
    let mut d = used_mirror();
    let area = geometry().meta_sectors();
    d.log.retain(|&s, _| s < area);
    d.legs[1].clear();
    let asm = assemble(&mut d, BlankLog::Sync).unwrap();
    let member = asm.template.members[1].unwrap();
    assert_eq!(member.state, MemberState::Failed);
    assert!(member.full_copy);
    let mut m = Mirror::new(asm, config(), 0);
    assert_eq!(m.leg_health(1), LegHealth::Rebuilding);
    let mut now = 0;
    run(&mut m, &mut d, &mut now);
    assert_eq!(m.leg_health(1), LegHealth::Alive);
    assert_eq!(d.legs[1], d.legs[0]);
    assert!(m.superblock().members[1].is_some_and(|m| m.state == MemberState::InSync));
}

#[test]
fn legs_of_an_external_mirror_are_not_added_by_message_and_a_log_failure_shows() {
    let mut d = used_mirror();
    let mut m = Mirror::new(assemble(&mut d, BlankLog::Sync).unwrap(), config(), 0);
    assert_eq!(
        m.add_leg(Position(2), None, Uuid([8; 16]), DATA_SECTORS),
        Err(AdminError::ExternalLog)
    );
    assert!(!m.log_failed());
    // The next metadata write fails on the log.
    write(&mut m, 9, u64::from(CHUNK) * 9);
    while let Some(a) = m.poll_action() {
        if let Action::Io(io) = a {
            m.complete(io.child, io.leg != LOG_DEVICE);
        }
    }
    assert!(m.log_failed());
}

/// A caller whose allocator cannot hold the mirror, and counts the reads
/// assembly made before asking.
struct NoRoom(Devices, usize);

impl BlockReader for NoRoom {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        self.1 += 1;
        self.0.read_block(pos, sector, out)
    }
    fn admit(&mut self, g: &Geometry) -> Result<(), MemoryShortfall> {
        assert_eq!(*g, geometry(), "asked with the mirror's geometry");
        assert_eq!(self.1, 0, "asked before any metadata is read");
        Err(MemoryShortfall { needs: 2, room: 1 })
    }
}

#[test]
fn a_mirror_the_caller_cannot_hold_is_refused_before_its_log_is_read() {
    let mut d = NoRoom(
        Devices {
            legs: vec![HashMap::new(); 2],
            ..Devices::default()
        },
        0,
    );
    let r = assemble_external(
        &mut d,
        2,
        geometry(),
        log_sectors(2),
        false,
        BlankLog::Sync,
        Uuid([5; 16]),
    );
    let want = MemoryShortfall { needs: 2, room: 1 };
    assert_eq!(r.unwrap_err(), AssemblyError::OutOfMemory(want));
}

/// Metadata blocks of legs by position (a native table's legs).
struct Native(Vec<HashMap<u64, [u8; BLOCK_SIZE]>>);

impl BlockReader for Native {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        *out = self.0[pos].get(&sector).copied().unwrap_or([0; BLOCK_SIZE]);
        true
    }
}

/// The metadata of slot `slot` of a 2-leg mirror of geometry `geo`, by
/// sector from the start of its area.
fn metadata(geo: Geometry, slot: usize) -> HashMap<u64, [u8; BLOCK_SIZE]> {
    let uuids = [Uuid([1; 16]), Uuid([2; 16])];
    let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
    let mut blocks = HashMap::new();
    new_leg_blocks::<()>(&sb, |sector, b| {
        blocks.insert(sector, *b);
        Ok(())
    })
    .unwrap();
    blocks
}

#[test]
fn metadata_of_the_other_layout_is_refused_on_either_side() {
    // A log area's metadata copied onto a leg of a native table.
    let mut legs = Native(vec![metadata(geometry(), 0)]);
    assert_eq!(
        dmmirror_core::mirror::assemble(&mut legs, 1).unwrap_err(),
        AssemblyError::WrongLayout { pos: 0 }
    );
    // A leg's metadata in a log area: not taken for the log's slot.
    let leg = Geometry::for_leg(1 << 16, CHUNK).unwrap();
    let mut d = Devices {
        log: metadata(leg, 0),
        legs: vec![HashMap::new()],
    };
    assert_eq!(
        assemble(&mut d, BlankLog::Sync).unwrap_err(),
        AssemblyError::WrongLayout { pos: 0 }
    );
}
