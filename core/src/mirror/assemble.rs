//! Assembly: from the metadata on the legs named in a table to the state a
//! mirror starts from. Reads go through a caller-supplied function, so the
//! core stays free of I/O; the kernel reads synchronously at table load.

use crate::format::*;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// Reads 4 KiB at `sector` of the leg at table position `pos` into `out`.
/// Returns false on an I/O error.
pub trait BlockReader {
    /// Reads one metadata block.
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool;
}

/// Why the legs named in a table do not form a usable mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssemblyError {
    /// The table names no legs, or more than [`MAX_LEGS`].
    LegCount(usize),
    /// The superblocks of this leg could not be read.
    ReadFailed {
        /// Table position.
        pos: usize,
    },
    /// Neither superblock copy of this leg is valid.
    NoMetadata {
        /// Table position.
        pos: usize,
    },
    /// This leg belongs to another mirror than the first leg.
    ForeignMirror {
        /// Table position.
        pos: usize,
    },
    /// Two table positions hold the same leg.
    DuplicateLeg {
        /// Table position of the second one.
        pos: usize,
    },
    /// The current member table does not list this leg.
    NotAMember {
        /// Table position.
        pos: usize,
    },
    /// Legs disagree about geometry.
    GeometryMismatch {
        /// Table position.
        pos: usize,
    },
    /// Two legs each recorded the other as failed: both were written on
    /// their own, and neither can be trusted over the other.
    SplitBrain {
        /// Table positions of the two legs.
        pos: [usize; 2],
    },
    /// Legs at the newest event disagree about membership.
    MemberTablesDiffer {
        /// Table positions of the two legs.
        pos: [usize; 2],
    },
    /// No leg is in sync according to the newest member table.
    NoTrustworthyLeg,
    /// The log device cannot hold a metadata area for every leg.
    LogTooSmall {
        /// Sectors the log needs.
        need: u64,
    },
    /// The log area of this leg holds the metadata of another slot.
    WrongLogArea {
        /// Table position (and log area).
        pos: usize,
    },
}

impl core::fmt::Display for AssemblyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AssemblyError::LegCount(n) => write!(f, "{n} legs given; a mirror has 1 to {MAX_LEGS}"),
            AssemblyError::ReadFailed { pos } => write!(f, "leg {pos}: cannot read its superblocks"),
            AssemblyError::NoMetadata { pos } => {
                write!(f, "leg {pos}: no valid dm-mirror superblock (blank, foreign, or both copies damaged)")
            }
            AssemblyError::ForeignMirror { pos } => write!(f, "leg {pos}: belongs to another mirror"),
            AssemblyError::DuplicateLeg { pos } => write!(f, "leg {pos}: the same leg is named twice"),
            AssemblyError::NotAMember { pos } => write!(f, "leg {pos}: not a member of this mirror"),
            AssemblyError::GeometryMismatch { pos } => write!(f, "leg {pos}: geometry differs from the other legs"),
            AssemblyError::SplitBrain { pos } => write!(
                f,
                "legs {} and {} each recorded the other as failed (split brain); use force to pick one",
                pos[0], pos[1]
            ),
            AssemblyError::MemberTablesDiffer { pos } => {
                write!(f, "legs {} and {} are at the same event but disagree about membership", pos[0], pos[1])
            }
            AssemblyError::NoTrustworthyLeg => f.write_str("no leg is in sync"),
            AssemblyError::LogTooSmall { need } => {
                write!(f, "the log device is too small: {need} sectors needed for these legs and region size")
            }
            AssemblyError::WrongLogArea { pos } => {
                write!(f, "leg {pos}: its log area holds the metadata of another slot")
            }
        }
    }
}

/// One leg as assembly found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoundLeg {
    /// Table position.
    pub pos: usize,
    /// Its trusted superblock.
    pub superblock: Superblock,
    /// Whether it is trusted for data (in sync in the newest member table).
    pub in_sync: bool,
    /// Its secondary superblock copy is damaged: rewrite that one first.
    pub secondary_damaged: bool,
}

