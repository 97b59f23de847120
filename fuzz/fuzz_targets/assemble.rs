//! Legs built from fuzz bytes: a small mirror of one to three legs whose
//! metadata the bytes then change (fields re-encoded validly, bytes
//! flipped, blocks lost, superblocks swapped between legs, legs cut short
//! or replaced by another mirror's). Assembly must refuse with a reason, or
//! give a mirror whose first resync, reads, writes and clean stop run
//! without a panic (the core's debug assertions are on, and its
//! bookkeeping invariants are checked after every step).
#![no_main]

use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use libfuzzer_sys::fuzz_target;
use std::collections::{HashMap, HashSet};

const CHUNK: u32 = 8;
const LEG_SECTORS: u64 = 2048 + 64 * CHUNK as u64;
/// Superblock copies and segment 0's copies of the tiny geometry.
const META_SECTORS: [u64; 4] = [0, 8, 16, 24];
/// Steps of the run after assembly, and of the clean stop: far more than
/// a 64-chunk mirror needs.
const RUN_STEPS: usize = 4_000;

struct Leg {
    blocks: HashMap<u64, [u8; BLOCK_SIZE]>,
    lost: HashSet<u64>,
    sectors: u64,
}

struct Legs(Vec<Leg>);

impl BlockReader for Legs {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        let Some(leg) = self.0.get(pos) else {
            return false;
        };
        if sector + 8 > leg.sectors || leg.lost.contains(&sector) {
            return false;
        }
        *out = leg.blocks.get(&sector).copied().unwrap_or([0; BLOCK_SIZE]);
        true
    }
}

/// The fuzz bytes, consumed front to back.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
    }

    fn below(&mut self, n: usize) -> Option<usize> {
        Some(usize::from(self.u8()?) % n)
    }
}

/// `count` fresh legs of one mirror.
fn new_mirror(count: usize, mirror: u8) -> Vec<Leg> {
    let geo = Geometry::for_leg(LEG_SECTORS, CHUNK).expect("a valid tiny geometry");
    // Distinct, never nil, and distinct from every other mirror's.
    let uuids: Vec<Uuid> = (0..count)
        .map(|i| {
            let mut id = [0xa5; 16];
            id[0] = mirror;
            id[1] = i as u8 + 1;
            Uuid(id)
        })
        .collect();
    (0..count)
        .map(|slot| {
            let sb = new_superblock(Uuid([mirror | 1; 16]), &uuids, slot, geo).expect("valid");
            let mut blocks = HashMap::new();
            new_leg_blocks::<()>(&sb, |sector, b| {
                blocks.insert(sector, *b);
                Ok(())
            })
            .expect("in memory");
            Leg {
                blocks,
                lost: HashSet::new(),
                sectors: LEG_SECTORS,
            }
        })
        .collect()
}

/// Changes one field of one superblock copy and encodes it again, if the
/// result is still a valid copy (a reader's odd but valid cases).
fn tweak_superblock(leg: &mut Leg, b: &mut Bytes) -> Option<()> {
    let role = CopyRole::BOTH[b.below(2)?];
    let sector = geometry::SUPERBLOCK_SECTOR[role.index()];
    let mut sb = Superblock::decode(leg.blocks.get(&sector)?, role).ok()?;
    let v = u64::from(b.u8()?);
    let slot = b.below(MAX_LEGS)?;
    match b.below(8)? {
        0 => sb.event = v,
        1 => sb.modified_since_event = v,
        2 => sb.serial = Serial::new(v),
        3 => sb.clean = v % 2 == 0,
        4 => sb.members[slot] = None,
        5 => {
            let state = [
                MemberState::InSync,
                MemberState::Failed,
                MemberState::Removed,
                MemberState::Rebuilding,
            ][v as usize % 4];
            if let Some(m) = sb.members[slot].as_mut() {
                m.state = state;
            }
        }
        6 => {
            if let Some(m) = sb.members[slot].as_mut() {
                m.state_event = v;
                m.full_copy = v % 2 == 1;
            }
        }
        _ => {
            if let Some(m) = sb.members[slot].as_mut() {
                m.rebuild_checkpoint = v;
            }
        }
    }
    let mut block = [0u8; BLOCK_SIZE];
    sb.encode(role, &mut block).ok()?;
    leg.blocks.insert(sector, block);
    Some(())
}

/// Sets one chunk byte (any valid one) and the serial of one copy of
/// segment 0, encoded validly.
fn tweak_segment(leg: &mut Leg, b: &mut Bytes) -> Option<()> {
    let role = CopyRole::BOTH[b.below(2)?];
    let sb = Superblock::decode(leg.blocks.get(&0)?, CopyRole::Primary).ok()?;
    let g = sb.geometry;
    let sector = g.segment_sector(role, 0);
    let expect = SegmentExpect {
        role,
        index: 0,
        mirror_uuid: sb.mirror_uuid,
        chunk_count: g.chunk_count,
    };
    let block = leg.blocks.get(&sector)?;
    let (mut header, chunks) = decode_segment(block, &expect).ok()?;
    let mut chunks = chunks.to_vec();
    let status = [
        ChunkStatus::Clean,
        ChunkStatus::Dirty,
        ChunkStatus::Unwritten,
    ][b.below(3)?];
    let at = b.below(chunks.len())?;
    chunks[at] = ChunkByte::new(status, b.u8()? % 2 == 1).raw();
    header.serial = Serial::new(u64::from(b.u8()?));
    let mut out = [0u8; BLOCK_SIZE];
    encode_segment(&header, &chunks, &mut out).ok()?;
    leg.blocks.insert(sector, out);
    Some(())
}

