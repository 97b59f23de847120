//! dm-mirror in userspace: the core over files or block devices, with real
//! concurrent I/O. Benchmarks and offline tools (mirrorctl) use it.
//!
//! Requests are blocking calls from any number of threads. Writes to
//! chunks already durably DIRTY and reads of chunks in sync take the
//! lock-free path and run in the caller's thread; everything else goes
//! through the mirror under one mutex, whose child I/O a pool of worker
//! threads runs (`pread`/`pwrite`; a flush is `fdatasync`; FUA is a write
//! followed by `fdatasync` of that leg; a discard punches a hole).
#![forbid(unsafe_code)]

pub mod device;

use crossbeam_channel::{Receiver, Sender};
use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const SECTOR: usize = 512;
/// Writes at least this long go to the legs from parallel threads.
const PARALLEL_WRITE_BYTES: usize = 256 * 1024;

/// Why a request or the engine failed.
#[derive(Debug)]
pub enum EngineError {
    /// Opening or reading a leg.
    Io(io::Error),
    /// The legs do not assemble.
    Assembly(AssemblyError),
    /// The mirror failed the request.
    Request(IoError),
    /// A buffer whose length is not a whole number of sectors.
    Unaligned,
    /// Legs `first` and `second` (table positions) are one device, or one
    /// lies inside the other.
    SameStorage { first: usize, second: usize },
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Io(e) => write!(f, "{e}"),
            EngineError::Assembly(e) => write!(f, "{e}"),
            EngineError::Request(e) => write!(f, "the mirror failed the request: {e}"),
            EngineError::Unaligned => write!(f, "buffers are whole 512-byte sectors"),
            EngineError::SameStorage { first, second } => write!(
                f,
                "legs {first} and {second} are the same storage (one device under two names, or a partition of the other)"
            ),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<io::Error> for EngineError {
    fn from(e: io::Error) -> Self {
        EngineError::Io(e)
    }
}

/// How to run the engine.
#[derive(Clone, Debug)]
pub struct Options {
    /// The core's configuration.
    pub config: Config,
    /// Assemble despite split brain or disagreeing legs.
    pub force: bool,
    /// Worker threads running child I/O.
    pub workers: usize,
    /// Try the lock-free path first (off: every request takes the lock).
    pub fast_path: bool,
    /// Off: a baseline for benchmarks only. Writes go straight to every leg
    /// and reads to the first, bypassing the core: no bitmap, no crash
    /// consistency, no failure handling.
    pub bitmap: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            config: Config::default(),
            force: false,
            workers: 4,
            fast_path: true,
            bitmap: true,
        }
    }
}

/// Memory a request's child I/O reads from or writes into.
struct ReqBuf {
    /// Read-locked by the writes of its data to each leg (they run
    /// together), write-locked to copy in a read's parts.
    data: RwLock<Vec<u8>>,
    done: Mutex<Option<Result<(), IoError>>>,
    cv: Condvar,
}

enum Payload {
    None,
    /// Write these bytes.
    Bytes(Vec<u8>),
    /// Read into or write from a request's buffer, this many bytes in.
    Request(Arc<ReqBuf>, usize),
    /// Read into or write from resync buffer n.
    Resync(usize),
}

struct Job {
    io: ChildIo,
    file: Arc<File>,
    payload: Payload,
}

struct Slow {
    mirror: Mirror,
    /// Buffers of the requests the mirror runs, by id.
    reqs: HashMap<ReqId, Arc<ReqBuf>>,
    log: Vec<LogEvent>,
    /// The earliest time the mirror asked to be ticked at (ns).
    wake_at: u64,
}

struct Shared {
    slow: Mutex<Slow>,
    /// Signalled when a request slot frees.
    slot_free: Condvar,
    fast: Arc<FastPath>,
    /// Legs by table position.
    files: Vec<Arc<File>>,
    resync: Vec<Mutex<Vec<u8>>>,
    jobs: Sender<Option<Job>>,
    start: Instant,
    use_fast: bool,
    /// With the bitmap off: the data offset on every leg, in bytes.
    bypass_offset: Option<u64>,
    /// The ticker sleeps on this; `true` stops it.
    ticker_wait: (Mutex<bool>, Condvar),
}

