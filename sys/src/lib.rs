//! C ABI over `dmmirror-core`. This crate grows into the full handle-based
//! API in its own issue; for now it exports the format version so that the
//! archive can be built and linked for the host and the kernel target.
// The kernel build has no std; the host build links std so that C test
// programs can use the archive like any userspace library.
#![cfg_attr(target_os = "none", no_std)]

/// The on-disk format version the linked core reads and writes.
#[no_mangle]
pub extern "C" fn dmm_format_version() -> u32 {
    u32::from(dmmirror_core::format::FORMAT_VERSION)
}

#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // The core is written so that no panic is reachable from outside; if
    // one happens anyway, stopping here beats unwinding through C.
    loop {}
}
