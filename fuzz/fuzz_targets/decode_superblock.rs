//! Any bytes: the superblock decoder must not panic, and whatever it accepts
//! must re-encode to the very same block.
#![no_main]

use dmmirror_core::format::{CopyRole, Superblock, BLOCK_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for role in CopyRole::BOTH {
        if let Ok(sb) = Superblock::decode(data, role) {
            let mut again = [0u8; BLOCK_SIZE];
            sb.encode(role, &mut again)
                .expect("a decoded superblock re-encodes");
            assert_eq!(&again[..], data);
        }
    }
});