/// What a mirror starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembly {
    /// The newest superblock: membership, event, geometry.
    /// (Boxed: an assembly is moved through a few calls on small kernel
    /// stacks, and a superblock is most of its size.)
    pub template: Box<Superblock>,
    /// By slot: the leg found there.
    /// (A vector, not an array: kernel stacks are small.)
    pub legs: Vec<Option<FoundLeg>>,
    /// The bitmap, merged over the trusted legs: one byte per chunk.
    pub chunks: Vec<u8>,
    /// Per segment, the newest serial found on any leg.
    pub segment_serials: Vec<Serial>,
    /// Bitmap segments for which some trusted leg had no valid copy.
    pub lost_segments: u32,
    /// Table positions that could not be read or hold no valid superblock:
    /// treated as missing members.
    pub unusable: Vec<(usize, AssemblyError)>,
}

/// The trusted superblock of the leg at `pos`, and whether its secondary
/// copy is damaged (unreadable or invalid).
/// `blocks` (on the heap: kernel stacks are small) receives both copies.
fn read_superblock<R: BlockReader>(
    r: &mut R,
    pos: usize,
    blocks: &mut [[u8; BLOCK_SIZE]],
) -> Result<(Superblock, bool), AssemblyError> {
    let (p, s) = blocks.split_at_mut(1);
    let (p, s) = (&mut p[0], &mut s[0]);
    let [ps, ss] = geometry::SUPERBLOCK_SECTOR;
    let ok_p = r.read_block(pos, ps, p);
    let ok_s = r.read_block(pos, ss, s);
    if !ok_p && !ok_s {
        return Err(AssemblyError::ReadFailed { pos });
    }
    if !ok_p {
        p.fill(0);
    }
    if !ok_s {
        s.fill(0);
    }
    let load = SuperblockLoad::read(p, s);
    let damaged = !ok_s || load.copies[1].is_err();
    load.superblock()
        .map(|sb| (*sb, damaged))
        .ok_or(AssemblyError::NoMetadata { pos })
}

/// The trusted superblock of the device at `pos`, if it holds one: what
/// an operator's `add_leg` needs to tell a returning member from a new disk.
pub fn leg_superblock<R: BlockReader>(reader: &mut R, pos: usize) -> Option<Superblock> {
    let mut blocks = vec![[0u8; BLOCK_SIZE]; 2];
    read_superblock(reader, pos, &mut blocks)
        .ok()
        .map(|(sb, _)| sb)
}

/// The event at which `table` recorded the leg `uuid` as out, if it did.
fn recorded_out(table: &Superblock, uuid: Uuid) -> Option<u64> {
    table
        .members
        .iter()
        .flatten()
        .find(|m| m.uuid == uuid && matches!(m.state, MemberState::Failed | MemberState::Removed))
        .map(|m| m.state_event)
}

/// Whether leg `sb` ran as a trusted leg after another leg recorded it out
/// at `out_event`: it is in sync in its own table, and not through a
/// rebuild that finished after that record (which would make the other
/// leg merely stale).
fn ran_alone_after(sb: &Superblock, out_event: u64) -> bool {
    sb.members[usize::from(sb.slot)]
        .is_some_and(|own| own.state == MemberState::InSync && own.state_event <= out_event)
}

/// Two legs each recorded the other as out and each kept running as a
/// trusted leg: both were written on their own.
fn split_brain(a: &Superblock, b: &Superblock) -> bool {
    match (recorded_out(a, b.leg_uuid), recorded_out(b, a.leg_uuid)) {
        (Some(a_out_b), Some(b_out_a)) => {
            ran_alone_after(a, b_out_a) && ran_alone_after(b, a_out_b)
        }
        _ => false,
    }
}

