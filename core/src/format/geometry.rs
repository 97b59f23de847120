//! Where metadata and data live on a leg, all in 512-byte sectors.

use super::bitmap::CHUNKS_PER_SEGMENT;
use super::{CopyRole, BLOCK_SECTORS};

/// Sector of each superblock copy (primary, secondary).
pub const SUPERBLOCK_SECTOR: [u64; 2] = [0, BLOCK_SECTORS];
/// First sector after the superblocks, where version 1 puts the bitmap.
pub const BITMAP_START_SECTOR: u64 = 2 * BLOCK_SECTORS;
/// The data area starts on a 1 MiB boundary.
pub const DATA_ALIGN_SECTORS: u64 = 2048;
/// Smallest chunk: 4 KiB, one page.
pub const MIN_CHUNK_SECTORS: u32 = 8;
/// Largest chunk: 1 GiB.
pub const MAX_CHUNK_SECTORS: u32 = 1 << 21;
/// Default chunk: 1 MiB, as the spec suggests.
pub const DEFAULT_CHUNK_SECTORS: u32 = 2048;
/// Chunk indexes must fit 32 bits (the in-core tables index them so).
pub const MAX_CHUNKS: u64 = u32::MAX as u64;

/// Placement of a mirror's metadata and data on each of its legs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Chunk size in sectors, a power of two.
    pub chunk_sectors: u32,
    /// First sector of the data area.
    pub data_offset: u64,
    /// Length of the data area in sectors, a multiple of 8.
    pub data_sectors: u64,
    /// Number of chunks: `data_sectors / chunk_sectors`, rounded up.
    pub chunk_count: u64,
    /// Number of 4 KiB segments in each bitmap copy.
    pub segment_count: u32,
    /// First sector of each bitmap copy (primary, secondary).
    pub bitmap_sector: [u64; 2],
    /// The metadata lives on a separate log device (LVM's disk log), one
    /// area of [`Geometry::meta_sectors`] per slot, and the data from
    /// sector 0 of each leg (`data_offset` 0).
    pub external: bool,
}

/// Why a geometry is impossible or inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometryError {
    /// Chunk size not a power of two within bounds.
    BadChunkSize {
        /// The size given, in sectors.
        chunk_sectors: u32,
    },
    /// The leg has no room for a data area after the metadata.
    LegTooSmall {
        /// Leg size in sectors.
        leg_sectors: u64,
        /// Smallest usable leg for this chunk size.
        min_sectors: u64,
    },
    /// More chunks than the in-core tables can index.
    TooManyChunks {
        /// Chunks that would be needed.
        chunks: u64,
    },
    /// Stored counts do not follow from the stored sizes.
    Inconsistent,
    /// Metadata regions overlap each other or the data area.
    Overlap,
}

impl core::fmt::Display for GeometryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GeometryError::BadChunkSize { chunk_sectors } => write!(
                f,
                "chunk size of {chunk_sectors} sectors is not a power of two between \
                 {MIN_CHUNK_SECTORS} and {MAX_CHUNK_SECTORS}"
            ),
            GeometryError::LegTooSmall {
                leg_sectors,
                min_sectors,
            } => write!(
                f,
                "leg of {leg_sectors} sectors is too small (at least {min_sectors} needed)"
            ),
            GeometryError::TooManyChunks { chunks } => {
                write!(
                    f,
                    "{chunks} chunks exceed the limit of {MAX_CHUNKS}; use a larger chunk size"
                )
            }
            GeometryError::Inconsistent => {
                f.write_str("chunk or segment count does not match sizes")
            }
            GeometryError::Overlap => f.write_str("metadata regions overlap"),
        }
    }
}

const fn div_ceil(a: u64, b: u64) -> u64 {
    a / b + (a % b != 0) as u64
}

const fn align_up(a: u64, to: u64) -> u64 {
    div_ceil(a, to) * to
}

fn check_chunk_sectors(chunk_sectors: u32) -> Result<(), GeometryError> {
    if chunk_sectors.is_power_of_two()
        && (MIN_CHUNK_SECTORS..=MAX_CHUNK_SECTORS).contains(&chunk_sectors)
    {
        Ok(())
    } else {
        Err(GeometryError::BadChunkSize { chunk_sectors })
    }
}

fn segments_for(chunks: u64) -> u64 {
    div_ceil(chunks, CHUNKS_PER_SEGMENT as u64)
}

impl Geometry {
    /// The version 1 layout for a leg of `leg_sectors` sectors.
    pub fn for_leg(leg_sectors: u64, chunk_sectors: u32) -> Result<Geometry, GeometryError> {
        check_chunk_sectors(chunk_sectors)?;
        let chunk = u64::from(chunk_sectors);
        // Size the bitmap for the whole leg first: the data area is smaller,
        // so this may leave a little slack, never too little room.
        let upper_chunks = div_ceil(leg_sectors, chunk);
        if upper_chunks > MAX_CHUNKS {
            return Err(GeometryError::TooManyChunks {
                chunks: upper_chunks,
            });
        }
        let upper_segments = segments_for(upper_chunks).max(1);
        let data_offset = align_up(
            BITMAP_START_SECTOR + 2 * upper_segments * BLOCK_SECTORS,
            DATA_ALIGN_SECTORS,
        );
        let too_small = GeometryError::LegTooSmall {
            leg_sectors,
            min_sectors: data_offset + BLOCK_SECTORS,
        };
        let data_sectors =
            leg_sectors.checked_sub(data_offset).ok_or(too_small)? & !(BLOCK_SECTORS - 1);
        if data_sectors == 0 {
            return Err(too_small);
        }
        Ok(Geometry::packed(
            chunk_sectors,
            data_offset,
            data_sectors,
            false,
        ))
    }

