//! The simulated world: the real core, simulated disks, a seeded workload,
//! crashes and faults, and the oracle judging every completion.

use crate::disk::{Disk, Fate, Sector, Write, SECTOR};
use crate::oracle::{tag, Oracle, ReadTicket};
use crate::rng::Rng;
use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

mod checks;
mod faults;
mod io;
mod operator;

/// What a run does.
#[derive(Clone, Debug)]
pub struct Options {
    pub seed: u64,
    /// Requests to submit.
    pub ops: u64,
    pub legs: usize,
    pub chunk_sectors: u32,
    /// Chunks in the data area (about).
    pub chunks: u64,
    /// Requests in flight at most.
    pub queue_depth: usize,
    /// Chance per step, in 1/10000, of a power loss.
    pub crash_rate: u64,
    /// Chance per step, in 1/10000, that a disk dies (never the last one).
    pub death_rate: u64,
    /// Chance per read of leg 0, in 1/10000, of a transient read error.
    pub read_error_rate: u64,
    /// Lines of trace kept for a failure report.
    pub trace_lines: usize,
    /// Chance, in 1/100, that a dead disk works again after a power loss,
    /// with whatever its media held (a cable pulled and put back).
    pub return_rate: u64,
    /// Chance, in 1/100, that a power loss also corrupts one byte of one
    /// copy of an at-rest metadata block (both copies equal) on one disk.
    pub corrupt_rate: u64,
    /// Chance per step, in 1/10000, of an operator's request: fail,
    /// remove or add a leg.
    pub admin_rate: u64,
    /// Share of requests, in 1/100, that are discards.
    pub discard_share: u64,
    /// Chance per step, in 1/10000, that a few sectors of one disk go bad
    /// (reads fail until they are written again).
    pub latent_rate: u64,
    /// Share of reads and writes, in 1/100, that try the lock-free fast
    /// path first (the rest go straight to the mirror).
    pub fast_share: u64,
    /// The legs hold data only; every slot's metadata lives on a separate
    /// log device (LVM's disk log), which starts blank. The log crashes
    /// and tears like a leg but never dies; the operator only fails legs.
    pub external_log: bool,
    /// A known mistake switched into the core.
    #[cfg(feature = "mutations")]
    pub mutation: Mutation,
}

impl Options {
    pub fn new(seed: u64, ops: u64) -> Options {
        Options {
            seed,
            ops,
            legs: 2 + (seed % 2) as usize,
            chunk_sectors: 8,
            chunks: 64,
            queue_depth: 8,
            crash_rate: 20,
            death_rate: 2,
            read_error_rate: 100,
            trace_lines: 60,
            return_rate: 50,
            corrupt_rate: 25,
            admin_rate: 10,
            discard_share: 5,
            latent_rate: 5,
            fast_share: 75,
            external_log: false,
            #[cfg(feature = "mutations")]
            mutation: Mutation::None,
        }
    }
}

/// Counts of what a run covered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub ops: u64,
    pub steps: u64,
    pub crashes: u64,
    pub deaths: u64,
    pub corruptions: u64,
    pub reads_checked: u64,
    pub sectors_checked: u64,
    pub bitmap_updates: u64,
    pub resynced_chunks: u64,
    /// Chunks cleaned by an update their segment had anyway, and chunks
    /// whose clean delay grew (written again soon after a clean).
    pub cleans_carried: u64,
    pub delays_lengthened: u64,
    /// CLEAN chunks marked DIRTY ahead of a sequential writer.
    pub dirtied_ahead: u64,
    pub admin_ops: u64,
    pub latent_errors: u64,
    pub rebuilds_finished: u64,
    pub rebuilt_chunks: u64,
    /// Requests that ran on the fast path, and fast writes the mirror adopted.
    pub fast_writes: u64,
    pub fast_reads: u64,
    pub adopted: u64,
    /// External layout: legs that started from a blank log area (a new
    /// mirror, or a member whose first superblock a power loss kept off).
    pub blank_areas: u64,
}

