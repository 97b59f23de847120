//! docs/format.md carries hex dumps of a real superblock and bitmap segment.
//! This test regenerates them and fails when the document disagrees with
//! the code. `DMMIRROR_BLESS=1 cargo test --test format_doc` rewrites them.

mod common;

use common::*;
use dmmirror_core::format::*;
use std::path::PathBuf;

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/format.md")
}

fn dumps() -> Vec<(&'static str, String)> {
    let sb = example_superblock();
    let h = example_segment_header(&sb, CopyRole::Primary);
    let chunks = example_chunks(h.size().unwrap() as usize);
    vec![
        ("superblock", hexdump(&encode_sb(&sb, CopyRole::Primary))),
        ("segment", hexdump(&encode_seg(&h, &chunks))),
    ]
}

fn replace_block(doc: &str, name: &str, body: &str) -> Option<String> {
    let begin = format!("<!-- BEGIN dump {name} -->\n");
    let end = format!("<!-- END dump {name} -->");
    let start = doc.find(&begin)? + begin.len();
    let stop = start + doc[start..].find(&end)?;
    Some(format!(
        "{}```text\n{}```\n{}",
        &doc[..start],
        body,
        &doc[stop..]
    ))
}

#[test]
fn hex_dumps_in_the_format_document_match_the_code() {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).expect("docs/format.md");
    let mut updated = doc.clone();
    for (name, dump) in dumps() {
        updated = replace_block(&updated, name, &dump)
            .unwrap_or_else(|| panic!("no dump block for {name}"));
    }
    if std::env::var_os("DMMIRROR_BLESS").is_some() {
        std::fs::write(&path, &updated).unwrap();
    } else {
        assert!(
            doc == updated,
            "docs/format.md dumps are stale: rerun with DMMIRROR_BLESS=1 and review the diff"
        );
    }
}

#[test]
fn documented_example_decodes_to_documented_values() {
    let sb = example_superblock();
    let block = encode_sb(&sb, CopyRole::Primary);
    // Values quoted in the document's walk-through of the dump.
    assert_eq!(&block[0..8], b"DMMIRROR");
    assert_eq!(
        u32::from_le_bytes(block[24..28].try_into().unwrap()),
        crc32fast::hash(&[&block[..24], &block[28..]].concat())
    );
    assert_eq!(sb.geometry.data_offset, 2048);
    assert_eq!(sb.geometry.data_sectors, 2_095_104);
    assert_eq!(sb.geometry.chunk_count, 1023);
    assert_eq!(sb.geometry.bitmap_sector, [16, 24]);
}

/// The fuzz targets start from the documented example blocks.
#[test]
fn fuzz_seeds_are_the_documented_examples() {
    let sb = example_superblock();
    let h = example_segment_header(&sb, CopyRole::Primary);
    let chunks = example_chunks(h.size().unwrap() as usize);
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    for (name, block) in [
        (
            "decode_superblock/superblock.bin",
            encode_sb(&sb, CopyRole::Primary),
        ),
        ("decode_segment/segment.bin", encode_seg(&h, &chunks)),
    ] {
        let path = seeds.join(name);
        if std::env::var_os("DMMIRROR_BLESS").is_some() {
            std::fs::write(&path, block).unwrap();
        }
        assert_eq!(
            std::fs::read(&path).expect("fuzz seed"),
            block.to_vec(),
            "{name} is stale"
        );
    }
}
