//! A set of legs by slot: what the engine's masks mean, with the bit
//! arithmetic in one place.

use super::types::READ_STRIPE_SECTORS;
use crate::format::MAX_LEGS;
use core::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not};

/// Legs by slot (bit `s` is slot `s`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LegSet(u32);

const _: () = assert!(MAX_LEGS <= 32, "a LegSet holds 32 slots");

impl LegSet {
    pub const EMPTY: LegSet = LegSet(0);
    const ALL: u32 = if MAX_LEGS == 32 {
        u32::MAX
    } else {
        (1 << MAX_LEGS) - 1
    };

    /// The set of one slot.
    pub fn of(slot: usize) -> LegSet {
        assert!(slot < MAX_LEGS, "slot {slot}");
        LegSet(1 << slot)
    }

    /// The set of the slots in `bits` (the fast path's packed form).
    #[inline]
    pub fn from_bits(bits: u32) -> LegSet {
        debug_assert!(bits & !Self::ALL == 0, "legs {bits:#x}");
        LegSet(bits & Self::ALL)
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn contains(self, slot: usize) -> bool {
        slot < MAX_LEGS && self.0 & (1 << slot) != 0
    }

    pub fn insert(&mut self, slot: usize) {
        *self |= LegSet::of(slot);
    }

    pub fn remove(&mut self, slot: usize) {
        *self &= !LegSet::of(slot);
    }

    #[inline]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    #[inline]
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// The slots in the set, lowest first (one step per member: the
    /// lock-free read path walks it for every read).
    #[inline]
    pub fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        core::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let slot = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(slot)
        })
    }

    /// The member `turn` steps into the set, wrapping: each member in
    /// turn, however the slots are spread (round-robin reads).
    #[inline(always)] // every striped read asks
    pub fn nth_wrapping(self, turn: usize) -> Option<usize> {
        let n = self.len() as usize;
        if n == 0 {
            return None;
        }
        // No division for 1, 2, 4, 8 or 16 members.
        let k = if n.is_power_of_two() {
            turn & (n - 1)
        } else {
            turn % n
        };
        let mut bits = self.0;
        for _ in 0..k {
            bits &= bits - 1;
        }
        Some(bits.trailing_zeros() as usize)
    }

    /// The striped policy's leg for a read at `sector`: the stripes dealt
    /// out over the members in turn.
    #[inline(always)] // every striped read asks
    pub fn stripe_home(self, sector: u64) -> Option<usize> {
        self.nth_wrapping((sector / READ_STRIPE_SECTORS) as usize)
    }
}

impl BitOr for LegSet {
    type Output = LegSet;
    fn bitor(self, o: LegSet) -> LegSet {
        LegSet(self.0 | o.0)
    }
}

impl BitAnd for LegSet {
    type Output = LegSet;
    fn bitand(self, o: LegSet) -> LegSet {
        LegSet(self.0 & o.0)
    }
}

impl BitOrAssign for LegSet {
    fn bitor_assign(&mut self, o: LegSet) {
        self.0 |= o.0;
    }
}

impl BitAndAssign for LegSet {
    fn bitand_assign(&mut self, o: LegSet) {
        self.0 &= o.0;
    }
}

/// The slots not in the set (of the `MAX_LEGS` there are).
impl Not for LegSet {
    type Output = LegSet;
    fn not(self) -> LegSet {
        LegSet(!self.0 & Self::ALL)
    }
}