impl Report {
    /// Adds another run's counts to these.
    pub fn add(&mut self, r: &Report) {
        self.ops += r.ops;
        self.steps += r.steps;
        self.crashes += r.crashes;
        self.deaths += r.deaths;
        self.corruptions += r.corruptions;
        self.reads_checked += r.reads_checked;
        self.sectors_checked += r.sectors_checked;
        self.bitmap_updates += r.bitmap_updates;
        self.resynced_chunks += r.resynced_chunks;
        self.cleans_carried += r.cleans_carried;
        self.delays_lengthened += r.delays_lengthened;
        self.dirtied_ahead += r.dirtied_ahead;
        self.admin_ops += r.admin_ops;
        self.latent_errors += r.latent_errors;
        self.rebuilds_finished += r.rebuilds_finished;
        self.rebuilt_chunks += r.rebuilt_chunks;
        self.fast_writes += r.fast_writes;
        self.fast_reads += r.fast_reads;
        self.adopted += r.adopted;
        self.blank_areas += r.blank_areas;
    }
}

/// A broken promise, with what led to it.
#[derive(Clone, Debug)]
pub struct Failure {
    pub seed: u64,
    pub ops: u64,
    pub step: u64,
    pub what: String,
    pub trace: Vec<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {} failed at step {}: {}",
            self.seed, self.step, self.what
        )?;
        writeln!(f, "last events:")?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        write!(
            f,
            "replay: cargo run -p dmmirror-sim --profile sim -- --seed {}",
            self.seed
        )
    }
}

enum Kind {
    Write { wid: u32 },
    Read { ticket: ReadTicket, buf: Vec<u64> },
    Flush { submitted: u64 },
}

struct Pending {
    r: Request,
    kind: Kind,
    fast: Option<Fast>,
}

/// A request running on the fast path.
enum Fast {
    Write {
        w: FastWrite,
        pending: u32,
        failed: u32,
    },
    Read(FastRead),
}

/// The child id of fast-path I/O (the core never issues it): its buffer
/// names the request.
const FAST_CHILD: ChildId = ChildId(u32::MAX);

/// Reads metadata through the table: position to disk (or the log).
struct Reader<'a> {
    disks: &'a [Disk],
    table: &'a [Option<usize>],
    log: Option<usize>,
}

impl BlockReader for Reader<'_> {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        let disk = if pos == usize::from(LOG_DEVICE) {
            self.log
        } else {
            self.table.get(pos).copied().flatten()
        };
        let Some(d) = disk.map(|d| &self.disks[d]).filter(|d| !d.dead) else {
            return false;
        };
        if pos != usize::from(LOG_DEVICE) && sector >= d.meta_sectors {
            // Assembly's probe of a leg's size: the block is on the disk.
            // (Latent errors are the I/O path's: the probe asks for size.)
            *out = [0; BLOCK_SIZE];
            return sector + BLOCK_SECTORS <= d.meta_sectors + d.current.data().len() as u64;
        }
        match d.read_meta(sector) {
            Some(b) => {
                *out = b;
                true
            }
            None => false,
        }
    }
}

pub(crate) struct World {
    o: Options,
    rng: Rng,
    now: u64,
    step: u64,
    cfg: Config,
    geo: Geometry,
    disks: Vec<Disk>,
    /// External layout: the log device's disk.
    log: Option<usize>,
    mirror: Mirror,
    disk_of_slot: [Option<usize>; MAX_LEGS],
    /// The table: position to disk (None: a position whose leg was removed).
    table: Vec<Option<usize>>,
    /// Disks removed from the table, kept with their contents.
    spares: Vec<usize>,
    /// The operator failed this slot: its LegFailed log is expected.
    expect_failure: Option<u8>,
    /// Child I/Os issued and not yet executed, with the disk they went to.
    inflight: Vec<(ChildIo, usize)>,
    reqs: HashMap<ReqId, Pending>,
    next_req: ReqId,
    /// Where the workload's sequential stream goes on.
    stream_next: u64,
    oracle: Oracle,
    resync_bufs: Vec<Vec<u64>>,
    trace: VecDeque<String>,
    report: Report,
}

pub(crate) type Step = Result<(), String>;

