//! Serial numbers of metadata copies, compared across wraparound.

/// The serial of a metadata copy.
///
/// 0 means "never written". Live serials run 1, 2, ..., `u64::MAX`, then
/// wrap to 1 (the spec: "bump serial, 1 if overflow"). They form a ring of
/// `M = u64::MAX` values; `a` is newer than `b` when `a` lies less than half
/// the ring ahead of `b`. `M` is odd, so for two distinct live serials
/// exactly one is newer: the order has no ambiguous tie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Serial(u64);

const RING: u128 = u64::MAX as u128;

impl Serial {
    /// The serial of a copy that was never written.
    pub const NEVER: Serial = Serial(0);
    /// The first serial a copy is written with.
    pub const FIRST: Serial = Serial(1);

    /// Wraps a raw on-disk value.
    pub const fn new(raw: u64) -> Serial {
        Serial(raw)
    }

    /// The raw on-disk value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The serial of the next update: +1, and 1 after `u64::MAX`.
    pub const fn next(self) -> Serial {
        if self.0 == u64::MAX {
            Serial(1)
        } else {
            Serial(self.0 + 1)
        }
    }

    /// Whether `self` was written after `other`. Any live serial is newer
    /// than [`Serial::NEVER`]; equal serials are not newer than each other.
    pub fn is_newer_than(self, other: Serial) -> bool {
        match (self.0, other.0) {
            (0, _) => false,
            (_, 0) => true,
            (a, b) => {
                let ahead = (u128::from(a) + RING - u128::from(b)) % RING;
                ahead != 0 && ahead <= RING / 2
            }
        }
    }
}

impl core::fmt::Display for Serial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}
