//! Damage to one metadata copy never yields a wrong answer: the reader picks
//! the valid copy, or falls back to all-DIRTY for a bitmap segment.

mod common;

use common::*;
use dmmirror_core::format::*;

/// Both copies of one segment state, as an update writes them.
struct SegState {
    copies: [[u8; BLOCK_SIZE]; 2],
    chunks: Vec<u8>,
}

fn seg_state(sb: &Superblock, serial: Serial, chunks: Vec<u8>) -> SegState {
    let copies = CopyRole::BOTH.map(|role| {
        let h = SegmentHeader {
            serial,
            ..example_segment_header(sb, role)
        };
        encode_seg(&h, &chunks)
    });
    SegState { copies, chunks }
}

fn read_seg(sb: &Superblock, p: &[u8], s: &[u8]) -> (SegmentLoad, Vec<u8>) {
    let mut out = vec![0u8; sb.geometry.chunk_count.min(CHUNKS_PER_SEGMENT as u64) as usize];
    let load = load_segment([p, s], 0, sb.mirror_uuid, sb.geometry.chunk_count, &mut out).unwrap();
    (load, out)
}

fn sb_block(sb: &Superblock, serial: Serial, role: CopyRole) -> [u8; BLOCK_SIZE] {
    encode_sb(&Superblock { serial, ..*sb }, role)
}

#[test]
fn every_single_byte_corruption_of_either_segment_copy_falls_back_to_the_other() {
    let sb = example_superblock();
    let state = seg_state(&sb, Serial::new(77), example_chunks(1023));
    for victim in CopyRole::BOTH {
        let other = if victim == CopyRole::Primary {
            Chosen::Secondary
        } else {
            Chosen::Primary
        };
        for pos in 0..BLOCK_SIZE {
            for flip in 1..=255u8 {
                let mut copies = state.copies;
                copies[victim.index()][pos] ^= flip;
                let (load, chunks) = read_seg(&sb, &copies[0], &copies[1]);
                assert_eq!(load.chosen, other, "{victim:?} byte {pos} ^ {flip:#x}");
                assert!(load.copies[victim.index()].is_err());
                assert_eq!(chunks, state.chunks);
            }
        }
    }
}

#[test]
fn every_single_byte_corruption_of_either_superblock_copy_falls_back_to_the_other() {
    let sb = example_superblock();
    let copies = CopyRole::BOTH.map(|role| encode_sb(&sb, role));
    for victim in CopyRole::BOTH {
        for pos in 0..BLOCK_SIZE {
            for flip in 1..=255u8 {
                let mut c = copies;
                c[victim.index()][pos] ^= flip;
                let load = SuperblockLoad::read(&c[0], &c[1]);
                assert!(
                    load.copies[victim.index()].is_err(),
                    "{victim:?} byte {pos} ^ {flip:#x}"
                );
                assert_eq!(load.superblock(), Some(&sb));
                if flip == 1 {
                    assert_trusted_agrees(&c[0], &c[1]);
                }
            }
        }
    }
}

#[test]
fn both_segment_copies_lost_means_every_chunk_dirty_and_modified() {
    let sb = example_superblock();
    let state = seg_state(&sb, Serial::new(3), example_chunks(1023));
    let mut p = state.copies[0];
    let mut s = state.copies[1];
    p[100] ^= 1;
    s[SEGMENT_HEADER_LEN] ^= 4;
    let (load, chunks) = read_seg(&sb, &p, &s);
    assert_eq!(load.chosen, Chosen::Neither);
    assert!(chunks.iter().all(|&b| b == ChunkByte::UNKNOWN.raw()));
    assert_eq!(ChunkByte::UNKNOWN.status(), ChunkStatus::Dirty);
}

