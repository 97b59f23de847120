//! On-disk format, version 1. `docs/format.md` describes every byte.
//!
//! Each leg starts with its own metadata, so any single leg is a complete
//! volume: two superblock copies, then two copies of the write-intent
//! bitmap (split into 4 KiB segments), then the data area.

pub mod bitmap;
mod bytes;
pub mod create;
pub mod geometry;
mod serial;
pub mod superblock;
mod uuid;

pub use bitmap::{
    choose_copy, decode_segment, encode_segment, load_segment, segment_size, Chosen, ChunkByte,
    ChunkStatus, EncodeError, SegmentExpect, SegmentHeader, SegmentLoad, CHUNKS_PER_SEGMENT,
    SEGMENT_HEADER_LEN,
};
pub use create::{bitmap_blocks, fill_new_superblock, new_leg_blocks, new_superblock, CreateError};
pub use geometry::{Geometry, GeometryError};
pub use serial::Serial;
pub use superblock::{Member, MemberState, Superblock, SuperblockLoad, MAX_LEGS};
pub use uuid::Uuid;

/// Bytes in a sector, the unit of every offset and length on disk.
pub const SECTOR_SIZE: usize = 512;
/// Bytes in a metadata block (a superblock copy or a bitmap segment).
pub const BLOCK_SIZE: usize = 4096;
/// Sectors in a metadata block.
pub const BLOCK_SECTORS: u64 = (BLOCK_SIZE / SECTOR_SIZE) as u64;
/// The on-disk format version this code reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Offset of the serial in both kinds of block.
pub(crate) const SERIAL_OFFSET: usize = 16;
/// Offset of the CRC-32 in both kinds of block.
pub(crate) const CRC_OFFSET: usize = 24;

/// Which of the two copies of a metadata block this is. The spec writes the
/// primary first, then the secondary; each copy lives at a fixed place and
/// records its role, so a block found in the wrong place is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CopyRole {
    /// Written first by an update, unless the secondary alone holds the
    /// newest state (a crash between the copies).
    Primary,
    /// The other copy, written once the first is durable.
    Secondary,
}

impl CopyRole {
    /// Both roles, in write order.
    pub const BOTH: [CopyRole; 2] = [CopyRole::Primary, CopyRole::Secondary];

    /// The other copy.
    pub const fn other(self) -> CopyRole {
        match self {
            CopyRole::Primary => CopyRole::Secondary,
            CopyRole::Secondary => CopyRole::Primary,
        }
    }

    /// 0 for the primary, 1 for the secondary.
    pub const fn index(self) -> usize {
        match self {
            CopyRole::Primary => 0,
            CopyRole::Secondary => 1,
        }
    }

    pub(crate) const fn code(self) -> u8 {
        match self {
            CopyRole::Primary => 1,
            CopyRole::Secondary => 2,
        }
    }

    /// Lower-case name for status text.
    pub const fn name(self) -> &'static str {
        match self {
            CopyRole::Primary => "primary",
            CopyRole::Secondary => "secondary",
        }
    }
}

/// Why a metadata block was rejected. Every variant means "this copy is
/// unusable"; none of them is ever a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer is not exactly one block long.
    WrongLength {
        /// Length of the buffer given.
        len: usize,
    },
    /// A field lies outside the buffer (an internal guard; never expected).
    Truncated {
        /// Offset of the field.
        offset: usize,
    },
    /// The magic bytes are not ours.
    BadMagic,
    /// A format version this code does not know.
    UnsupportedVersion {
        /// Version found.
        found: u16,
    },
    /// The stored CRC-32 does not match the contents (torn or corrupt).
    BadChecksum {
        /// CRC stored in the block.
        stored: u32,
        /// CRC computed over the block.
        computed: u32,
    },
    /// The serial is 0, which no written copy carries.
    ZeroSerial,
    /// The role byte does not match the place the block was read from.
    WrongRole {
        /// Role byte found.
        found: u8,
    },
    /// A bitmap segment carries another segment's index.
    WrongSegment {
        /// Index found.
        found: u32,
        /// Index of the place it was read from.
        expected: u32,
    },
    /// The block belongs to another mirror.
    ForeignMirror,
    /// The bitmap segment was written for a different chunk count.
    ChunkCountMismatch {
        /// Chunk count found.
        found: u64,
        /// Chunk count expected from the superblock.
        expected: u64,
    },
    /// The segment's size field is not what its index implies.
    BadSize {
        /// Size found.
        found: u32,
        /// Size expected.
        expected: u32,
    },
    /// A reserved byte is not zero.
    ReservedNotZero {
        /// Offset of the first offending byte in the block.
        offset: usize,
    },
    /// A chunk byte has a reserved status or a reserved bit set.
    BadChunkByte {
        /// Chunk index within the segment.
        index: usize,
        /// The byte found.
        value: u8,
    },
    /// Unknown flag bits in a superblock.
    UnknownFlags {
        /// The flags word found.
        flags: u32,
    },
    /// The geometry fields of a superblock are inconsistent.
    BadGeometry(GeometryError),
    /// The mirror UUID is all zero, which no writer makes.
    NilMirror,
    /// Both superblock copies are valid but belong to different mirrors,
    /// legs, slots or geometries.
    CopiesDisagree,
    /// The event counters contradict each other: `event` is 0 (a written
    /// superblock starts at 1), or `modified_since_event` lies after it.
    BadEvent {
        /// The event counter found.
        event: u64,
        /// `modified_since_event` found.
        modified_since: u64,
    },
    /// The member table is inconsistent.
    BadMember {
        /// Slot of the offending entry.
        slot: u8,
        /// What is wrong with it.
        reason: MemberFault,
    },
}

