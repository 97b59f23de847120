//! Core CPU cost per 4 KiB write, submit to completion, on legs that finish
//! every I/O at once; a 4 KiB copy measured in the same run is the baseline.

use criterion::{criterion_group, criterion_main, Criterion};
use dmmirror_bench::MemMirror;
use dmmirror_core::mirror::{Config, FastWriteDone};
use std::hint::black_box;

fn write_4k(c: &mut Criterion) {
    let mut g = c.benchmark_group("write_4k");
    let mut m = MemMirror::new(2, 1 << 30, 1 << 20, Config::default());
    // Chunk 0 durably DIRTY and in sync (written whole): the steady state
    // of a busy region.
    m.submit_write(0, 2048);
    m.run();
    assert_eq!(m.mirror.chunks_needing_resync(), 0);
    let mut n = 0u64;
    g.bench_function("locked", |b| {
        b.iter(|| {
            n += 1;
            m.submit_write((n % 256) * 8, 8);
            m.run();
        })
    });
    let fast = m.mirror.fast_path().clone();
    g.bench_function("lock_free", |b| {
        b.iter(|| {
            n += 1;
            let r = m.write_request((n % 256) * 8, 8);
            let w = fast.try_write(&r).expect("chunk 0 is durably DIRTY");
            let done = fast.write_done(black_box(&w), 0);
            assert!(matches!(done, FastWriteDone::Complete { .. }));
        })
    });
    let src = vec![7u8; 4096];
    let mut dst = vec![0u8; 4096];
    g.bench_function("copy_4k_baseline", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&mut dst);
        })
    });
    g.finish();
}

criterion_group!(benches, write_4k);
criterion_main!(benches);
