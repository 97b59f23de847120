//! The leg superblock: identity, membership and geometry, stored twice.

use super::bytes::{self, Put};
use super::geometry::{Geometry, GeometryError};
use super::{check_frame, check_role, seal, CopyRole, DecodeError, MemberFault, Serial, Uuid};
use super::{BLOCK_SIZE, FORMAT_VERSION, SERIAL_OFFSET};

/// Magic of a superblock.
pub const SUPERBLOCK_MAGIC: [u8; 8] = *b"DMMIRROR";
/// Member slots in every superblock.
pub const MAX_LEGS: usize = 16;

const OFF_VERSION: usize = 8;
const OFF_ROLE: usize = 10;
const OFF_SLOT: usize = 11;
const OFF_FLAGS: usize = 12;
const OFF_MIRROR_UUID: usize = 32;
const OFF_LEG_UUID: usize = 48;
const OFF_EVENT: usize = 64;
const OFF_CHUNK_SECTORS: usize = 72;
const OFF_SEGMENT_COUNT: usize = 76;
const OFF_CHUNK_COUNT: usize = 80;
const OFF_DATA_OFFSET: usize = 88;
const OFF_DATA_SECTORS: usize = 96;
const OFF_BITMAP: [usize; 2] = [104, 112];
const OFF_MODIFIED_SINCE: usize = 120;
const OFF_MEMBER_SLOTS: usize = 128;
const OFF_MEMBERS: usize = 132;
const MEMBER_LEN: usize = 64;
const MEMBERS_END: usize = OFF_MEMBERS + MAX_LEGS * MEMBER_LEN;

const M_STATE: usize = 16;
const M_FLAGS: usize = 17;
const M_STATE_EVENT: usize = 24;
const M_CHECKPOINT: usize = 32;
const M_RESERVED_END: usize = MEMBER_LEN;

/// Member flag: the leg must receive every written chunk, not only the
/// MODIFIED ones (it is new, or its data diverged).
const M_FLAG_FULL_COPY: u8 = 1;

/// The flag bit set while the mirror was shut down cleanly.
const FLAG_CLEAN: u32 = 1;
/// The flag bit of an external layout (metadata on a log device).
const FLAG_EXTERNAL: u32 = 2;

/// The recorded state of a member leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// Holds every chunk the bitmap does not mark otherwise.
    InSync,
    /// Failed an I/O; not trusted until rebuilt.
    Failed,
    /// Removed by the operator; not trusted until rebuilt.
    Removed,
    /// Being copied to; chunks below the checkpoint are in sync.
    Rebuilding,
}

impl MemberState {
    const fn code(self) -> u8 {
        match self {
            MemberState::InSync => 1,
            MemberState::Failed => 2,
            MemberState::Removed => 3,
            MemberState::Rebuilding => 4,
        }
    }

    const fn from_code(code: u8) -> Option<MemberState> {
        match code {
            1 => Some(MemberState::InSync),
            2 => Some(MemberState::Failed),
            3 => Some(MemberState::Removed),
            4 => Some(MemberState::Rebuilding),
            _ => None,
        }
    }

    /// Lower-case name for status text.
    pub const fn name(self) -> &'static str {
        match self {
            MemberState::InSync => "in-sync",
            MemberState::Failed => "failed",
            MemberState::Removed => "removed",
            MemberState::Rebuilding => "rebuilding",
        }
    }
}

/// One entry of the member table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    /// The leg's identity.
    pub uuid: Uuid,
    /// Its recorded state.
    pub state: MemberState,
    /// The event counter value at which that state was recorded.
    pub state_event: u64,
    /// For a rebuilding leg: chunks below this index are in sync.
    pub rebuild_checkpoint: u64,
    /// Its rebuild copies every written chunk: the bitmap's MODIFIED marks
    /// do not cover what it missed (a new leg, or one that diverged).
    pub full_copy: bool,
}

/// One copy of a leg's superblock, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Superblock {
    /// Serial of this copy on this leg (per leg, for the two-copy protocol).
    pub serial: Serial,
    /// The mirror this leg belongs to.
    pub mirror_uuid: Uuid,
    /// This leg.
    pub leg_uuid: Uuid,
    /// This leg's slot in the member table.
    pub slot: u8,
    /// Mirror-wide counter, bumped on every membership or state change.
    pub event: u64,
    /// Set when the mirror was shut down cleanly (no write in flight).
    pub clean: bool,
    /// Event counter at which the bitmap started recording MODIFIED; 0 when
    /// the mirror has not been degraded since MODIFIED was last cleared.
    pub modified_since_event: u64,
    /// Where metadata and data live.
    pub geometry: Geometry,
    /// The member table: slot to leg.
    pub members: [Option<Member>; MAX_LEGS],
}