/// Runs the spec's update (write primary, flush, write secondary, flush)
/// from `old` to `new`, tearing each write in every way a crash can, and
/// checks what a reader makes of every resulting disk.
fn check_torn_segment_update(sb: &Superblock, old: &SegState, new: &SegState) {
    for mask in 0..=u8::MAX {
        // Crash while the primary is written: the update was never complete,
        // so the reader may see the old or (if the tear happens to be whole)
        // the new state, never a mixture or a fallback.
        let p = tear(&new.copies[0], &old.copies[0], mask);
        let (_, chunks) = read_seg(sb, &p, &old.copies[1]);
        assert!(
            chunks == old.chunks || chunks == new.chunks,
            "primary torn by mask {mask:#010b}"
        );
        if p == new.copies[0] {
            assert_eq!(chunks, new.chunks);
        }
        // Crash while the secondary is written: the primary is durable, so
        // the new state must win.
        let s = tear(&new.copies[1], &old.copies[1], mask);
        let (_, chunks) = read_seg(sb, &new.copies[0], &s);
        assert_eq!(chunks, new.chunks, "secondary torn by mask {mask:#010b}");
    }
}

#[test]
fn torn_bitmap_updates_never_lose_a_durable_dirty_bit() {
    let sb = example_superblock();
    let clean = example_chunks(1023);
    let mut dirtied = clean.clone();
    dirtied[500] = ChunkByte::new(ChunkStatus::Dirty, false).raw();
    dirtied[1022] = ChunkByte::new(ChunkStatus::Dirty, true).raw();
    for (old_serial, new_serial) in [
        (Serial::new(1), Serial::new(2)),
        (Serial::new(u64::MAX), Serial::new(1)),
    ] {
        let a = seg_state(&sb, old_serial, clean.clone());
        let b = seg_state(&sb, new_serial, dirtied.clone());
        check_torn_segment_update(&sb, &a, &b); // dirtying
        let a = seg_state(&sb, old_serial, dirtied.clone());
        let b = seg_state(&sb, new_serial, clean.clone());
        check_torn_segment_update(&sb, &a, &b); // lazy clean
    }
}

/// The single-copy update (two legs or more in sync): copy `target` holds
/// state `older`, the other copy the state relied upon, `relied`; the update
/// writes `new` over `target` only. Torn in every way a crash can, the reader
/// gets the relied-upon state or (whole) the new one: never `older`, never
/// a mixture.
fn check_torn_single_copy_update(
    sb: &Superblock,
    target: CopyRole,
    older: &SegState,
    relied: &SegState,
    new: &SegState,
) {
    let t = target.index();
    for mask in 0..=u8::MAX {
        let mut copies = relied.copies;
        copies[t] = tear(&new.copies[t], &older.copies[t], mask);
        let (_, chunks) = read_seg(sb, &copies[0], &copies[1]);
        if copies[t] == new.copies[t] {
            assert_eq!(chunks, new.chunks, "{target:?} whole by mask {mask:#010b}");
        } else {
            assert_eq!(
                chunks, relied.chunks,
                "{target:?} torn by mask {mask:#010b}"
            );
        }
        assert_ne!(older.chunks, relied.chunks, "the test tells them apart");
    }
}

#[test]
fn torn_single_copy_updates_keep_the_state_relied_upon() {
    let sb = example_superblock();
    let chunk_states = |dirty: &[usize]| {
        let mut c = example_chunks(1023);
        for &k in dirty {
            c[k] = ChunkByte::new(ChunkStatus::Dirty, k % 2 == 0).raw();
        }
        c
    };
    // Bytes in the first and the last sector: a tear can split them.
    let (a, b, c) = (
        chunk_states(&[3]),
        chunk_states(&[3, 1000]),
        chunk_states(&[1000]),
    );
    // Serials 1, 2, 3 and across the ring's wrap.
    for first in [Serial::new(1), Serial::new(u64::MAX - 1)] {
        let older = seg_state(&sb, first, a.clone());
        let relied = seg_state(&sb, first.next(), b.clone());
        let new = seg_state(&sb, first.next().next(), c.clone());
        for target in CopyRole::BOTH {
            check_torn_single_copy_update(&sb, target, &older, &relied, &new);
        }
    }
}