/// What is wrong with a member-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberFault {
    /// The state byte is not a known state.
    UnknownState(u8),
    /// The flags byte has an unknown bit set.
    UnknownFlags(u8),
    /// An empty slot has non-zero fields.
    EmptySlotNotZero,
    /// A used slot has the nil UUID.
    NilUuid,
    /// This leg's own slot is empty or names another leg.
    OwnSlotMismatch,
    /// This leg's slot number is out of range.
    SlotOutOfRange,
    /// Two slots name the same leg.
    DuplicateUuid,
    /// A rebuild checkpoint lies past the last chunk.
    CheckpointPastEnd,
    /// The state was recorded at an event after the superblock's own.
    StateEventAfterEvent,
}

impl core::fmt::Display for MemberFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MemberFault::UnknownState(v) => write!(f, "unknown state {v}"),
            MemberFault::UnknownFlags(v) => write!(f, "unknown member flags {v:#04x}"),
            MemberFault::EmptySlotNotZero => f.write_str("empty slot has non-zero fields"),
            MemberFault::NilUuid => f.write_str("used slot has a nil uuid"),
            MemberFault::OwnSlotMismatch => f.write_str("this leg's slot does not name this leg"),
            MemberFault::SlotOutOfRange => f.write_str("slot number out of range"),
            MemberFault::DuplicateUuid => f.write_str("leg uuid appears in two slots"),
            MemberFault::CheckpointPastEnd => f.write_str("rebuild checkpoint past the last chunk"),
            MemberFault::StateEventAfterEvent => {
                f.write_str("state recorded at an event after the superblock's")
            }
        }
    }
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::WrongLength { len } => write!(
                f,
                "only {len} of the block's {BLOCK_SIZE} bytes (it runs past the end of the device)"
            ),
            DecodeError::Truncated { offset } => {
                write!(f, "field at offset {offset} outside block")
            }
            DecodeError::BadMagic => f.write_str("bad magic"),
            DecodeError::UnsupportedVersion { found } => {
                write!(
                    f,
                    "format version {found} not supported (this code reads {FORMAT_VERSION})"
                )
            }
            DecodeError::BadChecksum { stored, computed } => {
                write!(
                    f,
                    "crc32 mismatch (stored {stored:08x}, computed {computed:08x})"
                )
            }
            DecodeError::ZeroSerial => f.write_str("serial is 0"),
            DecodeError::WrongRole { found } => {
                write!(f, "copy role {found} does not match its location")
            }
            DecodeError::WrongSegment { found, expected } => {
                write!(f, "segment index {found} found where {expected} belongs")
            }
            DecodeError::ForeignMirror => f.write_str("belongs to another mirror"),
            DecodeError::ChunkCountMismatch { found, expected } => {
                write!(f, "written for {found} chunks, superblock says {expected}")
            }
            DecodeError::BadSize { found, expected } => {
                write!(f, "size {found}, expected {expected}")
            }
            DecodeError::ReservedNotZero { offset } => {
                write!(f, "reserved byte at offset {offset} is not zero")
            }
            DecodeError::BadChunkByte { index, value } => {
                write!(f, "chunk byte {index} has invalid value {value:#04x}")
            }
            DecodeError::UnknownFlags { flags } => write!(f, "unknown flags {flags:#010x}"),
            DecodeError::BadGeometry(e) => write!(f, "bad geometry: {e}"),
            DecodeError::NilMirror => f.write_str("the mirror uuid is nil"),
            DecodeError::CopiesDisagree => f.write_str(
                "both superblock copies are valid but describe different mirrors, legs or layouts (an interrupted create?)",
            ),
            DecodeError::BadEvent {
                event,
                modified_since,
            } => write!(
                f,
                "event {event} with MODIFIED recorded since event {modified_since}: events start at 1 and tracking cannot start later"
            ),
            DecodeError::BadMember { slot, reason } => write!(f, "member slot {slot}: {reason}"),
        }
    }
}

/// Checks length, magic, version and CRC, the common frame of both block kinds.
pub(crate) fn check_frame(
    block: &[u8],
    magic: &[u8],
    version_off: usize,
) -> Result<(), DecodeError> {
    if block.len() != BLOCK_SIZE {
        return Err(DecodeError::WrongLength { len: block.len() });
    }
    if block.get(..magic.len()) != Some(magic) {
        return Err(DecodeError::BadMagic);
    }
    let version = bytes::u16_at(block, version_off)?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion { found: version });
    }
    let stored = bytes::u32_at(block, CRC_OFFSET)?;
    let computed = bytes::block_crc(block, CRC_OFFSET);
    if stored != computed {
        return Err(DecodeError::BadChecksum { stored, computed });
    }
    if bytes::u64_at(block, SERIAL_OFFSET)? == 0 {
        return Err(DecodeError::ZeroSerial);
    }
    Ok(())
}

/// Checks the role byte against the place the block was read from.
pub(crate) fn check_role(found: u8, expected: CopyRole) -> Result<(), DecodeError> {
    if found == expected.code() {
        Ok(())
    } else {
        Err(DecodeError::WrongRole { found })
    }
}

/// Stamps the CRC of a fully encoded block.
pub(crate) fn seal(block: &mut [u8; BLOCK_SIZE]) {
    let crc = bytes::block_crc(block, CRC_OFFSET);
    bytes::Put(block).u32(CRC_OFFSET, crc);
}
