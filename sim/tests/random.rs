//! The bounded CI run: at least 10^6 simulated requests over fresh seeds,
//! with power losses, dying and returning disks and transient read errors.

use dmmirror_sim::{run, Options, Report};

fn run_seeds(seeds: std::ops::Range<u64>) -> Report {
    let mut total = Report::default();
    for seed in seeds {
        match run(&Options::new(seed, 2_000)) {
            Ok(r) => {
                total.ops += r.ops;
                total.steps += r.steps;
                total.bitmap_updates += r.bitmap_updates;
                total.crashes += r.crashes;
                total.deaths += r.deaths;
                total.corruptions += r.corruptions;
                total.reads_checked += r.reads_checked;
                total.sectors_checked += r.sectors_checked;
                total.resynced_chunks += r.resynced_chunks;
            }
            Err(f) => panic!("{f}"),
        }
    }
    total
}

// Two halves so that the test harness runs them on both cores.
#[test]
fn seeds_0_to_250() {
    let r = run_seeds(0..250);
    println!("{r:?}");
    assert_eq!(r.ops, 500_000);
    assert!(
        r.crashes > 1_000 && r.deaths > 100 && r.reads_checked > 100_000,
        "{r:?}"
    );
}

#[test]
fn seeds_250_to_500() {
    let r = run_seeds(250..500);
    println!("{r:?}");
    assert_eq!(r.ops, 500_000);
    assert!(
        r.crashes > 1_000 && r.deaths > 100 && r.reads_checked > 100_000,
        "{r:?}"
    );
}
