//! The engine tests' rig: in-memory legs (metadata blocks by sector, data
//! sectors by the id of the request that wrote them) and an executor that
//! runs child I/Os at once, in order, checking the core's invariants after
//! every call.

use dmmirror_core::format::*;
use dmmirror_core::mirror::*;
use std::collections::{HashMap, VecDeque};

pub const CHUNK: u32 = 8;
pub const CHUNKS: u64 = 64;

#[derive(Clone, Default)]
pub struct Leg {
    pub meta: HashMap<u64, [u8; BLOCK_SIZE]>,
    /// Data sector to the id of the request that wrote it (0: never).
    pub data: HashMap<u64, u64>,
    pub fail_writes: bool,
}

impl Leg {
    pub fn superblock(&self) -> Superblock {
        let block = |s| self.meta.get(&s).copied().unwrap_or([0; BLOCK_SIZE]);
        let [p, q] = geometry::SUPERBLOCK_SECTOR.map(block);
        *SuperblockLoad::read(&p, &q)
            .superblock()
            .expect("a valid superblock")
    }
}

impl Leg {
    /// Rewrites both superblock copies after `change` (a newer serial).
    pub fn rewrite_superblock(&mut self, change: impl FnOnce(&mut Superblock)) {
        let mut sb = self.superblock();
        change(&mut sb);
        sb.serial = sb.serial.next();
        for role in CopyRole::BOTH {
            let mut block = [0u8; BLOCK_SIZE];
            sb.encode(role, &mut block).unwrap();
            self.meta
                .insert(geometry::SUPERBLOCK_SECTOR[role.index()], block);
        }
    }
}

pub struct Legs<'a>(pub &'a [Leg]);

impl BlockReader for Legs<'_> {
    fn read_block(&mut self, pos: usize, sector: u64, out: &mut [u8; BLOCK_SIZE]) -> bool {
        *out = self.0[pos]
            .meta
            .get(&sector)
            .copied()
            .unwrap_or([0; BLOCK_SIZE]);
        true
    }
}

pub struct Rig {
    pub m: Mirror,
    pub legs: Vec<Leg>,
    /// Leg (table position) of each slot.
    pub disk_of_slot: [Option<usize>; MAX_LEGS],
    pub geo: Geometry,
    pub now: u64,
    /// Child I/Os issued and not yet run.
    pub queue: VecDeque<ChildIo>,
    /// Every child I/O run, in order.
    pub done: Vec<ChildIo>,
    pub completed: HashMap<ReqId, Result<(), IoError>>,
    pub logs: Vec<LogEvent>,
    pub wakes: Vec<u64>,
    pub resync_bufs: Vec<Vec<u64>>,
    pub reads: HashMap<ReqId, Vec<u64>>,
}

pub fn config() -> Config {
    super::test_config()
}

pub fn new_legs(n: usize) -> (Vec<Leg>, Geometry) {
    new_legs_with(n, CHUNKS)
}

pub fn new_legs_with(n: usize, chunks: u64) -> (Vec<Leg>, Geometry) {
    let geo = Geometry::for_leg(2048 + chunks * u64::from(CHUNK), CHUNK).unwrap();
    let uuids: Vec<Uuid> = (0..n).map(|i| Uuid([i as u8 + 1; 16])).collect();
    let mut legs = vec![Leg::default(); n];
    for (slot, leg) in legs.iter_mut().enumerate() {
        let sb = new_superblock(Uuid([9; 16]), &uuids, slot, geo).unwrap();
        new_leg_blocks::<()>(&sb, |sector, b| {
            leg.meta.insert(sector, *b);
            Ok(())
        })
        .unwrap();
    }
    (legs, geo)
}

impl Rig {
    pub fn new(n: usize) -> Rig {
        let (legs, _) = new_legs(n);
        Rig::assemble(legs, config())
    }

    pub fn assemble(legs: Vec<Leg>, cfg: Config) -> Rig {
        let asm = assemble(&mut Legs(&legs), legs.len()).expect("assembles");
        let geo = asm.template.geometry;
        let disk_of_slot = core::array::from_fn(|s| asm.legs[s].as_ref().map(|l| l.pos));
        let mut rig = Rig {
            m: Mirror::new(asm, cfg, 0),
            legs,
            disk_of_slot,
            geo,
            now: 0,
            queue: VecDeque::new(),
            done: Vec::new(),
            completed: HashMap::new(),
            logs: Vec::new(),
            wakes: Vec::new(),
            resync_bufs: vec![vec![0; CHUNK as usize]; cfg.resync_depth],
            reads: HashMap::new(),
        };
        rig.collect();
        rig
    }

