//! Requests and child I/O: what the workload submits, how the disks run
//! the core's I/O (in any order), and what every completion must satisfy.

use super::*;

impl World {
    pub(super) fn submit(&mut self) -> Step {
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
        } else if self.rng.chance(1, 4) {
            // A sequential stream (reads follow it too), so that writers
            // enter chunks at their first sector after a DIRTY one.
            let sector = self.stream_next % data;
            let max_len = (2 * u64::from(self.o.chunk_sectors)).min(data - sector);
            let sectors = 1 + self.rng.below(max_len) as u32;
            self.stream_next = sector + u64::from(sectors);
            (sector, sectors)
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

    pub(super) fn request_done(&mut self, id: ReqId, result: Result<(), IoError>) -> Step {
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

    pub(super) fn gather(&self, io: &ChildIo) -> Result<Vec<Sector>, String> {
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

    pub(super) fn execute(&mut self) -> Step {
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
                IoOp::Write => self.execute_write(&io, d)?,
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
                IoOp::Read => self.execute_read(&io, d)?,
                IoOp::Flush => {
                    self.disks[d].flush();
                    true
                }
                IoOp::Discard => self.execute_discard(&io, d),
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

    fn execute_write(&mut self, io: &ChildIo, d: usize) -> Result<bool, String> {
        let sectors = self.gather(io)?;
        if sectors.len() != io.sectors as usize {
            return Err(format!(
                "child {io:?}: buffer holds {} sectors",
                sectors.len()
            ));
        }
        let sector = io.sector;
        self.disks[d].write(Write { sector, sectors }, io.fua);
        Ok(true)
    }

    fn execute_read(&mut self, io: &ChildIo, d: usize) -> Result<bool, String> {
        if io.sector < self.geo.data_offset {
            return Err(format!("data read in the metadata area: {io:?}"));
        }
        let vals = self.disks[d].read_data(io.sector, io.sectors);
        self.scatter(io, vals)?;
        Ok(true)
    }

    /// A leg may zero discarded sectors or keep them.
    fn execute_discard(&mut self, io: &ChildIo, d: usize) -> bool {
        if self.rng.chance(1, 2) {
            let sectors = vec![Sector::Data(0); io.sectors as usize];
            let sector = io.sector;
            self.disks[d].write(Write { sector, sectors }, false);
        }
        true
    }
}
