//! Table lines: the native syntax and the LVM / Linux `mirror` syntax, and
//! the `dmsetup table` and `status` text of a running mirror.
//!
//! Native:  `<#legs> <leg>... [<#args> <arg>...]`, args being
//!          `read_policy <striped|least-pending|round-robin|prefer>`,
//!          `chunk_size <sectors>`, `clean_delay <ms>`,
//!          `resync_rate <min KiB/s> <max KiB/s>`, `force`.
//! LVM:     `<core|disk> <#log args> <log args> <#legs> (<leg> <offset>)...
//!          [<#features> <feature>...]`, log args `[<log dev>] <region size>
//!          [sync|nosync]`, features `handle_errors`, `keep_log`.
//!
//! `docs/tables.md` gives both grammars and the status format.

use crate::format::MAX_LEGS;
use crate::mirror::{BlankLog, Config, ReadPolicy};

/// Which syntax a table was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax<'a> {
    /// Our own.
    Native,
    /// LVM's (Linux dm-mirror's) with an in-memory log.
    LvmCore,
    /// LVM's with a log device.
    LvmDisk {
        /// The log device, as named in the table.
        log_dev: &'a str,
    },
}

/// The LVM `sync` / `nosync` log argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncArg {
    /// Neither given.
    Default,
    /// `sync`: copy everything.
    Sync,
    /// `nosync`: take the legs as in sync.
    NoSync,
}

/// A parsed table line. Borrows the argument strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table<'a> {
    /// The syntax it was written in (the table output repeats it).
    pub syntax: Syntax<'a>,
    /// Leg devices in table order.
    pub legs: [&'a str; MAX_LEGS],
    /// How many legs.
    pub leg_count: usize,
    /// LVM syntax: the offset of each leg's area on its device (sectors).
    pub leg_offsets: [u64; MAX_LEGS],
    /// Chunk (LVM: region) size in sectors, when given.
    pub chunk_sectors: Option<u32>,
    /// LVM `sync` / `nosync`.
    pub sync: SyncArg,
    /// LVM `handle_errors` (always on in this target: failed legs are dropped).
    pub handle_errors: bool,
    /// LVM `keep_log`.
    pub keep_log: bool,
    /// Native `read_policy`.
    pub read_policy: Option<ReadPolicy>,
    /// Native `clean_delay`, in milliseconds.
    pub clean_delay_ms: Option<u64>,
    /// Native `resync_rate`, minimum and maximum in KiB/s.
    pub resync_rate: Option<(u32, u32)>,
    /// Native `force`: assemble despite split brain, trusting the first leg.
    pub force: bool,
}

impl<'a> Table<'a> {
    /// The mirror configuration this table asks for, over `base` (which
    /// gives the sizes and every option the table leaves out).
    pub fn config(&self, base: Config) -> Config {
        let mut cfg = base;
        if let Some(p) = self.read_policy {
            cfg.read_policy = p;
        }
        if let Some(ms) = self.clean_delay_ms {
            cfg.clean_delay_ns = ms.saturating_mul(1_000_000);
        }
        if let Some((min, max)) = self.resync_rate {
            cfg.resync_min_kib = min;
            cfg.resync_max_kib = max;
        }
        cfg
    }

    /// The log device a disk log names: every slot's metadata lives there
    /// (the external layout), not on the legs.
    pub fn log_device(&self) -> Option<&'a str> {
        match self.syntax {
            Syntax::LvmDisk { log_dev } => Some(log_dev),
            _ => None,
        }
    }

    /// How a mirror starts on a blank log: LVM's `nosync` takes the legs
    /// as alike, anything else copies the first leg to the others.
    pub fn blank_log(&self) -> BlankLog {
        match self.sync {
            SyncArg::NoSync => BlankLog::NoSync,
            SyncArg::Sync | SyncArg::Default => BlankLog::Sync,
        }
    }

    /// Whether the table's chunk size, if it gives one, is the one the
    /// legs were created with; the on-disk geometry cannot change.
    pub fn chunk_size_matches(&self, on_disk_sectors: u32) -> bool {
        self.chunk_sectors.is_none_or(|c| c == on_disk_sectors)
    }
}

