//! mirrorctl: create and inspect dm-mirror legs offline.

/// `print!` to stdout; a closed stdout (`mirrorctl ... | head -1`) ends
/// the program quietly, as SIGPIPE ends a C tool, instead of a panic.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::write_stdout(format_args!($($t)*))
    };
}

/// `println!` with [`out!`]'s handling of a closed stdout.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($t)*)))
    };
}

mod create;
mod debug;
mod examine;
mod leg;
mod offline;
mod records;

use clap::{Parser, Subcommand, ValueEnum};
use dmmirror_core::format::*;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mirrorctl",
    version,
    about = "Create and inspect dm-mirror legs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write fresh metadata (superblocks and bitmaps) on every leg.
    Create {
        /// Chunk size: bytes, or with a K, M or G suffix; a power of two from 4K to 1G.
        #[arg(long, default_value = "1M", value_parser = parse_size)]
        chunk_size: u64,
        /// Overwrite legs that carry a filesystem, partition table or mirror metadata.
        #[arg(long)]
        force: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The legs: files or block devices.
        #[arg(required = true, num_args = 1..)]
        legs: Vec<PathBuf>,
    },
    /// Print a leg's superblock copies and bitmap summary.
    Examine {
        /// The leg (a file or block device), or with --log-area an LVM
        /// mirror's log device.
        leg: PathBuf,
        /// The device is the log of an LVM mirror (an external layout):
        /// examine the metadata area of this slot (0 to 15).
        #[arg(long, value_name = "SLOT", value_parser = parse_slot)]
        log_area: Option<usize>,
        /// Also list the chunks that are not CLEAN or UNWRITTEN, or that are MODIFIED.
        #[arg(long)]
        chunks: bool,
        /// Print JSON (always with the chunk list).
        #[arg(long)]
        json: bool,
    },
    /// Compare the legs offline: every chunk where they differ, and whether
    /// the bitmap covers it (exit 3 if some difference is not covered, 4 if
    /// fewer legs were compared than the mirror has).
    Check {
        /// Exit 0 even if some of the mirror's legs were not compared (not
        /// in sync, or not given).
        #[arg(long)]
        partial: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The mirror's legs, each a file or block device.
        #[arg(required = true, num_args = 1..)]
        legs: Vec<PathBuf>,
    },
    /// Assemble the legs and run the core's resync and rebuild offline,
    /// then stop cleanly.
    Resync {
        /// Assemble despite split brain or disagreeing legs.
        #[arg(long)]
        force: bool,
        /// Run without members that were active but are not given: they
        /// are recorded as failed (without it, resync refuses and changes
        /// nothing).
        #[arg(long)]
        run: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The mirror's legs, each a file or block device.
        #[arg(required = true, num_args = 1..)]
        legs: Vec<PathBuf>,
    },
    /// Low-level operations for tests and demonstrations.
    #[command(subcommand)]
    Debug(Debug),
}

