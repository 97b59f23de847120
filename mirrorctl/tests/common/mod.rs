//! Helpers for mirrorctl's end-to-end tests: scratch directories, image
//! files, and running the binary.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn image(dir: &Path, name: &str, bytes: u64) -> PathBuf {
    let p = dir.join(name);
    fs::File::create(&p).unwrap().set_len(bytes).unwrap();
    p
}

pub fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mirrorctl"));
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A 4 MiB LVM log device in `dir` holding the metadata of a 2-leg mirror
/// of 64 MiB legs: slot `slot`'s in area `area` for each pair given.
pub fn lvm_log(dir: &Path, areas: &[(usize, usize)]) -> PathBuf {
    use dmmirror_core::format::*;
    use std::os::unix::fs::FileExt;
    let log = image(dir, "log.img", 4 << 20);
    let geo = Geometry::for_external(64 << 11, 1024).unwrap();
    let uuids = [Uuid([1; 16]), Uuid([2; 16])];
    let file = fs::OpenOptions::new().write(true).open(&log).unwrap();
    for &(slot, area) in areas {
        let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
        new_leg_blocks::<()>(&sb, |sector, block| {
            file.write_all_at(block, geo.log_sector(area, sector) * 512)
                .unwrap();
            Ok(())
        })
        .unwrap();
    }
    log
}