/// What is wrong with a table argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFault {
    /// The line ends where an argument was expected.
    Missing(&'static str),
    /// Expected a number.
    NotANumber,
    /// A number out of its range.
    OutOfRange(&'static str),
    /// An unknown keyword.
    Unknown(&'static str),
    /// Arguments left over after the line should have ended.
    Trailing,
    /// The same option twice.
    Repeated,
    /// `keep_log` without `handle_errors`.
    KeepLogWithoutHandleErrors,
    /// The same device named twice.
    DuplicateLeg,
}

/// A table parse error: which argument (0-based) and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableError<'a> {
    /// Index of the offending argument.
    pub index: usize,
    /// The argument, if there is one.
    pub arg: Option<&'a str>,
    /// What is wrong.
    pub fault: TableFault,
}

impl core::fmt::Display for TableError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.arg {
            Some(a) => write!(f, "argument {} ('{a}'): ", self.index + 1)?,
            None => write!(f, "argument {}: ", self.index + 1)?,
        }
        match self.fault {
            TableFault::Missing(what) => write!(f, "missing {what}"),
            TableFault::NotANumber => f.write_str("not a number"),
            TableFault::OutOfRange(what) => write!(f, "{what}"),
            TableFault::Unknown(what) => write!(f, "unknown {what}"),
            TableFault::Trailing => f.write_str("unexpected argument after the end"),
            TableFault::Repeated => f.write_str("given twice"),
            TableFault::KeepLogWithoutHandleErrors => f.write_str("keep_log needs handle_errors"),
            TableFault::DuplicateLeg => f.write_str("this device is already a leg"),
        }
    }
}

/// The words of a table or a message, however the caller keeps them
/// (a kernel has no stack to spare for an array of slices).
pub trait Words<'a> {
    /// How many words.
    fn count(&self) -> usize;
    /// Word `i`, if there is one.
    fn word(&self, i: usize) -> Option<&'a str>;
}

impl<'a> Words<'a> for &[&'a str] {
    fn count(&self) -> usize {
        self.len()
    }
    fn word(&self, i: usize) -> Option<&'a str> {
        self.get(i).copied()
    }
}

impl<'a> Words<'a> for alloc::vec::Vec<&'a str> {
    fn count(&self) -> usize {
        self.len()
    }
    fn word(&self, i: usize) -> Option<&'a str> {
        self.get(i).copied()
    }
}

impl<'a> Words<'a> for &'a [alloc::string::String] {
    fn count(&self) -> usize {
        self.len()
    }
    fn word(&self, i: usize) -> Option<&'a str> {
        self.get(i).map(|s| s.as_str())
    }
}

struct Args<'a, 'b> {
    args: &'b dyn Words<'a>,
    at: usize,
}

impl<'a> Args<'a, '_> {
    fn err<T>(&self, index: usize, fault: TableFault) -> Result<T, TableError<'a>> {
        Err(TableError {
            index,
            arg: self.args.word(index),
            fault,
        })
    }

    fn next(&mut self, what: &'static str) -> Result<&'a str, TableError<'a>> {
        let a = self.args.word(self.at);
        match a {
            Some(a) => {
                self.at += 1;
                Ok(a)
            }
            None => self.err(self.at, TableFault::Missing(what)),
        }
    }

    fn number(
        &mut self,
        what: &'static str,
        min: u64,
        max: u64,
        range: &'static str,
    ) -> Result<u64, TableError<'a>> {
        let s = self.next(what)?;
        let index = self.at - 1;
        let n: u64 = match s.parse() {
            Ok(n) => n,
            Err(_) => return self.err(index, TableFault::NotANumber),
        };
        if n < min || n > max {
            return self.err(index, TableFault::OutOfRange(range));
        }
        Ok(n)
    }

    fn done(&self) -> bool {
        self.at >= self.args.count()
    }

    fn read_policy(&mut self) -> Result<ReadPolicy, TableError<'a>> {
        let at = self.at;
        match self.next("a read policy")? {
            "striped" => Ok(ReadPolicy::Striped),
            "least-pending" => Ok(ReadPolicy::LeastPending),
            "round-robin" => Ok(ReadPolicy::RoundRobin),
            "prefer" => Ok(ReadPolicy::Prefer),
            _ => self.err(
                at,
                TableFault::Unknown("read policy (striped, least-pending, round-robin, prefer)"),
            ),
        }
    }

    /// `<min KiB/s> <max KiB/s>`.
    fn resync_rate(&mut self) -> Result<(u32, u32), TableError<'a>> {
        let rate = |a: &mut Self, what, min, range| {
            a.number(what, min, u64::from(u32::MAX), range)
                .map(|n| n as u32)
        };
        let min = rate(self, "a minimum rate in KiB/s", 0, "rate too large")?;
        let max_at = self.at;
        let max = rate(
            self,
            "a maximum rate in KiB/s",
            1,
            "the maximum must be at least 1",
        )?;
        if max < min {
            return self.err(
                max_at,
                TableFault::OutOfRange("the maximum rate is below the minimum"),
            );
        }
        Ok((min, max))
    }

    fn end<T>(&self, value: T) -> Result<T, TableError<'a>> {
        if self.done() {
            Ok(value)
        } else {
            self.err(self.at, TableFault::Trailing)
        }
    }
}

