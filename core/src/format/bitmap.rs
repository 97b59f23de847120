//! The write-intent bitmap: one byte per chunk, stored as 4 KiB segments,
//! each segment twice (primary and secondary), each copy framed by the
//! spec's header `[WIBM][size][primary/secondary][serial][crc32]`.

use super::bytes::{self, Put};
use super::{check_frame, check_role, seal, CopyRole, DecodeError, Serial, Uuid};
use super::{BLOCK_SIZE, CRC_OFFSET, FORMAT_VERSION, SERIAL_OFFSET};

/// Magic of a bitmap segment.
pub const SEGMENT_MAGIC: [u8; 4] = *b"WIBM";
/// Bytes of header in front of the chunk bytes of a segment.
pub const SEGMENT_HEADER_LEN: usize = 64;
/// Chunk bytes carried by one full segment.
pub const CHUNKS_PER_SEGMENT: usize = BLOCK_SIZE - SEGMENT_HEADER_LEN;

const OFF_SIZE: usize = 4;
const OFF_ROLE: usize = 8;
const OFF_VERSION: usize = 10;
const OFF_INDEX: usize = 12;
const OFF_UUID: usize = 32;
const OFF_CHUNK_COUNT: usize = 48;

/// Status of a chunk, the low two bits of its byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkStatus {
    /// All in-sync legs hold the same data for this chunk.
    Clean,
    /// A write may be in flight or unfinished: legs may differ.
    Dirty,
    /// Never written since the mirror (or its newest leg) was created: legs
    /// may differ, but nobody stored anything here worth keeping.
    Unwritten,
}

impl ChunkStatus {
    /// Its name as the format document writes it.
    pub fn name(self) -> &'static str {
        match self {
            ChunkStatus::Clean => "CLEAN",
            ChunkStatus::Dirty => "DIRTY",
            ChunkStatus::Unwritten => "UNWRITTEN",
        }
    }
}

/// One chunk's byte: status in bits 0-1, MODIFIED in bit 2, bits 3-7
/// reserved and zero. Status value 3 is reserved too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkByte(u8);

impl ChunkByte {
    /// Bit set when the chunk was written while the mirror was degraded.
    pub const MODIFIED_BIT: u8 = 0x04;
    const STATUS_MASK: u8 = 0x03;
    const RESERVED_MASK: u8 = 0xf8;

    /// A clean chunk.
    pub const CLEAN: ChunkByte = ChunkByte::new(ChunkStatus::Clean, false);
    /// A never-written chunk, as a new mirror starts.
    pub const UNWRITTEN: ChunkByte = ChunkByte::new(ChunkStatus::Unwritten, false);
    /// What a chunk becomes when both copies of its segment are lost: the
    /// worst case, so that both resync and a returning leg copy it.
    pub const UNKNOWN: ChunkByte = ChunkByte::new(ChunkStatus::Dirty, true);

    /// Builds a chunk byte.
    pub const fn new(status: ChunkStatus, modified: bool) -> ChunkByte {
        let s = match status {
            ChunkStatus::Clean => 0,
            ChunkStatus::Dirty => 1,
            ChunkStatus::Unwritten => 2,
        };
        ChunkByte(s | if modified { Self::MODIFIED_BIT } else { 0 })
    }

    /// Interprets a raw byte; `None` for a reserved status or reserved bit.
    pub const fn from_raw(raw: u8) -> Option<ChunkByte> {
        if raw & Self::RESERVED_MASK != 0 || raw & Self::STATUS_MASK == 3 {
            None
        } else {
            Some(ChunkByte(raw))
        }
    }

    /// The byte as stored.
    pub const fn raw(self) -> u8 {
        self.0
    }

    /// The status bits.
    pub const fn status(self) -> ChunkStatus {
        match self.0 & Self::STATUS_MASK {
            0 => ChunkStatus::Clean,
            1 => ChunkStatus::Dirty,
            _ => ChunkStatus::Unwritten,
        }
    }

    /// Whether MODIFIED is set.
    pub const fn is_modified(self) -> bool {
        self.0 & Self::MODIFIED_BIT != 0
    }
}

/// The header fields of one bitmap segment copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Which copy this is.
    pub role: CopyRole,
    /// Position of the segment in the bitmap.
    pub index: u32,
    /// Serial of this copy of this segment; each segment counts on its own.
    pub serial: Serial,
    /// The mirror the bitmap belongs to.
    pub mirror_uuid: Uuid,
    /// Chunks in the whole bitmap (all segments together).
    pub chunk_count: u64,
}

