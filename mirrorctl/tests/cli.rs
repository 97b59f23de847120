//! mirrorctl end to end on image files, with its error paths.

use std::fs;
use std::os::unix::fs::FileExt;

mod common;
use common::*;

#[test]
fn create_examine_and_recover_from_a_torn_update() {
    let dir = scratch("torn");
    let (a, b) = (image(&dir, "a.img", 1 << 30), image(&dir, "b.img", 1 << 30));
    let o = run(&[&"create", &"--chunk-size", &"512K", &a, &b]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[&"examine", &b]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("(slot 1)"), "{text}");
    assert!(
        text.contains("chunk size:    512 KiB, 2046 chunks"),
        "{text}"
    );
    assert!(
        text.contains("0 clean, 0 dirty, 2046 unwritten, 0 modified"),
        "{text}"
    );

    assert!(run(&[
        &"debug",
        &"mark",
        &a,
        &"--chunks",
        &"7,2045",
        &"--state",
        &"dirty",
        &"--modified"
    ])
    .status
    .success());
    // Chunk 2000 lives in sector 4 of the segment; tearing after sector 0
    // leaves the new header over old chunk bytes.
    let o = run(&[
        &"debug",
        &"mark",
        &a,
        &"--chunks",
        &"2000",
        &"--state",
        &"dirty",
        &"--tear-primary",
        &"1",
    ]);
    assert!(o.status.success());
    let text = stdout(&run(&[&"examine", &"--chunks", &a]));
    assert!(text.contains("primary   INVALID: crc32 mismatch"), "{text}");
    assert!(text.contains("secondary valid, serial 2 (used)"), "{text}");
    assert!(
        text.contains("0 clean, 2 dirty, 2044 unwritten, 2 modified"),
        "{text}"
    );
    assert!(!text.contains("2000 DIRTY"), "{text}");
}