impl World {
    pub(crate) fn new(o: &Options) -> World {
        let mut rng = Rng::new(o.seed);
        let cfg = Self::config(o);
        let geo = Self::geometry(o);
        let mut disks: Vec<Disk> = (0..o.legs)
            .map(|_| Disk::new(geo.data_offset, geo.data_sectors))
            .collect();
        let log = o.external_log.then(|| {
            disks.push(Disk::new(o.legs as u64 * geo.meta_sectors(), 0));
            disks.len() - 1
        });
        let mirror_uuid =
            Uuid::from_random_bytes(rng.next_u64().to_le_bytes().repeat(2).try_into().unwrap());
        // An external log starts blank: the first assembly creates the mirror.
        if !o.external_log {
            Self::format_legs(&mut disks[..o.legs], mirror_uuid, geo);
        }
        let table: Vec<Option<usize>> = (0..o.legs).map(Some).collect();
        let (mirror, disk_of_slot, blank_areas) =
            start_mirror(o, cfg, &disks, &table, log.map(|d| (d, geo)), &mut rng, 0)
                .expect("fresh mirror assembles");
        World {
            log,
            oracle: Oracle::new(geo.data_sectors),
            resync_bufs: vec![vec![0; o.chunk_sectors as usize]; cfg.resync_depth],
            o: o.clone(),
            rng,
            now: 0,
            step: 0,
            cfg,
            geo,
            disks,
            mirror,
            disk_of_slot,
            table,
            spares: Vec::new(),
            expect_failure: None,
            inflight: Vec::new(),
            reqs: HashMap::new(),
            next_req: 1,
            stream_next: 0,
            trace: VecDeque::new(),
            report: Report {
                blank_areas,
                ..Report::default()
            },
        }
    }

    /// The core's configuration: small, so that its limits are reached.
    fn config(o: &Options) -> Config {
        Config {
            max_requests: o.queue_depth,
            max_segment_updates: 4,
            resync_depth: 2,
            clean_delay_ns: 20_000_000,
            // Each policy on a quarter of the seeds.
            read_policy: [
                ReadPolicy::Striped,
                ReadPolicy::LeastPending,
                ReadPolicy::RoundRobin,
                ReadPolicy::Prefer,
            ][(o.seed % 4) as usize],
            // Slow enough that the limiter throttles while requests run.
            resync_min_kib: 4_000,
            resync_max_kib: 0,
            // Small enough that the workload's longer reads are split.
            split_read_sectors: 16,
        }
    }

    fn geometry(o: &Options) -> Geometry {
        let data_sectors = o.chunks * u64::from(o.chunk_sectors);
        if o.external_log {
            Geometry::for_external(data_sectors, o.chunk_sectors)
        } else {
            Geometry::for_leg(2048 + data_sectors, o.chunk_sectors)
        }
        .expect("sim geometry")
    }

    /// A fresh mirror's metadata on every leg, as mirrorctl create writes it.
    fn format_legs(disks: &mut [Disk], mirror_uuid: Uuid, geo: Geometry) {
        let legs: Vec<Uuid> = (0..disks.len() as u64)
            .map(|i| Uuid::from_random_bytes([(i + 1) as u8; 16]))
            .collect();
        for (slot, d) in disks.iter_mut().enumerate() {
            let sb = new_superblock(mirror_uuid, &legs, slot, geo).expect("sim mirror");
            new_leg_blocks::<()>(&sb, |sector, block| {
                let sectors = meta_sectors(block);
                d.write(Write { sector, sectors }, true);
                Ok(())
            })
            .unwrap();
        }
    }

    fn log(&mut self, line: String) {
        if self.trace.len() == self.o.trace_lines {
            self.trace.pop_front();
        }
        self.trace.push_back(format!("[{}] {line}", self.step));
    }

    fn any_healthy_leg(&self) -> bool {
        (0..MAX_LEGS).any(|s| {
            self.mirror.leg_health(s) == LegHealth::Alive
                && self.disk_of_slot[s].is_some_and(|d| self.disk_healthy(d))
        })
    }

    /// Working, and without latent sector errors.
    fn disk_healthy(&self, d: usize) -> bool {
        !self.disks[d].dead && self.disks[d].bad.is_empty()
    }

