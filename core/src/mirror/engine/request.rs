//! A request's life: starting, waiting, finishing, the completions of its
//! child I/O, and waking the requests that waited.

use super::*;

impl Mirror {
    pub(super) fn start(&mut self, i: usize) {
        match self.reqs[i].r.op {
            ReqOp::Read => self.start_read(i),
            ReqOp::Write | ReqOp::Discard => self.try_write(i),
            ReqOp::Flush => self.start_flush(i, ReqState::Flushing),
        }
    }

    pub(super) fn finish(&mut self, i: usize, result: Result<(), IoError>) {
        self.drop_holds(i);
        if self.reqs[i].moved {
            let r = self.reqs[i].r;
            for c in self.chunk_range(r.sector, r.sectors) {
                self.chunks[c].flags.remove(ChunkFlags::READ_MOVED);
            }
        }
        let id = self.reqs[i].r.id;
        self.set_state(i, ReqState::Free);
        self.req_free.push(i as u16);
        self.push(Action::Complete { id, result });
    }

    /// Moves request `i` to `next`: the one place its state changes.
    pub(super) fn set_state(&mut self, i: usize, next: ReqState) {
        let from = self.reqs[i].state;
        debug_assert!(
            from.may_follow(next),
            "request {i}: {from:?} may not become {next:?}"
        );
        self.reqs[i].state = next;
    }

    pub(super) fn wait(&mut self, i: usize, state: ReqState) {
        self.set_state(i, state);
        self.waiting.push(i as u16);
    }

    pub(super) fn request_child_done(&mut self, i: usize, leg: usize, ok: bool) {
        let q = &mut self.reqs[i];
        if ok {
            q.ok.insert(leg);
        } else {
            q.failed.insert(leg);
        }
        q.pending -= 1;
        let state = q.state;
        if state == ReqState::Reading {
            return self.read_done(i, leg, ok);
        }
        if ok && state == ReqState::Repairing {
            let r = self.reqs[i].r;
            self.push(Action::Log(LogEvent::ReadRepaired {
                leg: leg as u8,
                sector: r.sector,
                sectors: r.sectors,
            }));
        }
        if !ok {
            // A leg that fails a write, a flush or a repair is out of the mirror.
            let cause = match state {
                ReqState::Flushing | ReqState::Preflush => FailCause::Flush,
                ReqState::Repairing => FailCause::Read,
                _ => FailCause::Write,
            };
            self.leg_failed(leg, cause);
        }
        if self.reqs[i].pending > 0 {
            return;
        }
        match state {
            ReqState::Writing => self.write_done(i),
            ReqState::Flushing | ReqState::Preflush => self.flush_done(i),
            ReqState::Repairing => {
                let r = self.reqs[i].r;
                for c in self.chunk_range(r.sector, r.sectors) {
                    self.chunks[c].inflight -= 1;
                }
                self.finish(i, Ok(()))
            }
            s => unreachable!("child completion in state {s:?}"),
        }
    }

    pub(super) fn wake_waiters(&mut self) {
        let mut k = 0;
        while k < self.waiting.len() {
            let i = usize::from(self.waiting[k]);
            let ready = match self.reqs[i].state {
                ReqState::WaitChunks => self.dead || self.write_ready(i),
                ReqState::WaitRecord => self.dead || self.failures_recorded(),
                ReqState::WaitRead => self.dead || self.read_may_start(i),
                s => unreachable!("waiting request in state {s:?}"),
            };
            if !ready {
                k += 1;
                continue;
            }
            self.waiting.swap_remove(k);
            match (self.dead, self.reqs[i].state) {
                (true, _) => self.finish(i, Err(IoError::NoLeg)),
                (false, ReqState::WaitChunks) => self.start_write(i),
                (false, ReqState::WaitRead) => self.start_read(i),
                _ => self.finish(i, Ok(())),
            }
        }
        // Requests still waiting for chunks may need a bitmap update that
        // an earlier one could not start (a chunk was busy).
        for k in 0..self.waiting.len() {
            let i = usize::from(self.waiting[k]);
            if self.reqs[i].state == ReqState::WaitChunks {
                let r = self.reqs[i].r;
                for c in self.chunk_range(r.sector, r.sectors) {
                    if !self.chunk_writable(&self.chunks[c], self.degraded()) {
                        self.want_dirty_for(c, &r);
                    }
                }
            }
        }
    }
}
