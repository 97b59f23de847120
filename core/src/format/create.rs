//! Fresh metadata for a new mirror: what `create` writes on every leg.

use super::bitmap::{encode_segment, ChunkByte, SegmentHeader, CHUNKS_PER_SEGMENT};
use super::geometry::{Geometry, SUPERBLOCK_SECTOR};
use super::superblock::{Member, MemberState, Superblock, MAX_LEGS};
use super::{CopyRole, Serial, Uuid, BLOCK_SIZE};

/// Why a new mirror cannot be described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateError {
    /// No legs, or more than [`MAX_LEGS`].
    LegCount(usize),
    /// A leg UUID is nil or appears twice.
    BadLegUuid,
}

impl core::fmt::Display for CreateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CreateError::LegCount(n) => write!(f, "{n} legs given; a mirror has 1 to {MAX_LEGS}"),
            CreateError::BadLegUuid => f.write_str("a leg uuid is nil or given twice"),
        }
    }
}

/// The superblock of leg `slot` of a new mirror whose legs are `legs`: all
/// in sync, event 1, clean.
pub fn new_superblock(
    mirror_uuid: Uuid,
    legs: &[Uuid],
    slot: usize,
    geometry: Geometry,
) -> Result<Superblock, CreateError> {
    let mut sb = Superblock::BLANK;
    fill_new_superblock(&mut sb, mirror_uuid, legs, slot, geometry)?;
    Ok(sb)
}

/// As [`new_superblock`], in place (kernel stacks have no room for
/// superblocks passed by value). On an error `out` is unchanged.
pub fn fill_new_superblock(
    out: &mut Superblock,
    mirror_uuid: Uuid,
    legs: &[Uuid],
    slot: usize,
    geometry: Geometry,
) -> Result<(), CreateError> {
    if legs.is_empty() || legs.len() > MAX_LEGS || slot >= legs.len() {
        return Err(CreateError::LegCount(legs.len()));
    }
    for (i, &uuid) in legs.iter().enumerate() {
        if uuid.is_nil() || legs[..i].contains(&uuid) {
            return Err(CreateError::BadLegUuid);
        }
    }
    for (i, member) in out.members.iter_mut().enumerate() {
        *member = legs.get(i).map(|&uuid| Member {
            uuid,
            state: MemberState::InSync,
            state_event: 1,
            rebuild_checkpoint: 0,
            full_copy: false,
        });
    }
    out.serial = Serial::FIRST;
    out.mirror_uuid = mirror_uuid;
    out.leg_uuid = legs[slot];
    out.slot = slot as u8;
    out.event = 1;
    out.clean = true;
    out.modified_since_event = 0;
    out.geometry = geometry;
    Ok(())
}

/// Calls `emit(sector, block)` for every metadata block of a new leg, in the
/// order they must be written: both bitmap copies (every chunk UNWRITTEN),
/// then the two superblock copies, so that a leg whose creation was cut
/// short carries no valid superblock and is not taken for a mirror leg.
pub fn new_leg_blocks<E>(
    sb: &Superblock,
    mut emit: impl FnMut(u64, &[u8; BLOCK_SIZE]) -> Result<(), E>,
) -> Result<(), E> {
    bitmap_blocks(sb, ChunkByte::UNWRITTEN, &mut emit)?;
    let mut block = [0u8; BLOCK_SIZE];
    for role in CopyRole::BOTH {
        sb.encode(role, &mut block).expect("valid by construction");
        emit(SUPERBLOCK_SECTOR[role.index()], &block)?;
    }
    Ok(())
}

/// Calls `emit(sector, block)` for both copies of every bitmap segment of
/// `sb`'s geometry, every chunk `byte` (a new leg's: UNWRITTEN).
pub fn bitmap_blocks<E>(
    sb: &Superblock,
    byte: ChunkByte,
    mut emit: impl FnMut(u64, &[u8; BLOCK_SIZE]) -> Result<(), E>,
) -> Result<(), E> {
    let g = &sb.geometry;
    let content = [byte.raw(); CHUNKS_PER_SEGMENT];
    let mut block = [0u8; BLOCK_SIZE];
    for role in CopyRole::BOTH {
        for index in 0..g.segment_count {
            let (_, count) = g.segment_chunks(index);
            let header = SegmentHeader {
                role,
                index,
                serial: Serial::FIRST,
                mirror_uuid: sb.mirror_uuid,
                chunk_count: g.chunk_count,
            };
            encode_segment(&header, &content[..count as usize], &mut block)
                .expect("valid by construction");
            emit(g.segment_sector(role, index), &block)?;
        }
    }
    Ok(())
}
