//! Little-endian field access on fixed-size blocks.
//!
//! Every offset used by the codecs is a constant inside a block whose length
//! was checked first, yet these helpers still use `get` so that a mistake in
//! a constant becomes an error, never a panic reachable from a decoder.

use super::DecodeError;

pub(crate) fn field<const N: usize>(buf: &[u8], off: usize) -> Result<[u8; N], DecodeError> {
    let end = off
        .checked_add(N)
        .ok_or(DecodeError::Truncated { offset: off })?;
    let src = buf
        .get(off..end)
        .ok_or(DecodeError::Truncated { offset: off })?;
    let mut out = [0u8; N];
    out.copy_from_slice(src);
    Ok(out)
}

pub(crate) fn u8_at(buf: &[u8], off: usize) -> Result<u8, DecodeError> {
    Ok(field::<1>(buf, off)?[0])
}

pub(crate) fn u16_at(buf: &[u8], off: usize) -> Result<u16, DecodeError> {
    Ok(u16::from_le_bytes(field(buf, off)?))
}

pub(crate) fn u32_at(buf: &[u8], off: usize) -> Result<u32, DecodeError> {
    Ok(u32::from_le_bytes(field(buf, off)?))
}

pub(crate) fn u64_at(buf: &[u8], off: usize) -> Result<u64, DecodeError> {
    Ok(u64::from_le_bytes(field(buf, off)?))
}

/// Fails with the offset of the first non-zero byte in `buf[range]`.
pub(crate) fn expect_zero(buf: &[u8], start: usize, end: usize) -> Result<(), DecodeError> {
    let region = buf
        .get(start..end)
        .ok_or(DecodeError::Truncated { offset: start })?;
    match region.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(i) => Err(DecodeError::ReservedNotZero { offset: start + i }),
    }
}

/// Writer over a block that the encoder itself sized; offsets are constants.
pub(crate) struct Put<'a>(pub(crate) &'a mut [u8]);

impl Put<'_> {
    pub(crate) fn bytes(&mut self, off: usize, src: &[u8]) {
        self.0[off..off + src.len()].copy_from_slice(src);
    }
    pub(crate) fn u8(&mut self, off: usize, v: u8) {
        self.0[off] = v;
    }
    pub(crate) fn u16(&mut self, off: usize, v: u16) {
        self.bytes(off, &v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, off: usize, v: u32) {
        self.bytes(off, &v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, off: usize, v: u64) {
        self.bytes(off, &v.to_le_bytes());
    }
}

/// CRC-32 (IEEE) of a block, skipping the 4 bytes at `crc_off` that hold it.
pub(crate) fn block_crc(block: &[u8], crc_off: usize) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&block[..crc_off]);
    h.update(&block[crc_off + 4..]);
    h.finalize()
}
