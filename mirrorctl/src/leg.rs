//! A leg opened from a file or block device, and its metadata as read from it.

use crate::{fail, io_err, Failure};
use dmmirror_core::format::*;
use dmmirror_engine::device;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One metadata block as read: `len` is less than a block where the leg
/// ends inside it.
pub struct Block {
    pub bytes: [u8; BLOCK_SIZE],
    pub len: usize,
}

impl Block {
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

pub struct Leg {
    pub path: PathBuf,
    file: File,
    pub sectors: u64,
    /// Where the metadata starts: 0 on a leg; on the log device of an
    /// external layout, the start of one slot's area.
    base: u64,
}

impl Leg {
    /// Opens every leg of one mirror: at most [`MAX_LEGS`], each on its
    /// own storage (compared by identity, never by name).
    pub fn open_all(paths: &[PathBuf], write: bool) -> Result<Vec<Leg>, Failure> {
        at_most_max_legs(paths)?;
        let legs = paths
            .iter()
            .map(|p| Leg::open(p, write).map_err(io_err(p)))
            .collect::<Result<Vec<_>, _>>()?;
        let storage = legs
            .iter()
            .map(|l| device::identify(&l.file).map_err(io_err(&l.path)))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some((i, j)) = device::first_overlap(&storage) {
            return fail(2, same_storage(&paths[i], &paths[j]));
        }
        Ok(legs)
    }

    pub fn open(path: &Path, write: bool) -> io::Result<Leg> {
        let mut file = OpenOptions::new().read(true).write(write).open(path)?;
        // Works for regular files and block devices alike.
        let bytes = file.seek(SeekFrom::End(0))?;
        Ok(Leg {
            path: path.to_owned(),
            file,
            sectors: bytes / SECTOR_SIZE as u64,
            base: 0,
        })
    }

    /// The log device of an external layout, read from the area of `slot`
    /// (its size from the superblock in area 0).
    pub fn open_log_area(path: &Path, slot: usize) -> io::Result<Leg> {
        let mut leg = Leg::open(path, false)?;
        let meta = LegMeta::read(&leg)?;
        let geometry = meta.superblock().map(|sb| sb.geometry);
        let Some(g) = geometry.filter(|g| g.external) else {
            return Err(io::Error::other(format!(
                "not the log device of an LVM mirror (its first area holds no superblock of a mirror whose metadata is on a log device), so it has no area for slot {slot}"
            )));
        };
        leg.base = g.log_sector(slot, 0);
        if leg.base >= leg.sectors {
            return Err(io::Error::other(format!(
                "the log has no area {slot} ({} sectors each)",
                g.meta_sectors()
            )));
        }
        Ok(leg)
    }

    /// The metadata block at `sector`: only the bytes the leg holds, so
    /// that a block cut short by the end of the leg is missing (it fails
    /// the decoders' length check), never padded with zeros.
    pub fn read_block(&self, sector: u64) -> io::Result<Block> {
        let mut block = Block {
            bytes: [0u8; BLOCK_SIZE],
            len: 0,
        };
        let offset = (self.base + sector) * SECTOR_SIZE as u64;
        while block.len < BLOCK_SIZE {
            let n = self
                .file
                .read_at(&mut block.bytes[block.len..], offset + block.len as u64)?;
            if n == 0 {
                break;
            }
            block.len += n;
        }
        Ok(block)
    }

