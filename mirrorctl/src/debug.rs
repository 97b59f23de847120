//! `mirrorctl debug mark` and `debug corrupt`: change metadata by hand,
//! with the format's own protocol or as silent damage, for tests.

use crate::leg::{newest_serial, Leg, LegMeta};
use crate::{fail, io_err, Outcome, StateArg};
use dmmirror_core::format::*;
use std::path::Path;

pub fn mark(
    path: &Path,
    chunks: &[u64],
    state: StateArg,
    modified: bool,
    tear: Option<u8>,
) -> Outcome {
    let leg = Leg::open(path, true).map_err(io_err(path))?;
    let meta = LegMeta::read(&leg).map_err(io_err(path))?;
    let Some(sb) = meta.superblock().copied() else {
        return fail(1, format!("{}: no valid superblock", path.display()));
    };
    let g = sb.geometry;
    let status = match state {
        StateArg::Clean => ChunkStatus::Clean,
        StateArg::Dirty => ChunkStatus::Dirty,
        StateArg::Unwritten => ChunkStatus::Unwritten,
    };
    let mut bytes = meta.chunks.clone();
    let mut touched: Vec<u32> = Vec::new();
    for &c in chunks {
        if c >= g.chunk_count {
            return fail(
                2,
                format!("chunk {c} out of range (the mirror has {})", g.chunk_count),
            );
        }
        bytes[c as usize] = ChunkByte::new(status, modified).raw();
        touched.push(g.segment_of(c));
    }
    touched.sort_unstable();
    touched.dedup();
    for index in touched {
        let (first, count) = g.segment_chunks(index);
        let serial = newest_serial(&meta.segments[index as usize]).next();
        let content = &bytes[first as usize..(first + u64::from(count)) as usize];
        for role in CopyRole::BOTH {
            let header = SegmentHeader {
                role,
                index,
                serial,
                mirror_uuid: sb.mirror_uuid,
                chunk_count: g.chunk_count,
            };
            let mut block = [0u8; BLOCK_SIZE];
            encode_segment(&header, content, &mut block).expect("valid by construction");
            let sector = g.segment_sector(role, index);
            if let (CopyRole::Primary, Some(n)) = (role, tear) {
                let len = usize::from(n) * SECTOR_SIZE;
                leg.write_durable(sector, &block[..len])
                    .map_err(io_err(path))?;
                outln!("segment {index}: wrote {n} of 8 sectors of the primary (serial {serial}), then stopped as if crashed");
                return Ok(());
            }
            leg.write_durable(sector, &block).map_err(io_err(path))?;
        }
        outln!("segment {index}: both copies written with serial {serial}");
    }
    Ok(())
}

pub fn corrupt(path: &Path, segment: Option<u32>, role: CopyRole, byte: usize) -> Outcome {
    if byte >= BLOCK_SIZE {
        return fail(
            2,
            format!("byte offset {byte} is outside the {BLOCK_SIZE}-byte block"),
        );
    }
    let leg = Leg::open(path, true).map_err(io_err(path))?;
    let sector = match segment {
        None => geometry::SUPERBLOCK_SECTOR[role.index()],
        Some(index) => {
            let meta = LegMeta::read(&leg).map_err(io_err(path))?;
            let Some(sb) = meta.superblock() else {
                return fail(1, "no valid superblock to locate the bitmap");
            };
            if index >= sb.geometry.segment_count {
                return fail(
                    2,
                    format!(
                        "segment {index} out of range ({} segments)",
                        sb.geometry.segment_count
                    ),
                );
            }
            sb.geometry.segment_sector(role, index)
        }
    };
    let mut block = leg.read_block(sector).map_err(io_err(path))?;
    if block.len < BLOCK_SIZE {
        return fail(
            1,
            format!("the block at sector {sector} runs past the end of the leg"),
        );
    }
    block.bytes[byte] ^= 0xff;
    leg.write_durable(sector, &block.bytes)
        .map_err(io_err(path))?;
    outln!(
        "flipped byte {byte} of the {} copy at sector {sector}",
        role.name()
    );
    Ok(())
}
