//! Which storage a leg is, by identity rather than by name: two names for
//! one disk (a symlink, a hard link, a `/dev/disk/by-id` link, a second
//! device node), a disk and one of its partitions, or a loop device and
//! the file behind it must never become two legs of one mirror, which
//! would hold one copy while reporting two.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// The storage an open leg reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageId {
    /// A device by device number (a loop device resolves to its backing
    /// file instead).
    Block(u64),
    /// A regular file by filesystem and inode.
    File { dev: u64, ino: u64 },
}

/// A leg's storage and, for a partition, the whole disk it lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Storage {
    pub id: StorageId,
    pub within: Option<StorageId>,
}

impl Storage {
    /// Whether writing one can change the other.
    pub fn overlaps(&self, other: &Storage) -> bool {
        self.id == other.id || self.within == Some(other.id) || other.within == Some(self.id)
    }
}

/// The storage behind an open file or device.
pub fn identify(file: &File) -> io::Result<Storage> {
    let meta = file.metadata()?;
    // The BSDs' disks are character devices.
    let kind = meta.file_type();
    if !kind.is_block_device() && !kind.is_char_device() {
        return Ok(Storage {
            id: StorageId::File {
                dev: meta.dev(),
                ino: meta.ino(),
            },
            within: None,
        });
    }
    let rdev = meta.rdev();
    Ok(Storage {
        id: block_id(rdev),
        within: whole_disk(rdev).map(block_id),
    })
}

/// The first pair of legs (by index) whose storage overlaps.
pub fn first_overlap(legs: &[Storage]) -> Option<(usize, usize)> {
    (0..legs.len()).find_map(|j| (0..j).find(|&i| legs[i].overlaps(&legs[j])).map(|i| (i, j)))
}

fn block_id(rdev: u64) -> StorageId {
    loop_backing(rdev).unwrap_or(StorageId::Block(rdev))
}

#[cfg(target_os = "linux")]
fn sys_block(rdev: u64) -> std::path::PathBuf {
    use rustix::fs::{major, minor};
    format!("/sys/dev/block/{}:{}", major(rdev), minor(rdev)).into()
}

/// The whole disk a partition lies on (sysfs: a partition's directory
/// sits inside its disk's and has a `partition` file).
#[cfg(target_os = "linux")]
fn whole_disk(rdev: u64) -> Option<u64> {
    let dir = sys_block(rdev).canonicalize().ok()?;
    if !dir.join("partition").exists() {
        return None;
    }
    let text = std::fs::read_to_string(dir.parent()?.join("dev")).ok()?;
    let (major, minor) = text.trim().split_once(':')?;
    Some(rustix::fs::makedev(
        major.parse().ok()?,
        minor.parse().ok()?,
    ))
}

/// A loop device's backing file, as the file's own identity.
#[cfg(target_os = "linux")]
fn loop_backing(rdev: u64) -> Option<StorageId> {
    let name = std::fs::read_to_string(sys_block(rdev).join("loop/backing_file")).ok()?;
    let meta = std::fs::metadata(name.trim_end()).ok()?;
    Some(StorageId::File {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

// Elsewhere (DragonFly, NetBSD) only the device number is compared: a
// slice and its disk are not recognised as one.
#[cfg(not(target_os = "linux"))]
fn whole_disk(_rdev: u64) -> Option<u64> {
    None
}

#[cfg(not(target_os = "linux"))]
fn loop_backing(_rdev: u64) -> Option<StorageId> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(rdev: u64, disk: u64) -> Storage {
        Storage {
            id: StorageId::Block(rdev),
            within: Some(StorageId::Block(disk)),
        }
    }

    #[test]
    fn a_partition_overlaps_its_disk_but_not_its_sibling() {
        let disk = Storage {
            id: StorageId::Block(8),
            within: None,
        };
        assert!(part(9, 8).overlaps(&disk));
        assert!(disk.overlaps(&part(9, 8)));
        assert!(!part(9, 8).overlaps(&part(10, 8)));
        assert_eq!(
            first_overlap(&[part(9, 8), part(10, 8), disk]),
            Some((0, 2))
        );
    }

    #[test]
    fn names_of_one_file_are_one_leg() {
        let dir = std::env::temp_dir().join(format!("dmm-device-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.img");
        let b = dir.join("b.img");
        std::fs::write(&a, b"x").unwrap();
        std::fs::write(&b, b"x").unwrap();
        std::fs::hard_link(&a, dir.join("hard.img")).unwrap();
        std::os::unix::fs::symlink(&a, dir.join("soft.img")).unwrap();
        let id = |name: &str| identify(&File::open(dir.join(name)).unwrap()).unwrap();
        let legs = [id("b.img"), id("a.img"), id("hard.img"), id("soft.img")];
        assert_eq!(first_overlap(&legs), Some((1, 2)));
        assert_eq!(first_overlap(&legs[..2]), None);
        assert_eq!(first_overlap(&[legs[0], legs[3], legs[1]]), Some((1, 2)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
