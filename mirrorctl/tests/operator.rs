//! What an operator relies on when a mirror is in trouble: resync finishes
//! what it starts or says what is left, check does not pass a partial
//! comparison, short or truncated legs are refused with their sizes, stale
//! MODIFIED marks are named and cleared, and a closed stdout is no panic.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

mod common;
use common::*;

/// Two 64 MiB legs of one mirror; leg b failed while leg a took 200
/// records (as a workload on leg a alone leaves them).
fn returning_leg(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = scratch(name);
    let (a, b) = (
        image(&dir, "a.img", 64 << 20),
        image(&dir, "b.img", 64 << 20),
    );
    assert!(run(&[&"create", &a, &b]).status.success());
    let o = run(&[&"debug", &"workload", &"--records", &"200", &a]);
    assert!(o.status.success(), "{}", stderr(&o));
    let acked = dir.join("acked.txt");
    fs::write(&acked, &o.stdout).unwrap();
    (a, b, acked)
}

fn member_states(leg: &Path) -> Vec<String> {
    let o = run(&[&"examine", &"--json", &leg]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap().to_owned())
        .collect()
}

fn examine_json(leg: &Path) -> serde_json::Value {
    serde_json::from_str(&stdout(&run(&[&"examine", &"--json", &leg]))).unwrap()
}