impl Superblock {
    /// Applies every check a reader applies to the decoded fields.
    pub fn validate(&self) -> Result<(), DecodeError> {
        if self.serial == Serial::NEVER {
            return Err(DecodeError::ZeroSerial);
        }
        self.geometry.validate().map_err(DecodeError::BadGeometry)?;
        if self.mirror_uuid.is_nil() {
            return Err(DecodeError::NilMirror);
        }
        if self.event == 0 || self.modified_since_event > self.event {
            return Err(DecodeError::BadEvent {
                event: self.event,
                modified_since: self.modified_since_event,
            });
        }
        let slot = self.slot;
        let fault = |slot: usize, reason| DecodeError::BadMember {
            slot: slot as u8,
            reason,
        };
        let own = self
            .members
            .get(slot as usize)
            .ok_or(fault(slot as usize, MemberFault::SlotOutOfRange))?;
        if !own.is_some_and(|m| m.uuid == self.leg_uuid) {
            return Err(fault(slot as usize, MemberFault::OwnSlotMismatch));
        }
        for (i, member) in self.members.iter().enumerate() {
            let Some(m) = member else { continue };
            if m.uuid.is_nil() {
                return Err(fault(i, MemberFault::NilUuid));
            }
            if m.rebuild_checkpoint > self.geometry.chunk_count {
                return Err(fault(i, MemberFault::CheckpointPastEnd));
            }
            if m.state_event > self.event {
                return Err(fault(i, MemberFault::StateEventAfterEvent));
            }
            if self.members[..i].iter().flatten().any(|o| o.uuid == m.uuid) {
                return Err(fault(i, MemberFault::DuplicateUuid));
            }
        }
        Ok(())
    }

    /// Encodes this superblock as the copy `role` into `out`, after the
    /// same checks a reader applies.
    pub fn encode(&self, role: CopyRole, out: &mut [u8; BLOCK_SIZE]) -> Result<(), DecodeError> {
        self.validate()?;
        out.fill(0);
        let mut put = Put(out);
        put.bytes(0, &SUPERBLOCK_MAGIC);
        put.u16(OFF_VERSION, FORMAT_VERSION);
        put.u8(OFF_ROLE, role.code());
        put.u8(OFF_SLOT, self.slot);
        let external = if self.geometry.external {
            FLAG_EXTERNAL
        } else {
            0
        };
        put.u32(
            OFF_FLAGS,
            if self.clean { FLAG_CLEAN } else { 0 } | external,
        );
        put.u64(SERIAL_OFFSET, self.serial.get());
        put.bytes(OFF_MIRROR_UUID, &self.mirror_uuid.0);
        put.bytes(OFF_LEG_UUID, &self.leg_uuid.0);
        put.u64(OFF_EVENT, self.event);
        let g = &self.geometry;
        put.u32(OFF_CHUNK_SECTORS, g.chunk_sectors);
        put.u32(OFF_SEGMENT_COUNT, g.segment_count);
        put.u64(OFF_CHUNK_COUNT, g.chunk_count);
        put.u64(OFF_DATA_OFFSET, g.data_offset);
        put.u64(OFF_DATA_SECTORS, g.data_sectors);
        put.u64(OFF_BITMAP[0], g.bitmap_sector[0]);
        put.u64(OFF_BITMAP[1], g.bitmap_sector[1]);
        put.u64(OFF_MODIFIED_SINCE, self.modified_since_event);
        put.u32(OFF_MEMBER_SLOTS, MAX_LEGS as u32);
        for (i, m) in self.members.iter().enumerate() {
            let Some(m) = m else { continue };
            let base = OFF_MEMBERS + i * MEMBER_LEN;
            put.bytes(base, &m.uuid.0);
            put.u8(base + M_STATE, m.state.code());
            put.u8(
                base + M_FLAGS,
                if m.full_copy { M_FLAG_FULL_COPY } else { 0 },
            );
            put.u64(base + M_STATE_EVENT, m.state_event);
            put.u64(base + M_CHECKPOINT, m.rebuild_checkpoint);
        }
        seal(out);
        Ok(())
    }