    pub fn collect(&mut self) {
        self.m.check_invariants();
        while let Some(a) = self.m.poll_action() {
            match a {
                Action::Io(io) => self.queue.push_back(io),
                Action::Complete { id, result } => {
                    assert!(
                        self.completed.insert(id, result).is_none(),
                        "completed twice"
                    );
                }
                Action::WakeAt(t) => self.wakes.push(t),
                Action::Log(e) => self.logs.push(e),
            }
        }
    }

    /// Runs one queued child I/O.
    pub fn step(&mut self) -> bool {
        let Some(io) = self.queue.pop_front() else {
            return false;
        };
        let leg = &mut self.legs[self.disk_of_slot[usize::from(io.leg)].unwrap()];
        let ok = match (io.op, io.buffer) {
            (IoOp::Write, _) if leg.fail_writes => false,
            (IoOp::Write, Buffer::Meta(b)) => {
                leg.meta.insert(io.sector, *self.m.meta_block(b));
                true
            }
            (IoOp::Write, Buffer::Request { id, offset }) => {
                for k in 0..u64::from(io.sectors) {
                    leg.data.insert(io.sector + k, id + u64::from(offset));
                }
                true
            }
            (IoOp::Write, Buffer::Resync(s)) => {
                for k in 0..io.sectors as usize {
                    leg.data
                        .insert(io.sector + k as u64, self.resync_bufs[usize::from(s)][k]);
                }
                true
            }
            (IoOp::Read, Buffer::Resync(s)) => {
                for k in 0..io.sectors as usize {
                    self.resync_bufs[usize::from(s)][k] =
                        leg.data.get(&(io.sector + k as u64)).copied().unwrap_or(0);
                }
                true
            }
            (IoOp::Read, Buffer::Request { id, .. }) => {
                let v = (0..u64::from(io.sectors))
                    .map(|k| leg.data.get(&(io.sector + k)).copied().unwrap_or(0))
                    .collect();
                self.reads.insert(id, v);
                true
            }
            (IoOp::Discard, _) => {
                for k in 0..u64::from(io.sectors) {
                    leg.data.remove(&(io.sector + k));
                }
                true
            }
            (IoOp::Flush, _) => true,
            other => panic!("unexpected child I/O {other:?}"),
        };
        self.done.push(io);
        self.m.complete(io.child, ok);
        self.collect();
        true
    }

    pub fn run(&mut self) {
        while self.step() {}
    }

    pub fn submit(&mut self, id: ReqId, op: ReqOp, sector: u64, sectors: u32) {
        let r = Request::new(id, op, sector, sectors);
        self.m.submit(r).expect("room for the request");
        self.collect();
    }

    pub fn advance(&mut self, ns: u64) {
        self.now += ns;
        self.m.tick(self.now);
        self.collect();
    }

    /// Lets time pass and runs I/O until the mirror is at rest.
    pub fn settle(&mut self) {
        for _ in 0..100 {
            self.run();
            self.advance(config().clean_delay_ns);
            self.run();
        }
    }

    /// Writes every chunk whole, one at a time, and lets the mirror settle.
    pub fn write_every_chunk(&mut self) {
        for c in 0..CHUNKS {
            self.submit(c + 1, ReqOp::Write, c * u64::from(CHUNK), CHUNK);
            self.run();
        }
        self.settle();
    }

    /// Adds a blank device as a new leg; returns its slot.
    pub fn add_blank_leg(&mut self) -> usize {
        self.legs.push(Leg::default());
        let sectors = self.geo.data_offset + self.geo.data_sectors;
        let pos = self.legs.len() - 1;
        let slot = self
            .m
            .add_leg(Position(pos), None, Uuid([7; 16]), sectors)
            .unwrap();
        self.disk_of_slot[slot] = Some(pos);
        self.collect();
        slot
    }

    pub fn status(&self, c: u64) -> (ChunkStatus, bool) {
        let b = self.m.chunk_byte(c).unwrap();
        (b.status(), b.is_modified())
    }
}

pub fn is_segment(io: &ChildIo, g: &Geometry) -> bool {
    io.op == IoOp::Write && io.sector >= g.bitmap_sector[0] && io.sector < g.data_offset
}