/// A running mirror over files.
pub struct Engine {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    ticker: Option<JoinHandle<()>>,
}

struct FileReader<'a>(&'a [Arc<File>]);

impl BlockReader for FileReader<'_> {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        self.0
            .get(pos)
            .is_some_and(|f| f.read_exact_at(out, sector * SECTOR as u64).is_ok())
    }
}

impl Engine {
    /// Assembles the mirror whose legs are `paths` (table order) and starts it.
    pub fn open(paths: &[impl AsRef<Path>], o: &Options) -> Result<Engine, EngineError> {
        let files = paths
            .iter()
            .map(|p| {
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(p)
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let storage = files
            .iter()
            .map(|f| device::identify(f))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some((first, second)) = device::first_overlap(&storage) {
            return Err(EngineError::SameStorage { first, second });
        }
        let asm = assemble_with(&mut FileReader(&files), files.len(), o.force)
            .map_err(EngineError::Assembly)?;
        let chunk_bytes = asm.template.geometry.chunk_sectors as usize * SECTOR;
        let bypass_offset =
            (!o.bitmap).then_some(asm.template.geometry.data_offset * SECTOR as u64);
        let mirror = Mirror::new(asm, o.config, 0);
        let fast = mirror.fast_path().clone();
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            slow: Mutex::new(Slow {
                mirror,
                reqs: HashMap::new(),
                log: Vec::new(),
                wake_at: u64::MAX,
            }),
            slot_free: Condvar::new(),
            fast,
            files,
            resync: (0..o.config.resync_depth)
                .map(|_| Mutex::new(vec![0; chunk_bytes]))
                .collect(),
            jobs: tx,
            start: Instant::now(),
            use_fast: o.fast_path,
            bypass_offset,
            ticker_wait: (Mutex::new(false), Condvar::new()),
        });
        let workers = (0..o.workers.max(1))
            .map(|_| {
                let (s, rx): (Arc<Shared>, Receiver<Option<Job>>) = (shared.clone(), rx.clone());
                std::thread::spawn(move || worker(&s, &rx))
            })
            .collect();
        let ticker = {
            let s = shared.clone();
            Some(std::thread::spawn(move || ticker(&s)))
        };
        shared.pump(&mut shared.slow.lock().unwrap());
        Ok(Engine {
            shared,
            workers,
            ticker,
        })
    }

    /// Size of the mirrored device in sectors.
    pub fn data_sectors(&self) -> u64 {
        self.shared
            .slow
            .lock()
            .unwrap()
            .mirror
            .geometry()
            .data_sectors
    }

    /// Writes `data` at `sector` (durable on return if `fua`).
    pub fn write(&self, sector: u64, data: &[u8], fua: bool) -> Result<(), EngineError> {
        let r = self.request(ReqOp::Write, sector, data.len(), fua)?;
        if let Some(offset) = self.shared.bypass_offset {
            let at = offset + sector * SECTOR as u64;
            let failed = Shared::write_legs(&self.shared.files, data, at, fua);
            return match failed {
                0 => Ok(()),
                _ => Err(EngineError::Io(io::Error::other("a leg failed the write"))),
            };
        }
        if self.shared.use_fast {
            if let Some(w) = self.shared.fast.try_write(&r) {
                return self.shared.fast_write(&w, data);
            }
        }
        self.shared.run(r, data.to_vec()).map(drop)
    }

    /// Reads into `out` from `sector`.
    pub fn read(&self, sector: u64, out: &mut [u8]) -> Result<(), EngineError> {
        let r = self.request(ReqOp::Read, sector, out.len(), false)?;
        if let Some(offset) = self.shared.bypass_offset {
            return Ok(self.shared.files[0].read_exact_at(out, offset + sector * SECTOR as u64)?);
        }
        if self.shared.use_fast {
            if let Some(rd) = self.shared.fast.try_read(&r) {
                let file = &self.shared.files[usize::from(rd.position)];
                let ok = file
                    .read_exact_at(out, rd.leg_sector * SECTOR as u64)
                    .is_ok();
                self.shared.fast.read_done(&rd);
                if ok {
                    return Ok(());
                }
                let buf = self.shared.hand_over(
                    |m| m.retry_read(&rd),
                    rd.request.id,
                    vec![0; out.len()],
                )?;
                out.copy_from_slice(&buf);
                return Ok(());
            }
        }
        let buf = self.shared.run(r, vec![0; out.len()])?;
        out.copy_from_slice(&buf);
        Ok(())
    }

