//! The checker has teeth: each known mistake, switched into the core, is
//! reported within a bounded number of seeds.

use dmmirror_core::mirror::Mutation;
use dmmirror_sim::{run, Options};

fn first_failure(m: Mutation, seeds: u64) -> Option<(u64, String)> {
    first_failure_with(m, seeds, |_| {})
}

fn first_failure_with(
    m: Mutation,
    seeds: u64,
    tune: impl Fn(&mut Options),
) -> Option<(u64, String)> {
    (0..seeds).find_map(|seed| {
        let mut o = Options::new(seed, 2_000);
        o.mutation = m;
        tune(&mut o);
        run(&o).err().map(|f| (seed, f.what))
    })
}

fn caught(m: Mutation) {
    let found = first_failure(m, 200);
    assert!(found.is_some(), "{m:?} was not caught in 200 seeds");
    let (seed, what) = found.unwrap();
    println!("{m:?}: caught by seed {seed}: {what}");
}

#[test]
fn correct_core_passes_the_same_seeds() {
    assert_eq!(first_failure(Mutation::None, 50), None);
}

#[test]
fn cleaning_before_the_data_is_durable_is_caught() {
    caught(Mutation::CleanBeforeDurable);
}

#[test]
fn data_before_the_bitmap_is_caught() {
    caught(Mutation::DataBeforeBitmap);
}

#[test]
fn cleaning_under_fast_writes_is_caught() {
    // Rarer: the chunk must be cleaned under a fast write and the power
    // lost before another write dirties it again.
    let found = first_failure(Mutation::CleanIgnoresFastWrites, 300);
    assert!(found.is_some(), "not caught in 300 seeds");
    println!("CleanIgnoresFastWrites: caught: {found:?}");
}

#[test]
fn acknowledging_before_the_failure_is_recorded_is_caught() {
    // The window is a crash between the early acknowledgement and the
    // superblock update, with the failed disk back after the reboot: more
    // deaths and power losses make it common enough to find.
    let tune = |o: &mut Options| {
        o.crash_rate = 300;
        o.death_rate = 100;
        o.return_rate = 100;
    };
    let found = first_failure_with(Mutation::AckBeforeFailureRecorded, 500, tune);
    assert!(found.is_some(), "not caught in 500 seeds");
    println!("AckBeforeFailureRecorded: caught: {found:?}");
    // The same tuning passes without the mistake.
    assert_eq!(first_failure_with(Mutation::None, 100, tune), None);
}

#[test]
fn reading_unsynced_chunks_from_any_leg_is_caught() {
    caught(Mutation::ReadUnsyncedFromAnyLeg);
}

#[test]
fn not_marking_modified_while_degraded_is_caught() {
    // A returning leg then receives only the chunks marked MODIFIED and
    // keeps stale data in the others.
    caught(Mutation::NoModifiedWhenDegraded);
}