#[derive(Subcommand)]
enum Debug {
    /// Update chunk bytes in a leg's bitmap with the spec's two-copy protocol.
    Mark {
        /// The leg: a file or block device.
        leg: PathBuf,
        /// Chunk indexes, comma separated.
        #[arg(long, value_delimiter = ',', required = true)]
        chunks: Vec<u64>,
        #[arg(long, value_enum)]
        state: StateArg,
        /// Also set MODIFIED.
        #[arg(long)]
        modified: bool,
        /// Simulate a crash: write only this many sectors (0-7) of the
        /// first segment's primary copy, then stop.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..8))]
        tear_primary: Option<u8>,
    },
    /// Write numbered 4 KiB records through the engine with FUA, printing
    /// "ack N" once record N is durable (kill it to test crash recovery).
    Workload {
        #[arg(long, default_value_t = 10_000)]
        records: u64,
        #[arg(long, default_value_t = 4)]
        threads: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Spread the records over the first SPAN bytes (default: all).
        #[arg(long, value_parser = parse_size)]
        span: Option<u64>,
        /// The mirror's legs, each a file or block device.
        #[arg(required = true, num_args = 1..)]
        legs: Vec<PathBuf>,
    },
    /// Check that every record acknowledged in a workload's output is on
    /// every leg given (exit 1 if one is missing).
    Verify {
        /// The workload's stdout.
        #[arg(long)]
        acked: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The workload's --span.
        #[arg(long, value_parser = parse_size)]
        span: Option<u64>,
        /// Bytes into the mirror where the records start (a workload
        /// written at an offset, as vm-test's recwrite can).
        #[arg(long, value_parser = parse_size, default_value = "0")]
        base: u64,
        /// The legs hold data only (no superblock): the mirror's data
        /// starts this many bytes into each (an LVM mirror image on a PV).
        #[arg(long, value_parser = parse_size, requires = "span")]
        raw_at: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The mirror's legs, each a file or block device.
        #[arg(required = true, num_args = 1..)]
        legs: Vec<PathBuf>,
    },
    /// Flip one byte of one metadata copy (silent media corruption).
    Corrupt {
        /// The leg: a file or block device.
        leg: PathBuf,
        /// Bitmap segment index; without it, the superblock.
        #[arg(long)]
        segment: Option<u32>,
        #[arg(long, value_enum)]
        copy: CopyArg,
        /// Byte offset within the 4 KiB block.
        #[arg(long, default_value_t = 100)]
        byte: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum StateArg {
    Clean,
    Dirty,
    Unwritten,
}

#[derive(Clone, Copy, ValueEnum)]
enum CopyArg {
    Primary,
    Secondary,
}

impl From<CopyArg> for CopyRole {
    fn from(c: CopyArg) -> CopyRole {
        match c {
            CopyArg::Primary => CopyRole::Primary,
            CopyArg::Secondary => CopyRole::Secondary,
        }
    }
}

/// An error with the exit code it maps to: 1 for bad metadata, I/O or an
/// unfinished resync, 2 for bad usage (clap uses 2 as well), 3 for legs
/// that differ where the bitmap says CLEAN, 4 for a check that compared
/// fewer legs than the mirror has.
struct Failure(u8, String);

type Outcome = Result<(), Failure>;

fn fail<T>(code: u8, msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure(code, msg.into()))
}

fn io_err(path: &std::path::Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure(1, format!("{}: {e}", path.display()))
}

fn parse_slot(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|&slot| slot < MAX_LEGS)
        .ok_or_else(|| format!("'{s}' is not a slot: slots run from 0 to {}", MAX_LEGS - 1))
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("'{s}' is not a size (try 64K, 1M)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Create {
            chunk_size,
            force,
            json,
            legs,
        } => create::create(chunk_size, force, json, &legs),
        Command::Examine {
            leg,
            log_area,
            chunks,
            json,
        } => examine::examine(&leg, log_area, chunks, json),
        Command::Check {
            partial,
            json,
            legs,
        } => offline::check(&legs, partial, json),
        Command::Resync {
            force,
            run,
            timeout,
            json,
            legs,
        } => offline::resync(&legs, force, run, timeout, json),
        Command::Debug(Debug::Mark {
            leg,
            chunks,
            state,
            modified,
            tear_primary,
        }) => debug::mark(&leg, &chunks, state, modified, tear_primary),
        Command::Debug(Debug::Corrupt {
            leg,
            segment,
            copy,
            byte,
        }) => debug::corrupt(&leg, segment, copy.into(), byte),
        Command::Debug(Debug::Workload {
            records,
            threads,
            seed,
            span,
            legs,
        }) => records::workload(&legs, records, threads, seed, span),
        Command::Debug(Debug::Verify {
            acked,
            seed,
            span,
            base,
            raw_at,
            json,
            legs,
        }) => {
            let data_at = raw_at.map_or(records::DataAt::Metadata, records::DataAt::Raw);
            records::verify(&legs, &acked, seed, span, base, data_at, json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, msg)) => {
            eprintln!("mirrorctl: {msg}");
            ExitCode::from(code)
        }
    }
}

fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // 128 + SIGPIPE: what a shell reports for a tool SIGPIPE ended.
            std::process::exit(141);
        }
        eprintln!("mirrorctl: writing to stdout: {e}");
        std::process::exit(1);
    }
}
