//! 128-bit identifiers of mirrors and legs.

/// A mirror or leg identifier. The core never invents one: the caller
/// supplies random bytes (the core has no entropy source).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero identifier, which marks an empty member slot.
    pub const NIL: Uuid = Uuid([0; 16]);

    /// Builds a random (version 4, RFC 4122 variant) UUID from 16 random bytes.
    pub fn from_random_bytes(mut bytes: [u8; 16]) -> Uuid {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid(bytes)
    }

    /// Whether this is the all-zero identifier.
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl core::fmt::Display for Uuid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