/// An operator's message (`dmsetup message <dev> 0 <words>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    /// `fail_leg <position>`: take the leg out; it stays a member.
    FailLeg(u32),
    /// `remove_leg <position>`: give the leg's slot up.
    RemoveLeg(u32),
    /// `add_leg <position>`: (re)admit the device at that table position.
    AddLeg(u32),
    /// `read_policy <striped|least-pending|round-robin|prefer>`.
    ReadPolicy(ReadPolicy),
    /// `resync_rate <min KiB/s> <max KiB/s>`.
    ResyncRate(u32, u32),
    /// `full_resync`: copy every chunk again.
    FullResync,
}

/// The messages, for an error listing them.
pub const MESSAGES: &str = "message (fail_leg N, remove_leg N, add_leg N, read_policy striped|least-pending|round-robin|prefer, resync_rate MIN MAX, full_resync)";

/// Parses a message's words. Positions are table positions (0-based),
/// checked against the table's legs by the mirror, not here.
pub fn parse_message<'a>(words: &dyn Words<'a>) -> Result<Message, TableError<'a>> {
    let mut a = Args { args: words, at: 0 };
    let position = |a: &mut Args<'a, '_>| {
        a.number(
            "a leg position",
            0,
            MAX_LEGS as u64 - 1,
            "a leg position is 0 to 15",
        )
        .map(|n| n as u32)
    };
    let m = match a.next("a message")? {
        "fail_leg" => Message::FailLeg(position(&mut a)?),
        "remove_leg" => Message::RemoveLeg(position(&mut a)?),
        "add_leg" => Message::AddLeg(position(&mut a)?),
        "read_policy" => Message::ReadPolicy(a.read_policy()?),
        "resync_rate" => {
            let (min, max) = a.resync_rate()?;
            Message::ResyncRate(min, max)
        }
        "full_resync" => Message::FullResync,
        _ => return a.err(0, TableFault::Unknown(MESSAGES)),
    };
    a.end(m)
}

fn empty<'a>(syntax: Syntax<'a>) -> Table<'a> {
    Table {
        syntax,
        legs: [""; MAX_LEGS],
        leg_count: 0,
        leg_offsets: [0; MAX_LEGS],
        chunk_sectors: None,
        sync: SyncArg::Default,
        handle_errors: false,
        keep_log: false,
        read_policy: None,
        clean_delay_ms: None,
        resync_rate: None,
        force: false,
    }
}

const LEGS_RANGE: &str = "the number of legs must be 1 to 16";

/// The most words a table may have: room for the longest valid one (LVM's
/// disk log with every leg and both features: `disk 3 <log> <region> sync
/// 16` + 16 × `<leg> <offset>` + `2 handle_errors keep_log`, 41 words;
/// the native syntax needs at most 28) with a margin.
pub const MAX_TABLE_WORDS: usize = 64;
const _: () = assert!(6 + 2 * MAX_LEGS + 3 <= MAX_TABLE_WORDS);
const _: () = assert!(2 + MAX_LEGS + 10 <= MAX_TABLE_WORDS);

/// Parses the arguments of a table line (after start, length and target name).
pub fn parse<'a>(args: &dyn Words<'a>) -> Result<Table<'a>, TableError<'a>> {
    let mut a = Args { args, at: 0 };
    // Filled in place: a table is 464 bytes, and kernel stacks are small.
    let mut t = empty(Syntax::Native);
    match a.args.word(0) {
        Some("core") | Some("disk") => parse_lvm(&mut a, &mut t)?,
        _ => parse_native(&mut a, &mut t)?,
    }
    if !a.done() {
        return a.err(a.at, TableFault::Trailing);
    }
    Ok(t)
}

fn legs<'a>(
    a: &mut Args<'a, '_>,
    t: &mut Table<'a>,
    with_offsets: bool,
) -> Result<(), TableError<'a>> {
    let n = a.number("the number of legs", 1, MAX_LEGS as u64, LEGS_RANGE)? as usize;
    for i in 0..n {
        let dev_at = a.at;
        let dev = a.next("a leg device")?;
        if t.legs[..i].contains(&dev) {
            return a.err(dev_at, TableFault::DuplicateLeg);
        }
        t.legs[i] = dev;
        if with_offsets {
            t.leg_offsets[i] = a.number("the leg's offset", 0, u64::MAX, "")?;
        }
    }
    t.leg_count = n;
    Ok(())
}