    /// A placeholder to decode into; never valid (serial 0).
    pub const BLANK: Superblock = Superblock {
        serial: Serial::NEVER,
        mirror_uuid: Uuid([0; 16]),
        leg_uuid: Uuid([0; 16]),
        slot: 0,
        event: 0,
        clean: false,
        modified_since_event: 0,
        geometry: Geometry {
            chunk_sectors: 0,
            data_offset: 0,
            data_sectors: 0,
            chunk_count: 0,
            segment_count: 0,
            bitmap_sector: [0; 2],
            external: false,
        },
        members: [None; MAX_LEGS],
    };

    /// Decodes the copy read from the place of `role`. Never panics.
    pub fn decode(block: &[u8], role: CopyRole) -> Result<Superblock, DecodeError> {
        let mut sb = Superblock::BLANK;
        Superblock::decode_into(block, role, &mut sb)?;
        Ok(sb)
    }

    /// The trusted copy of two (the spec's choice rule) decoded into `out`,
    /// with room for one superblock only: each copy is decoded for its
    /// serial, then the chosen one again. Returns the serial of each valid
    /// copy (primary, secondary); with neither, `out` must not be used.
    /// Two valid copies that are not versions of one leg's block (another
    /// mirror, leg, slot or geometry: an interrupted re-creation) are
    /// [`DecodeError::CopiesDisagree`]: serials order one block's versions
    /// only, so neither is trusted.
    pub fn decode_trusted(
        primary: &[u8],
        secondary: &[u8],
        out: &mut Superblock,
    ) -> Result<[Option<Serial>; 2], DecodeError> {
        let blocks = [primary, secondary];
        let mut serials = [None; 2];
        let mut first: Option<Identity> = None;
        for (k, role) in CopyRole::BOTH.into_iter().enumerate() {
            if Superblock::decode_into(blocks[k], role, out).is_err() {
                continue;
            }
            serials[k] = Some(out.serial);
            match first {
                Some(id) if id != Identity::of(out) => return Err(DecodeError::CopiesDisagree),
                _ => first = Some(Identity::of(out)),
            }
        }
        if let Some(role) = super::choose_copy(serials[0], serials[1]).role() {
            let again = Superblock::decode_into(blocks[role.index()], role, out);
            debug_assert!(again.is_ok(), "a copy decoded once decodes again");
        }
        Ok(serials)
    }

    /// Decodes as [`Superblock::decode`] does, in place: kernel stacks have
    /// no room for superblocks passed by value. On an error `out` holds
    /// whatever was decoded before it, and must not be used.
    pub fn decode_into(
        block: &[u8],
        role: CopyRole,
        out: &mut Superblock,
    ) -> Result<(), DecodeError> {
        check_frame(block, &SUPERBLOCK_MAGIC, OFF_VERSION)?;
        check_role(bytes::u8_at(block, OFF_ROLE)?, role)?;
        let flags = bytes::u32_at(block, OFF_FLAGS)?;
        if flags & !(FLAG_CLEAN | FLAG_EXTERNAL) != 0 {
            return Err(DecodeError::UnknownFlags { flags });
        }
        bytes::expect_zero(block, 28, OFF_MIRROR_UUID)?;
        let slots = bytes::u32_at(block, OFF_MEMBER_SLOTS)?;
        if slots != MAX_LEGS as u32 {
            return Err(DecodeError::BadGeometry(GeometryError::Inconsistent));
        }
        for (i, member) in out.members.iter_mut().enumerate() {
            *member = decode_member(block, i)?;
        }
        bytes::expect_zero(block, MEMBERS_END, BLOCK_SIZE)?;
        out.geometry = Geometry {
            chunk_sectors: bytes::u32_at(block, OFF_CHUNK_SECTORS)?,
            segment_count: bytes::u32_at(block, OFF_SEGMENT_COUNT)?,
            chunk_count: bytes::u64_at(block, OFF_CHUNK_COUNT)?,
            data_offset: bytes::u64_at(block, OFF_DATA_OFFSET)?,
            data_sectors: bytes::u64_at(block, OFF_DATA_SECTORS)?,
            bitmap_sector: [
                bytes::u64_at(block, OFF_BITMAP[0])?,
                bytes::u64_at(block, OFF_BITMAP[1])?,
            ],
            external: flags & FLAG_EXTERNAL != 0,
        };
        out.serial = Serial::new(bytes::u64_at(block, SERIAL_OFFSET)?);
        out.mirror_uuid = Uuid(bytes::field(block, OFF_MIRROR_UUID)?);
        out.leg_uuid = Uuid(bytes::field(block, OFF_LEG_UUID)?);
        out.slot = bytes::u8_at(block, OFF_SLOT)?;
        out.event = bytes::u64_at(block, OFF_EVENT)?;
        out.clean = flags & FLAG_CLEAN != 0;
        out.modified_since_event = bytes::u64_at(block, OFF_MODIFIED_SINCE)?;
        out.validate()
    }
}

