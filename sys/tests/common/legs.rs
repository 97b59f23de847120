//! In-memory legs for tests that drive `dmm_create`: each leg's metadata
//! blocks by sector, written as `mirrorctl create` writes them; anything
//! else reads as zeros. Shared by the unit tests in src/ (by path) and
//! the integration tests.

use dmmirror_core::format::*;
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};

pub struct Legs(pub Vec<HashMap<u64, [u8; BLOCK_SIZE]>>);

impl Legs {
    /// Two legs of `leg_sectors` with a fresh mirror's metadata.
    pub fn new(leg_sectors: u64, chunk_sectors: u32) -> Legs {
        let geo = Geometry::for_leg(leg_sectors, chunk_sectors).unwrap();
        let uuids = [Uuid([1; 16]), Uuid([2; 16])];
        let mut legs = Legs(vec![HashMap::new(); 2]);
        for (slot, leg) in legs.0.iter_mut().enumerate() {
            let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
            new_leg_blocks::<()>(&sb, |sector, b| {
                leg.insert(sector, *b);
                Ok(())
            })
            .unwrap();
        }
        legs
    }

    /// The context pointer `read_block` expects.
    pub fn ctx(&mut self) -> *mut c_void {
        self as *mut Legs as *mut c_void
    }
}

/// The `dmm_read_block_fn` over [`Legs`].
///
/// # Safety
/// `ctx` is a `Legs`, `out` has room for a block.
pub unsafe extern "C" fn read_block(ctx: *mut c_void, pos: u32, sector: u64, out: *mut u8) -> bool {
    // SAFETY: as the caller promises.
    let legs = unsafe { &*(ctx as *const Legs) };
    let block = legs.0[pos as usize]
        .get(&sector)
        .copied()
        .unwrap_or([0; BLOCK_SIZE]);
    // SAFETY: as above.
    unsafe { std::ptr::copy_nonoverlapping(block.as_ptr(), out, BLOCK_SIZE) };
    true
}

/// The words of the native table over those two legs, and their pointers.
pub fn two_leg_words() -> (Vec<CString>, Vec<*const c_char>) {
    let words: Vec<CString> = ["2", "/dev/da1", "/dev/da2"]
        .iter()
        .map(|w| CString::new(*w).unwrap())
        .collect();
    let argv = words.iter().map(|w| w.as_ptr()).collect();
    (words, argv)
}