fn region_size<'a>(a: &mut Args<'a, '_>, what: &'static str) -> Result<u32, TableError<'a>> {
    let at = a.at;
    let n = a.number(
        what,
        1,
        u64::from(u32::MAX),
        "the size must be a power of two from 8 to 2097152 sectors",
    )?;
    if !n.is_power_of_two() || !(8..=1 << 21).contains(&n) {
        return a.err(
            at,
            TableFault::OutOfRange("the size must be a power of two from 8 to 2097152 sectors"),
        );
    }
    Ok(n as u32)
}

fn parse_native<'a>(a: &mut Args<'a, '_>, t: &mut Table<'a>) -> Result<(), TableError<'a>> {
    t.syntax = Syntax::Native;
    legs(a, t, false)?;
    if a.done() {
        return Ok(());
    }
    let count_at = a.at;
    let count = a.number(
        "the number of option arguments",
        0,
        64,
        "at most 64 option arguments",
    )? as usize;
    let end = a.at + count;
    if end > a.args.count() {
        return a.err(
            count_at,
            TableFault::OutOfRange("more option arguments counted than given"),
        );
    }
    while a.at < end {
        native_option(a, t)?;
        if a.at > end {
            return a.err(
                count_at,
                TableFault::OutOfRange("fewer option arguments counted than given"),
            );
        }
    }
    Ok(())
}

/// One option of the native table and its value.
fn native_option<'a>(a: &mut Args<'a, '_>, t: &mut Table<'a>) -> Result<(), TableError<'a>> {
    let key_at = a.at;
    let key = a.next("an option")?;
    let repeated = |seen: bool| {
        if seen {
            a.err(key_at, TableFault::Repeated)
        } else {
            Ok(())
        }
    };
    match key {
        "read_policy" => {
            repeated(t.read_policy.is_some())?;
            t.read_policy = Some(a.read_policy()?);
        }
        "chunk_size" => {
            repeated(t.chunk_sectors.is_some())?;
            t.chunk_sectors = Some(region_size(a, "a chunk size in sectors")?);
        }
        "clean_delay" => {
            repeated(t.clean_delay_ms.is_some())?;
            t.clean_delay_ms = Some(a.number(
                "a delay in milliseconds",
                0,
                3_600_000,
                "the delay must be at most an hour",
            )?);
        }
        "resync_rate" => {
            repeated(t.resync_rate.is_some())?;
            t.resync_rate = Some(a.resync_rate()?);
        }
        "force" => {
            repeated(t.force)?;
            t.force = true;
        }
        _ => {
            return a.err(
                key_at,
                TableFault::Unknown(
                    "option (read_policy, chunk_size, clean_delay, resync_rate, force)",
                ),
            )
        }
    }
    Ok(())
}

fn parse_lvm<'a>(a: &mut Args<'a, '_>, t: &mut Table<'a>) -> Result<(), TableError<'a>> {
    let kind = a.next("a log type")?;
    let disk = kind == "disk";
    let (min, max) = if disk { (2, 3) } else { (1, 2) };
    let count_at = a.at;
    let count = a.number("the number of log arguments", 0, 16, "")?;
    if count < min || count > max {
        let msg = if disk {
            "a disk log takes 2 or 3 arguments"
        } else {
            "a core log takes 1 or 2 arguments"
        };
        return a.err(count_at, TableFault::OutOfRange(msg));
    }
    t.syntax = Syntax::LvmCore;
    if disk {
        t.syntax = Syntax::LvmDisk {
            log_dev: a.next("the log device")?,
        };
    }
    t.chunk_sectors = Some(region_size(a, "the region size")?);
    if count == max {
        let at = a.at;
        t.sync = match a.next("sync or nosync")? {
            "sync" => SyncArg::Sync,
            "nosync" => SyncArg::NoSync,
            _ => return a.err(at, TableFault::Unknown("log argument (sync, nosync)")),
        };
    }
    legs(a, t, true)?;
    if a.done() {
        return Ok(());
    }
    let n = a.number("the number of features", 0, 2, "at most 2 features")?;
    for _ in 0..n {
        let at = a.at;
        match a.next("a feature")? {
            "handle_errors" if !t.handle_errors => t.handle_errors = true,
            "keep_log" if !t.keep_log => t.keep_log = true,
            "handle_errors" | "keep_log" => return a.err(at, TableFault::Repeated),
            _ => return a.err(at, TableFault::Unknown("feature (handle_errors, keep_log)")),
        }
    }
    if t.keep_log && !t.handle_errors {
        return a.err(a.at - 1, TableFault::KeepLogWithoutHandleErrors);
    }
    Ok(())
}