fn decode_member(block: &[u8], slot: usize) -> Result<Option<Member>, DecodeError> {
    let base = OFF_MEMBERS + slot * MEMBER_LEN;
    let fault = |reason| DecodeError::BadMember {
        slot: slot as u8,
        reason,
    };
    let code = bytes::u8_at(block, base + M_STATE)?;
    if code == 0 {
        return match bytes::expect_zero(block, base, base + MEMBER_LEN) {
            Ok(()) => Ok(None),
            Err(_) => Err(fault(MemberFault::EmptySlotNotZero)),
        };
    }
    let state = MemberState::from_code(code).ok_or(fault(MemberFault::UnknownState(code)))?;
    let flags = bytes::u8_at(block, base + M_FLAGS)?;
    if flags & !M_FLAG_FULL_COPY != 0 {
        return Err(fault(MemberFault::UnknownFlags(flags)));
    }
    bytes::expect_zero(block, base + M_FLAGS + 1, base + M_STATE_EVENT)?;
    bytes::expect_zero(block, base + M_CHECKPOINT + 8, base + M_RESERVED_END)?;
    Ok(Some(Member {
        uuid: Uuid(bytes::field(block, base)?),
        state,
        state_event: bytes::u64_at(block, base + M_STATE_EVENT)?,
        rebuild_checkpoint: bytes::u64_at(block, base + M_CHECKPOINT)?,
        full_copy: flags & M_FLAG_FULL_COPY != 0,
    }))
}

/// The outcome of reading both superblock copies of one leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuperblockLoad {
    /// The copy used, if either is valid.
    pub chosen: super::Chosen,
    /// Per copy (primary, secondary): the decoded superblock, or why not.
    pub copies: [Result<Superblock, DecodeError>; 2],
    /// Both copies are valid but not versions of one leg's block: neither
    /// is trusted (see [`Superblock::decode_trusted`]).
    pub disagree: bool,
}

/// What the two copies of one leg's superblock share: they are versions of
/// one block, at most one update apart, and these never change in place.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Identity {
    mirror_uuid: Uuid,
    leg_uuid: Uuid,
    slot: u8,
    geometry: Geometry,
}

impl Identity {
    fn of(sb: &Superblock) -> Identity {
        Identity {
            mirror_uuid: sb.mirror_uuid,
            leg_uuid: sb.leg_uuid,
            slot: sb.slot,
            geometry: sb.geometry,
        }
    }
}

impl SuperblockLoad {
    /// Reads both copies and applies the spec's choice rule.
    pub fn read(primary: &[u8], secondary: &[u8]) -> SuperblockLoad {
        let copies = [
            Superblock::decode(primary, CopyRole::Primary),
            Superblock::decode(secondary, CopyRole::Secondary),
        ];
        let serial = |r: &Result<Superblock, DecodeError>| r.as_ref().ok().map(|sb| sb.serial);
        let disagree = match &copies {
            [Ok(p), Ok(s)] => Identity::of(p) != Identity::of(s),
            _ => false,
        };
        SuperblockLoad {
            chosen: if disagree {
                super::Chosen::Neither
            } else {
                super::choose_copy(serial(&copies[0]), serial(&copies[1]))
            },
            copies,
            disagree,
        }
    }