    pub fn read_bytes(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    /// Why this leg cannot hold the mirror `sb` describes: its data area
    /// ends past the leg's end (a leg of an external layout lives at a
    /// table offset this tool does not know, and is not judged).
    pub fn too_small_for(&self, sb: &Superblock) -> Option<String> {
        let need = sb.geometry.leg_sectors_needed();
        (!sb.geometry.external && self.base == 0 && self.sectors < need).then(|| {
            format!(
                "{}: the leg has {} sectors; this mirror's data area ends at sector {need}",
                self.path.display(),
                self.sectors
            )
        })
    }

    /// Writes `data` at `sector` and makes it durable before returning: the
    /// spec's "write, then flush" step.
    pub fn write_durable(&self, sector: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, sector * SECTOR_SIZE as u64)?;
        self.file.sync_data()
    }
}

/// Refuses more legs than a mirror can have.
pub fn at_most_max_legs(paths: &[PathBuf]) -> Result<(), Failure> {
    if paths.len() > MAX_LEGS {
        return fail(
            2,
            format!(
                "{} legs given; a mirror has at most {MAX_LEGS}",
                paths.len()
            ),
        );
    }
    Ok(())
}

/// Why two legs cannot be legs of one mirror.
pub fn same_storage(a: &Path, b: &Path) -> String {
    format!(
        "{} and {} are the same storage (one device or file under two names, or a partition of the other): each leg needs its own",
        a.display(),
        b.display()
    )
}

/// Everything `examine` knows about a leg's metadata.
pub struct LegMeta {
    pub superblocks: SuperblockLoad,
    /// Per segment, the load report; empty when no superblock is valid.
    pub segments: Vec<SegmentLoad>,
    /// The trusted chunk bytes, one per chunk.
    pub chunks: Vec<u8>,
}

impl LegMeta {
    pub fn read(leg: &Leg) -> io::Result<LegMeta> {
        let [p, s] = geometry::SUPERBLOCK_SECTOR;
        let superblocks =
            SuperblockLoad::read(leg.read_block(p)?.as_slice(), leg.read_block(s)?.as_slice());
        let mut meta = LegMeta {
            superblocks,
            segments: Vec::new(),
            chunks: Vec::new(),
        };
        let Some(sb) = superblocks.superblock().copied() else {
            return Ok(meta);
        };
        let g = sb.geometry;
        meta.chunks = vec![0; g.chunk_count as usize];
        for index in 0..g.segment_count {
            let copies = [
                leg.read_block(g.segment_sector(CopyRole::Primary, index))?,
                leg.read_block(g.segment_sector(CopyRole::Secondary, index))?,
            ];
            let (first, count) = g.segment_chunks(index);
            let out = &mut meta.chunks[first as usize..(first + u64::from(count)) as usize];
            let load = load_segment(
                [copies[0].as_slice(), copies[1].as_slice()],
                index,
                sb.mirror_uuid,
                g.chunk_count,
                out,
            )
            .map_err(|e| io::Error::other(format!("segment {index}: {e}")))?;
            meta.segments.push(load);
        }
        Ok(meta)
    }

    pub fn superblock(&self) -> Option<&Superblock> {
        self.superblocks.superblock()
    }
}

/// The newest serial among the valid copies of a segment.
pub fn newest_serial(load: &SegmentLoad) -> Serial {
    load.chosen
        .role()
        .and_then(|r| load.copies[r.index()].ok())
        .unwrap_or(Serial::NEVER)
}

/// Names a known on-disk signature found at the start of a device, if any,
/// so that `create` does not destroy a filesystem or a partition table.
pub fn foreign_signature(leg: &Leg) -> io::Result<Option<&'static str>> {
    let mut head = vec![0u8; 70 * 1024];
    let len = (leg.sectors * SECTOR_SIZE as u64).min(head.len() as u64) as usize;
    leg.read_bytes(0, &mut head[..len])?;
    let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);
    let found = [
        (
            at(0, b"DMMIRROR") || at(4096, b"DMMIRROR"),
            "dm-mirror metadata",
        ),
        (at(512, b"EFI PART"), "a GPT partition table"),
        (at(1080, &[0x53, 0xef]), "an ext2/3/4 filesystem"),
        (at(0, b"XFSB"), "an XFS filesystem"),
        (at(65600, b"_BHRfS_M"), "a btrfs filesystem"),
        (at(512, b"LABELONE"), "an LVM physical volume"),
        (at(4086, b"SWAPSPACE2"), "a swap area"),
        (at(4096, &[0xfc, 0x4e, 0x2b, 0xa9]), "an md RAID superblock"),
        (
            at(65536 + 1372, &[0x19, 0x01, 0x54, 0x19]),
            "a UFS2 filesystem",
        ),
        (
            at(0, &[0x31, 0x30, 0x52, 0xc5, 0x4d, 0x41, 0x48, 0xc8]),
            "a HAMMER filesystem",
        ),
        (
            at(510, &[0x55, 0xaa]),
            "an MBR partition table or boot sector",
        ),
    ];
    Ok(found
        .into_iter()
        .find(|(hit, _)| *hit)
        .map(|(_, name)| name))
}
