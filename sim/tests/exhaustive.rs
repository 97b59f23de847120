//! The exhaustive crash-state suite: every crash point of each built-in
//! scenario, every way the unsettled writes may land.

use dmmirror_core::mirror::Mutation;
use dmmirror_sim::exhaustive::{options_for, run_scenario, run_scenario_with, scenarios, Coverage};

#[test]
fn every_crash_state_of_every_scenario_recovers() {
    let mut total = Coverage::default();
    for s in scenarios() {
        let c = run_scenario(&s).unwrap_or_else(|e| panic!("{e}"));
        println!("{}: {c:?}", s.name);
        assert!(c.crash_points > 10, "{}: {c:?}", s.name);
        total.crash_points += c.crash_points;
        total.crash_states += c.crash_states;
        total.without_torn += c.without_torn;
    }
    println!("total: {total:?}");
    assert!(total.crash_states > 20_000, "{total:?}");
}

/// Mistakes in write ordering are found here without any randomness.
#[test]
fn the_exhaustive_suite_has_teeth() {
    for m in [Mutation::DataBeforeBitmap, Mutation::CleanBeforeDurable] {
        let caught = scenarios().iter().find_map(|s| {
            let mut o = options_for(s);
            o.mutation = m;
            run_scenario_with(s, &o).err()
        });
        assert!(caught.is_some(), "{m:?} survived every crash state");
        println!("{m:?}: {}", caught.unwrap());
    }
}

/// The same mistakes are found with the metadata on a log device: the
/// ordering of log writes against data writes is checked there too.
#[test]
fn the_external_log_scenarios_have_teeth() {
    for m in [Mutation::DataBeforeBitmap, Mutation::CleanBeforeDurable] {
        let caught = scenarios().iter().filter(|s| s.external_log).find_map(|s| {
            let mut o = options_for(s);
            o.mutation = m;
            run_scenario_with(s, &o).err()
        });
        assert!(
            caught.is_some(),
            "{m:?} survived every external-log crash state"
        );
        println!("{m:?}: {}", caught.unwrap());
    }
}