/// Merges one leg's chunk byte into the merged bitmap: equal bytes stay,
/// any disagreement becomes DIRTY (legs may differ), MODIFIED is or-ed.
fn merge_chunk(acc: u8, leg: u8) -> u8 {
    let (a, b) = (ChunkByte::from_raw(acc), ChunkByte::from_raw(leg));
    match (a, b) {
        (Some(a), Some(b)) => {
            let modified = a.is_modified() || b.is_modified();
            let status = if a.status() == b.status() {
                a.status()
            } else {
                ChunkStatus::Dirty
            };
            ChunkByte::new(status, modified).raw()
        }
        _ => ChunkByte::UNKNOWN.raw(),
    }
}

/// Assembles the legs at table positions `0..count`.
pub fn assemble<R: BlockReader>(reader: &mut R, count: usize) -> Result<Assembly, AssemblyError> {
    assemble_with(reader, count, false)
}

/// Assembles as [`assemble`] does; with `force`, the operator's override,
/// it settles what assembly would refuse: on split brain the leg named
/// first wins and the other is rebuilt whole; when members disagree at the
/// newest event the first one's table is used; when no leg is in sync the
/// newest leg found (the first named among equals) is trusted.
// Not inlined into its callers: its frame is big enough on its own for a
// kernel stack.
#[inline(never)]
pub fn assemble_with<R: BlockReader>(
    reader: &mut R,
    count: usize,
    force: bool,
) -> Result<Assembly, AssemblyError> {
    if count == 0 || count > MAX_LEGS {
        return Err(AssemblyError::LegCount(count));
    }
    let mut sbs: Vec<Superblock> = Vec::with_capacity(count);
    let mut positions: Vec<usize> = Vec::with_capacity(count);
    let mut unusable = Vec::new();
    let mut secondary_damaged: Vec<bool> = Vec::with_capacity(count);
    let mut blocks = vec![[0u8; BLOCK_SIZE]; 2];
    for pos in 0..count {
        let sb = match read_superblock(reader, pos, &mut blocks) {
            Ok((sb, damaged)) => {
                secondary_damaged.push(damaged);
                sb
            }
            // A dead or blank disk is a missing member, as long as others remain.
            Err(e) => {
                unusable.push((pos, e));
                continue;
            }
        };
        if sb.mirror_uuid != sbs.first().map_or(sb.mirror_uuid, |f| f.mirror_uuid) {
            return Err(AssemblyError::ForeignMirror { pos });
        }
        if sb.geometry != sbs.first().map_or(sb.geometry, |f| f.geometry) {
            return Err(AssemblyError::GeometryMismatch { pos });
        }
        // The same leg at two positions (a device under two names, or a
        // clone) cannot be told apart: refuse. Two legs claiming one slot
        // are not refused here: at most one of them is the member the
        // newest table has in that slot, the others are former members
        // (a leg re-added to a new slot whose new superblock a power loss
        // kept off it) and are left out below.
        if sbs.iter().any(|o| o.leg_uuid == sb.leg_uuid) {
            return Err(AssemblyError::DuplicateLeg { pos });
        }
        sbs.push(sb);
        positions.push(pos);
    }
    if sbs.is_empty() {
        return Err(unusable[0].1);
    }
    let count = sbs.len();
    let newest = sbs.iter().map(|s| s.event).max().unwrap_or(0);
    // Split brain: each of two legs recorded the other as out of the mirror.
    let mut winner = None;
    let mut losers = Vec::new();
    for i in 0..count {
        for j in i + 1..count {
            if split_brain(&sbs[i], &sbs[j]) {
                if !force {
                    return Err(AssemblyError::SplitBrain {
                        pos: [positions[i], positions[j]],
                    });
                }
                winner.get_or_insert(i);
                losers.push(sbs[j].leg_uuid);
            }
        }
    }
    let mut current: Vec<usize> = match winner {
        Some(w) => vec![w],
        None => (0..count).filter(|&i| sbs[i].event == newest).collect(),
    };
    // Equal events with different tables: histories forked (a leg that was
    // left out of the table got an update the others never saw, and they
    // moved on without it). A leg not in sync in its own table defers to
    // the ones that are.
    let differ = |i: usize, j: usize| {
        sbs[i].members != sbs[j].members
            || sbs[i].modified_since_event != sbs[j].modified_since_event
    };
    if current.iter().any(|&i| differ(i, current[0])) {
        let own_in_sync = |i: usize| {
            sbs[i].members[usize::from(sbs[i].slot)].is_some_and(|m| m.state == MemberState::InSync)
        };
        let trusted: Vec<usize> = current
            .iter()
            .copied()
            .filter(|&i| own_in_sync(i))
            .collect();
        if !trusted.is_empty() {
            current = trusted;
        }
    }
    let mut template = sbs[current[0]];
    for &i in &current[1..] {
        if differ(i, current[0]) && !force {
            return Err(AssemblyError::MemberTablesDiffer {
                pos: [positions[current[0]], positions[i]],
            });
        }
    }
    if force {
        // The forced table must outrank every leg's own.
        template.event = newest + 1;
        for m in template.members.iter_mut().flatten() {
            if losers.contains(&m.uuid) {
                m.state = MemberState::Failed;
                m.full_copy = true;
            }
        }
        let trusted = |t: &Superblock, sb: &Superblock| {
            t.members[usize::from(sb.slot)]
                .is_some_and(|m| m.uuid == sb.leg_uuid && m.state == MemberState::InSync)
        };
        if !sbs.iter().any(|sb| trusted(&template, sb)) {
            let best = (0..count)
                .filter(|&k| {
                    template.members[usize::from(sbs[k].slot)]
                        .is_some_and(|m| m.uuid == sbs[k].leg_uuid)
                })
                .max_by_key(|&k| (sbs[k].event, core::cmp::Reverse(positions[k])));
            if let Some(k) = best {
                for m in template.members.iter_mut().flatten() {
                    if m.state != MemberState::InSync && m.state != MemberState::Removed {
                        m.full_copy = true;
                    }
                }
                if let Some(m) = template.members[usize::from(sbs[k].slot)].as_mut() {
                    m.state = MemberState::InSync;
                    m.full_copy = false;
                    m.rebuild_checkpoint = 0;
                }
            }
        }
    }
    let mut legs = vec![None; MAX_LEGS];
    for (k, sb) in sbs.iter().enumerate() {
        let pos = positions[k];
        let member = template.members[usize::from(sb.slot)].filter(|m| m.uuid == sb.leg_uuid);
        let Some(member) = member else {
            // A former member whose slot the newest table gave to another
            // leg (or whose removal was recorded and its slot reused): its
            // data is stale. It is left out, like a blank disk.
            unusable.push((pos, AssemblyError::NotAMember { pos }));
            continue;
        };
        let in_sync = member.state == MemberState::InSync;
        legs[usize::from(sb.slot)] = Some(FoundLeg {
            pos,
            superblock: *sb,
            in_sync,
            secondary_damaged: secondary_damaged[k],
        });
    }
    if !legs.iter().flatten().any(|l| l.in_sync) {
        return Err(AssemblyError::NoTrustworthyLeg);
    }
    let g = template.geometry;
    let mut chunks = vec![0u8; g.chunk_count as usize];
    let mut segment_serials = vec![Serial::NEVER; g.segment_count as usize];
    let mut lost_segments = 0;
    let mut first = true;
    let mut seg_buf = vec![0u8; CHUNKS_PER_SEGMENT];
    for leg in legs.iter().flatten().filter(|l| l.in_sync) {
        for index in 0..g.segment_count {
            for role in CopyRole::BOTH {
                if !reader.read_block(
                    leg.pos,
                    g.segment_sector(role, index),
                    &mut blocks[role.index()],
                ) {
                    blocks[role.index()].fill(0);
                }
            }
            let (start, n) = g.segment_chunks(index);
            let out = &mut seg_buf[..n as usize];
            let load = load_segment(
                [&blocks[0], &blocks[1]],
                index,
                template.mirror_uuid,
                g.chunk_count,
                out,
            )
            .expect("the output is sized from the same geometry");
            for r in load.copies.iter().flatten() {
                if r.is_newer_than(segment_serials[index as usize]) {
                    segment_serials[index as usize] = *r;
                }
            }
            lost_segments += u32::from(load.chosen == Chosen::Neither);
            let dst = &mut chunks[start as usize..(start + u64::from(n)) as usize];
            for (d, &s) in dst.iter_mut().zip(out.iter()) {
                *d = if first { s } else { merge_chunk(*d, s) };
            }
        }
        first = false;
    }
    Ok(Assembly {
        template: Box::new(template),
        legs,
        chunks,
        segment_serials,
        lost_segments,
        unusable,
    })
}

