//! Exhaustive crash states for short workloads (CrashMonkey / ALICE style).
//!
//! A scenario is a handful of requests on a small mirror. Its child I/Os run
//! one at a time in issue order; before the first and after each one, the
//! power fails in every way the disks allow: each write not yet on the
//! media is lost, lands whole, or lands torn (its first 4 sectors). Every such
//! state is assembled again, read in full (pinned reads must be stable and
//! hold only allowed data), resynced, checked at rest, and read again.

use crate::disk::Fate;
use crate::world::{Options, Step, World};
use dmmirror_core::mirror::ReqOp;

/// One step of a scenario.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Write {
        sector: u64,
        sectors: u32,
        fua: bool,
    },
    Discard {
        sector: u64,
        sectors: u32,
    },
    /// A write with preflush and FUA (a journal commit).
    PreflushFua {
        sector: u64,
        sectors: u32,
    },
    Flush,
    /// Let every request submitted so far complete before going on.
    Wait,
    /// The operator fails the leg in this slot.
    FailLeg(usize),
    /// Time passes until the cleaner has cleaned what it can.
    Idle,
}

fn write(sector: u64, sectors: u32) -> Op {
    Op::Write {
        sector,
        sectors,
        fua: false,
    }
}

fn fua_write(sector: u64, sectors: u32) -> Op {
    Op::Write {
        sector,
        sectors,
        fua: true,
    }
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub legs: usize,
    /// Metadata on a log device that starts blank (LVM's disk log).
    pub external_log: bool,
    pub ops: Vec<Op>,
}

impl Scenario {
    fn new(name: &'static str, legs: usize, external_log: bool, ops: Vec<Op>) -> Scenario {
        Scenario {
            name,
            legs,
            external_log,
            ops,
        }
    }
}

/// What an exhaustive run covered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub crash_points: u64,
    pub crash_states: u64,
    /// Crash points with too many unsettled writes to enumerate every
    /// combination: only lost/whole combinations were tried there.
    pub without_torn: u64,
}

/// Combinations of fates tried at one crash point at most.
const MAX_STATES: usize = 6561;

fn chunk(c: u64) -> u64 {
    c * 8
}

/// The built-in scenarios run by `cargo test` and `sim --exhaustive`.
/// Every scenario: writes and flushes, then discards, a failed leg and
/// the external layout.
pub fn scenarios() -> Vec<Scenario> {
    let mut all = write_scenarios();
    all.extend(other_scenarios());
    all
}

fn write_scenarios() -> Vec<Scenario> {
    use Op::*;
    vec![
        Scenario::new(
            "write, flush, overlapping write, FUA write",
            2,
            false,
            vec![
                write(0, 8),
                Wait,
                Flush,
                Wait,
                write(4, 8),
                fua_write(chunk(3), 1),
            ],
        ),
        Scenario::new(
            "clean chunk written again",
            2,
            false,
            vec![
                fua_write(chunk(1), 8),
                Wait,
                Idle,
                write(chunk(1) + 2, 3),
                Wait,
                Idle,
            ],
        ),
        Scenario::new(
            "concurrent overlapping writes, then flush",
            2,
            false,
            vec![write(2, 4), write(4, 6), Wait, Flush],
        ),
        Scenario::new(
            "three legs: partial first writes and a flush",
            3,
            false,
            vec![write(1, 2), write(chunk(2) + 3, 1), Wait, Flush],
        ),
    ]
}

fn other_scenarios() -> Vec<Scenario> {
    use Op::*;
    vec![
        Scenario::new(
            "whole-chunk discard between writes",
            2,
            false,
            vec![
                fua_write(0, 16),
                Wait,
                Discard {
                    sector: 0,
                    sectors: 8,
                },
                Wait,
                write(9, 2),
                Flush,
            ],
        ),
        Scenario::new(
            "FUA write with preflush over an unflushed write",
            2,
            false,
            vec![
                write(chunk(1), 8),
                Wait,
                PreflushFua {
                    sector: chunk(1) + 2,
                    sectors: 2,
                },
                Wait,
            ],
        ),
        Scenario::new(
            "a leg fails, writes go on degraded",
            2,
            false,
            vec![fua_write(0, 8), Wait, FailLeg(1), write(3, 2), Wait, Flush],
        ),
        Scenario::new(
            "external log: a new mirror on a blank log, its first copy, writes, clean",
            2,
            true,
            vec![Idle, write(0, 8), fua_write(chunk(2) + 1, 2), Wait, Idle],
        ),
        Scenario::new(
            "external log: a leg fails, writes go on degraded",
            2,
            true,
            vec![
                Idle,
                fua_write(chunk(1), 8),
                Wait,
                FailLeg(0),
                write(chunk(1) + 3, 2),
                Wait,
                Idle,
            ],
        ),
    ]
}

