//! The bounded CI run: at least 10^6 simulated requests over fresh seeds,
//! with power losses, dying and returning disks, transient read errors,
//! discards, and legs failed, removed and added by the operator.

use dmmirror_sim::{run, Options, Report};

fn run_seeds(seeds: std::ops::Range<u64>) -> Report {
    let mut total = Report::default();
    for seed in seeds {
        match run(&Options::new(seed, 2_000)) {
            Ok(r) => total.add(&r),
            Err(f) => panic!("{f}"),
        }
    }
    total
}

/// Each half covers the fault mix it should.
fn check(r: &Report) {
    assert!(r.ops >= 500_000, "{r:?}");
    assert!(
        r.crashes > 1_000
            && r.deaths > 50
            && r.reads_checked > 100_000
            && r.admin_ops > 100
            && r.latent_errors > 100
            && r.rebuilds_finished > 50
            && r.rebuilt_chunks > 1_000
            && r.fast_writes > 50_000
            && r.fast_reads > 50_000
            && r.adopted > 100,
        "{r:?}"
    );
}

// Two halves so that the test harness runs them on both cores.
#[test]
fn seeds_0_to_250() {
    let r = run_seeds(0..250);
    println!("{r:?}");
    check(&r);
}

#[test]
fn seeds_250_to_500() {
    let r = run_seeds(250..500);
    println!("{r:?}");
    check(&r);
}