/// Reads slot areas of a log device as if each were the start of its leg.
struct LogAreas<'a, R> {
    reader: &'a mut R,
    geometry: Geometry,
}

impl<R: BlockReader> BlockReader for LogAreas<'_, R> {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        sector < self.geometry.meta_sectors()
            && self.reader.read_block(
                usize::from(crate::mirror::LOG_DEVICE),
                self.geometry.log_sector(pos, sector),
                out,
            )
    }
}

/// Magic of the 16-byte header LVM writes at the start of a log it
/// initialises (Linux dm-log's disk header: magic, version, regions).
const LVM_LOG_MAGIC: u32 = 0x4d69_5272;

/// Whether `block` is what a log holds that nobody has used yet: one fill
/// byte throughout (LVM fills a new log with 0x00, or 0xff for an in-sync
/// one), and, in the log's first block, perhaps LVM's 16-byte header.
fn is_new_log_block(block: &[u8; BLOCK_SIZE], first: bool) -> bool {
    let lvm_header = first && block[..4] == LVM_LOG_MAGIC.to_le_bytes();
    let rest = if lvm_header { &block[16..] } else { &block[..] };
    let fill = rest[0];
    (fill == 0 || fill == 0xff) && rest.iter().all(|&b| b == fill)
}

/// How a mirror over a blank log starts (LVM's `sync` / `nosync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlankLog {
    /// Every chunk may differ: copy all from the first leg.
    Sync,
    /// The legs are known to be alike (or never read before written):
    /// every chunk starts never-written.
    NoSync,
}