/// The options a scenario runs with: no random faults.
pub fn options_for(s: &Scenario) -> Options {
    let mut o = Options::new(0, 0);
    o.legs = s.legs;
    o.external_log = s.external_log;
    o.chunks = 8;
    o.crash_rate = 0;
    o.death_rate = 0;
    o.read_error_rate = 0;
    o.latent_rate = 0;
    o.return_rate = 0;
    o.corrupt_rate = 0;
    o.admin_rate = 0;
    o.queue_depth = 8;
    o
}

/// Every combination of fates for `counts[d]` unsettled writes on disk d,
/// or only lost/whole ones when there are too many (the bool says so).
fn fate_sets(counts: &[usize]) -> (Vec<Vec<Vec<Fate>>>, bool) {
    let total: usize = counts.iter().sum();
    // Torn after its first 4 sectors (half a 4 KiB block).
    let torn_half = Fate::Torn(0x0f);
    let (choices, without_torn): (Vec<Fate>, bool) = if 3usize.pow(total as u32) <= MAX_STATES {
        (vec![Fate::Lost, Fate::Whole, torn_half], false)
    } else {
        (vec![Fate::Lost, Fate::Whole], true)
    };
    let k = choices.len();
    let states = k
        .checked_pow(total as u32)
        .unwrap_or(usize::MAX)
        .min(1 << 14);
    let mut out = Vec::with_capacity(states);
    for n in 0..states {
        let mut x = n;
        let mut per_disk = Vec::with_capacity(counts.len());
        for &c in counts {
            let mut v = Vec::with_capacity(c);
            for _ in 0..c {
                v.push(choices[x % k]);
                x /= k;
            }
            per_disk.push(v);
        }
        out.push(per_disk);
    }
    (out, without_torn)
}

/// Recovers from one crash state and checks it.
fn check_state(w: &World, fates: &[Vec<Fate>]) -> Step {
    let mut after = w.fork_crash(fates)?;
    after.read_everything()?;
    after.quiesce()?;
    after.check_final()?;
    after.read_everything()
}

/// Runs the scenario, crashing at every point in every way.
pub fn run_scenario(s: &Scenario) -> Result<Coverage, String> {
    run_scenario_with(s, &options_for(s))
}

/// Runs the scenario with these options (a mutation switched in, say).
pub fn run_scenario_with(s: &Scenario, o: &Options) -> Result<Coverage, String> {
    let mut w = World::new(o);
    let mut cov = Coverage::default();
    let mut crash_here = |w: &World, cov: &mut Coverage| -> Step {
        let (sets, without_torn) = fate_sets(&w.unsettled());
        cov.crash_points += 1;
        cov.without_torn += u64::from(without_torn);
        for fates in sets {
            cov.crash_states += 1;
            check_state(w, &fates).map_err(|e| {
                format!(
                    "{}: crash point {}, fates {fates:?}: {e}",
                    s.name, cov.crash_points
                )
            })?;
        }
        Ok(())
    };
    let settle = |w: &mut World,
                  cov: &mut Coverage,
                  crash: &mut dyn FnMut(&World, &mut Coverage) -> Step|
     -> Step {
        while w.ios_in_flight() > 0 {
            w.execute_at(0)?;
            crash(w, cov)?;
        }
        Ok(())
    };
    crash_here(&w, &mut cov)?;
    for op in &s.ops {
        match *op {
            Op::Write {
                sector,
                sectors,
                fua,
            } => w.submit_request(ReqOp::Write, sector, sectors, fua, false)?,
            Op::Discard { sector, sectors } => {
                w.submit_request(ReqOp::Discard, sector, sectors, false, false)?
            }
            Op::Flush => w.submit_request(ReqOp::Flush, 0, 0, false, false)?,
            Op::PreflushFua { sector, sectors } => {
                w.submit_request(ReqOp::Write, sector, sectors, true, true)?
            }
            Op::FailLeg(slot) => {
                w.mirror_mut()
                    .fail_leg(slot)
                    .map_err(|e| format!("{}: fail_leg: {e}", s.name))?;
                w.expect_operator_failure(slot);
                w.drain()?;
            }
            Op::Idle => {
                for _ in 0..4 {
                    w.advance(w.clean_delay())?;
                    settle(&mut w, &mut cov, &mut crash_here)?;
                }
            }
            Op::Wait => {
                settle(&mut w, &mut cov, &mut crash_here)?;
                if w.requests_in_flight() > 0 {
                    return Err(format!("{}: requests wait with no I/O in flight", s.name));
                }
            }
        }
        crash_here(&w, &mut cov)?;
    }
    settle(&mut w, &mut cov, &mut crash_here)?;
    Ok(cov)
}
