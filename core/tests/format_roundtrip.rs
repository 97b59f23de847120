mod common;

use common::*;
use dmmirror_core::format::*;
use proptest::prelude::*;

fn arb_geometry() -> impl Strategy<Value = Geometry> {
    (3u32..=21, 4096u64..(1u64 << 41)).prop_filter_map("leg fits", |(shift, leg)| {
        Geometry::for_leg(leg, 1 << shift).ok()
    })
}

fn arb_state() -> impl Strategy<Value = MemberState> {
    prop_oneof![
        Just(MemberState::InSync),
        Just(MemberState::Failed),
        Just(MemberState::Removed),
        Just(MemberState::Rebuilding),
    ]
}

fn arb_superblock() -> impl Strategy<Value = Superblock> {
    (
        arb_geometry(),
        1u64..,
        any::<[u8; 16]>(),
        proptest::collection::vec(
            (
                any::<bool>(),
                any::<[u8; 16]>(),
                arb_state(),
                any::<u64>(),
                any::<u64>(),
            ),
            MAX_LEGS,
        ),
        0..MAX_LEGS,
        1u64..u64::MAX,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(geometry, serial, mirror, slots, own, event, clean, modified_since)| {
                let mut members = [None; MAX_LEGS];
                for (i, (used, id, state, state_event, cp)) in slots.into_iter().enumerate() {
                    let mut id = id;
                    id[0] = i as u8; // distinct across slots
                    id[1] |= 1; // never nil
                    if used || i == own {
                        let rebuild_checkpoint = cp % (geometry.chunk_count + 1);
                        members[i] = Some(Member {
                            uuid: Uuid(id),
                            state,
                            // Recorded at or before the superblock's event.
                            state_event: state_event % (event + 1),
                            rebuild_checkpoint,
                            full_copy: cp % 2 == 1,
                        });
                    }
                }
                let mut mirror = mirror;
                mirror[15] |= 1; // never nil
                Superblock {
                    serial: Serial::new(serial),
                    mirror_uuid: Uuid(mirror),
                    leg_uuid: members[own].unwrap().uuid,
                    slot: own as u8,
                    event,
                    clean,
                    modified_since_event: modified_since % (event + 1),
                    geometry,
                    members,
                }
            },
        )
}

fn arb_chunk_byte() -> impl Strategy<Value = u8> {
    (0u8..3, any::<bool>()).prop_map(|(s, m)| s | if m { ChunkByte::MODIFIED_BIT } else { 0 })
}

