//! Assembly: from the metadata on the legs named in a table to the state a
//! mirror starts from. Reads go through a caller-supplied function, so the
//! core stays free of I/O; the kernel reads synchronously at table load.

mod error;

use crate::format::*;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
pub use error::AssemblyError;

/// Reads 4 KiB at `sector` of the leg at table position `pos` into `out`.
/// Returns false on an I/O error.
pub trait BlockReader {
    /// Reads one metadata block.
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool;

    /// Asked once the mirror's geometry is known, before assembly
    /// allocates by its size: a caller that cannot hold a mirror this
    /// large (a kernel allocator with a limit) refuses it here, so that
    /// no allocation fails later. Unlimited unless the reader says so.
    fn admit(&mut self, _geometry: &Geometry) -> Result<(), MemoryShortfall> {
        Ok(())
    }
}

/// A mirror too large for the memory its caller can give.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryShortfall {
    /// Bytes the mirror needs at most, creation included.
    pub needs: u64,
    /// Bytes the caller's allocator can still give.
    pub room: u64,
}

/// One leg as assembly found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundLeg {
    /// Table position.
    pub pos: usize,
    /// Its trusted superblock (on the heap: kernel stacks are small).
    pub superblock: Box<Superblock>,
    /// Whether it is trusted for data (in sync in the newest member table).
    pub in_sync: bool,
    /// Its secondary superblock copy is damaged, or older than the primary:
    /// rewrite that one first.
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
    /// Per segment, its newest serial and the copy to write first.
    pub segments: Vec<SegmentFound>,
    /// Bitmap segments for which some trusted leg had no valid copy.
    pub lost_segments: u32,
    /// Table positions that could not be read or hold no valid superblock:
    /// treated as missing members.
    pub unusable: Vec<(usize, AssemblyError)>,
}

/// Room on the heap for reading superblocks and bitmap segments: kernel
/// stacks are small, and a superblock is 760 bytes.
struct Scratch {
    /// Two 4 KiB blocks: the two copies of a superblock or a segment.
    blocks: Vec<[u8; BLOCK_SIZE]>,
    /// The last leg's trusted superblock.
    sb: Box<Superblock>,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            blocks: vec![[0u8; BLOCK_SIZE]; 2],
            sb: Box::new(Superblock::BLANK),
        }
    }
}

/// Reads the superblocks of the leg at `pos` and decodes the trusted one
/// into `scratch.sb`. Returns whether its secondary copy is damaged
/// (unreadable or invalid) or older than the primary.
fn read_superblock<R: BlockReader>(
    r: &mut R,
    pos: usize,
    scratch: &mut Scratch,
) -> Result<bool, AssemblyError> {
    let (p, s) = scratch.blocks.split_at_mut(1);
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
    match Superblock::decode_trusted(p, s, &mut scratch.sb) {
        Err(_) => Err(AssemblyError::CopiesDisagree { pos }),
        Ok([None, None]) => Err(AssemblyError::NoMetadata { pos }),
        // A secondary older than the primary (a crash between the copies)
        // is as good as damaged: the primary alone holds what the mirror
        // relies on, so the next update must not tear it first.
        Ok([Some(p), Some(s)]) => Ok(!ok_s || p.is_newer_than(s)),
        Ok([_, s]) => Ok(!ok_s || s.is_none()),
    }
}

