//! mirrorctl never makes or repairs a mirror whose "legs" are one disk,
//! and never changes a mirror it was given only part of (mdadm's bar).

use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::*;

fn create(legs: &[&Path]) -> std::process::Output {
    let args: Vec<&dyn AsRef<std::ffi::OsStr>> = std::iter::once(&"create" as _)
        .chain(legs.iter().map(|p| p as _))
        .collect();
    run(&args)
}

fn offline(command: &str, extra: &[&str], legs: &[&PathBuf]) -> std::process::Output {
    let args: Vec<&dyn AsRef<std::ffi::OsStr>> = std::iter::once(&command as _)
        .chain(extra.iter().map(|a| a as _))
        .chain(legs.iter().map(|p| p as _))
        .collect();
    run(&args)
}

#[test]
fn create_refuses_one_file_under_two_names() {
    let dir = scratch("alias");
    let a = image(&dir, "a.img", 64 << 20);
    fs::hard_link(&a, dir.join("hard.img")).unwrap();
    std::os::unix::fs::symlink(&a, dir.join("soft.img")).unwrap();
    let dotted = dir.join(".").join("a.img");
    for other in [dotted, dir.join("hard.img"), dir.join("soft.img")] {
        let o = create(&[&a, &other]);
        assert_eq!(o.status.code(), Some(2), "{}", other.display());
        assert!(stderr(&o).contains("same storage"), "{}", stderr(&o));
        // Refused before anything was written.
        assert!(fs::read(&a).unwrap().iter().all(|&b| b == 0));
    }
    let b = image(&dir, "b.img", 64 << 20);
    assert!(create(&[&a, &b]).status.success());
    let o = offline("check", &[], &[&a, &dir.join("soft.img")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("same storage"), "{}", stderr(&o));
    let o = offline("resync", &[], &[&a, &dir.join("hard.img")]);
    assert_eq!(o.status.code(), Some(2));
    // A byte-for-byte copy of a leg is that leg again, not a second one.
    fs::copy(&b, dir.join("copy.img")).unwrap();
    let o = offline("check", &[], &[&a, &b, &dir.join("copy.img")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("hold the same leg"), "{}", stderr(&o));
}

#[test]
fn resync_given_part_of_a_mirror_refuses_and_changes_nothing() {
    let dir = scratch("part");
    let p1 = image(&dir, "p1.img", 64 << 20);
    let p2 = image(&dir, "p2.img", 64 << 20);
    let blank = image(&dir, "blank.img", 64 << 20);
    assert!(create(&[&p1, &p2]).status.success());
    let before = fs::read(&p1).unwrap();

    let o = offline("resync", &[], &[&p1]);
    assert_eq!(o.status.code(), Some(1));
    let msg = stderr(&o);
    assert!(msg.contains("members not given: slot 1"), "{msg}");
    assert!(msg.contains("nothing was changed"), "{msg}");
    assert!(fs::read(&p1).unwrap() == before, "the refusal wrote to p1");

    let o = offline("resync", &[], &[&p1, &blank]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("blank.img: no valid dm-mirror superblock"));
    assert!(fs::read(&p1).unwrap() == before, "the refusal wrote to p1");

    // Told to run degraded, it does, and records the missing leg failed.
    let o = offline("resync", &["--run"], &[&p1]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("degraded: 1 missing"), "{}", stdout(&o));
    let text = stdout(&run(&[&"examine", &p1]));
    assert!(text.contains("failed"), "{text}");
    // Already recorded failed: a second run has nothing more to change.
    assert!(offline("resync", &[], &[&p1]).status.success());
}

#[test]
fn check_names_both_mirrors_and_create_says_what_it_does_not_use() {
    let dir = scratch("two");
    let legs: Vec<PathBuf> = ["x1", "x2", "y1", "y2"]
        .iter()
        .map(|n| image(&dir, &format!("{n}.img"), 64 << 20))
        .collect();
    let big = image(&dir, "big.img", 80 << 20);
    assert!(create(&[&legs[0], &legs[1]]).status.success());
    assert!(create(&[&legs[2], &legs[3]]).status.success());
    let uuid = |p: &Path| {
        let text = stdout(&run(&[&"examine", &"--json", &p]));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["mirror_uuid"].as_str().unwrap().to_string()
    };
    let o = offline("check", &[], &[&legs[0], &legs[2]]);
    assert_eq!(o.status.code(), Some(1));
    let msg = stderr(&o);
    assert!(
        msg.contains(&uuid(&legs[0])) && msg.contains(&uuid(&legs[2])),
        "{msg}"
    );

    let one = image(&dir, "one.img", 64 << 20);
    let o = create(&[&one]);
    assert!(stdout(&o).contains(": 1 leg, "), "{}", stdout(&o));
    let (a, b) = (image(&dir, "a.img", 64 << 20), big);
    let o = create(&[&b, &a]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("/a.img (80M against 64M): the mirror uses the size of the smallest"),
        "{}",
        stderr(&o)
    );
}
