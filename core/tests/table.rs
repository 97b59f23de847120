use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use dmmirror_core::table::*;
use std::collections::HashMap;

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn normalised(line: &str) -> String {
    let w = words(line);
    let t = parse(&w).unwrap_or_else(|e| panic!("{line}: {e}"));
    let mut out = String::new();
    write_table(&t, &mut out).unwrap();
    out
}

#[test]
fn good_tables_parse_and_print_normalised() {
    let cases = [
        ("2 /dev/a /dev/b", "2 /dev/a /dev/b"),
        ("1 253:1", "1 253:1"),
        ("2 a b 0", "2 a b"),
        (
            "2 a b 3 force read_policy prefer",
            "2 a b 3 read_policy prefer force",
        ),
        (
            "3 a b c 5 resync_rate 1000 50000 clean_delay 5000",
            "3 a b c 5 clean_delay 5000 resync_rate 1000 50000",
        ),
        ("2 a b 2 chunk_size 2048", "2 a b 2 chunk_size 2048"),
        (
            "core 1 1024 2 253:1 0 253:2 0",
            "core 1 1024 2 253:1 0 253:2 0",
        ),
        (
            "core 2 1024 nosync 2 253:1 0 253:2 0 1 handle_errors",
            "core 2 1024 nosync 2 253:1 0 253:2 0 1 handle_errors",
        ),
        (
            "disk 2 253:0 1024 2 253:1 0 253:2 384 2 handle_errors keep_log",
            "disk 2 253:0 1024 2 253:1 0 253:2 384 2 handle_errors keep_log",
        ),
        (
            "disk 3 253:0 1024 sync 3 a 0 b 0 c 0 0",
            "disk 3 253:0 1024 sync 3 a 0 b 0 c 0",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(normalised(line), want, "{line}");
        assert_eq!(normalised(want), want, "normalised form is stable: {want}");
    }
    let t = parse(&words(
        "disk 2 253:0 1024 2 253:1 0 253:2 384 1 handle_errors",
    ))
    .unwrap();
    assert_eq!(t.syntax, Syntax::LvmDisk { log_dev: "253:0" });
    assert_eq!(t.chunk_sectors, Some(1024));
    assert_eq!(&t.legs[..2], &["253:1", "253:2"]);
    assert_eq!(&t.leg_offsets[..2], &[0, 384]);
    assert!(t.handle_errors, "handle_errors");
    assert!(!t.keep_log, "keep_log");
}

#[test]
fn bad_tables_name_the_argument_and_the_reason() {
    let cases: [(&str, usize, &str); 20] = [
        ("", 0, "argument 1: missing the number of legs"),
        ("two a b", 0, "argument 1 ('two'): not a number"),
        (
            "0",
            0,
            "argument 1 ('0'): the number of legs must be 1 to 16",
        ),
        ("17 a", 0, "the number of legs must be 1 to 16"),
        ("2 a", 2, "argument 3: missing a leg device"),
        ("2 a a", 2, "argument 3 ('a'): this device is already a leg"),
        ("2 a b 2 read_policy fastest", 5, "unknown read policy"),
        ("2 a b 1 turbo", 4, "argument 5 ('turbo'): unknown option"),
        ("2 a b 2 chunk_size 3000", 5, "power of two"),
        (
            "2 a b 4 force force",
            3,
            "more option arguments counted than given",
        ),
        (
            "2 a b 2 force force",
            5,
            "argument 6 ('force'): given twice",
        ),
        (
            "2 a b 3 resync_rate 10 5",
            6,
            "the maximum rate is below the minimum",
        ),
        (
            "2 a b 1 force extra",
            5,
            "unexpected argument after the end",
        ),
        (
            "core 3 1024 sync x 2 a 0 b 0",
            1,
            "a core log takes 1 or 2 arguments",
        ),
        (
            "disk 1 253:0 2 a 0 b 0",
            1,
            "a disk log takes 2 or 3 arguments",
        ),
        ("core 2 1024 maybe 2 a 0 b 0", 3, "unknown log argument"),
        ("core 1 1000 2 a 0 b 0", 2, "power of two"),
        ("core 1 1024 2 a 0 b", 7, "missing the leg's offset"),
        (
            "core 1 1024 2 a 0 b 0 1 keep_log",
            9,
            "keep_log needs handle_errors",
        ),
        ("core 1 1024 2 a 0 b 0 1 fast", 9, "unknown feature"),
    ];
    for (line, index, msg) in cases {
        let w = words(line);
        let e = parse(&w).expect_err(line);
        assert_eq!(e.index, index, "{line}: {e}");
        let text = e.to_string();
        assert!(text.contains(msg), "{line}: got '{text}', want '{msg}'");
    }
}

struct Mem(HashMap<(usize, u64), [u8; BLOCK_SIZE]>);

impl BlockReader for Mem {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        *out = self
            .0
            .get(&(pos, sector))
            .copied()
            .unwrap_or([0; BLOCK_SIZE]);
        true
    }
}

