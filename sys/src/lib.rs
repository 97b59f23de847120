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

/// Checks whether `block` (`len` bytes, read from the superblock copy
/// `role`: 0 primary, 1 secondary) is a valid dm-mirror superblock.
/// Returns 1 when valid, 0 when not (any reason), -1 on bad arguments.
///
/// # Safety
/// `block` must be null or point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn dmm_superblock_probe(block: *const u8, len: usize, role: u32) -> i32 {
    use dmmirror_core::format::{CopyRole, Superblock};
    let role = match role {
        0 => CopyRole::Primary,
        1 => CopyRole::Secondary,
        _ => return -1,
    };
    if block.is_null() {
        return -1;
    }
    // SAFETY: the caller promises `len` readable bytes at a non-null `block`.
    let bytes = unsafe { core::slice::from_raw_parts(block, len) };
    i32::from(Superblock::decode(bytes, role).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_tells_a_superblock_from_zeros() {
        let zeros = [0u8; 4096];
        assert_eq!(
            unsafe { dmm_superblock_probe(zeros.as_ptr(), zeros.len(), 0) },
            0
        );
        assert_eq!(unsafe { dmm_superblock_probe(core::ptr::null(), 0, 0) }, -1);
        assert_eq!(
            unsafe { dmm_superblock_probe(zeros.as_ptr(), zeros.len(), 2) },
            -1
        );
        assert_eq!(dmm_format_version(), 1);
    }
}

/// In the kernel, the core's tables (allocated once, when a mirror is
/// created) come from the kernel allocator through two functions the C
/// adapter provides.
#[cfg(all(target_os = "none", not(test)))]
mod kernel_alloc {
    use core::alloc::{GlobalAlloc, Layout};

    extern "C" {
        fn dmm_kernel_alloc(size: usize, align: usize) -> *mut u8;
        fn dmm_kernel_free(ptr: *mut u8, size: usize, align: usize);
    }

    struct KernelAlloc;

    // SAFETY: the adapter's functions return memory of at least `size`
    // bytes aligned to `align`, or null, and free what they returned.
    unsafe impl GlobalAlloc for KernelAlloc {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            // SAFETY: see the impl.
            unsafe { dmm_kernel_alloc(l.size(), l.align()) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            // SAFETY: `p` came from `alloc` with the same layout.
            unsafe { dmm_kernel_free(p, l.size(), l.align()) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: KernelAlloc = KernelAlloc;
}
