//! Runs the C scenario over two fresh leg images made by the core's
//! format code (what `mirrorctl create` writes).

use dmmirror_core::format::*;

const CHUNK: u32 = 8;

fn new_leg_images() -> (Vec<u8>, Vec<u8>) {
    let leg_sectors = 2048 + 64 * u64::from(CHUNK);
    let geo = Geometry::for_leg(leg_sectors, CHUNK).unwrap();
    let uuids = [Uuid([1; 16]), Uuid([2; 16])];
    let mut images = vec![vec![0u8; leg_sectors as usize * 512]; 2];
    for (slot, image) in images.iter_mut().enumerate() {
        let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
        new_leg_blocks::<()>(&sb, |sector, block| {
            let at = sector as usize * 512;
            image[at..at + BLOCK_SIZE].copy_from_slice(block);
            Ok(())
        })
        .unwrap();
    }
    let second = images.pop().unwrap();
    (images.pop().unwrap(), second)
}

#[test]
fn the_c_scenario_passes_every_check() {
    let (mut a, mut b) = new_leg_images();
    let len = a.len() as u64;
    let failures = unsafe { dmmirror_ctest::dmm_c_scenario(a.as_mut_ptr(), b.as_mut_ptr(), len) };
    assert_eq!(failures, 0, "see the checks printed above");
    assert_eq!(dmmirror_ctest::dmm_format_version(), 1);
}

#[test]
fn the_c_disk_log_scenario_passes_every_check() {
    let failures = unsafe { dmmirror_ctest::dmm_c_lvm_scenario() };
    assert_eq!(failures, 0, "see the checks printed above");
}

#[test]
fn the_c_abi_refuses_what_a_buggy_caller_gives_it() {
    let (mut a, mut b) = new_leg_images();
    let len = a.len() as u64;
    let failures = unsafe { dmmirror_ctest::dmm_c_misuse(a.as_mut_ptr(), b.as_mut_ptr(), len) };
    assert_eq!(failures, 0, "see the checks printed above");
}