    pub(crate) fn drain(&mut self) -> Step {
        // After every event: the core's bookkeeping, in full; a caller that
        // drains after every call never loses a log line.
        self.mirror.check_invariants();
        if self.mirror.stats().logs_dropped > 0 {
            return Err("a log line was dropped although every call was drained".into());
        }
        while let Some(a) = self.mirror.poll_action() {
            match a {
                Action::Io(io) => {
                    let d = if io.leg == LOG_DEVICE {
                        self.log
                    } else {
                        self.disk_of_slot[usize::from(io.leg)]
                    }
                    .ok_or_else(|| format!("I/O to slot {} with no disk", io.leg))?;
                    self.inflight.push((io, d));
                }
                Action::Complete { id, result } => self.request_done(id, result)?,
                Action::WakeAt(_) => {}
                Action::Log(e) => {
                    match e {
                        LogEvent::LegFailed { leg } => {
                            self.oracle.unpin_all();
                            let d = self.disk_of_slot[usize::from(leg)];
                            let asked = self.expect_failure.take() == Some(leg);
                            if !asked && d.is_some_and(|d| self.disk_healthy(d)) {
                                return Err(format!(
                                    "leg {leg} failed although its disk has no persistent fault"
                                ));
                            }
                        }
                        LogEvent::LegRemoved { .. } | LogEvent::PinnedReadMoved { .. } => {
                            self.oracle.unpin_all()
                        }
                        LogEvent::RebuildFinished { .. } => self.report.rebuilds_finished += 1,
                        _ => {}
                    }
                    self.log(format!("core: {e:?}"));
                }
            }
        }
        Ok(())
    }

    // ---- for the exhaustive mode ---------------------------------------------

    pub(crate) fn requests_in_flight(&self) -> usize {
        self.reqs.len()
    }

    pub(crate) fn ios_in_flight(&self) -> usize {
        self.inflight.len()
    }

    pub(crate) fn mirror_mut(&mut self) -> &mut Mirror {
        &mut self.mirror
    }

    /// Lets `ns` pass (the cleaner may run).
    pub(crate) fn advance(&mut self, ns: u64) -> Step {
        self.now += ns;
        self.mirror.tick(self.now);
        self.drain()
    }

    pub(crate) fn clean_delay(&self) -> u64 {
        self.cfg.clean_delay_ns
    }

    /// The operator fails this slot next: its LegFailed log is expected.
    pub(crate) fn expect_operator_failure(&mut self, slot: usize) {
        self.expect_failure = Some(slot as u8);
    }

    /// Per disk: writes a power loss now could keep, lose or tear.
    pub(crate) fn unsettled(&self) -> Vec<usize> {
        (0..self.disks.len())
            .map(|d| {
                let inflight = self
                    .inflight
                    .iter()
                    .filter(|(io, disk)| *disk == d && io.op == IoOp::Write)
                    .count();
                self.disks[d].unsettled(inflight)
            })
            .collect()
    }

    /// Reads the whole data area, one chunk at a time, through the mirror;
    /// the oracle judges every value and every repeat.
    pub(crate) fn read_everything(&mut self) -> Step {
        let cs = u64::from(self.o.chunk_sectors);
        let mut sector = 0;
        while sector < self.geo.data_sectors {
            let n = cs.min(self.geo.data_sectors - sector) as u32;
            self.submit_request(ReqOp::Read, sector, n, false, false)?;
            while !self.reqs.is_empty() {
                if self.inflight.is_empty() {
                    return Err("a read waits with no I/O in flight".into());
                }
                self.execute_at(0)?;
            }
            sector += u64::from(n);
        }
        Ok(())
    }

    /// Counts what the mirror about to be replaced did.
    fn absorb_stats(&mut self) {
        let stats = self.mirror.stats();
        self.report.bitmap_updates += stats.bitmap_updates;
        self.report.resynced_chunks += stats.resynced_chunks;
        self.report.cleans_carried += stats.cleans_carried;
        self.report.delays_lengthened += stats.delays_lengthened;
        self.report.dirtied_ahead += stats.chunks_dirtied_ahead;
        self.report.rebuilt_chunks += stats.rebuilt_chunks;
    }

    /// The log disk and the layout on it, for an external layout.
    fn log_layout(&self) -> Option<(usize, Geometry)> {
        self.log.map(|d| (d, self.geo))
    }

    fn reassemble(&mut self) -> Step {
        self.absorb_stats();
        let blank_areas;
        (self.mirror, self.disk_of_slot, blank_areas) = start_mirror(
            &self.o,
            self.cfg,
            &self.disks,
            &self.table,
            self.log_layout(),
            &mut self.rng,
            self.now,
        )?;
        self.report.blank_areas += blank_areas;
        self.log(format!(
            "reassembled: {} chunks to resync",
            self.mirror.chunks_needing_resync()
        ));
        self.drain()
    }