#[test]
fn resync_rebuilds_a_returning_leg_and_check_compares_both() {
    let (a, b, acked) = returning_leg("resync-rebuild");
    assert_eq!(member_states(&a), ["in-sync", "failed"]);
    let o = run(&[&"resync", &"--json", &a, &b]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["rebuilt"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["in_sync_chunks"], v["chunks"], "{v}");
    assert_eq!(member_states(&b), ["in-sync", "in-sync"]);
    // Tracking ended with the rebuild: the clean stop cleared the marks.
    for leg in [&a, &b] {
        let v = examine_json(leg);
        assert_eq!(v["bitmap"]["modified"], 0, "{v}");
        assert_eq!(v["modified_since_event"], 0, "{v}");
    }
    let o = run(&[&"check", &"--json", &a, &b]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["compared_legs"].as_array().unwrap().len(), 2, "{v}");
    let o = run(&[&"debug", &"verify", &"--acked", &acked, &a, &b]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn resync_that_cannot_finish_says_what_is_left_and_the_next_run_goes_on() {
    let (a, b, _) = returning_leg("resync-unfinished");
    // No time at all: the rebuild is started and stopped at once.
    let o = run(&[&"resync", &"--timeout", &"0", &a, &b]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("chunks still to copy"), "{err}");
    assert!(err.contains("b.img: rebuilding"), "{err}");
    assert_eq!(member_states(&a), ["in-sync", "rebuilding"]);
    let o = run(&[&"resync", &a, &b]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(member_states(&a), ["in-sync", "in-sync"]);
}

#[test]
fn check_of_fewer_legs_than_the_mirror_has_fails_unless_asked() {
    let (a, b, _) = returning_leg("check-partial");
    let o = run(&[&"check", &a, &b]);
    assert_eq!(o.status.code(), Some(4), "{}", stdout(&o));
    assert!(stderr(&o).contains("compared 1 of the mirror's 2 legs"));
    assert!(run(&[&"check", &"--partial", &a, &b]).status.success());
    // One leg of a healthy two-leg mirror: partial too.
    assert!(run(&[&"resync", &a, &b]).status.success());
    assert_eq!(run(&[&"check", &a]).status.code(), Some(4));
    assert!(run(&[&"check", &a, &b]).status.success());
}

#[test]
fn a_block_cut_short_by_the_end_of_the_leg_is_missing_not_zeros() {
    let dir = scratch("short-blocks");
    let full = image(&dir, "full.img", 64 << 20);
    assert!(run(&[&"create", &full]).status.success());
    let bytes = fs::read(&full).unwrap();
    // The primary superblock cut after 2000 bytes: no valid copy.
    let short = dir.join("short.img");
    fs::write(&short, &bytes[..2000]).unwrap();
    let o = run(&[&"examine", &short]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("only 2000 of the block's 4096 bytes"),
        "{}",
        stdout(&o)
    );
    // The secondary cut after 2048 bytes: the primary serves, the
    // secondary is reported missing.
    let cut = dir.join("cut.img");
    fs::write(&cut, &bytes[..4096 + 2048]).unwrap();
    let text = stdout(&run(&[&"examine", &cut]));
    assert!(text.contains("secondary INVALID: only 2048 of"), "{text}");
}

#[test]
fn a_leg_smaller_than_its_data_area_is_refused_with_both_sizes() {
    let dir = scratch("truncated");
    let (a, b) = (
        image(&dir, "a.img", 64 << 20),
        image(&dir, "b.img", 64 << 20),
    );
    assert!(run(&[&"create", &a, &b]).status.success());
    let need = examine_json(&a)["leg_sectors_needed"].as_u64().unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&b)
        .unwrap()
        .set_len((need - 2048) * 512)
        .unwrap();
    let want = format!(
        "the leg has {} sectors; this mirror's data area ends at sector {need}",
        need - 2048
    );
    let o = run(&[&"examine", &b]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains(&format!("PROBLEM:       {}: {want}", b.display())),
        "{}",
        stdout(&o)
    );
    let o = run(&[&"examine", &"--json", &b]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["problems"][0].as_str().unwrap().contains(&want), "{v}");
    for cmd in ["check", "resync"] {
        let o = run(&[&cmd, &a, &b]);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {}", stdout(&o));
        assert!(stderr(&o).contains(&want), "{cmd}: {}", stderr(&o));
    }
}

#[test]
fn stale_modified_marks_are_named_and_the_next_clean_stop_clears_them() {
    let dir = scratch("stale-modified");
    let (a, b) = (
        image(&dir, "a.img", 64 << 20),
        image(&dir, "b.img", 64 << 20),
    );
    assert!(run(&[&"create", &a, &b]).status.success());
    for leg in [&a, &b] {
        let o = run(&[
            &"debug",
            &"mark",
            leg,
            &"--chunks",
            &"3,4",
            &"--state",
            &"clean",
            &"--modified",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = run(&[&"examine", &a]);
    assert!(
        stdout(&o).contains("2 modified (stale: MODIFIED tracking is off"),
        "{}",
        stdout(&o)
    );
    assert_eq!(examine_json(&a)["stale_modified"], true);
    assert!(run(&[&"resync", &a, &b]).status.success());
    for leg in [&a, &b] {
        let v = examine_json(leg);
        assert_eq!(v["bitmap"]["modified"], 0, "{v}");
        assert_eq!(v["stale_modified"], false, "{v}");
    }
}

#[test]
fn examine_json_gives_the_layout_and_segments_whose_copies_differ() {
    let dir = scratch("examine-json");
    let a = image(&dir, "a.img", 64 << 20);
    assert!(run(&[&"create", &a]).status.success());
    let v = examine_json(&a);
    let secondary = v["bitmap_sector"][1].as_u64().unwrap();
    assert_eq!(v["segment_count"], 1, "{v}");
    assert_eq!(v["bitmap_sector"][0], 16, "{v}");
    // An update whose secondary write never happened: serials 2 and 1.
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&a)
        .unwrap();
    let mut old = [0u8; 4096];
    file.read_exact_at(&mut old, secondary * 512).unwrap();
    let o = run(&[
        &"debug",
        &"mark",
        &a,
        &"--chunks",
        &"1",
        &"--state",
        &"dirty",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    file.write_all_at(&old, secondary * 512).unwrap();
    let v = examine_json(&a);
    let seg = &v["uneven_segments"][0];
    assert_eq!(seg["segment"], 0, "{v}");
    assert_eq!(seg["primary"]["serial"], 2, "{v}");
    assert_eq!(seg["secondary"]["serial"], 1, "{v}");
    assert_eq!(seg["used"], "primary", "{v}");
    let text = stdout(&run(&[&"examine", &a]));
    assert!(
        text.contains("0 of 1 with a damaged copy, 1 more whose copies' serials differ"),
        "{text}"
    );
}

#[test]
fn examine_of_a_log_area_holding_another_slot_says_so() {
    let dir = scratch("swapped-areas");
    // Slot 1's metadata in area 0 and slot 0's in area 1.
    let log = lvm_log(&dir, &[(0, 1), (1, 0)]);
    let o = run(&[&"examine", &"--log-area", &"1", &log]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("log area 1 holds the metadata of slot 0"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_closed_stdout_ends_mirrorctl_quietly() {
    let dir = scratch("closed-stdout");
    let a = image(&dir, "a.img", 64 << 20);
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_mirrorctl"))
        .args(["create".as_ref(), a.as_os_str()])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(141), "{}", stderr(&o));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn superblock_copies_of_two_mirrors_are_both_distrusted() {
    let dir = scratch("copies-disagree");
    let (a, b) = (
        image(&dir, "a.img", 64 << 20),
        image(&dir, "b.img", 64 << 20),
    );
    assert!(run(&[&"create", &a]).status.success());
    assert!(run(&[&"create", &b]).status.success());
    // b's secondary superblock over a's: as a create cut short after its
    // primary write would leave a re-created leg.
    let mut block = [0u8; 4096];
    fs::File::open(&b)
        .unwrap()
        .read_exact_at(&mut block, 8 * 512)
        .unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&a)
        .unwrap()
        .write_all_at(&block, 8 * 512)
        .unwrap();
    let o = run(&[&"examine", &a]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("both superblock copies are valid but describe different mirrors"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("(used)"), "{}", stdout(&o));
    let o = run(&[&"examine", &"--json", &a]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["superblock"]["copies_disagree"], true, "{v}");
}
