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

/// Fails naming the first coverage bound a run did not reach.
fn at_least(what: &str, got: u64, floor: u64, r: &Report) {
    assert!(got > floor, "{what}: {got}, not above {floor}; {r:?}");
}

/// Each half covers the fault mix it should.
fn check(r: &Report) {
    assert!(r.ops >= 500_000, "{r:?}");
    at_least("power losses", r.crashes, 1_000, r);
    at_least("disk deaths", r.deaths, 50, r);
    at_least("reads checked", r.reads_checked, 100_000, r);
    at_least("operator requests", r.admin_ops, 100, r);
    at_least("latent sector errors", r.latent_errors, 100, r);
    at_least("rebuilds finished", r.rebuilds_finished, 50, r);
    at_least("chunks rebuilt", r.rebuilt_chunks, 1_000, r);
    at_least("lock-free writes", r.fast_writes, 50_000, r);
    at_least("lock-free reads", r.fast_reads, 50_000, r);
    at_least("fast writes adopted", r.adopted, 100, r);
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

/// The external layout (LVM's disk log): every slot's metadata on a log
/// device that starts blank, data from sector 0 of each leg; legs fail,
/// die and return, and power losses land before the first superblocks.
#[test]
fn external_log_seeds_500_to_650() {
    let mut total = Report::default();
    let mut legs_at_start = 0;
    for seed in 500..650 {
        let mut o = Options::new(seed, 2_000);
        o.external_log = true;
        legs_at_start += o.legs as u64;
        o.crash_rate = 60;
        match run(&o) {
            Ok(r) => total.add(&r),
            Err(f) => panic!("{f}"),
        }
    }
    println!("{total:?}");
    at_least("power losses", total.crashes, 5_000, &total);
    at_least("disk deaths", total.deaths, 20, &total);
    at_least("operator requests", total.admin_ops, 500, &total);
    at_least("rebuilds finished", total.rebuilds_finished, 100, &total);
    at_least("metadata copies corrupted", total.corruptions, 500, &total);
    // Beyond each new mirror's legs: members whose first superblock a
    // power loss kept off the log.
    at_least("blank log areas", total.blank_areas, legs_at_start, &total);
}