    fn run(&mut self) -> Step {
        while self.report.ops < self.o.ops {
            self.step += 1;
            self.report.steps += 1;
            self.now += 1 + self.rng.below(200_000);
            let roll = self.rng.below(10_000);
            if roll < self.o.crash_rate {
                self.crash()?;
            } else if roll < self.o.crash_rate + self.o.death_rate
                && self.in_sync_disks().len() >= 2
            {
                self.kill_a_disk();
            } else if roll < self.o.crash_rate + self.o.death_rate + self.o.admin_rate {
                self.admin()?;
            } else if roll
                < self.o.crash_rate + self.o.death_rate + self.o.admin_rate + self.o.latent_rate
            {
                self.latent_error();
            } else if self.reqs.len() < self.o.queue_depth
                && (self.inflight.is_empty() || self.rng.chance(1, 3))
            {
                self.submit()?;
            } else if !self.inflight.is_empty() {
                self.execute()?;
            }
            self.mirror.tick(self.now);
            self.drain()?;
        }
        self.quiesce()?;
        self.check_final()?;
        // Power loss once more at rest; the copies it needs run, and the
        // moment they are done (before the cleaner's next pass) a clean
        // stop, as `mirrorctl resync` makes: what it leaves on the media
        // must need nothing at the next start.
        self.crash()?;
        self.copy_until_in_sync()?;
        self.clean_stop()?;
        self.check_final()
    }
}

/// Assembles the mirror from what the disks named in `table` hold, as the
/// kernel would at table load; returns it and the disk of each slot.
fn start_mirror(
    o: &Options,
    cfg: Config,
    disks: &[Disk],
    table: &[Option<usize>],
    log: Option<(usize, Geometry)>,
    rng: &mut Rng,
    now: u64,
) -> Result<(Mirror, [Option<usize>; MAX_LEGS], u64), String> {
    let mut reader = Reader {
        disks,
        table,
        log: log.map(|(d, _)| d),
    };
    let asm = match log {
        Some((log, geo)) => {
            // A new identity each time a blank log starts a mirror, as the
            // kernel's random one: a stale segment of an earlier start must
            // not pass for this one's.
            let uuid = random_uuid(rng);
            let log_sectors = disks[log].meta_sectors;
            assemble_external(
                &mut reader,
                table.len(),
                geo,
                log_sectors,
                false,
                BlankLog::Sync,
                uuid,
            )
        }
        None => assemble(&mut reader, table.len()),
    }
    .map_err(|e| format!("assembly after a crash failed: {e}"))?;
    let disk_of_slot: [Option<usize>; MAX_LEGS] =
        core::array::from_fn(|s| asm.legs[s].as_ref().and_then(|l| table[l.pos]));
    let blank_areas = asm
        .legs
        .iter()
        .flatten()
        .filter(|l| l.superblock.serial == Serial::NEVER)
        .count() as u64;
    #[allow(unused_mut)]
    let mut mirror = Mirror::new(asm, cfg, now);
    #[cfg(feature = "mutations")]
    mirror.set_mutation(o.mutation);
    #[cfg(not(feature = "mutations"))]
    let _ = o;
    Ok((mirror, disk_of_slot, blank_areas))
}

/// 16 random bytes from the run's generator, as a UUID.
fn random_uuid(rng: &mut Rng) -> Uuid {
    let bytes = [rng.next_u64().to_le_bytes(), rng.next_u64().to_le_bytes()].concat();
    Uuid::from_random_bytes(bytes.try_into().expect("16 bytes"))
}

fn meta_sectors(block: &[u8; BLOCK_SIZE]) -> Vec<Sector> {
    block
        .chunks(SECTOR)
        .map(|s| Sector::Meta(Box::new(s.try_into().expect("512 bytes"))))
        .collect()
}

/// Runs one seed. A panic inside the core is reported as a failure.
pub fn run(o: &Options) -> Result<Report, Failure> {
    let mut world = None;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let w = world.insert(World::new(o));
        w.run()
    }));
    let fail = |w: Option<&World>, what: String| Failure {
        seed: o.seed,
        ops: o.ops,
        step: w.map_or(0, |w| w.step),
        what,
        trace: w.map_or_else(Vec::new, |w| w.trace.iter().cloned().collect()),
    };
    match outcome {
        Ok(Ok(())) => {
            let w = world.as_mut().expect("ran");
            w.absorb_stats();
            Ok(w.report.clone())
        }
        Ok(Err(what)) => Err(fail(world.as_ref(), what)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let mut what = String::from("assertion in the core: ");
            let _ = write!(what, "{msg}");
            Err(fail(world.as_ref(), what))
        }
    }
}