impl SegmentHeader {
    /// Chunk bytes this segment carries (the spec's `size` field), or
    /// `None` when `index` lies past the end of the bitmap.
    pub fn size(&self) -> Option<u32> {
        segment_size(self.chunk_count, self.index)
    }
}

/// Chunk bytes carried by segment `index` of a bitmap of `chunk_count` chunks.
pub fn segment_size(chunk_count: u64, index: u32) -> Option<u32> {
    let first = u64::from(index) * CHUNKS_PER_SEGMENT as u64;
    if first >= chunk_count {
        return None;
    }
    Some((chunk_count - first).min(CHUNKS_PER_SEGMENT as u64) as u32)
}

/// Why a segment could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The index lies past the end of the bitmap.
    IndexPastEnd,
    /// The chunk slice is not as long as the segment's size.
    WrongChunkCount {
        /// Length given.
        given: usize,
        /// Length the segment carries.
        expected: u32,
    },
    /// A chunk byte has a reserved status or bit.
    BadChunkByte {
        /// Position in the slice.
        index: usize,
    },
    /// Serial 0 is reserved for "never written".
    ZeroSerial,
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::IndexPastEnd => f.write_str("segment index past the end of the bitmap"),
            EncodeError::WrongChunkCount { given, expected } => {
                write!(f, "{given} chunk bytes given for a segment of {expected}")
            }
            EncodeError::BadChunkByte { index } => {
                write!(f, "chunk byte {index} has a reserved status or bit")
            }
            EncodeError::ZeroSerial => f.write_str("serial 0 means never written"),
        }
    }
}

/// Encodes one copy of a segment into `out`.
pub fn encode_segment(
    header: &SegmentHeader,
    chunks: &[u8],
    out: &mut [u8; BLOCK_SIZE],
) -> Result<(), EncodeError> {
    let size = header.size().ok_or(EncodeError::IndexPastEnd)?;
    if chunks.len() != size as usize {
        return Err(EncodeError::WrongChunkCount {
            given: chunks.len(),
            expected: size,
        });
    }
    if let Some(index) = chunks
        .iter()
        .position(|&b| ChunkByte::from_raw(b).is_none())
    {
        return Err(EncodeError::BadChunkByte { index });
    }
    if header.serial == Serial::NEVER {
        return Err(EncodeError::ZeroSerial);
    }
    out.fill(0);
    let mut put = Put(out);
    put.bytes(0, &SEGMENT_MAGIC);
    put.u32(OFF_SIZE, size);
    put.u8(OFF_ROLE, header.role.code());
    put.u16(OFF_VERSION, FORMAT_VERSION);
    put.u32(OFF_INDEX, header.index);
    put.u64(SERIAL_OFFSET, header.serial.get());
    put.bytes(OFF_UUID, &header.mirror_uuid.0);
    put.u64(OFF_CHUNK_COUNT, header.chunk_count);
    put.bytes(SEGMENT_HEADER_LEN, chunks);
    seal(out);
    Ok(())
}

/// What a reader knows before it reads a segment: where it read it from
/// and what the superblock says. A copy that disagrees is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentExpect {
    /// The copy the block was read from.
    pub role: CopyRole,
    /// The segment index of the place it was read from.
    pub index: u32,
    /// The mirror, from the superblock.
    pub mirror_uuid: Uuid,
    /// Chunks in the bitmap, from the superblock.
    pub chunk_count: u64,
}

