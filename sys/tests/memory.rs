//! The memory bound `dmm_memory_bound` gives holds: a counting allocator
//! sees every byte `dmm_create` allocates, and the peak stays under the
//! bound, which is not far above it.

use dmmirror::*;
use dmmirror_core::format::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(l.size(), SeqCst) + l.size();
        PEAK.fetch_max(live, SeqCst);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), SeqCst);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Metadata blocks of each leg, by sector; data reads as zeros.
struct Legs(Vec<std::collections::HashMap<u64, [u8; BLOCK_SIZE]>>);

unsafe extern "C" fn read_block(ctx: *mut c_void, pos: u32, sector: u64, out: *mut u8) -> bool {
    let legs = unsafe { &*(ctx as *const Legs) };
    let block = legs.0[pos as usize]
        .get(&sector)
        .copied()
        .unwrap_or([0; BLOCK_SIZE]);
    unsafe { std::ptr::copy_nonoverlapping(block.as_ptr(), out, BLOCK_SIZE) };
    true
}

#[test]
fn creation_stays_within_the_bound() {
    // 2^17 chunks of 8 sectors: the per-chunk tables dominate.
    let chunk = 8;
    let leg_sectors = 2048 + 8 * (1u64 << 17) + 4096;
    let geo = Geometry::for_leg(leg_sectors, chunk).unwrap();
    let uuids = [Uuid([1; 16]), Uuid([2; 16])];
    let mut legs = Legs(vec![Default::default(); 2]);
    for (slot, leg) in legs.0.iter_mut().enumerate() {
        let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
        new_leg_blocks::<()>(&sb, |sector, b| {
            leg.insert(sector, *b);
            Ok(())
        })
        .unwrap();
    }
    let words: Vec<CString> = ["2", "/dev/da1", "/dev/da2"]
        .iter()
        .map(|w| CString::new(*w).unwrap())
        .collect();
    let argv: Vec<*const c_char> = words.iter().map(|w| w.as_ptr()).collect();
    let bound = unsafe { dmm_memory_bound(leg_sectors, chunk, 3, argv.as_ptr()) };
    let mut m = std::ptr::null_mut();
    let before = LIVE.load(SeqCst);
    PEAK.store(before, SeqCst);
    let code = unsafe {
        dmm_create(
            3,
            argv.as_ptr(),
            Some(read_block),
            &mut legs as *mut Legs as *mut c_void,
            0,
            &mut m,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(code, DMM_OK);
    // The creation's own reservation probe counts too: it is freed at
    // once, so it raises the peak to about the bound by itself.
    let peak = PEAK.load(SeqCst) - before;
    let kept = LIVE.load(SeqCst) - before;
    assert!(peak <= bound, "peak {peak} over the bound {bound}");
    assert!(kept <= bound);
    assert!(
        kept * 10 >= bound * 8,
        "the bound {bound} is loose: {kept} kept"
    );
    unsafe { dmm_destroy(m) };
    assert_eq!(LIVE.load(SeqCst), before, "everything freed");
    // Last: the harness's capture of this line allocates too.
    println!("bound {bound}, peak {peak}, kept {kept}");
}