proptest! {
    #[test]
    fn superblock_round_trips(sb in arb_superblock(), secondary in any::<bool>()) {
        let role = if secondary { CopyRole::Secondary } else { CopyRole::Primary };
        let block = encode_sb(&sb, role);
        prop_assert_eq!(Superblock::decode(&block, role), Ok(sb));
        let other = if secondary { CopyRole::Primary } else { CopyRole::Secondary };
        let wrong_role = matches!(Superblock::decode(&block, other), Err(DecodeError::WrongRole { .. }));
        prop_assert!(wrong_role);
    }

    #[test]
    fn segment_round_trips(
        chunk_count in 1u64..(1u64 << 32),
        index_pick in any::<u32>(),
        serial in 1u64..,
        mirror in any::<[u8; 16]>(),
        bytes in proptest::collection::vec(arb_chunk_byte(), CHUNKS_PER_SEGMENT),
        secondary in any::<bool>(),
    ) {
        let segments = chunk_count.div_ceil(CHUNKS_PER_SEGMENT as u64) as u32;
        let index = index_pick % segments;
        let role = if secondary { CopyRole::Secondary } else { CopyRole::Primary };
        let header = SegmentHeader { role, index, serial: Serial::new(serial), mirror_uuid: Uuid(mirror), chunk_count };
        let size = header.size().unwrap() as usize;
        let block = encode_seg(&header, &bytes[..size]);
        let expect = SegmentExpect { role, index, mirror_uuid: Uuid(mirror), chunk_count };
        let (decoded, chunks) = decode_segment(&block, &expect).unwrap();
        prop_assert_eq!(decoded, header);
        prop_assert_eq!(chunks, &bytes[..size]);
        let wrong_index = SegmentExpect { index: index.wrapping_add(1), ..expect };
        prop_assert!(decode_segment(&block, &wrong_index).is_err());
        let foreign = SegmentExpect { mirror_uuid: Uuid([0xee; 16]), ..expect };
        prop_assert_eq!(decode_segment(&block, &foreign).unwrap_err(), DecodeError::ForeignMirror);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_blocks(block in proptest::collection::vec(any::<u8>(), 0..5000)) {
        let _ = Superblock::decode(&block, CopyRole::Primary);
        let expect = SegmentExpect { role: CopyRole::Primary, index: 0, mirror_uuid: Uuid::NIL, chunk_count: 10 };
        let _ = decode_segment(&block, &expect);
    }

    #[test]
    fn geometry_fits_the_leg(leg in 0u64..(1u64 << 44), shift in 0u32..32) {
        match Geometry::for_leg(leg, 1u32 << shift) {
            Ok(g) => {
                prop_assert_eq!(g.validate(), Ok(()));
                prop_assert!(g.leg_sectors_needed() <= leg);
                prop_assert!(leg - g.leg_sectors_needed() < BLOCK_SECTORS, "at most a partial block is lost");
                prop_assert_eq!(g.data_offset % 2048, 0);
            }
            Err(GeometryError::BadChunkSize { .. }) => prop_assert!(!(3..=21).contains(&shift)),
            Err(GeometryError::LegTooSmall { min_sectors, .. }) => prop_assert!(leg < min_sectors),
            Err(GeometryError::TooManyChunks { chunks }) => prop_assert!(chunks > u64::from(u32::MAX)),
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }
}

#[test]
fn a_one_tib_leg_has_a_one_mib_bitmap_per_copy() {
    let g = Geometry::for_leg(1u64 << 31, 2048).unwrap();
    assert_eq!(
        g.chunk_count,
        (1 << 20) - 3,
        "3 MiB of metadata at 1 MiB alignment"
    );
    assert_eq!(g.data_offset, 3 * 2048);
    assert_eq!(g.segment_count, 261);
    assert_eq!(u64::from(g.segment_count) * BLOCK_SIZE as u64, 1_069_056);
}

#[test]
fn encoder_refuses_what_the_decoder_would_reject() {
    let sb = example_superblock();
    let mut out = [0u8; BLOCK_SIZE];
    let bad = |f: &dyn Fn(&mut Superblock)| {
        let mut s = sb;
        f(&mut s);
        let mut out = [0u8; BLOCK_SIZE];
        s.encode(CopyRole::Primary, &mut out).unwrap_err()
    };
    assert_eq!(bad(&|s| s.serial = Serial::NEVER), DecodeError::ZeroSerial);
    assert!(matches!(
        bad(&|s| s.slot = 1),
        DecodeError::BadMember { slot: 1, .. }
    ));
    assert!(matches!(
        bad(&|s| s.slot = 200),
        DecodeError::BadMember { .. }
    ));
    assert!(matches!(
        bad(&|s| s.members[1].as_mut().unwrap().uuid = s.leg_uuid),
        DecodeError::BadMember { slot: 1, .. }
    ));
    assert!(matches!(
        bad(&|s| s.geometry.chunk_count += 1),
        DecodeError::BadGeometry(_)
    ));
    assert!(matches!(
        bad(&|s| s.geometry.bitmap_sector[1] = 0),
        DecodeError::BadGeometry(_)
    ));
    sb.encode(CopyRole::Primary, &mut out).unwrap();

    let h = example_segment_header(&sb, CopyRole::Primary);
    let mut chunks = example_chunks(h.size().unwrap() as usize);
    assert_eq!(
        encode_segment(&h, &chunks[1..], &mut out),
        Err(EncodeError::WrongChunkCount {
            given: 1022,
            expected: 1023
        })
    );
    chunks[3] = 0x03;
    assert_eq!(
        encode_segment(&h, &chunks, &mut out),
        Err(EncodeError::BadChunkByte { index: 3 })
    );
    chunks[3] = 0x08;
    assert_eq!(
        encode_segment(&h, &chunks, &mut out),
        Err(EncodeError::BadChunkByte { index: 3 })
    );
    let past = SegmentHeader { index: 1, ..h };
    assert_eq!(
        encode_segment(&past, &[], &mut out),
        Err(EncodeError::IndexPastEnd)
    );
}

#[test]
fn chunk_byte_reserved_values_are_rejected() {
    for raw in 0u8..=255 {
        let valid = raw & 0xf8 == 0 && raw & 3 != 3;
        assert_eq!(ChunkByte::from_raw(raw).is_some(), valid, "raw {raw:#04x}");
        if let Some(b) = ChunkByte::from_raw(raw) {
            assert_eq!(ChunkByte::new(b.status(), b.is_modified()), b);
        }
    }
}
