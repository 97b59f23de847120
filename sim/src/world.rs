//! The simulated world: the real core, simulated disks, a seeded workload,
//! crashes and faults, and the oracle judging every completion.

use crate::disk::{Disk, Fate, Sector, Write, SECTOR};
use crate::oracle::{tag, Oracle, ReadTicket};
use crate::rng::Rng;
use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

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
    oracle: Oracle,
    resync_bufs: Vec<Vec<u64>>,
    trace: VecDeque<String>,
    report: Report,
}

pub(crate) type Step = Result<(), String>;

impl World {
    pub(crate) fn new(o: &Options) -> World {
        let mut rng = Rng::new(o.seed);
        let cfg = Config {
            max_requests: o.queue_depth,
            max_segment_updates: 4,
            resync_depth: 2,
            clean_delay_ns: 20_000_000,
            read_policy: ReadPolicy::LeastPending,
            // Slow enough that the limiter throttles while requests run.
            resync_min_kib: 4_000,
            resync_max_kib: 0,
            // Small enough that the workload's longer reads are split.
            split_read_sectors: 16,
        };
        let data_sectors = o.chunks * u64::from(o.chunk_sectors);
        let geo = if o.external_log {
            Geometry::for_external(data_sectors, o.chunk_sectors)
        } else {
            Geometry::for_leg(2048 + data_sectors, o.chunk_sectors)
        }
        .expect("sim geometry");
        let mut disks: Vec<Disk> = (0..o.legs)
            .map(|_| Disk::new(geo.data_offset, geo.data_sectors))
            .collect();
        let log = o.external_log.then(|| {
            disks.push(Disk::new(o.legs as u64 * geo.meta_sectors(), 0));
            disks.len() - 1
        });
        let mirror_uuid =
            Uuid::from_random_bytes(rng.next_u64().to_le_bytes().repeat(2).try_into().unwrap());
        let legs: Vec<Uuid> = (0..o.legs as u64)
            .map(|i| Uuid::from_random_bytes([(i + 1) as u8; 16]))
            .collect();
        // An external log starts blank: the first assembly creates the mirror.
        for (slot, d) in disks
            .iter_mut()
            .enumerate()
            .take(if o.external_log { 0 } else { o.legs })
        {
            let sb = new_superblock(mirror_uuid, &legs, slot, geo).expect("sim mirror");
            new_leg_blocks::<()>(&sb, |sector, block| {
                d.write(
                    Write {
                        sector,
                        sectors: meta_sectors(block),
                    },
                    true,
                );
                Ok(())
            })
            .unwrap();
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
            trace: VecDeque::new(),
            report: Report {
                blank_areas,
                ..Report::default()
            },
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

    /// A few sectors of one in-sync disk go bad, unless another disk has
    /// bad sectors already (that would be a second fault).
    fn latent_error(&mut self) {
        let disks = self.in_sync_disks();
        if disks.len() < 2 || self.disks.iter().any(|d| !d.bad.is_empty()) {
            return;
        }
        let d = disks[self.rng.below(disks.len() as u64) as usize];
        let first = self.geo.data_offset + self.rng.below(self.geo.data_sectors);
        let n = 1 + self.rng.below(8);
        let end = (first + n).min(self.geo.data_offset + self.geo.data_sectors);
        self.disks[d].bad = (first..end).collect();
        self.report.latent_errors += 1;
        self.log(format!("disk {d}: sectors {first}..{end} go bad"));
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

    fn submit(&mut self) -> Step {
        let data = self.geo.data_sectors;
        let roll = self.rng.below(100);
        let op = match roll {
            r if r < self.o.discard_share => ReqOp::Discard,
            0..=49 => ReqOp::Write,
            50..=89 => ReqOp::Read,
            _ => ReqOp::Flush,
        };
        let (sector, sectors) = if op == ReqOp::Flush {
            (0, 0)
        } else {
            // Half the requests hit a few hot chunks so that they overlap.
            let span = if self.rng.chance(1, 2) {
                (4 * u64::from(self.o.chunk_sectors)).min(data)
            } else {
                data
            };
            let sector = self.rng.below(span);
            let max_len = (3 * u64::from(self.o.chunk_sectors)).min(data - sector);
            (sector, 1 + self.rng.below(max_len) as u32)
        };
        let fua = op == ReqOp::Write && self.rng.chance(1, 10);
        let preflush = op == ReqOp::Write && self.rng.chance(1, 20);
        self.submit_request(op, sector, sectors, fua, preflush)
    }

    pub(crate) fn submit_request(
        &mut self,
        op: ReqOp,
        sector: u64,
        sectors: u32,
        fua: bool,
        preflush: bool,
    ) -> Step {
        let id = self.next_req;
        self.next_req += 1;
        // Every fourth read lends a buffer that must not be written back
        // (from the id: the random stream, and so every seed, unchanged).
        let no_repair = op == ReqOp::Read && id % 4 == 3;
        let r = Request {
            id,
            op,
            sector,
            sectors,
            fua,
            preflush,
            no_repair,
        };
        let kind = match op {
            ReqOp::Write => Kind::Write {
                wid: self
                    .oracle
                    .write_submitted(sector, sectors, self.now, false),
            },
            ReqOp::Discard => Kind::Write {
                wid: self.oracle.write_submitted(sector, sectors, self.now, true),
            },
            ReqOp::Read => Kind::Read {
                ticket: self.oracle.read_submitted(sector, sectors),
                buf: vec![u64::MAX; sectors as usize],
            },
            _ => Kind::Flush {
                submitted: self.now,
            },
        };
        self.log(format!(
            "submit #{id} {op:?} {sector}+{sectors}{}{}",
            if fua { " fua" } else { "" },
            if preflush { " preflush" } else { "" }
        ));
        self.reqs.insert(
            id,
            Pending {
                r,
                kind,
                fast: None,
            },
        );
        self.report.ops += 1;
        if self.rng.chance(self.o.fast_share, 100) && self.try_fast(&r)? {
            return Ok(());
        }
        self.mirror
            .submit(r)
            .map_err(|e| format!("submit refused: {e:?}"))?;
        self.drain()
    }

    /// Runs `r` on the fast path if the core lets it.
    fn try_fast(&mut self, r: &Request) -> Result<bool, String> {
        let fast = self.mirror.fast_path().clone();
        let (legs, sector, op, state) = if let Some(w) = fast.try_write(r) {
            self.report.fast_writes += 1;
            let state = Fast::Write {
                w,
                pending: w.legs.count_ones(),
                failed: 0,
            };
            (w.legs, w.leg_sector, IoOp::Write, state)
        } else if let Some(rd) = fast.try_read(r) {
            self.report.fast_reads += 1;
            (1 << rd.leg, rd.leg_sector, IoOp::Read, Fast::Read(rd))
        } else {
            return Ok(false);
        };
        self.log(format!("fast #{} to legs {legs:#b}", r.id));
        for leg in (0..MAX_LEGS).filter(|&l| legs & (1 << l) != 0) {
            let d = self.disk_of_slot[leg]
                .ok_or_else(|| format!("fast I/O to slot {leg} with no disk"))?;
            let io = ChildIo {
                child: FAST_CHILD,
                leg: leg as u8,
                op,
                sector,
                sectors: r.sectors,
                fua: r.fua,
                buffer: Buffer::Request {
                    id: r.id,
                    offset: 0,
                },
            };
            self.inflight.push((io, d));
        }
        self.reqs.get_mut(&r.id).expect("just inserted").fast = Some(state);
        Ok(true)
    }

    /// One leg of a fast request completed.
    fn fast_child_done(&mut self, io: &ChildIo, ok: bool) -> Step {
        let Buffer::Request { id, .. } = io.buffer else {
            return Err(format!("fast I/O without a request: {io:?}"));
        };
        let p = self
            .reqs
            .get_mut(&id)
            .ok_or_else(|| format!("fast I/O of unknown request #{id}"))?;
        let fast = self.mirror.fast_path().clone();
        match p.fast.as_mut() {
            Some(Fast::Write { w, pending, failed }) => {
                *pending -= 1;
                if !ok {
                    *failed |= 1 << io.leg;
                }
                if *pending > 0 {
                    return Ok(());
                }
                let (w, failed) = (*w, *failed);
                p.fast = None;
                match fast.write_done(&w, failed) {
                    FastWriteDone::Complete { kick } => {
                        self.request_done(id, Ok(()))?;
                        if kick {
                            self.mirror.kick();
                        }
                    }
                    FastWriteDone::Adopt => {
                        self.report.adopted += 1;
                        self.log(format!("adopt #{id} failed legs {failed:#b}"));
                        self.mirror
                            .adopt_write(&w, failed)
                            .map_err(|e| format!("adopt refused: {e:?}"))?;
                    }
                }
            }
            Some(Fast::Read(rd)) => {
                let rd = *rd;
                p.fast = None;
                fast.read_done(&rd);
                if ok {
                    self.request_done(id, Ok(()))?;
                } else {
                    self.mirror
                        .retry_read(&rd)
                        .map_err(|e| format!("read retry refused: {e:?}"))?;
                }
            }
            None => return Err(format!("fast I/O of slow request #{id}")),
        }
        self.drain()
    }

    fn request_done(&mut self, id: ReqId, result: Result<(), IoError>) -> Step {
        let p = self
            .reqs
            .remove(&id)
            .ok_or_else(|| format!("completion of unknown request #{id}"))?;
        self.log(format!("complete #{id} {:?} {result:?}", p.r.op));
        let ok = result.is_ok();
        if !ok && self.any_healthy_leg() {
            return Err(format!(
                "request #{id} ({:?}) failed while a healthy in-sync leg exists",
                p.r.op
            ));
        }
        match p.kind {
            Kind::Write { wid } => self.oracle.write_completed(wid, ok, p.r.fua, self.now),
            Kind::Flush { submitted } if ok => self.oracle.flush_completed(submitted),
            Kind::Flush { .. } => {}
            Kind::Read { ticket, buf } if ok => {
                self.report.reads_checked += 1;
                self.report.sectors_checked += buf.len() as u64;
                self.oracle
                    .read_completed(&ticket, &buf)
                    .map_err(|e| format!("read #{id}: {e}"))?;
            }
            Kind::Read { .. } => {}
        }
        Ok(())
    }

    fn gather(&self, io: &ChildIo) -> Result<Vec<Sector>, String> {
        let n = io.sectors as usize;
        Ok(match io.buffer {
            Buffer::Meta(i) => meta_sectors(self.mirror.meta_block(i)),
            Buffer::Resync(s) => self.resync_bufs[usize::from(s)][..n]
                .iter()
                .map(|&t| Sector::Data(t))
                .collect(),
            Buffer::Request { id, offset } => {
                let p = self
                    .reqs
                    .get(&id)
                    .ok_or_else(|| format!("child write from unknown request #{id}"))?;
                let first = p.r.sector + u64::from(offset);
                match &p.kind {
                    Kind::Write { wid } => (0..n as u64)
                        .map(|k| Sector::Data(tag(*wid, first + k)))
                        .collect(),
                    Kind::Read { buf, .. } => buf[offset as usize..offset as usize + n]
                        .iter()
                        .map(|&t| Sector::Data(t))
                        .collect(),
                    Kind::Flush { .. } => return Err("child write from a flush".into()),
                }
            }
            Buffer::None => return Err("write without a buffer".into()),
        })
    }

    fn scatter(&mut self, io: &ChildIo, vals: Vec<u64>) -> Step {
        match io.buffer {
            Buffer::Resync(s) => {
                self.resync_bufs[usize::from(s)][..vals.len()].copy_from_slice(&vals)
            }
            Buffer::Request { id, offset } => {
                let p = self
                    .reqs
                    .get_mut(&id)
                    .ok_or_else(|| format!("child read into unknown request #{id}"))?;
                match &mut p.kind {
                    Kind::Read { buf, .. } => {
                        buf[offset as usize..offset as usize + vals.len()].copy_from_slice(&vals)
                    }
                    _ => return Err(format!("child read into non-read request #{id}")),
                }
            }
            b => return Err(format!("read into {b:?}")),
        }
        Ok(())
    }

    fn execute(&mut self) -> Step {
        let k = self.rng.below(self.inflight.len() as u64) as usize;
        self.execute_at(k)
    }

    /// Runs the k-th child I/O in flight (in issue order).
    pub(crate) fn execute_at(&mut self, k: usize) -> Step {
        let (io, d) = self.inflight.remove(k);
        let healthy_others = self.in_sync_disks().len() >= 2;
        let ok = if self.disks[d].dead {
            false
        } else {
            match io.op {
                IoOp::Write => {
                    let sectors = self.gather(&io)?;
                    if sectors.len() != io.sectors as usize {
                        return Err(format!(
                            "child {io:?}: buffer holds {} sectors",
                            sectors.len()
                        ));
                    }
                    self.disks[d].write(
                        Write {
                            sector: io.sector,
                            sectors,
                        },
                        io.fua,
                    );
                    true
                }
                IoOp::Read
                    if d == 0
                        && healthy_others
                        && self.rng.chance(self.o.read_error_rate, 10_000) =>
                {
                    self.log(format!("disk {d}: transient read error"));
                    false
                }
                IoOp::Read if self.disks[d].read_fails(io.sector, io.sectors) => {
                    self.log(format!("disk {d}: latent sector error"));
                    false
                }
                IoOp::Read => {
                    if io.sector < self.geo.data_offset {
                        return Err(format!("data read in the metadata area: {io:?}"));
                    }
                    let vals = self.disks[d].read_data(io.sector, io.sectors);
                    self.scatter(&io, vals)?;
                    true
                }
                IoOp::Flush => {
                    self.disks[d].flush();
                    true
                }
                IoOp::Discard => {
                    // A leg may zero discarded sectors or keep them.
                    if self.rng.chance(1, 2) {
                        let sectors = vec![Sector::Data(0); io.sectors as usize];
                        self.disks[d].write(
                            Write {
                                sector: io.sector,
                                sectors,
                            },
                            false,
                        );
                    }
                    true
                }
            }
        };
        self.log(format!(
            "io {:?} leg {} {:?} {}+{} fua={} -> {}",
            io.child,
            io.leg,
            io.op,
            io.sector,
            io.sectors,
            io.fua,
            if ok { "ok" } else { "ERROR" }
        ));
        if io.child == FAST_CHILD {
            return self.fast_child_done(&io, ok);
        }
        self.mirror.complete(io.child, ok);
        self.drain()
    }

    fn crash(&mut self) -> Step {
        self.report.crashes += 1;
        self.log("POWER LOSS".into());
        let unexecuted = self.unexecuted_writes()?;
        self.inflight.clear();
        for (d, pending) in unexecuted.into_iter().enumerate() {
            let mut rng = self.rng.clone();
            self.disks[d].crash(&mut rng, pending);
            self.rng.next_u64();
            self.rng = rng;
        }
        for d in 0..self.disks.len() {
            if self.disks[d].dead && self.rng.chance(self.o.return_rate, 100) {
                self.disks[d].dead = false;
                self.log(format!("disk {d} returns with its old contents"));
            }
        }
        if self.rng.chance(self.o.corrupt_rate, 100) {
            self.corrupt_a_metadata_copy();
        }
        self.reqs.clear();
        self.oracle.crash(self.now);
        self.reassemble()
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

    /// A copy of this world after a power loss in which the unsettled
    /// writes of disk d met `fates[d]` (see [`World::unsettled`]), and the
    /// mirror was assembled again.
    pub(crate) fn fork_crash(&self, fates: &[Vec<Fate>]) -> Result<World, String> {
        let mut disks = self.disks.clone();
        for (d, pending) in self.unexecuted_writes()?.into_iter().enumerate() {
            disks[d].crash_with(pending, |i, _| fates[d][i]);
        }
        let mut oracle = self.oracle.clone();
        oracle.crash(self.now);
        let mut rng = self.rng.clone();
        let (mirror, disk_of_slot, _) = start_mirror(
            &self.o,
            self.cfg,
            &disks,
            &self.table,
            self.log_layout(),
            &mut rng,
            self.now,
        )?;
        let mut w = World {
            log: self.log,
            o: self.o.clone(),
            rng,
            now: self.now,
            step: self.step,
            cfg: self.cfg,
            geo: self.geo,
            disks,
            mirror,
            disk_of_slot,
            table: self.table.clone(),
            spares: self.spares.clone(),
            expect_failure: None,
            inflight: Vec::new(),
            reqs: HashMap::new(),
            next_req: self.next_req,
            oracle,
            resync_bufs: self.resync_bufs.clone(),
            trace: self.trace.clone(),
            report: Report::default(),
        };
        w.log(format!("POWER LOSS with fates {fates:?}"));
        w.drain()?;
        Ok(w)
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

    /// Per disk, the writes issued to it and not yet executed.
    fn unexecuted_writes(&self) -> Result<Vec<Vec<Write>>, String> {
        let mut unexecuted: Vec<Vec<Write>> = vec![Vec::new(); self.disks.len()];
        for (io, d) in &self.inflight {
            if io.op == IoOp::Write {
                unexecuted[*d].push(Write {
                    sector: io.sector,
                    sectors: self.gather(io)?,
                });
            }
        }
        Ok(unexecuted)
    }

    /// Counts what the mirror about to be replaced did.
    fn absorb_stats(&mut self) {
        let stats = self.mirror.stats();
        self.report.bitmap_updates += stats.bitmap_updates;
        self.report.resynced_chunks += stats.resynced_chunks;
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

    /// Silent media corruption: flips one byte of one copy of a metadata
    /// block whose two copies hold the same update, so the other copy must
    /// serve. (A copy whose twin is one update behind is the one place the
    /// format relies on, and is not corrupted here.)
    fn corrupt_a_metadata_copy(&mut self) {
        let listed: Vec<usize> = self.table.iter().flatten().copied().collect();
        let pick = self.rng.below(listed.len() as u64) as usize;
        let g = self.geo;
        // External: the metadata of the slot at that position, on the log.
        let (d, base) = match self.log {
            Some(log) => (log, g.log_sector(pick, 0)),
            None => (listed[pick], 0),
        };
        let block = self.rng.below(1 + u64::from(g.segment_count)) as u32;
        let sectors = CopyRole::BOTH.map(|role| {
            base + match block {
                0 => geometry::SUPERBLOCK_SECTOR[role.index()],
                n => g.segment_sector(role, n - 1),
            }
        });
        let copies = sectors.map(|s| self.disks[d].durable.meta_block(s).expect("metadata area"));
        // Equal apart from the role byte and the CRC: same serial, same contents.
        let strip = |b: &[u8; BLOCK_SIZE]| {
            let mut b = *b;
            b[8..12].fill(0);
            b[24..28].fill(0);
            b
        };
        // Both copies must be valid too: one already damaged (in a byte the
        // comparison leaves out) would make this a second fault.
        let valid = match block {
            0 => {
                let load = SuperblockLoad::read(&copies[0], &copies[1]);
                load.copies.iter().all(|c| c.is_ok())
            }
            n => {
                let mut out = vec![0u8; CHUNKS_PER_SEGMENT];
                let (_, count) = g.segment_chunks(n - 1);
                let uuid = self.mirror.superblock().mirror_uuid;
                load_segment(
                    [&copies[0], &copies[1]],
                    n - 1,
                    uuid,
                    g.chunk_count,
                    &mut out[..count as usize],
                )
                .is_ok_and(|l| l.copies.iter().all(|c| c.is_ok()))
            }
        };
        if !valid || strip(&copies[0]) != strip(&copies[1]) {
            return;
        }
        let victim = self.rng.below(2) as usize;
        let byte = self.rng.below(BLOCK_SIZE as u64) as usize;
        let mut bad = copies[victim];
        bad[byte] ^= 1 << self.rng.below(8);
        self.disks[d].overwrite_meta(sectors[victim], &bad);
        self.report.corruptions += 1;
        self.log(format!(
            "disk {d}: bit flip in byte {byte} of the copy at sector {}",
            sectors[victim]
        ));
    }

    /// Disks of legs the core has durably in sync and whose disk works.
    fn in_sync_disks(&self) -> Vec<usize> {
        (0..MAX_LEGS)
            .filter(|&s| self.mirror.is_durably_in_sync(s))
            .filter_map(|s| self.disk_of_slot[s])
            .filter(|&d| !self.disks[d].dead)
            .collect()
    }

    /// An operator's request in the middle of I/O: fail or remove a leg
    /// (never the last in-sync one), or add one (a removed disk coming
    /// back with its old contents, or a blank disk).
    fn admin(&mut self) -> Step {
        let slots: Vec<usize> = (0..MAX_LEGS)
            .filter(|&s| {
                self.mirror.superblock().members[s].is_some_and(|m| m.state != MemberState::Removed)
            })
            .collect();
        // In-sync legs whose disks work: never take the last one away (that
        // would be a second fault on top of a dead disk). Whether that
        // leg's state is durable yet is the core's to judge (it refuses).
        let alive = (0..MAX_LEGS)
            .filter(|&s| self.mirror.leg_health(s) == LegHealth::Alive && !self.slot_disk_dead(s))
            .count();
        let spare_position = self.table.iter().position(|t| t.is_none());
        // An external layout's legs are the table's: only failures.
        let choice = if self.o.external_log {
            0
        } else {
            self.rng.below(3)
        };
        self.report.admin_ops += 1;
        match choice {
            0 => {
                let pick: Vec<usize> = slots
                    .iter()
                    .copied()
                    .filter(|&s| match self.mirror.leg_health(s) {
                        LegHealth::Alive => alive > 1 || self.slot_disk_dead(s),
                        LegHealth::Rebuilding => true,
                        _ => false,
                    })
                    .collect();
                let Some(&slot) = pick.get(self.rng.below(pick.len().max(1) as u64) as usize)
                else {
                    return Ok(());
                };
                self.log(format!("operator fails leg {slot}"));
                self.expect_failure = Some(slot as u8);
                match self.mirror.fail_leg(slot) {
                    Ok(()) | Err(AdminError::LastLeg) => {}
                    Err(e) => return Err(format!("fail_leg({slot}) refused: {e}")),
                }
            }
            1 => {
                let pick: Vec<usize> = slots
                    .iter()
                    .copied()
                    .filter(|&s| {
                        self.mirror.leg_health(s) != LegHealth::Alive
                            || alive > 1
                            || self.slot_disk_dead(s)
                    })
                    .collect();
                let Some(&slot) = pick.get(self.rng.below(pick.len().max(1) as u64) as usize)
                else {
                    return Ok(());
                };
                self.log(format!("operator removes leg {slot}"));
                match self.mirror.remove_leg(slot) {
                    Ok(()) => {}
                    Err(AdminError::LastLeg) => return self.drain(),
                    Err(e) => return Err(format!("remove_leg({slot}) refused: {e}")),
                }
                if let Some(d) = self.disk_of_slot[slot] {
                    let pos = self.table.iter().position(|&t| t == Some(d));
                    if let Some(pos) = pos {
                        self.table[pos] = None;
                    }
                    if !self.disks[d].dead {
                        self.spares.push(d);
                    }
                }
            }
            _ => {
                let listed = self.table.iter().flatten().count();
                if listed >= 3 {
                    return Ok(());
                }
                let d = if !self.spares.is_empty() && self.rng.chance(2, 3) {
                    let k = self.rng.below(self.spares.len() as u64) as usize;
                    self.spares.swap_remove(k)
                } else {
                    self.disks
                        .push(Disk::new(self.geo.data_offset, self.geo.data_sectors));
                    self.disks.len() - 1
                };
                let pos = spare_position.unwrap_or(self.table.len());
                if pos >= MAX_LEGS {
                    return Ok(());
                }
                let found = {
                    let [p, q] = geometry::SUPERBLOCK_SECTOR
                        .map(|s| self.disks[d].read_meta(s).expect("metadata area"));
                    SuperblockLoad::read(&p, &q).superblock().copied()
                };
                let uuid = random_uuid(&mut self.rng);
                let sectors = self.geo.data_offset + self.geo.data_sectors;
                match self.mirror.add_leg(pos, found.as_ref(), uuid, sectors) {
                    Ok(slot) => {
                        self.log(format!(
                            "operator adds disk {d} at position {pos}: slot {slot}{}",
                            if found.is_some() {
                                " (returning)"
                            } else {
                                " (blank)"
                            }
                        ));
                        if pos == self.table.len() {
                            self.table.push(Some(d));
                        } else {
                            self.table[pos] = Some(d);
                        }
                        self.disk_of_slot[slot] = Some(d);
                    }
                    Err(AdminError::NoFreeSlot | AdminError::SlotBusy { .. }) => {
                        self.spares.push(d)
                    }
                    Err(e) => return Err(format!("add_leg refused: {e}")),
                }
            }
        }
        let r = self.drain();
        self.expect_failure = None;
        r
    }

    fn slot_disk_dead(&self, slot: usize) -> bool {
        self.disk_of_slot[slot].is_some_and(|d| self.disks[d].dead)
    }

    /// Kills one disk of an in-sync leg, never the last: a write held only
    /// by a disk that died is lost by any mirror, and proves nothing.
    fn kill_a_disk(&mut self) {
        let candidates = self.in_sync_disks();
        let d = candidates[self.rng.below(candidates.len() as u64) as usize];
        self.disks[d].dead = true;
        self.report.deaths += 1;
        self.log(format!("disk {d} dies"));
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

    /// Runs I/O and lets time pass in small steps until no chunk needs a
    /// copy and no rebuild is left.
    fn copy_until_in_sync(&mut self) -> Step {
        for _ in 0..1_000_000 {
            if !self.inflight.is_empty() {
                self.execute()?;
            } else if self.mirror.is_idle()
                && self.mirror.chunks_needing_resync() == 0
                && !self.rebuilding()
            {
                return Ok(());
            } else {
                self.now += 1_000_000;
            }
            self.mirror.tick(self.now);
            self.drain()?;
        }
        Err("the copies after the last power loss never finished".into())
    }

    /// Suspends the mirror, checks what the next assembly finds on the
    /// media (no DIRTY chunk; with every member in sync, MODIFIED tracking
    /// off and no MODIFIED mark left) and starts it again.
    fn clean_stop(&mut self) -> Step {
        self.log("clean stop".into());
        self.mirror.suspend();
        self.drain()?;
        for _ in 0..1_000_000 {
            if self.mirror.is_suspended() {
                break;
            }
            if self.inflight.is_empty() {
                self.now += self.cfg.clean_delay_ns / 2;
            } else {
                self.execute()?;
            }
            self.mirror.tick(self.now);
            self.drain()?;
        }
        if !self.mirror.is_suspended() || !self.inflight.is_empty() {
            return Err("the clean stop never finished".into());
        }
        let dead = self.mirror.is_dead();
        self.reassemble()?;
        if dead {
            return Ok(());
        }
        let sb = *self.mirror.superblock();
        let all_in = sb
            .members
            .iter()
            .flatten()
            .all(|m| matches!(m.state, MemberState::InSync | MemberState::Removed));
        let needs = self.mirror.chunks_needing_resync();
        let (dirty, modified) = self.mirror.dirty_and_modified();
        if needs > 0 || dirty > 0 {
            return Err(format!(
                "after a clean stop, {dirty} chunks DIRTY and {needs} to resync"
            ));
        }
        if all_in && (modified > 0 || sb.modified_since_event != 0) {
            return Err(format!(
                "after a clean stop with every member in sync, {modified} chunks MODIFIED, tracking on since {}",
                sb.modified_since_event
            ));
        }
        self.quiesce()
    }

    /// Runs every I/O and lets time pass until nothing is left to do.
    pub(crate) fn quiesce(&mut self) -> Step {
        for _ in 0..1_000_000 {
            self.step += 1;
            if !self.inflight.is_empty() {
                self.execute()?;
            } else if self.reqs.is_empty()
                && self.mirror.is_idle()
                && self.sole_source_has_bad_sectors()
            {
                // Copies from the last good leg cannot finish while some of
                // its sectors are unreadable: write over them, as a file
                // system rewriting the block would (the drive remaps).
                let d = self.in_sync_disks()[0];
                let first = self.disks[d].bad[0] - self.geo.data_offset;
                let n = self.disks[d].bad.len() as u32;
                self.submit_request(ReqOp::Write, first, n, true, false)?;
            } else if self.mirror.is_idle()
                && self.mirror.chunks_needing_resync() == 0
                && self.reqs.is_empty()
                && self.all_clean()
                && !self.rebuilding()
                && self.check_no_stale_modified().is_ok()
            {
                return Ok(());
            } else {
                self.now += self.cfg.clean_delay_ns / 2;
            }
            self.mirror.tick(self.now);
            self.drain()?;
        }
        Err(format!(
            "no quiescence: idle={} resync={} reqs={} clean={} rebuilding={} modified={:?}",
            self.mirror.is_idle(),
            self.mirror.chunks_needing_resync(),
            self.reqs.len(),
            self.all_clean(),
            self.rebuilding(),
            self.check_no_stale_modified()
        ))
    }

    /// The only durably in-sync disk has unreadable sectors.
    fn sole_source_has_bad_sectors(&self) -> bool {
        let disks = self.in_sync_disks();
        disks.len() == 1 && !self.disks[disks[0]].bad.is_empty()
    }

    /// A leg whose disk works is still being rebuilt.
    fn rebuilding(&self) -> bool {
        (0..MAX_LEGS).any(|s| {
            self.mirror.leg_health(s) == LegHealth::Rebuilding
                && self.disk_of_slot[s].is_some_and(|d| !self.disks[d].dead)
        })
    }

    /// With every member in sync, no chunk keeps a MODIFIED mark.
    fn check_no_stale_modified(&self) -> Step {
        let all_in = (0..MAX_LEGS).all(|s| {
            self.mirror.superblock().members[s].is_none_or(|m| {
                m.state == MemberState::Removed || self.mirror.leg_health(s) == LegHealth::Alive
            })
        });
        let (_, modified) = self.mirror.dirty_and_modified();
        if all_in && modified > 0 {
            return Err(format!(
                "at rest with every member in sync, {modified} chunks still MODIFIED"
            ));
        }
        Ok(())
    }

    fn all_clean(&self) -> bool {
        (0..self.geo.chunk_count).all(|c| {
            self.mirror
                .chunk_byte(c)
                .is_some_and(|b| b.status() != ChunkStatus::Dirty)
        })
    }

    /// At rest: every in-sync leg holds the same data, and that data is
    /// what the requests allow.
    pub(crate) fn check_final(&mut self) -> Step {
        self.check_no_stale_modified()?;
        let legs: Vec<usize> = (0..MAX_LEGS)
            .filter(|&s| self.mirror.leg_health(s) == LegHealth::Alive)
            .filter_map(|s| self.disk_of_slot[s])
            .collect();
        let first = legs.first().copied().ok_or("no leg alive at rest")?;
        let cs = u64::from(self.geo.chunk_sectors);
        // Never-written chunks (wholly discarded ones too) may differ.
        let unwritten = |s: usize| {
            self.mirror
                .chunk_byte(s as u64 / cs)
                .is_some_and(|b| b.status() == ChunkStatus::Unwritten)
        };
        for &d in &legs[1..] {
            if let Some(s) = (0..self.geo.data_sectors as usize).find(|&s| {
                !unwritten(s)
                    && self.disks[d].current.data()[s] != self.disks[first].current.data()[s]
            }) {
                return Err(format!(
                    "at rest after resync, disks {first} and {d} differ at data sector {s} \
                     (chunk {} is {:?}; {:#x} vs {:#x})",
                    s as u64 / cs,
                    self.mirror.chunk_byte(s as u64 / cs),
                    self.disks[first].current.data()[s],
                    self.disks[d].current.data()[s],
                ));
            }
        }
        for s in 0..self.geo.data_sectors {
            let v = self.disks[first].current.data()[s as usize];
            self.oracle
                .check_value(s, v, self.oracle.floor(s), &[])
                .map_err(|e| format!("at rest: {e}"))?;
        }
        self.report.sectors_checked += self.geo.data_sectors;
        Ok(())
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