/// Decodes one segment copy; on success returns its header and chunk bytes.
/// Never panics, whatever `block` holds.
pub fn decode_segment<'a>(
    block: &'a [u8],
    expect: &SegmentExpect,
) -> Result<(SegmentHeader, &'a [u8]), DecodeError> {
    check_frame(block, &SEGMENT_MAGIC, OFF_VERSION)?;
    check_role(bytes::u8_at(block, OFF_ROLE)?, expect.role)?;
    bytes::expect_zero(block, OFF_ROLE + 1, OFF_VERSION)?;
    bytes::expect_zero(block, CRC_OFFSET + 4, OFF_UUID)?;
    bytes::expect_zero(block, OFF_CHUNK_COUNT + 8, SEGMENT_HEADER_LEN)?;
    let index = bytes::u32_at(block, OFF_INDEX)?;
    if index != expect.index {
        return Err(DecodeError::WrongSegment {
            found: index,
            expected: expect.index,
        });
    }
    if bytes::field::<16>(block, OFF_UUID)? != expect.mirror_uuid.0 {
        return Err(DecodeError::ForeignMirror);
    }
    let chunk_count = bytes::u64_at(block, OFF_CHUNK_COUNT)?;
    if chunk_count != expect.chunk_count {
        return Err(DecodeError::ChunkCountMismatch {
            found: chunk_count,
            expected: expect.chunk_count,
        });
    }
    let expected_size = segment_size(chunk_count, index).unwrap_or(0);
    let size = bytes::u32_at(block, OFF_SIZE)?;
    if size != expected_size || size == 0 {
        return Err(DecodeError::BadSize {
            found: size,
            expected: expected_size,
        });
    }
    let end = SEGMENT_HEADER_LEN + size as usize;
    let chunks = block
        .get(SEGMENT_HEADER_LEN..end)
        .ok_or(DecodeError::Truncated {
            offset: SEGMENT_HEADER_LEN,
        })?;
    if let Some(i) = chunks
        .iter()
        .position(|&b| ChunkByte::from_raw(b).is_none())
    {
        return Err(DecodeError::BadChunkByte {
            index: i,
            value: chunks[i],
        });
    }
    bytes::expect_zero(block, end, BLOCK_SIZE)?;
    let header = SegmentHeader {
        role: expect.role,
        index,
        serial: Serial::new(bytes::u64_at(block, SERIAL_OFFSET)?),
        mirror_uuid: expect.mirror_uuid,
        chunk_count,
    };
    Ok((header, chunks))
}

/// Which copy a reader trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Chosen {
    /// The primary copy.
    Primary,
    /// The secondary copy.
    Secondary,
    /// Neither copy is valid.
    Neither,
}

impl Chosen {
    /// The role chosen, if any.
    pub fn role(self) -> Option<CopyRole> {
        match self {
            Chosen::Primary => Some(CopyRole::Primary),
            Chosen::Secondary => Some(CopyRole::Secondary),
            Chosen::Neither => None,
        }
    }
}

/// The spec's rule for two copies, given the serials of the valid ones:
/// one valid copy wins whatever its serial (an invalid copy's serial is not
/// to be trusted); of two valid copies the newer wins, the primary on a tie.
pub fn choose_copy(primary: Option<Serial>, secondary: Option<Serial>) -> Chosen {
    match (primary, secondary) {
        (Some(p), Some(s)) if s.is_newer_than(p) => Chosen::Secondary,
        (Some(_), _) => Chosen::Primary,
        (None, Some(_)) => Chosen::Secondary,
        (None, None) => Chosen::Neither,
    }
}

/// The outcome of reading both copies of one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentLoad {
    /// The copy used.
    pub chosen: Chosen,
    /// Per copy (primary, secondary): its serial, or why it was rejected.
    pub copies: [Result<Serial, DecodeError>; 2],
}

/// Reads both copies of segment `index` and writes the trusted chunk bytes
/// into `out`, which must be exactly the segment's size. When neither copy
/// is valid every chunk becomes [`ChunkByte::UNKNOWN`]: a resync, never a
/// silent CLEAN.
pub fn load_segment(
    copies: [&[u8]; 2],
    index: u32,
    mirror_uuid: Uuid,
    chunk_count: u64,
    out: &mut [u8],
) -> Result<SegmentLoad, DecodeError> {
    let size = segment_size(chunk_count, index).unwrap_or(0);
    if out.len() != size as usize || size == 0 {
        return Err(DecodeError::BadSize {
            found: out.len() as u32,
            expected: size,
        });
    }
    let decode = |role: CopyRole| {
        let expect = SegmentExpect {
            role,
            index,
            mirror_uuid,
            chunk_count,
        };
        decode_segment(copies[role.index()], &expect)
    };
    let decoded = [decode(CopyRole::Primary), decode(CopyRole::Secondary)];
    let serial =
        |r: &Result<(SegmentHeader, &[u8]), DecodeError>| r.as_ref().ok().map(|(h, _)| h.serial);
    let chosen = choose_copy(serial(&decoded[0]), serial(&decoded[1]));
    match chosen.role() {
        Some(role) => match &decoded[role.index()] {
            Ok((_, chunks)) => out.copy_from_slice(chunks),
            Err(e) => return Err(*e),
        },
        None => out.fill(ChunkByte::UNKNOWN.raw()),
    }
    let result = |r: &Result<(SegmentHeader, &[u8]), DecodeError>| r.map(|(h, _)| h.serial);
    Ok(SegmentLoad {
        chosen,
        copies: [result(&decoded[0]), result(&decoded[1])],
    })
}