    /// The trusted superblock, if either copy is valid.
    pub fn superblock(&self) -> Option<&Superblock> {
        let role = self.chosen.role()?;
        self.copies[role.index()].as_ref().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{new_superblock, seal, MemberFault};

    /// A valid primary copy of slot 0 of a 2-leg mirror at event 3, with
    /// MODIFIED tracking on since event 2 and slot 1 failed at event 2.
    fn valid() -> (Superblock, [u8; BLOCK_SIZE]) {
        let geo = Geometry::for_leg(1 << 21, 2048).unwrap();
        let mut sb =
            new_superblock(Uuid([9; 16]), &[Uuid([1; 16]), Uuid([2; 16])], 0, geo).unwrap();
        sb.event = 3;
        sb.modified_since_event = 2;
        let m = sb.members[1].as_mut().unwrap();
        m.state = MemberState::Failed;
        m.state_event = 2;
        let mut block = [0u8; BLOCK_SIZE];
        sb.encode(CopyRole::Primary, &mut block).unwrap();
        (sb, block)
    }

    /// The valid copy with `len` bytes at `off` replaced, resealed.
    fn patched(off: usize, bytes: &[u8]) -> Result<Superblock, DecodeError> {
        let (_, mut block) = valid();
        block[off..off + bytes.len()].copy_from_slice(bytes);
        seal(&mut block);
        Superblock::decode(&block, CopyRole::Primary)
    }

    #[test]
    fn the_fixture_is_valid() {
        let (sb, block) = valid();
        assert_eq!(Superblock::decode(&block, CopyRole::Primary), Ok(sb));
    }

    #[test]
    fn contradictory_counters_and_identities_make_a_copy_invalid() {
        let member = |slot: u8, reason| Err(DecodeError::BadMember { slot, reason });
        assert_eq!(
            patched(OFF_MIRROR_UUID, &[0; 16]),
            Err(DecodeError::NilMirror)
        );
        let bad_event = |event, modified_since| {
            Err(DecodeError::BadEvent {
                event,
                modified_since,
            })
        };
        assert_eq!(patched(OFF_EVENT, &0u64.to_le_bytes()), bad_event(0, 2));
        assert_eq!(
            patched(OFF_MODIFIED_SINCE, &4u64.to_le_bytes()),
            bad_event(3, 4)
        );
        // Slot 1's state recorded at event 4, after the superblock's 3.
        let state_event = OFF_MEMBERS + MEMBER_LEN + M_STATE_EVENT;
        assert_eq!(
            patched(state_event, &4u64.to_le_bytes()),
            member(1, MemberFault::StateEventAfterEvent)
        );
        assert_eq!(
            patched(OFF_SLOT, &[16]),
            member(16, MemberFault::SlotOutOfRange)
        );
        // The EXTERNAL flag on a leg's layout: its data would need to
        // start at 0, and this one's starts at 2048.
        let external = (FLAG_CLEAN | FLAG_EXTERNAL).to_le_bytes();
        assert!(matches!(
            patched(OFF_FLAGS, &external),
            Err(DecodeError::BadGeometry(_))
        ));
        // A leg's data at sector 0 would overlap its metadata.
        assert!(matches!(
            patched(OFF_DATA_OFFSET, &0u64.to_le_bytes()),
            Err(DecodeError::BadGeometry(GeometryError::Overlap))
        ));
    }

    #[test]
    fn two_valid_copies_of_different_mirrors_or_layouts_are_not_trusted() {
        let (sb, primary) = valid();
        let mut other = sb;
        other.mirror_uuid = Uuid([8; 16]);
        other.serial = Serial::new(7);
        let mut secondary = [0u8; BLOCK_SIZE];
        other.encode(CopyRole::Secondary, &mut secondary).unwrap();
        let mut out = Superblock::BLANK;
        assert_eq!(
            Superblock::decode_trusted(&primary, &secondary, &mut out),
            Err(DecodeError::CopiesDisagree)
        );
        let load = SuperblockLoad::read(&primary, &secondary);
        assert!(load.disagree && load.superblock().is_none());
        // One update apart (a newer event and serial): the newer wins.
        let mut newer = sb;
        newer.event = 4;
        newer.serial = Serial::new(7);
        newer.encode(CopyRole::Secondary, &mut secondary).unwrap();
        assert_eq!(
            Superblock::decode_trusted(&primary, &secondary, &mut out),
            Ok([Some(sb.serial), Some(Serial::new(7))])
        );
        assert_eq!(out, newer);
        // Another geometry under the same identity: not trusted either.
        let mut resized = sb;
        resized.geometry = Geometry::for_leg(1 << 22, 2048).unwrap();
        resized.serial = Serial::new(7);
        resized.encode(CopyRole::Secondary, &mut secondary).unwrap();
        assert!(SuperblockLoad::read(&primary, &secondary).disagree);
    }
}