/// A copy of `v` on the heap, made in a frame of its own.
#[inline(never)]
fn boxed<T: Copy>(v: &T) -> Box<T> {
    Box::new(*v)
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
///
/// Its steps run one after another in frames of their own, never nested:
/// a kernel stack holds the deepest of them, not their sum.
#[inline(never)]
pub fn assemble_with<R: BlockReader>(
    reader: &mut R,
    count: usize,
    force: bool,
) -> Result<Assembly, AssemblyError> {
    assemble_layout(reader, count, force, false)
}

/// Assembles as [`assemble_with`] does, from metadata of one layout: a
/// leg whose superblock is of the other layout is unusable.
#[inline(never)]
fn assemble_layout<R: BlockReader>(
    reader: &mut R,
    count: usize,
    force: bool,
    external: bool,
) -> Result<Assembly, AssemblyError> {
    if count == 0 || count > MAX_LEGS {
        return Err(AssemblyError::LegCount(count));
    }
    let mut scratch = Scratch::new();
    let mut found = read_legs(reader, count, external, &mut scratch)?;
    let (mut template, losers) = choose_template(&found, force)?;
    if force {
        apply_force(&mut template, &found, &losers);
    }
    reader
        .admit(&template.geometry)
        .map_err(AssemblyError::OutOfMemory)?;
    let legs = place_legs(&template, &mut found);
    if !legs.iter().flatten().any(|l| l.in_sync) {
        return Err(AssemblyError::NoTrustworthyLeg);
    }
    let bitmap = merge_bitmaps(reader, &template, &legs, &mut scratch);
    Ok(Assembly {
        template,
        legs,
        chunks: bitmap.chunks,
        segments: bitmap.segments,
        lost_segments: bitmap.lost_segments,
        unusable: found.unusable,
    })
}

/// The superblocks assembly found, in table order.
struct ReadLegs {
    /// The trusted superblock of each leg that has one.
    sbs: Vec<Superblock>,
    /// Its table position.
    positions: Vec<usize>,
    /// Whether its secondary copy is damaged.
    secondary_damaged: Vec<bool>,
    /// Positions that could not be read, hold no superblock, or (after
    /// `place_legs`) are no member: treated as missing members.
    unusable: Vec<(usize, AssemblyError)>,
}

/// Step 1: every leg's trusted superblock; refuses legs of another mirror
/// or geometry, and one leg named twice.
#[inline(never)]
fn read_legs<R: BlockReader>(
    reader: &mut R,
    count: usize,
    external: bool,
    scratch: &mut Scratch,
) -> Result<ReadLegs, AssemblyError> {
    let mut found = ReadLegs {
        sbs: Vec::with_capacity(count),
        positions: Vec::with_capacity(count),
        secondary_damaged: Vec::with_capacity(count),
        unusable: Vec::new(),
    };
    for pos in 0..count {
        let damaged = match read_superblock(reader, pos, scratch) {
            Ok(damaged) => damaged,
            // A dead or blank disk is a missing member, as long as others remain.
            Err(e) => {
                found.unusable.push((pos, e));
                continue;
            }
        };
        let sb = &*scratch.sb;
        if sb.geometry.external != external {
            found
                .unusable
                .push((pos, AssemblyError::WrongLayout { pos }));
            continue;
        }
        if let Some(first) = found.sbs.first() {
            if sb.mirror_uuid != first.mirror_uuid {
                return Err(AssemblyError::ForeignMirror { pos });
            }
            if sb.geometry != first.geometry {
                return Err(AssemblyError::GeometryMismatch { pos });
            }
        }
        // The same leg at two positions (a device under two names, or a
        // clone) cannot be told apart: refuse. Two legs claiming one slot
        // are not refused here: at most one of them is the member the
        // newest table has in that slot, the others are former members
        // (a leg re-added to a new slot whose new superblock a power loss
        // kept off it) and are left out in `place_legs`.
        if found.sbs.iter().any(|o| o.leg_uuid == sb.leg_uuid) {
            return Err(AssemblyError::DuplicateLeg { pos });
        }
        // A leg smaller than the geometry (a table that fits it is not
        // enough) is left out before it takes a write past its end.
        if let Some(need) = data_end_unreadable(reader, pos, &sb.geometry, &mut scratch.blocks) {
            found
                .unusable
                .push((pos, AssemblyError::DataAreaUnreadable { pos, need }));
            continue;
        }
        // Copied from the heap to the heap, not through the stack.
        found.sbs.extend_from_slice(core::slice::from_ref(sb));
        found.positions.push(pos);
        found.secondary_damaged.push(damaged);
    }
    match found.unusable.first() {
        Some(&(_, e)) if found.sbs.is_empty() => Err(e),
        _ => Ok(found),
    }
}

/// The sectors a leg needs, if the last block of its data area cannot be
/// read (its superblocks are on it: not for the external layout, whose
/// areas are on the log).
fn data_end_unreadable<R: BlockReader>(
    reader: &mut R,
    pos: usize,
    g: &Geometry,
    blocks: &mut [[u8; BLOCK_SIZE]],
) -> Option<u64> {
    let need = g.data_offset + g.data_sectors;
    if g.external || need < BLOCK_SECTORS {
        return None;
    }
    (!reader.read_block(pos, need - BLOCK_SECTORS, &mut blocks[0])).then_some(need)
}

/// Step 2: the newest member table (the template) and, with `force`, the
/// legs that lost a split brain.
#[inline(never)]
fn choose_template(
    found: &ReadLegs,
    force: bool,
) -> Result<(Box<Superblock>, Vec<Uuid>), AssemblyError> {
    let (sbs, positions) = (&found.sbs, &found.positions);
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
    for &i in &current[1..] {
        if differ(i, current[0]) && !force {
            return Err(AssemblyError::MemberTablesDiffer {
                pos: [positions[current[0]], positions[i]],
            });
        }
    }
    let mut template = boxed(&sbs[current[0]]);
    if force {
        // The forced table must outrank every leg's own.
        template.event = newest + 1;
    }
    Ok((template, losers))
}

/// Step 3 (with `force` only): the split brain's losers are rebuilt whole,
/// and with no leg in sync the newest member found is trusted.
#[inline(never)]
fn apply_force(template: &mut Superblock, found: &ReadLegs, losers: &[Uuid]) {
    let (sbs, positions) = (&found.sbs, &found.positions);
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
    if sbs.iter().any(|sb| trusted(template, sb)) {
        return;
    }
    let best = (0..sbs.len())
        .filter(|&k| {
            template.members[usize::from(sbs[k].slot)].is_some_and(|m| m.uuid == sbs[k].leg_uuid)
        })
        .max_by_key(|&k| (sbs[k].event, core::cmp::Reverse(positions[k])));
    let Some(k) = best else {
        return;
    };
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

/// Step 4: each leg the template lists, in its slot; the others join
/// `found.unusable`.
#[inline(never)]
fn place_legs(template: &Superblock, found: &mut ReadLegs) -> Vec<Option<FoundLeg>> {
    let mut legs = vec![None; MAX_LEGS];
    for (k, sb) in found.sbs.iter().enumerate() {
        let pos = found.positions[k];
        let member = template.members[usize::from(sb.slot)].filter(|m| m.uuid == sb.leg_uuid);
        let Some(member) = member else {
            // A former member whose slot the newest table gave to another
            // leg (or whose removal was recorded and its slot reused): its
            // data is stale. It is left out, like a blank disk.
            found
                .unusable
                .push((pos, AssemblyError::NotAMember { pos }));
            continue;
        };
        legs[usize::from(sb.slot)] = Some(FoundLeg {
            pos,
            superblock: boxed(sb),
            in_sync: member.state == MemberState::InSync,
            secondary_damaged: found.secondary_damaged[k],
        });
    }
    legs
}

/// What assembly found of one bitmap segment on the trusted legs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentFound {
    /// The newest serial on any leg.
    pub serial: Serial,
    /// The copy the next update must write first: never the only one
    /// holding the state the mirror starts from. Where every trusted leg
    /// holds the newest serial in one copy, the other one; where the legs
    /// differ (a crash while one copy was written, which reached some legs
    /// only), the copy being written then: every leg still holds the state
    /// before it in the other.
    pub write_first: CopyRole,
    /// Every trusted leg holds the newest serial in the same copies. Where
    /// not, the mirror relies on the segment's merged bytes only once an
    /// update has made them durable.
    pub agreed: bool,
}

impl SegmentFound {
    /// A segment never written (a blank log).
    pub const BLANK: SegmentFound = SegmentFound {
        serial: Serial::NEVER,
        write_first: CopyRole::Primary,
        agreed: true,
    };
}

/// Per segment while merging: the newest serial (`Serial::NEVER` while no
/// leg holds a valid copy), the copies that hold it on every leg holding it
/// (bit per role), and how many legs hold it.
#[derive(Clone, Copy)]
struct Newest {
    serial: Serial,
    roles: u8,
    legs: u32,
}

impl Newest {
    /// One more trusted leg's copies (their serials, `None` if invalid).
    fn add(&mut self, copies: [Option<Serial>; 2]) {
        let Some(best) =
            copies
                .iter()
                .flatten()
                .copied()
                .reduce(|a, b| if b.is_newer_than(a) { b } else { a })
        else {
            return;
        };
        let roles = CopyRole::BOTH
            .iter()
            .filter(|r| copies[r.index()] == Some(best))
            .fold(0u8, |m, r| m | 1 << r.index());
        if self.legs == 0 || best.is_newer_than(self.serial) {
            *self = Newest {
                serial: best,
                roles,
                legs: 1,
            };
        } else if best == self.serial {
            self.roles &= roles;
            self.legs += 1;
        }
    }

    fn found(self, trusted: u32) -> SegmentFound {
        let agreed = self.legs == trusted && self.roles != 0;
        let holds = |r: CopyRole| self.roles & 1 << r.index() != 0;
        let write_first = match (agreed, holds(CopyRole::Primary), holds(CopyRole::Secondary)) {
            (true, true, false) => CopyRole::Secondary,
            (false, false, true) => CopyRole::Secondary,
            _ => CopyRole::Primary,
        };
        SegmentFound {
            serial: self.serial,
            write_first,
            agreed,
        }
    }
}

/// The bitmap merged over the legs in sync.
struct MergedBitmap {
    chunks: Vec<u8>,
    segments: Vec<SegmentFound>,
    lost_segments: u32,
}

/// Step 5: every in-sync leg's bitmap, merged chunk by chunk.
#[inline(never)]
fn merge_bitmaps<R: BlockReader>(
    reader: &mut R,
    template: &Superblock,
    legs: &[Option<FoundLeg>],
    scratch: &mut Scratch,
) -> MergedBitmap {
    let g = template.geometry;
    let blocks = &mut scratch.blocks;
    let mut merged = MergedBitmap {
        chunks: vec![0u8; g.chunk_count as usize],
        segments: Vec::new(),
        lost_segments: 0,
    };
    let none = Newest {
        serial: Serial::NEVER,
        roles: 0,
        legs: 0,
    };
    let mut newest = vec![none; g.segment_count as usize];
    let mut trusted = 0;
    let mut first = true;
    let mut seg_buf = vec![0u8; CHUNKS_PER_SEGMENT];
    for leg in legs.iter().flatten().filter(|l| l.in_sync) {
        for index in 0..g.segment_count {
            for role in CopyRole::BOTH {
                let block = &mut blocks[role.index()];
                if !reader.read_block(leg.pos, g.segment_sector(role, index), block) {
                    block.fill(0);
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
            newest[index as usize].add(load.copies.map(|c| c.ok()));
            merged.lost_segments += u32::from(load.chosen == Chosen::Neither);
            let dst = &mut merged.chunks[start as usize..(start + u64::from(n)) as usize];
            for (d, &s) in dst.iter_mut().zip(out.iter()) {
                *d = if first { s } else { merge_chunk(*d, s) };
            }
        }
        first = false;
        trusted += 1;
    }
    merged.segments = newest.iter().map(|n| n.found(trusted)).collect();
    merged
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
    reader
        .admit(&geometry)
        .map_err(AssemblyError::OutOfMemory)?;
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
        assemble_layout(&mut areas, count, force, true)?
    };
    adopt_blank_areas(&mut asm);
    if asm.template.geometry != geometry {
        return Err(AssemblyError::GeometryMismatch { pos: 0 });
    }
    for (slot, leg) in asm.legs.iter().enumerate() {
        if let Some(found) = leg.as_ref().filter(|f| f.pos != slot) {
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
        let leg_uuid = member.uuid;
        let mut superblock = boxed(&*asm.template);
        superblock.serial = Serial::NEVER;
        superblock.leg_uuid = leg_uuid;
        superblock.slot = pos as u8;
        superblock.event = 0;
        asm.legs[pos] = Some(FoundLeg {
            pos,
            superblock,
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
    let mut template = Box::new(Superblock::BLANK);
    fill_new_superblock(&mut template, mirror_uuid, &uuids, 0, geometry)
        .expect("distinct non-nil uuids for 1..=MAX_LEGS legs");
    template.clean = false;
    let mut legs = vec![None; MAX_LEGS];
    for (slot, leg) in legs.iter_mut().enumerate().take(count) {
        let mut superblock = boxed(&*template);
        fill_new_superblock(&mut superblock, mirror_uuid, &uuids, slot, geometry)
            .expect("checked for slot 0");
        superblock.clean = false;
        // Nothing on the log yet: the mirror writes every superblock first.
        superblock.event = 0;
        superblock.serial = Serial::NEVER;
        *leg = Some(FoundLeg {
            pos: slot,
            superblock,
            in_sync: true,
            secondary_damaged: false,
        });
    }
    let byte = match blank {
        BlankLog::Sync => ChunkByte::new(ChunkStatus::Dirty, false),
        BlankLog::NoSync => ChunkByte::UNWRITTEN,
    };
    Assembly {
        template,
        legs,
        chunks: vec![byte.raw(); geometry.chunk_count as usize],
        segments: vec![SegmentFound::BLANK; geometry.segment_count as usize],
        lost_segments: geometry.segment_count,
        unusable: Vec::new(),
    }
}
