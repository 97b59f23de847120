//! The memory bound `dmm_memory_bound` gives holds: a counting allocator
//! sees every byte `dmm_create` allocates, and the peak stays under the
//! bound, which is not far above it. Only the test's own thread is
//! counted: the harness's threads allocate when they like (under load,
//! a count of every thread failed now and then).

mod common;

use common::legs::{read_block, two_leg_words, Legs};
use dmmirror::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

struct Counting;

std::thread_local! {
    /// Set while this thread's allocations count.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if counted() {
            let live = LIVE.fetch_add(l.size(), SeqCst) + l.size();
            PEAK.fetch_max(live, SeqCst);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if counted() {
            LIVE.fetch_sub(l.size(), SeqCst);
        }
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn creation_stays_within_the_bound() {
    // 2^17 chunks of 8 sectors: the per-chunk tables dominate.
    let chunk = 8;
    let leg_sectors = 2048 + 8 * (1u64 << 17) + 4096;
    let mut legs = Legs::new(leg_sectors, chunk);
    let (_words, argv) = two_leg_words();
    let bound = unsafe { dmm_memory_bound(leg_sectors, chunk, 3, argv.as_ptr()) };
    let mut m = std::ptr::null_mut();
    let before = LIVE.load(SeqCst);
    PEAK.store(before, SeqCst);
    COUNTED.with(|c| c.set(true));
    let code = unsafe {
        dmm_create(
            3,
            argv.as_ptr(),
            Some(read_block),
            legs.ctx(),
            0,
            &mut m,
            std::ptr::null_mut(),
        )
    };
    COUNTED.with(|c| c.set(false));
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
    COUNTED.with(|c| c.set(true));
    unsafe { dmm_destroy(m) };
    COUNTED.with(|c| c.set(false));
    assert_eq!(LIVE.load(SeqCst), before, "everything freed");
    println!("bound {bound}, peak {peak}, kept {kept}");
}