    /// Both bitmap copies right after the superblocks, sized for the data.
    fn packed(chunk_sectors: u32, data_offset: u64, data_sectors: u64, external: bool) -> Geometry {
        let chunk_count = div_ceil(data_sectors, u64::from(chunk_sectors));
        let segment_count = segments_for(chunk_count);
        let geometry = Geometry {
            chunk_sectors,
            data_offset,
            data_sectors,
            chunk_count,
            segment_count: segment_count as u32,
            bitmap_sector: [
                BITMAP_START_SECTOR,
                BITMAP_START_SECTOR + segment_count * BLOCK_SECTORS,
            ],
            external,
        };
        debug_assert_eq!(geometry.validate(), Ok(()));
        geometry
    }

    /// The external layout for legs of `leg_sectors` sectors that hold data
    /// only: each slot's superblocks and bitmap go to its area on a log
    /// device ([`Geometry::log_sector`]).
    pub fn for_external(leg_sectors: u64, chunk_sectors: u32) -> Result<Geometry, GeometryError> {
        check_chunk_sectors(chunk_sectors)?;
        let data_sectors = leg_sectors & !(BLOCK_SECTORS - 1);
        if data_sectors == 0 {
            return Err(GeometryError::LegTooSmall {
                leg_sectors,
                min_sectors: BLOCK_SECTORS,
            });
        }
        let chunk_count = div_ceil(data_sectors, u64::from(chunk_sectors));
        if chunk_count > MAX_CHUNKS {
            return Err(GeometryError::TooManyChunks {
                chunks: chunk_count,
            });
        }
        Ok(Geometry::packed(chunk_sectors, 0, data_sectors, true))
    }

    /// Sectors of one slot's metadata: on a leg, everything before the
    /// data; on a log device, the size of each slot's area.
    pub fn meta_sectors(&self) -> u64 {
        if self.external {
            self.bitmap_sector[1] + u64::from(self.segment_count) * BLOCK_SECTORS
        } else {
            self.data_offset
        }
    }

    /// Where metadata sector `sector` of slot `slot` lies on the log device
    /// of an external layout.
    pub fn log_sector(&self, slot: usize, sector: u64) -> u64 {
        debug_assert!(self.external && sector < self.meta_sectors());
        slot as u64 * self.meta_sectors() + sector
    }

    /// Checks stored fields against each other. A reader accepts any
    /// placement that passes, not only the one [`Geometry::for_leg`] picks.
    pub fn validate(&self) -> Result<(), GeometryError> {
        check_chunk_sectors(self.chunk_sectors)?;
        if self.data_sectors == 0 || self.data_sectors % BLOCK_SECTORS != 0 {
            return Err(GeometryError::Inconsistent);
        }
        if self.chunk_count > MAX_CHUNKS {
            return Err(GeometryError::TooManyChunks {
                chunks: self.chunk_count,
            });
        }
        if self.chunk_count != div_ceil(self.data_sectors, u64::from(self.chunk_sectors))
            || u64::from(self.segment_count) != segments_for(self.chunk_count)
        {
            return Err(GeometryError::Inconsistent);
        }
        let copy_len = u64::from(self.segment_count) * BLOCK_SECTORS;
        let [first, second] = self.bitmap_sector;
        // An external layout's data starts at 0 on another device than
        // its metadata: only the metadata must not overlap.
        let meta_end = if self.external {
            if self.data_offset != 0 {
                return Err(GeometryError::Overlap);
            }
            u64::MAX
        } else {
            self.data_offset
        };
        let ordered = first >= BITMAP_START_SECTOR
            && first.checked_add(copy_len).is_some_and(|end| end <= second)
            && second
                .checked_add(copy_len)
                .is_some_and(|end| end <= meta_end)
            && self.data_offset.checked_add(self.data_sectors).is_some();
        if ordered {
            Ok(())
        } else {
            Err(GeometryError::Overlap)
        }
    }

    /// Sectors a leg needs to hold this geometry.
    pub fn leg_sectors_needed(&self) -> u64 {
        self.data_offset + self.data_sectors
    }

    /// Chunk holding data-area sector `sector`.
    pub fn chunk_of(&self, sector: u64) -> u64 {
        sector >> self.chunk_sectors.trailing_zeros()
    }

    /// Segment holding the byte of chunk `chunk`.
    pub fn segment_of(&self, chunk: u64) -> u32 {
        (chunk / CHUNKS_PER_SEGMENT as u64) as u32
    }

    /// First chunk covered by segment `index`, and how many it covers.
    pub fn segment_chunks(&self, index: u32) -> (u64, u32) {
        let first = u64::from(index) * CHUNKS_PER_SEGMENT as u64;
        let count = self
            .chunk_count
            .saturating_sub(first)
            .min(CHUNKS_PER_SEGMENT as u64);
        (first, count as u32)
    }

    /// Sector of segment `index` in the given bitmap copy.
    pub fn segment_sector(&self, role: CopyRole, index: u32) -> u64 {
        self.bitmap_sector[role.index()] + u64::from(index) * BLOCK_SECTORS
    }
}