    /// Makes every completed write durable.
    pub fn flush(&self) -> Result<(), EngineError> {
        if self.shared.bypass_offset.is_some() {
            for f in &self.shared.files {
                f.sync_data()?;
            }
            return Ok(());
        }
        let r = self.request(ReqOp::Flush, 0, 0, false)?;
        self.shared.run(r, Vec::new()).map(drop)
    }

    /// Discards `sectors` at `sector`.
    pub fn discard(&self, sector: u64, sectors: u32) -> Result<(), EngineError> {
        let r = self.request(ReqOp::Discard, sector, sectors as usize * SECTOR, false)?;
        self.shared.run(r, Vec::new()).map(drop)
    }

    /// Runs `f` on the mirror under its lock (status, operator requests),
    /// then issues what it asked for.
    pub fn with_mirror<T>(&self, f: impl FnOnce(&mut Mirror) -> T) -> T {
        let mut s = self.shared.slow.lock().unwrap();
        let t = f(&mut s.mirror);
        self.shared.pump(&mut s);
        t
    }

    /// Log events so far (taken).
    pub fn take_log(&self) -> Vec<LogEvent> {
        std::mem::take(&mut self.shared.slow.lock().unwrap().log)
    }

    /// Waits until the mirror is idle, every chunk is resynced and clean
    /// and every rebuild has finished, or `timeout` passes; returns whether
    /// it came to rest.
    pub fn settle(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |m| {
            let (in_sync, total) = m.sync_progress();
            m.is_idle()
                && m.chunks_needing_resync() == 0
                && in_sync == total
                && m.dirty_and_modified().0 == 0
        })
    }

    /// A clean stop: the mirror suspends (flushes, cleans every chunk and
    /// marks the superblocks clean); returns whether that finished within
    /// `timeout`.
    pub fn stop_cleanly(&self, timeout: Duration) -> bool {
        self.with_mirror(|m| m.suspend());
        self.wait_until(timeout, |m| m.is_suspended())
    }

    /// Polls `done` on the mirror until it holds or `timeout` passes.
    fn wait_until(&self, timeout: Duration, done: impl Fn(&Mirror) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.with_mirror(|m| done(m)) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn request(
        &self,
        op: ReqOp,
        sector: u64,
        bytes: usize,
        fua: bool,
    ) -> Result<Request, EngineError> {
        if bytes % SECTOR != 0 {
            return Err(EngineError::Unaligned);
        }
        let id = next_request_id();
        Ok(Request {
            id,
            op,
            sector,
            sectors: (bytes / SECTOR) as u32,
            fua,
            preflush: false,
            no_repair: false,
        })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        *self.shared.ticker_wait.0.lock().unwrap() = true;
        self.shared.ticker_wait.1.notify_all();
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        for _ in &self.workers {
            let _ = self.shared.jobs.send(None);
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Shared {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Writes `data` at byte `at` of each leg in `files` (durably if
    /// `fua`); returns a mask of the ones (by index) that failed. Large or
    /// durable writes run on the legs in parallel, where a thread pays
    /// for itself; small ones in turn from this thread.
    fn write_legs<F: std::ops::Deref<Target = File> + Sync>(
        files: &[F],
        data: &[u8],
        at: u64,
        fua: bool,
    ) -> u32 {
        let one = |f: &File| f.write_all_at(data, at).is_ok() && (!fua || f.sync_data().is_ok());
        let mut failed = 0;
        if files.len() > 1 && (fua || data.len() >= PARALLEL_WRITE_BYTES) {
            std::thread::scope(|s| {
                let others: Vec<_> = files[1..].iter().map(|f| s.spawn(|| one(f))).collect();
                failed |= u32::from(!one(&files[0]));
                for (i, h) in others.into_iter().enumerate() {
                    failed |= u32::from(!h.join().unwrap_or(false)) << (i + 1);
                }
            });
        } else {
            for (i, f) in files.iter().enumerate() {
                failed |= u32::from(!one(f)) << i;
            }
        }
        failed
    }

    /// A lock-free write: every leg, then the verdict.
    fn fast_write(&self, w: &FastWrite, data: &[u8]) -> Result<(), EngineError> {
        let mut files: [&File; MAX_LEGS] = [&self.files[0]; MAX_LEGS];
        let mut slots = [0usize; MAX_LEGS];
        let mut n = 0;
        for slot in (0..MAX_LEGS).filter(|&l| w.legs & (1 << l) != 0) {
            files[n] = &self.files[usize::from(w.positions[slot])];
            slots[n] = slot;
            n += 1;
        }
        let by_index = Self::write_legs(
            &files[..n],
            data,
            w.leg_sector * SECTOR as u64,
            w.request.fua,
        );
        let failed = (0..n)
            .filter(|i| by_index & (1 << i) != 0)
            .fold(0, |m, i| m | 1 << slots[i]);
        match self.fast.write_done(w, failed) {
            FastWriteDone::Complete { kick } => {
                if kick {
                    let mut s = self.slow.lock().unwrap();
                    s.mirror.kick();
                    self.pump(&mut s);
                }
                Ok(())
            }
            FastWriteDone::Adopt => self
                .hand_over(|m| m.adopt_write(w, failed), w.request.id, Vec::new())
                .map(drop),
        }
    }

    /// Hands a fast request to the mirror and waits for its completion.
    fn hand_over(
        &self,
        f: impl Fn(&mut Mirror) -> Result<(), SubmitError>,
        id: ReqId,
        buf: Vec<u8>,
    ) -> Result<Vec<u8>, EngineError> {
        let rb = Arc::new(ReqBuf {
            data: RwLock::new(buf),
            done: Mutex::new(None),
            cv: Condvar::new(),
        });
        let mut s = self.slow.lock().unwrap();
        s.reqs.insert(id, rb.clone());
        while f(&mut s.mirror).is_err() {
            s = self.slot_free.wait(s).unwrap();
        }
        self.pump(&mut s);
        drop(s);
        wait(&rb)
    }

    /// Submits `r` through the lock and waits for it; returns its buffer.
    fn run(&self, r: Request, buf: Vec<u8>) -> Result<Vec<u8>, EngineError> {
        self.hand_over(|m| m.submit(r), r.id, buf)
    }

    /// Turns every action into a job, a completion or a log entry.
    fn pump(&self, s: &mut Slow) {
        while let Some(a) = s.mirror.poll_action() {
            match a {
                Action::Io(io) => {
                    let pos = s
                        .mirror
                        .leg_position(usize::from(io.leg))
                        .expect("I/O to a leg with a device")
                        .0;
                    let payload = match io.buffer {
                        Buffer::None => Payload::None,
                        Buffer::Meta(i) => Payload::Bytes(s.mirror.meta_block(i).to_vec()),
                        Buffer::Resync(i) => Payload::Resync(usize::from(i)),
                        Buffer::Request { id, offset } => {
                            let rb = s.reqs.get(&id).expect("I/O for a known request").clone();
                            Payload::Request(rb, offset as usize * SECTOR)
                        }
                    };
                    let job = Job {
                        io,
                        file: self.files[pos].clone(),
                        payload,
                    };
                    self.jobs
                        .send(Some(job))
                        .expect("workers run while the engine lives");
                }
                Action::Complete { id, result } => {
                    if let Some(rb) = s.reqs.remove(&id) {
                        *rb.done.lock().unwrap() = Some(result);
                        rb.cv.notify_all();
                    }
                    self.slot_free.notify_all();
                }
                Action::WakeAt(t) => {
                    s.wake_at = s.wake_at.min(t);
                    if t <= self.now() {
                        self.ticker_wait.1.notify_all();
                    }
                }
                Action::Log(e) => s.log.push(e),
            }
        }
    }

    fn execute(&self, job: &Job) -> bool {
        let io = &job.io;
        let at = io.sector * SECTOR as u64;
        let len = io.sectors as usize * SECTOR;
        let f = &job.file;
        let ok = match (io.op, &job.payload) {
            (IoOp::Flush, _) => f.sync_data().is_ok(),
            (IoOp::Discard, _) => punch_hole(f, at, len as u64),
            (IoOp::Write, Payload::Bytes(b)) => f.write_all_at(&b[..len], at).is_ok(),
            (IoOp::Write, Payload::Request(rb, off)) => {
                let d = rb.data.read().unwrap();
                f.write_all_at(&d[*off..*off + len], at).is_ok()
            }
            (IoOp::Write, Payload::Resync(i)) => {
                let b = self.resync[*i].lock().unwrap();
                f.write_all_at(&b[..len], at).is_ok()
            }
            (IoOp::Read, Payload::Request(rb, off)) => {
                let mut tmp = vec![0; len];
                let ok = f.read_exact_at(&mut tmp, at).is_ok();
                if ok {
                    rb.data.write().unwrap()[*off..*off + len].copy_from_slice(&tmp);
                }
                ok
            }
            (IoOp::Read, Payload::Resync(i)) => {
                let mut b = self.resync[*i].lock().unwrap();
                f.read_exact_at(&mut b[..len], at).is_ok()
            }
            _ => false,
        };
        ok && (!io.fua || io.op != IoOp::Write || f.sync_data().is_ok())
    }
}

/// Request ids, unique in the process: each thread takes a block at a time
/// so that writers do not share a counter's cache line.
fn next_request_id() -> ReqId {
    const BLOCK: u64 = 1 << 16;
    static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static IDS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
    }
    IDS.with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_BLOCK.fetch_add(BLOCK, Relaxed);
            end = next + BLOCK;
        }
        ids.set((next + 1, end));
        next
    })
}

