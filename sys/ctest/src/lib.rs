//! Links the C scenario (`scenario.c`) with the C ABI; `tests/scenario.rs`
//! runs it.

// The scenario's symbols come from dmmirror-sys: keep it linked.
pub use dmmirror::dmm_format_version;

extern "C" {
    /// Runs the whole scenario over two leg images of `leg_bytes` each.
    /// Returns the number of failed checks (each printed to stderr).
    pub fn dmm_c_scenario(leg0: *mut u8, leg1: *mut u8, leg_bytes: u64) -> i32;
    /// A mirror with LVM's disk log, on its own in-memory devices.
    /// Returns the number of failed checks.
    pub fn dmm_c_lvm_scenario() -> i32;
    /// Every call given null pointers, short buffers and names of nothing
    /// (`misuse.c`), then a good request. Returns the number of failed
    /// checks.
    pub fn dmm_c_misuse(leg0: *mut u8, leg1: *mut u8, leg_bytes: u64) -> i32;
}
