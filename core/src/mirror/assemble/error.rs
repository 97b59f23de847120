//! Why the legs named in a table do not form a usable mirror, in words an
//! operator can act on.

use super::*;

/// Why the legs named in a table do not form a usable mirror.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    /// The last block of this leg's data area cannot be read: the device
    /// is smaller than the mirror's geometry (or failing there).
    DataAreaUnreadable {
        /// Table position.
        pos: usize,
        /// Sectors the leg needs from its table offset.
        need: u64,
    },
    /// The mirror's tables do not fit in the memory the caller can give.
    OutOfMemory(MemoryShortfall),
    /// Both superblock copies of this leg are valid but describe different
    /// mirrors, legs or layouts.
    CopiesDisagree {
        /// Table position.
        pos: usize,
    },
    /// This leg's metadata is of the other layout: a log device's on a
    /// leg of a native table, or a leg's in a log area.
    WrongLayout {
        /// Table position.
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
            AssemblyError::DataAreaUnreadable { pos, need } => write!(
                f,
                "leg {pos}: the end of its data area cannot be read: smaller than the {need} sectors this mirror needs, or failing there"
            ),
            AssemblyError::CopiesDisagree { pos } => write!(
                f,
                "leg {pos}: its two superblock copies describe different mirrors, legs or layouts (an interrupted create?)"
            ),
            AssemblyError::WrongLayout { pos } => write!(
                f,
                "leg {pos}: its metadata is of the other layout (a log device's on a leg, or a leg's in a log area)"
            ),
            AssemblyError::OutOfMemory(MemoryShortfall { needs, room }) => write!(
                f,
                "a mirror of this size needs up to {needs} bytes of kernel memory and {room} are available: use a larger chunk size"
            ),
        }
    }
}