fn wait(rb: &ReqBuf) -> Result<Vec<u8>, EngineError> {
    let mut done = rb.done.lock().unwrap();
    while done.is_none() {
        done = rb.cv.wait(done).unwrap();
    }
    match done.take().expect("checked") {
        Ok(()) => Ok(std::mem::take(&mut *rb.data.write().unwrap())),
        Err(e) => Err(EngineError::Request(e)),
    }
}

#[cfg(target_os = "linux")]
fn punch_hole(f: &File, at: u64, len: u64) -> bool {
    use rustix::fs::{fallocate, FallocateFlags};
    let mode = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
    // A device or file system without hole punching keeps the data: a
    // discard allows that.
    match fallocate(f, mode, at, len) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::OPNOTSUPP,
    }
}

/// Elsewhere (the BSDs) a discard keeps the data, which it allows.
#[cfg(not(target_os = "linux"))]
fn punch_hole(_f: &File, _at: u64, _len: u64) -> bool {
    true
}

fn worker(s: &Shared, rx: &Receiver<Option<Job>>) {
    while let Ok(Some(job)) = rx.recv() {
        let ok = s.execute(&job);
        let mut slow = s.slow.lock().unwrap();
        slow.mirror.complete(job.io.child, ok);
        s.pump(&mut slow);
    }
}

/// Lets time pass for the cleaner, resync pacing and wake-ups: at the
/// time the mirror asked for, and at least every 10 ms.
fn ticker(s: &Shared) {
    const PERIOD_NS: u64 = 10_000_000;
    let mut wait_ns = PERIOD_NS;
    loop {
        {
            let stopped = s.ticker_wait.0.lock().unwrap();
            if *stopped {
                return;
            }
            if wait_ns > 0 {
                let d = Duration::from_nanos(wait_ns);
                let (stopped, _) = s.ticker_wait.1.wait_timeout(stopped, d).unwrap();
                if *stopped {
                    return;
                }
            }
        }
        let mut slow = s.slow.lock().unwrap();
        let now = s.now();
        slow.wake_at = u64::MAX;
        slow.mirror.tick(now);
        s.pump(&mut slow);
        wait_ns = slow.wake_at.saturating_sub(s.now()).min(PERIOD_NS);
    }
}