#[test]
fn create_refuses_foreign_data_without_force() {
    let dir = scratch("foreign");
    let (a, b) = (
        image(&dir, "a.img", 64 << 20),
        image(&dir, "b.img", 64 << 20),
    );
    fs::File::options()
        .write(true)
        .open(&b)
        .unwrap()
        .write_all_at(&[0x53, 0xef], 1080)
        .unwrap();
    let o = run(&[&"create", &a, &b]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("holds an ext2/3/4 filesystem; use --force"),
        "{}",
        stderr(&o)
    );
    assert!(
        run(&[&"examine", &a]).status.code() == Some(1),
        "nothing was written to the first leg"
    );
    assert!(run(&[&"create", &"--force", &a, &b]).status.success());
    // Our own metadata is foreign to a second create, too.
    let o = run(&[&"create", &a, &b]);
    assert!(
        stderr(&o).contains("holds dm-mirror metadata"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_inputs_get_clear_errors_and_exit_codes() {
    let dir = scratch("bad");
    let small = image(&dir, "small.img", 512 << 10);
    let big = image(&dir, "big.img", 64 << 20);
    let o = run(&[&"create", &small, &big]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("too small"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("small.img is too small: 512K"),
        "{}",
        stderr(&o)
    );
    let o = run(&[&"create", &"--chunk-size", &"3M", &big]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("chunk size 3M is not a power of two from 4K to 1G"),
        "{}",
        stderr(&o)
    );
    let o = run(&[&"create", &"--chunk-size", &"lots", &big]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[&"create", &big, &big]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("same storage"), "{}", stderr(&o));
    let many: Vec<_> = (0..17)
        .map(|i| image(&dir, &format!("l{i}.img"), 64 << 20))
        .collect();
    let args: Vec<&dyn AsRef<std::ffi::OsStr>> = std::iter::once(&"create" as _)
        .chain(many.iter().map(|p| p as _))
        .collect();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("17 legs given; a mirror has at most 16"),
        "{}",
        stderr(&o)
    );
    let o = run(&[&"examine", &"--log-area", &"99", &big]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("slots run from 0 to 15"),
        "{}",
        stderr(&o)
    );
    let o = run(&[&"examine", &dir.join("missing.img")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.img"));
    let o = run(&[&"examine", &big]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no valid superblock copy"),
        "{}",
        stderr(&o)
    );
    assert!(run(&[&"create", &big]).status.success());
    let o = run(&[
        &"debug",
        &"mark",
        &big,
        &"--chunks",
        &"99999",
        &"--state",
        &"dirty",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("out of range"));
}

#[test]
fn check_reports_differences_and_resync_repairs_them() {
    use dmmirror_core::format::Geometry;
    let dir = scratch("check");
    let size = 64 << 20;
    let (a, b) = (image(&dir, "a.img", size), image(&dir, "b.img", size));
    let o = run(&[&"create", &"--chunk-size", &"64K", &a, &b]);
    assert!(o.status.success(), "{}", stderr(&o));
    let geo = Geometry::for_leg(size / 512, 128).unwrap();
    // Leg b's chunk 5 differs from leg a's (as after a crash mid-write).
    let at = (geo.data_offset + 5 * 128) * 512;
    fs::OpenOptions::new()
        .write(true)
        .open(&b)
        .unwrap()
        .write_all_at(&[7u8; 4096], at)
        .unwrap();
    let mark = |state: &str| {
        for leg in [&a, &b] {
            let o = run(&[
                &"debug",
                &"mark",
                leg,
                &"--chunks",
                &"5",
                &"--state",
                &state,
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
        }
    };
    // Never written: covered (reads are pinned, nothing was stored).
    let o = run(&[&"check", &a, &b]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("chunk 5: legs 0,1 differ; bitmap UNWRITTEN: covered"),
        "{}",
        stdout(&o)
    );
    // CLEAN but different: damage the bitmap does not explain.
    mark("clean");
    let o = run(&[&"check", &"--json", &a, &b]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["uncovered"], 1);
    assert_eq!(v["differences"][0]["chunk"], 5);
    assert_eq!(v["differences"][0]["bitmap"], "CLEAN");
    // DIRTY: covered, and resync copies it.
    mark("dirty");
    let o = run(&[&"check", &a, &b]);
    assert!(
        o.status.success() && stdout(&o).contains("bitmap DIRTY: covered"),
        "{}",
        stdout(&o)
    );
    let o = run(&[&"resync", &"--json", &a, &b]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["resynced"], 1, "{v}");
    assert_eq!(v["clean_stop"], true);
    let o = run(&[&"check", &a, &b]);
    assert!(stdout(&o).contains(": 0 differ"), "{}", stdout(&o));
    // Bad input: a leg of no mirror.
    let c = image(&dir, "c.img", size);
    let o = run(&[&"check", &a, &c]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("c.img: no valid dm-mirror superblock"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn json_output_and_acknowledged_records() {
    let dir = scratch("records");
    let (a, b) = (
        image(&dir, "a.img", 64 << 20),
        image(&dir, "b.img", 64 << 20),
    );
    let o = run(&[&"create", &"--json", &a, &b]);
    assert!(o.status.success(), "{}", stderr(&o));
    let created: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let sectors = created["data_sectors"].as_u64().unwrap();
    assert_eq!(
        created["table"].as_str().unwrap(),
        format!("0 {sectors} mirror 2 {} {}", a.display(), b.display())
    );

    let acked = dir.join("acked");
    let o = run(&[
        &"debug",
        &"workload",
        &"--records",
        &"300",
        &"--threads",
        &"3",
        &"--seed",
        &"9",
        &a,
        &b,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().filter(|l| l.starts_with("ack ")).count(),
        300
    );
    fs::write(&acked, &o.stdout).unwrap();

    let o = run(&[&"examine", &"--json", &a]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ex: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ex["clean_shutdown"], true, "{ex}");
    assert_eq!(ex["superblock"]["used"], "primary");
    assert_eq!(ex["members"].as_array().unwrap().len(), 2);
    let bm = &ex["bitmap"];
    let total: u64 = ["clean", "dirty", "unwritten"]
        .iter()
        .map(|k| bm[k].as_u64().unwrap())
        .sum();
    assert_eq!(total, ex["chunk_count"].as_u64().unwrap());
    assert!(bm["clean"].as_u64().unwrap() + bm["dirty"].as_u64().unwrap() > 0);

    let o = run(&[
        &"debug", &"verify", &"--json", &"--seed", &"9", &"--acked", &acked, &a, &b,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["acknowledged"], 300);
    assert_eq!(v["missing"].as_array().unwrap().len(), 0);

    // The wrong seed finds nothing; so does a damaged record on one leg.
    let o = run(&[&"debug", &"verify", &"--seed", &"8", &"--acked", &acked, &a]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("300 missing"), "{}", stdout(&o));
    let data_offset = ex["data_offset"].as_u64().unwrap();
    let f = fs::OpenOptions::new().write(true).open(&b).unwrap();
    f.write_all_at(&[0xff; 512], data_offset * 512).unwrap();
    let o = run(&[
        &"debug", &"verify", &"--seed", &"9", &"--acked", &acked, &a, &b,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("1 missing"), "{}", stdout(&o));

    let o = run(&[&"debug", &"workload", &"--records", &"999999999", &a, &b]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("do not fit"), "{}", stderr(&o));
}

/// The log device of an LVM mirror: each slot's metadata in its own area.
#[test]
fn examine_reads_a_slot_area_of_an_lvm_log() {
    let dir = scratch("log-area");
    let log = lvm_log(&dir, &[(0, 0), (1, 1)]);
    let o = run(&[&"examine", &"--json", &"--log-area", &"1", &log]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("\"slot\":1") && text.contains("\"external_log\":true"),
        "{text}"
    );
    assert!(
        stdout(&run(&[&"examine", &"--log-area", &"0", &log])).contains("metadata on a log device")
    );
    // No third area: refused, and so is a device that is not such a log.
    let geo = dmmirror_core::format::Geometry::for_external(64 << 11, 1024).unwrap();
    let two_areas = geo.log_sector(2, 0) * 512;
    fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(two_areas)
        .unwrap();
    let o = run(&[&"examine", &"--log-area", &"2", &log]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no area 2"), "{}", stderr(&o));
    let blank = image(&dir, "blank.img", 1 << 20);
    assert!(!run(&[&"examine", &"--log-area", &"0", &blank])
        .status
        .success());
}