/// Writes the `dmsetup table` arguments of `t`, normalised.
pub fn write_table(t: &Table<'_>, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
    let legs = &t.legs[..t.leg_count];
    match t.syntax {
        Syntax::Native => {
            write!(out, "{}", t.leg_count)?;
            for leg in legs {
                write!(out, " {leg}")?;
            }
            let count = t.read_policy.map_or(0, |_| 2)
                + t.chunk_sectors.map_or(0, |_| 2)
                + t.clean_delay_ms.map_or(0, |_| 2)
                + t.resync_rate.map_or(0, |_| 3)
                + usize::from(t.force);
            if count > 0 {
                write!(out, " {count}")?;
            }
            if let Some(p) = t.read_policy {
                write!(out, " read_policy {}", policy_name(p))?;
            }
            if let Some(c) = t.chunk_sectors {
                write!(out, " chunk_size {c}")?;
            }
            if let Some(d) = t.clean_delay_ms {
                write!(out, " clean_delay {d}")?;
            }
            if let Some((min, max)) = t.resync_rate {
                write!(out, " resync_rate {min} {max}")?;
            }
            if t.force {
                out.write_str(" force")?;
            }
        }
        Syntax::LvmCore | Syntax::LvmDisk { .. } => {
            let sync = match t.sync {
                SyncArg::Default => "",
                SyncArg::Sync => " sync",
                SyncArg::NoSync => " nosync",
            };
            let nargs = 1 + usize::from(!sync.is_empty());
            match t.syntax {
                Syntax::LvmDisk { log_dev } => write!(out, "disk {} {log_dev}", nargs + 1)?,
                _ => write!(out, "core {nargs}")?,
            }
            write!(
                out,
                " {}{sync} {}",
                t.chunk_sectors.unwrap_or(0),
                t.leg_count
            )?;
            for (leg, off) in legs.iter().zip(&t.leg_offsets) {
                write!(out, " {leg} {off}")?;
            }
            let features = usize::from(t.handle_errors) + usize::from(t.keep_log);
            if features > 0 {
                write!(out, " {features}")?;
                if t.handle_errors {
                    out.write_str(" handle_errors")?;
                }
                if t.keep_log {
                    out.write_str(" keep_log")?;
                }
            }
        }
    }
    Ok(())
}

/// The name a read policy has in tables and messages.
pub fn policy_name(p: ReadPolicy) -> &'static str {
    match p {
        ReadPolicy::Striped => "striped",
        ReadPolicy::LeastPending => "least-pending",
        ReadPolicy::RoundRobin => "round-robin",
        ReadPolicy::Prefer => "prefer",
    }
}

/// Writes the `dmsetup status` text: Linux dm-mirror's format, which LVM
/// parses, then our own counters behind their count. `names` holds the
/// legs' device names (`major:minor`) in table order.
pub fn write_status(
    m: &crate::mirror::Mirror,
    t: &Table<'_>,
    names: &[&str],
    out: &mut dyn core::fmt::Write,
) -> core::fmt::Result {
    let n = t.leg_count;
    write!(out, "{n}")?;
    for pos in 0..n {
        write!(out, " {}", names.get(pos).copied().unwrap_or(t.legs[pos]))?;
    }
    let (in_sync, total) = m.sync_progress();
    write!(out, " {in_sync}/{total} 1 ")?;
    for pos in 0..n {
        out.write_char(m.position_health_char(crate::mirror::Position(pos)))?;
    }
    match t.syntax {
        Syntax::LvmDisk { log_dev } => {
            let health = if m.log_failed() { 'D' } else { 'A' };
            write!(out, " 3 disk {log_dev} {health}")?
        }
        Syntax::LvmCore => out.write_str(" 1 core")?,
        Syntax::Native => out.write_str(" 1 bitmap")?,
    }
    let (dirty, modified) = m.dirty_and_modified();
    let s = m.stats();
    write!(
        out,
        " 6 dirty={dirty} modified={modified} bitmap_updates={} superblock_writes={} clean_flushes={} event={}",
        s.bitmap_updates,
        s.superblock_writes,
        s.clean_flushes,
        m.superblock().event
    )
}
