//! `sim --seed N --ops M` runs one seed; `--seeds A..B` a range.

use dmmirror_sim::{run, Options};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seeds = 1..2u64;
    let mut ops = 10_000u64;
    let mut trace = None;
    let mut i = 0;
    while i < args.len() {
        let val = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--seed" => {
                let s: u64 = val.parse().expect("--seed takes a number");
                seeds = s..s + 1;
            }
            "--seeds" => {
                let (a, b) = val.split_once("..").expect("--seeds takes A..B");
                seeds = a.parse().expect("A")..b.parse().expect("B");
            }
            "--ops" => ops = val.parse().expect("--ops takes a number"),
            "--trace" => trace = Some(val.parse().expect("--trace takes a number of lines")),
            other => {
                eprintln!("sim: unknown argument {other}; usage: sim [--seed N | --seeds A..B] [--ops M] [--trace LINES]");
                return ExitCode::from(2);
            }
        }
        i += 2;
    }
    let mut total_ops = 0;
    let mut crashes = 0;
    for seed in seeds.clone() {
        let mut o = Options::new(seed, ops);
        if let Some(lines) = trace {
            o.trace_lines = lines;
        }
        match run(&o) {
            Ok(r) => {
                total_ops += r.ops;
                crashes += r.crashes;
            }
            Err(f) => {
                eprintln!("{f}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "sim: seeds {}..{} passed: {total_ops} operations, {crashes} power losses",
        seeds.start, seeds.end
    );
    ExitCode::SUCCESS
}