/// Applies changes from the bytes until they run out.
fn mutate(legs: &mut Vec<Leg>, b: &mut Bytes) -> Option<()> {
    loop {
        let op = b.below(8)?;
        let i = b.below(legs.len())?;
        match op {
            0 | 1 => {
                let _ = tweak_superblock(&mut legs[i], b);
            }
            2 => {
                let _ = tweak_segment(&mut legs[i], b);
            }
            3 => {
                let sector = META_SECTORS[b.below(4)?];
                let at = usize::from(b.u16()?) % BLOCK_SIZE;
                let x = b.u8()?.max(1);
                legs[i].blocks.entry(sector).or_insert([0; BLOCK_SIZE])[at] ^= x;
            }
            4 => {
                legs[i].lost.insert(META_SECTORS[b.below(4)?]);
            }
            5 => {
                // Another leg's superblock copy (a clone, or a swap).
                let from = b.below(legs.len())?;
                let sector = META_SECTORS[b.below(2)?];
                if let Some(block) = legs[from].blocks.get(&sector).copied() {
                    legs[i].blocks.insert(sector, block);
                }
            }
            6 => legs[i].sectors = LEG_SECTORS - u64::from(b.u16()?) % LEG_SECTORS,
            _ => {
                let other = b.u8()?.max(1);
                legs[i] = new_mirror(1, other).pop().expect("one leg");
            }
        }
    }
}

/// Runs the mirror: the bytes left choose requests and I/O outcomes; every
/// I/O completes; then a clean stop.
fn run(asm: Assembly, b: &mut Bytes) {
    // Small tables (a run has a few requests in flight) and no rate
    // limit: the copies go at the speed of the completions.
    let cfg = Config {
        max_requests: 16,
        clean_delay_ns: 1_000_000,
        resync_min_kib: 0,
        resync_max_kib: 0,
        ..Config::default()
    };
    let mut m = Mirror::new(asm, cfg, 0);
    let data = m.geometry().data_sectors;
    let (mut now, mut next_id, mut inflight) = (0u64, 0u64, Vec::new());
    let mut stopping = false;
    for step in 0..RUN_STEPS * 2 {
        // The stop comes once the bytes are used and the copies are done
        // (or after RUN_STEPS).
        let settled =
            b.0.is_empty() && inflight.is_empty() && m.is_idle() && m.chunks_needing_resync() == 0;
        if !stopping && (settled || step == RUN_STEPS) {
            m.suspend();
            stopping = true;
        }
        if !stopping && step % 4 == 0 {
            if let (Some(kind), Some(at), Some(len)) = (b.u8(), b.u16(), b.u8()) {
                let sector = u64::from(at) % data;
                let sectors = (u64::from(len % 16) + 1).min(data - sector) as u32;
                let op = [ReqOp::Read, ReqOp::Write, ReqOp::Flush, ReqOp::Discard]
                    [usize::from(kind % 4)];
                let (sector, sectors) = if op == ReqOp::Flush {
                    (0, 0)
                } else {
                    (sector, sectors)
                };
                next_id += 1;
                let _ = m.submit(Request {
                    id: next_id,
                    op,
                    sector,
                    sectors,
                    fua: kind & 0x10 != 0,
                    preflush: kind & 0x20 != 0,
                    no_repair: kind & 0x40 != 0,
                });
            }
        }
        m.check_invariants();
        while let Some(a) = m.poll_action() {
            if let Action::Io(io) = a {
                inflight.push(io.child);
            }
        }
        if let Some(child) = inflight.pop() {
            // Failures only while running: the clean stop must finish.
            let ok = stopping || b.u8().is_none_or(|x| x % 16 != 0);
            m.complete(child, ok);
        } else {
            now += 1_000_000;
            m.tick(now);
        }
        if m.is_suspended() && inflight.is_empty() {
            return;
        }
    }
    assert!(m.is_dead(), "the clean stop never finished");
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let Some(count) = b.below(3) else {
        return;
    };
    let force = b.u8().is_some_and(|x| x % 2 == 1);
    let mut legs = Legs(new_mirror(count + 1, 0x5a));
    // The next byte says how many 8-byte groups change the legs; the rest
    // drives the run.
    let groups = usize::from(b.u8().unwrap_or(0) % 8);
    let (changes, rest) = b.0.split_at((groups * 8).min(b.0.len()));
    let _ = mutate(&mut legs.0, &mut Bytes(changes));
    match assemble_with(&mut legs, count + 1, force) {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(asm) => run(asm, &mut Bytes(rest)),
    }
});
