//! Any bytes: the segment decoder must not panic, and whatever it accepts
//! must re-encode to the very same block. The expectations (index, chunk
//! count, mirror) come from the header itself so that valid blocks are
//! reachable; the decoder compares them like any other field.
#![no_main]

use dmmirror_core::format::{
    decode_segment, encode_segment, CopyRole, SegmentExpect, Uuid, BLOCK_SIZE,
};
use libfuzzer_sys::fuzz_target;

fn field<const N: usize>(data: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = data.get(off..off + N) {
        out.copy_from_slice(src);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let index = u32::from_le_bytes(field(data, 12));
    let chunk_count = u64::from_le_bytes(field(data, 48));
    let mirror_uuid = Uuid(field(data, 32));
    for role in CopyRole::BOTH {
        let expect = SegmentExpect {
            role,
            index,
            mirror_uuid,
            chunk_count,
        };
        if let Ok((header, chunks)) = decode_segment(data, &expect) {
            let mut again = [0u8; BLOCK_SIZE];
            encode_segment(&header, chunks, &mut again).expect("a decoded segment re-encodes");
            assert_eq!(&again[..], data);
        }
    }
});
