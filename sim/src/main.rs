//! `sim --seed N --ops M` runs one seed; `--seeds A..B` a range.

use dmmirror_sim::{run, Failure, Options};
use std::process::ExitCode;

/// The smallest request count for which the seed still fails (the workload
/// of a shorter run is a prefix of the longer one's).
fn shrink(o: &Options, failure: Failure) -> (u64, Failure) {
    let (mut lo, mut hi, mut best) = (0, o.ops, failure);
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        match run(&Options {
            ops: mid,
            ..o.clone()
        }) {
            Ok(_) => lo = mid,
            Err(f) => {
                hi = mid;
                best = f;
            }
        }
    }
    (hi, best)
}

const USAGE: &str = "usage: sim --exhaustive | [--seed N | --seeds A..B] [--ops M] [--trace LINES] [--crash-rate|--death-rate|--admin-rate N (1/10000 per step)] [--return-rate N (%)] [--fast-share N (% of reads and writes tried lock-free)] [--layout internal|external (metadata on the legs or on a log device)]";

/// The command line.
struct Cli {
    exhaustive: bool,
    seeds: std::ops::Range<u64>,
    ops: u64,
    trace: Option<usize>,
    external_log: bool,
    rates: Vec<(String, u64)>,
    #[cfg(feature = "mutations")]
    mutation: dmmirror_core::mirror::Mutation,
}

impl Cli {
    /// Parses the arguments; an unknown one is an error, a bad value panics
    /// with what it takes.
    fn parse(args: &[String]) -> Result<Cli, String> {
        let mut cli = Cli {
            exhaustive: false,
            seeds: 1..2,
            ops: 10_000,
            trace: None,
            external_log: false,
            rates: Vec::new(),
            #[cfg(feature = "mutations")]
            mutation: dmmirror_core::mirror::Mutation::None,
        };
        let mut i = 0;
        while i < args.len() {
            let val = args.get(i + 1).cloned().unwrap_or_default();
            match args[i].as_str() {
                "--exhaustive" => {
                    cli.exhaustive = true;
                    return Ok(cli);
                }
                "--seed" => {
                    let s: u64 = val.parse().expect("--seed takes a number");
                    cli.seeds = s..s + 1;
                }
                "--seeds" => {
                    let (a, b) = val.split_once("..").expect("--seeds takes A..B");
                    cli.seeds = a.parse().expect("A")..b.parse().expect("B");
                }
                "--ops" => cli.ops = val.parse().expect("--ops takes a number"),
                #[cfg(feature = "mutations")]
                "--mutation" => cli.mutation = mutation(&val),
                "--layout" => {
                    cli.external_log = match val.as_str() {
                        "external" => true,
                        "internal" => false,
                        _ => panic!("--layout takes internal or external"),
                    }
                }
                "--trace" => {
                    cli.trace = Some(val.parse().expect("--trace takes a number of lines"))
                }
                "--crash-rate" | "--death-rate" | "--return-rate" | "--admin-rate"
                | "--fast-share" => {
                    let rate = val.parse().expect("a rate takes a number");
                    cli.rates.push((args[i].clone(), rate));
                }
                other => return Err(format!("unknown argument {other}")),
            }
            i += 2;
        }
        Ok(cli)
    }

    /// The simulation's options for one seed.
    fn options(&self, seed: u64) -> Options {
        let mut o = Options::new(seed, self.ops);
        o.external_log = self.external_log;
        if let Some(lines) = self.trace {
            o.trace_lines = lines;
        }
        for (name, v) in &self.rates {
            match name.as_str() {
                "--crash-rate" => o.crash_rate = *v,
                "--death-rate" => o.death_rate = *v,
                "--return-rate" => o.return_rate = *v,
                "--fast-share" => o.fast_share = *v,
                _ => o.admin_rate = *v,
            }
        }
        #[cfg(feature = "mutations")]
        {
            o.mutation = self.mutation;
        }
        o
    }
}

#[cfg(feature = "mutations")]
fn mutation(name: &str) -> dmmirror_core::mirror::Mutation {
    use dmmirror_core::mirror::Mutation::*;
    match name {
        "clean-before-durable" => CleanBeforeDurable,
        "data-before-bitmap" => DataBeforeBitmap,
        "no-modified" => NoModifiedWhenDegraded,
        "ack-before-recorded" => AckBeforeFailureRecorded,
        "read-unsynced" => ReadUnsyncedFromAnyLeg,
        "clean-ignores-fast" => CleanIgnoresFastWrites,
        _ => panic!("unknown mutation {name}"),
    }
}

/// Every exhaustive scenario, crashed at every point in every way.
fn exhaustive() -> ExitCode {
    let mut total = dmmirror_sim::exhaustive::Coverage::default();
    for sc in dmmirror_sim::exhaustive::scenarios() {
        match dmmirror_sim::exhaustive::run_scenario(&sc) {
            Ok(c) => {
                println!(
                    "exhaustive: {}: {} crash points, {} crash states",
                    sc.name, c.crash_points, c.crash_states
                );
                total.crash_points += c.crash_points;
                total.crash_states += c.crash_states;
            }
            Err(e) => {
                eprintln!("exhaustive: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "exhaustive: all scenarios passed: {} crash points, {} crash states",
        total.crash_points, total.crash_states
    );
    ExitCode::SUCCESS
}

fn summary(cli: &Cli, total: &dmmirror_sim::Report) {
    println!(
        "sim: seeds {}..{} passed: {} operations, {} power losses, {} disk deaths, \
         {} metadata copies corrupted, {} latent sector errors, {} operator requests, {} rebuilds finished \
         ({} chunks), {} chunks resynced, {} cleans carried, {} clean delays lengthened, {} chunks dirtied ahead; lock-free: {} writes, {} reads, {} writes adopted",
        cli.seeds.start,
        cli.seeds.end,
        total.ops,
        total.crashes,
        total.deaths,
        total.corruptions,
        total.latent_errors,
        total.admin_ops,
        total.rebuilds_finished,
        total.rebuilt_chunks,
        total.resynced_chunks,
        total.cleans_carried,
        total.delays_lengthened,
        total.dirtied_ahead,
        total.fast_writes,
        total.fast_reads,
        total.adopted,
    );
    if cli.external_log {
        println!(
            "sim: external log: {} legs started from a blank log area",
            total.blank_areas
        );
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match Cli::parse(&args) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("sim: {e}; {USAGE}");
            return ExitCode::from(2);
        }
    };
    if cli.exhaustive {
        return exhaustive();
    }
    let mut total = dmmirror_sim::Report::default();
    for seed in cli.seeds.clone() {
        let o = cli.options(seed);
        match run(&o) {
            Ok(r) => total.add(&r),
            Err(f) => {
                eprintln!("{f}");
                let (shortest, f) = shrink(&o, f);
                eprintln!("\nshortest failing run of seed {seed}: --ops {shortest}\n{f}");
                return ExitCode::FAILURE;
            }
        }
    }
    summary(&cli, &total);
    ExitCode::SUCCESS
}
