//! Assembly: from the metadata on the legs named in a table to the state a
//! mirror starts from. Reads go through a caller-supplied function, so the
//! core stays free of I/O; the kernel reads synchronously at table load.

use crate::format::*;
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
    pub template: Superblock,
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
        template,
        legs,
        chunks,
        segment_serials,
        lost_segments,
        unusable,
    })
}