#[test]
fn status_is_linux_dm_mirror_format_with_our_counters_behind() {
    let geo = Geometry::for_leg(4096 + 2048, 8).unwrap();
    let legs = [Uuid([1; 16]), Uuid([2; 16])];
    let mut mem = Mem(HashMap::new());
    for slot in 0..2 {
        let sb = new_superblock(Uuid([9; 16]), &legs, slot, geo).unwrap();
        new_leg_blocks::<()>(&sb, |sector, b| {
            mem.0.insert((slot, sector), *b);
            Ok(())
        })
        .unwrap();
    }
    let mut m = Mirror::new(assemble(&mut mem, 2).unwrap(), Config::default(), 0);
    let w = words("disk 2 253:0 8 2 253:1 0 253:2 0 1 handle_errors");
    let t = parse(&w).unwrap();
    let mut out = String::new();
    write_status(&m, &t, &["253:1", "253:2"], &mut out).unwrap();
    assert_eq!(
        out,
        "2 253:1 253:2 512/512 1 AA 3 disk 253:0 A 6 dirty=0 modified=0 bitmap_updates=0 superblock_writes=0 clean_flushes=0 event=1"
    );
    m.fail_leg(1).unwrap();
    out.clear();
    write_status(&m, &t, &["253:1", "253:2"], &mut out).unwrap();
    assert!(
        out.starts_with("2 253:1 253:2 512/512 1 AD 3 disk 253:0 A 6 "),
        "{out}"
    );
    assert!(out.ends_with("event=2"), "{out}");
}

proptest::proptest! {
    #[test]
    fn parser_never_panics(tokens in proptest::collection::vec(
        proptest::prop_oneof![
            proptest::strategy::Just("core".to_string()),
            proptest::strategy::Just("disk".to_string()),
            proptest::strategy::Just("force".to_string()),
            proptest::strategy::Just("handle_errors".to_string()),
            "[0-9]{1,3}",
            "[a-z:/0-9]{1,6}",
        ],
        0..14,
    )) {
        let w: Vec<&str> = tokens.iter().map(String::as_str).collect();
        if let Ok(t) = parse(&w) {
            // Whatever parses prints a table that parses to the same thing.
            let mut out = String::new();
            write_table(&t, &mut out).unwrap();
            let again: Vec<&str> = out.split_whitespace().collect();
            proptest::prop_assert_eq!(parse(&again), Ok(t));
        }
    }
}

#[test]
fn messages_parse() {
    let cases = [
        ("fail_leg 1", Message::FailLeg(1)),
        ("remove_leg 0", Message::RemoveLeg(0)),
        ("add_leg 15", Message::AddLeg(15)),
        (
            "read_policy prefer",
            Message::ReadPolicy(ReadPolicy::Prefer),
        ),
        (
            "read_policy round-robin",
            Message::ReadPolicy(ReadPolicy::RoundRobin),
        ),
        (
            "read_policy striped",
            Message::ReadPolicy(ReadPolicy::Striped),
        ),
        ("resync_rate 0 5000", Message::ResyncRate(0, 5000)),
        ("full_resync", Message::FullResync),
    ];
    for (line, want) in cases {
        assert_eq!(parse_message(&words(line)), Ok(want), "{line}");
    }
}

#[test]
fn bad_messages_say_which_word_and_why() {
    let cases = [
        ("", "argument 1: missing a message"),
        ("grow 2", "argument 1 ('grow'): unknown message (fail_leg N"),
        ("fail_leg", "argument 2: missing a leg position"),
        ("fail_leg x", "argument 2 ('x'): not a number"),
        ("add_leg 16", "argument 2 ('16'): a leg position is 0 to 15"),
        (
            "read_policy fastest",
            "argument 2 ('fastest'): unknown read policy",
        ),
        (
            "resync_rate 10 5",
            "argument 3 ('5'): the maximum rate is below the minimum",
        ),
        ("full_resync now", "argument 2 ('now'): unexpected argument"),
        ("remove_leg 1 2", "argument 3 ('2'): unexpected argument"),
    ];
    for (line, want) in cases {
        let e = parse_message(&words(line)).expect_err(line).to_string();
        assert!(e.starts_with(want), "{line}: got {e:?}, want {want:?}");
    }
}

proptest::proptest! {
    #[test]
    fn message_parser_never_panics_and_accepts_only_whole_messages(tokens in proptest::collection::vec(
        proptest::prop_oneof![
            proptest::strategy::Just("fail_leg".to_string()),
            proptest::strategy::Just("add_leg".to_string()),
            proptest::strategy::Just("read_policy".to_string()),
            proptest::strategy::Just("resync_rate".to_string()),
            proptest::strategy::Just("full_resync".to_string()),
            proptest::strategy::Just("prefer".to_string()),
            "[0-9]{1,11}",
            "[a-z-]{1,8}",
        ],
        0..5,
    )) {
        let w: Vec<&str> = tokens.iter().map(String::as_str).collect();
        if let Ok(m) = parse_message(&w) {
            // A parsed message used every word, and its numbers are in range.
            let want = match m {
                Message::FullResync => 1,
                Message::ResyncRate(min, max) => {
                    proptest::prop_assert!(min <= max && max >= 1);
                    3
                }
                Message::FailLeg(p) | Message::RemoveLeg(p) | Message::AddLeg(p) => {
                    proptest::prop_assert!(p < 16);
                    2
                }
                Message::ReadPolicy(_) => 2,
            };
            proptest::prop_assert_eq!(w.len(), want);
        }
    }
}