/// Assembles `count` legs of the external layout `geometry` (data only)
/// whose metadata areas lie on a log device of `log_sectors`, read through
/// `reader` as position [`crate::mirror::LOG_DEVICE`]. A log that nobody
/// has used (both superblock places of every area hold one fill byte, and
/// perhaps LVM's header at the start: what LVM leaves on a log it creates)
/// starts a new mirror with `mirror_uuid`, as `blank` says; any other log
/// is assembled as legs are, and each area must hold its own slot.
pub fn assemble_external<R: BlockReader>(
    reader: &mut R,
    count: usize,
    geometry: Geometry,
    log_sectors: u64,
    force: bool,
    blank: BlankLog,
    mirror_uuid: Uuid,
) -> Result<Assembly, AssemblyError> {
    if count == 0 || count > MAX_LEGS {
        return Err(AssemblyError::LegCount(count));
    }
    debug_assert!(geometry.external);
    if log_sectors / geometry.meta_sectors() < count as u64 {
        return Err(AssemblyError::LogTooSmall {
            need: count as u64 * geometry.meta_sectors(),
        });
    }
    let mut areas = LogAreas { reader, geometry };
    // On the heap: kernel stacks are small.
    let mut block = vec![[0u8; BLOCK_SIZE]; 1];
    let mut blank_log = true;
    for pos in 0..count {
        for sector in geometry::SUPERBLOCK_SECTOR {
            blank_log &= areas.read_block(pos, sector, &mut block[0])
                && is_new_log_block(&block[0], pos == 0 && sector == 0);
        }
    }
    let mut asm = if blank_log {
        new_external(count, geometry, blank, mirror_uuid)
    } else {
        assemble_with(&mut areas, count, force)?
    };
    adopt_blank_areas(&mut asm);
    if asm.template.geometry != geometry {
        return Err(AssemblyError::GeometryMismatch { pos: 0 });
    }
    for (slot, leg) in asm.legs.iter().enumerate() {
        if let Some(found) = leg.filter(|f| f.pos != slot) {
            return Err(AssemblyError::WrongLogArea { pos: found.pos });
        }
    }
    Ok(asm)
}

