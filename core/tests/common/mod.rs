//! Shared fixtures for the core's tests.
#![allow(dead_code)]

pub mod rig;

use dmmirror_core::format::*;
use dmmirror_core::mirror::{Config, ReadPolicy};

/// A small mirror configuration for unit tests: a short clean delay, no
/// resync rate limit, no split reads.
pub fn test_config() -> Config {
    Config {
        max_requests: 16,
        max_segment_updates: 4,
        resync_depth: 2,
        clean_delay_ns: 1_000_000,
        read_policy: ReadPolicy::LeastPending,
        resync_min_kib: 0,
        resync_max_kib: 0,
        split_read_sectors: 0,
    }
}

pub fn uuid(seed: u8) -> Uuid {
    Uuid::from_random_bytes(core::array::from_fn(|i| {
        seed.wrapping_mul(31).wrapping_add(i as u8 * 17)
    }))
}

/// The example used in docs/format.md: a 2-leg mirror over 1 GiB legs with
/// 1 MiB chunks, seen from leg 0, while leg 1 is being rebuilt.
pub fn example_superblock() -> Superblock {
    let geometry = Geometry::for_leg(2 * 1024 * 1024, 2048).unwrap();
    let mut members = [None; MAX_LEGS];
    members[0] = Some(Member {
        uuid: uuid(1),
        state: MemberState::InSync,
        state_event: 1,
        rebuild_checkpoint: 0,
        full_copy: false,
    });
    members[1] = Some(Member {
        uuid: uuid(2),
        state: MemberState::Rebuilding,
        state_event: 3,
        rebuild_checkpoint: 100,
        full_copy: true,
    });
    Superblock {
        serial: Serial::new(5),
        mirror_uuid: uuid(0),
        leg_uuid: uuid(1),
        slot: 0,
        event: 3,
        clean: true,
        modified_since_event: 2,
        geometry,
        members,
    }
}

/// Chunk bytes of the example segment: mostly never written, a few clean,
/// dirty and modified chunks.
pub fn example_chunks(count: usize) -> Vec<u8> {
    (0..count)
        .map(|i| {
            let b = match i {
                0..=3 => ChunkByte::CLEAN,
                4 | 5 => ChunkByte::new(ChunkStatus::Dirty, false),
                6 => ChunkByte::new(ChunkStatus::Dirty, true),
                7 => ChunkByte::new(ChunkStatus::Clean, true),
                _ => ChunkByte::UNWRITTEN,
            };
            b.raw()
        })
        .collect()
}

pub fn example_segment_header(sb: &Superblock, role: CopyRole) -> SegmentHeader {
    SegmentHeader {
        role,
        index: 0,
        serial: Serial::new(9),
        mirror_uuid: sb.mirror_uuid,
        chunk_count: sb.geometry.chunk_count,
    }
}

pub fn encode_sb(sb: &Superblock, role: CopyRole) -> [u8; BLOCK_SIZE] {
    let mut out = [0u8; BLOCK_SIZE];
    sb.encode(role, &mut out).unwrap();
    out
}

pub fn encode_seg(h: &SegmentHeader, chunks: &[u8]) -> [u8; BLOCK_SIZE] {
    let mut out = [0u8; BLOCK_SIZE];
    encode_segment(h, chunks, &mut out).unwrap();
    out
}

/// `hexdump -C` style: offset, 16 bytes, ASCII; repeated lines become `*`.
pub fn hexdump(data: &[u8]) -> String {
    let mut out = String::new();
    let mut prev: Option<&[u8]> = None;
    let mut starred = false;
    for (i, line) in data.chunks(16).enumerate() {
        if prev == Some(line) {
            if !starred {
                out.push_str("*\n");
                starred = true;
            }
            continue;
        }
        starred = false;
        prev = Some(line);
        out.push_str(&format!("{:08x} ", i * 16));
        for (j, b) in line.iter().enumerate() {
            out.push_str(if j == 8 { "  " } else { " " });
            out.push_str(&format!("{b:02x}"));
        }
        out.push_str("  |");
        out.extend(line.iter().map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        }));
        out.push_str("|\n");
    }
    out.push_str(&format!("{:08x}\n", data.len()));
    out
}

/// A block in which the sectors named by `mask` hold `new` and the rest `old`:
/// what a crash leaves of a write torn at sector boundaries, in any order.
pub fn tear(new: &[u8; BLOCK_SIZE], old: &[u8; BLOCK_SIZE], mask: u8) -> [u8; BLOCK_SIZE] {
    let mut out = *old;
    for s in 0..BLOCK_SIZE / SECTOR_SIZE {
        if mask & (1 << s) != 0 {
            let r = s * SECTOR_SIZE..(s + 1) * SECTOR_SIZE;
            out[r.clone()].copy_from_slice(&new[r]);
        }
    }
    out
}