#[test]
fn torn_first_write_of_a_segment_falls_back_to_all_dirty_or_the_new_state() {
    let sb = example_superblock();
    let new = seg_state(&sb, Serial::FIRST, example_chunks(1023));
    for garbage in [[0u8; BLOCK_SIZE], [0xa5u8; BLOCK_SIZE]] {
        for mask in 0..=u8::MAX {
            let p = tear(&new.copies[0], &garbage, mask);
            let (load, chunks) = read_seg(&sb, &p, &garbage);
            match load.chosen {
                Chosen::Neither => assert!(chunks.iter().all(|&b| b == ChunkByte::UNKNOWN.raw())),
                _ => assert_eq!(chunks, new.chunks),
            }
            assert_eq!(
                p == new.copies[0],
                load.chosen == Chosen::Primary,
                "mask {mask:#010b}"
            );
        }
    }
}

#[test]
fn torn_superblock_updates_yield_the_old_or_the_new_superblock() {
    let old_sb = example_superblock();
    let mut new_sb = old_sb;
    new_sb.event += 1;
    new_sb.clean = false;
    new_sb.members[1] = Some(Member {
        state: MemberState::Failed,
        state_event: 4,
        rebuild_checkpoint: 0,
        full_copy: false,
        ..new_sb.members[1].unwrap()
    });
    for (old_serial, new_serial) in [
        (Serial::new(8), Serial::new(9)),
        (Serial::new(u64::MAX), Serial::FIRST),
    ] {
        let old = CopyRole::BOTH.map(|r| sb_block(&old_sb, old_serial, r));
        let new = CopyRole::BOTH.map(|r| sb_block(&new_sb, new_serial, r));
        let want_old = Superblock {
            serial: old_serial,
            ..old_sb
        };
        let want_new = Superblock {
            serial: new_serial,
            ..new_sb
        };
        for mask in 0..=u8::MAX {
            let torn = tear(&new[0], &old[0], mask);
            assert_trusted_agrees(&torn, &old[1]);
            assert_trusted_agrees(&new[0], &tear(&new[1], &old[1], mask));
            let load = SuperblockLoad::read(&torn, &old[1]);
            let got = *load.superblock().expect("the secondary is intact");
            assert!(
                got == want_old || got == want_new,
                "primary torn by {mask:#010b}"
            );
            assert_eq!(
                torn == new[0],
                got == want_new,
                "primary torn by {mask:#010b}"
            );
            let load = SuperblockLoad::read(&new[0], &tear(&new[1], &old[1], mask));
            assert_eq!(
                load.superblock(),
                Some(&want_new),
                "secondary torn by {mask:#010b}"
            );
        }
    }
}

/// The in-place decoder the kernel uses (one superblock of room) trusts
/// the copy the two-copy reader trusts, or none when it finds none.
fn assert_trusted_agrees(p: &[u8], s: &[u8]) {
    let mut out = Superblock::BLANK;
    let want = SuperblockLoad::read(p, s);
    let Ok(serials) = Superblock::decode_trusted(p, s, &mut out) else {
        assert!(want.disagree && want.superblock().is_none());
        return;
    };
    assert!(!want.disagree);
    assert_eq!(serials, want.copies.map(|c| c.ok().map(|sb| sb.serial)));
    assert_eq!(
        serials.iter().any(Option::is_some).then_some(&out),
        want.superblock()
    );
}

#[test]
fn the_in_place_decoder_finds_nothing_where_nothing_is_valid() {
    let zero = [0u8; BLOCK_SIZE];
    assert_trusted_agrees(&zero, &zero);
    assert_trusted_agrees(&[], &[]);
    let sb = example_superblock();
    let copies = CopyRole::BOTH.map(|role| encode_sb(&sb, role));
    assert_trusted_agrees(&copies[0], &zero);
    assert_trusted_agrees(&zero, &copies[1]);
    // Each copy in the other's place is refused (wrong role).
    assert_trusted_agrees(&copies[1], &copies[0]);
}