/// A member whose log area holds no superblock never had one land there
/// (a power loss while the mirror first started): its image is there, its
/// data unknown. It is recorded failed, to be copied whole.
#[inline(never)]
fn adopt_blank_areas(asm: &mut Assembly) {
    let mut changed = false;
    for (pos, e) in &asm.unusable {
        let pos = *pos;
        let Some(member) = asm.template.members.get_mut(pos).and_then(|m| m.as_mut()) else {
            continue;
        };
        if *e != (AssemblyError::NoMetadata { pos })
            || asm.legs[pos].is_some()
            || member.state == MemberState::Removed
        {
            continue;
        }
        member.state = MemberState::Failed;
        member.full_copy = true;
        member.rebuild_checkpoint = 0;
        changed = true;
        asm.legs[pos] = Some(FoundLeg {
            pos,
            superblock: Superblock {
                serial: Serial::NEVER,
                leg_uuid: member.uuid,
                slot: pos as u8,
                event: 0,
                ..*asm.template
            },
            in_sync: false,
            secondary_damaged: false,
        });
    }
    if changed {
        asm.template.event += 1;
        asm.unusable
            .retain(|(pos, _)| asm.legs.get(*pos).is_none_or(|l| l.is_none()));
    }
}

/// The identity of leg `slot` of a mirror started on a blank log: the
/// mirror's UUID with its last byte changed, distinct per slot and from it.
fn blank_leg_uuid(mirror_uuid: Uuid, slot: usize) -> Uuid {
    let mut bytes = mirror_uuid.0;
    bytes[15] ^= slot as u8 + 1;
    Uuid(bytes)
}

/// A mirror on a blank log: every leg a member in sync, no superblock
/// durable yet (they are written when it starts), each chunk DIRTY or
/// never-written as `blank` says.
#[inline(never)]
fn new_external(count: usize, geometry: Geometry, blank: BlankLog, mirror_uuid: Uuid) -> Assembly {
    let uuids: Vec<Uuid> = (0..count).map(|s| blank_leg_uuid(mirror_uuid, s)).collect();
    let mut legs = vec![None; MAX_LEGS];
    let mut template = None;
    for (slot, leg) in legs.iter_mut().enumerate().take(count) {
        let mut sb = new_superblock(mirror_uuid, &uuids, slot, geometry)
            .expect("distinct non-nil uuids for 1..=MAX_LEGS legs");
        sb.clean = false;
        template.get_or_insert(sb);
        // Nothing on the log yet: the mirror writes every superblock first.
        sb.event = 0;
        sb.serial = Serial::NEVER;
        *leg = Some(FoundLeg {
            pos: slot,
            superblock: sb,
            in_sync: true,
            secondary_damaged: false,
        });
    }
    let byte = match blank {
        BlankLog::Sync => ChunkByte::new(ChunkStatus::Dirty, false),
        BlankLog::NoSync => ChunkByte::UNWRITTEN,
    };
    Assembly {
        template: Box::new(template.expect("at least one leg")),
        legs,
        chunks: vec![byte.raw(); geometry.chunk_count as usize],
        segment_serials: vec![Serial::NEVER; geometry.segment_count as usize],
        lost_segments: geometry.segment_count,
        unusable: Vec::new(),
    }
}
