//! What each sector of the mirror may hold, from the requests alone.
//!
//! A write W is superseded at a point in time by any write D to the same
//! sector that was submitted after W was acknowledged, if D was itself
//! acknowledged by then (without a crash since) or made durable (FUA, or a
//! flush acknowledged after D's acknowledgement). A read may return the
//! value of any write to that sector that is not superseded at the read's
//! submission, or the initial zero if no write is.

/// Data tag of sector `sector` written by write `wid`. 0 is "never written".
pub fn tag(wid: u32, sector: u64) -> u64 {
    (u64::from(wid) << 32) | (sector + 1)
}

fn untag(v: u64) -> (u32, u64) {
    ((v >> 32) as u32, (v & 0xffff_ffff).wrapping_sub(1))
}

#[derive(Clone, Copy, Debug)]
struct WriteRec {
    sector: u64,
    sectors: u32,
    submit: u64,
    ack: Option<u64>,
    /// A discard: the sectors may read back as zero or as they were. It
    /// supersedes nothing and sets no floor.
    discard: bool,
}

#[derive(Clone, Debug, Default)]
struct SectorState {
    candidates: Vec<u32>,
    /// Newest submission time of a write acknowledged since the last crash.
    floor_acked: Option<u64>,
    /// Newest submission time of a durable write.
    floor_durable: Option<u64>,
    /// The value a read returned while no write touched the sector since.
    pin: Option<u64>,
    /// Bumped by every write submission and completion.
    churn: u64,
    inflight: u32,
}

#[derive(Clone, Debug)]
pub struct Oracle {
    writes: Vec<WriteRec>,
    sectors: Vec<SectorState>,
    acked_not_durable: Vec<u32>,
    /// Bumped when the leg that pinned reads may go to fails.
    leg_failures: u64,
}

/// What a read saw when it was submitted, for judging it at completion.
#[derive(Clone, Debug)]
pub struct ReadTicket {
    sector: u64,
    floors: Vec<Option<u64>>,
    /// Per sector, the writes it could hold at submission: a durable write
    /// acknowledged while the read is in flight does not take them away.
    candidates: Vec<Vec<u32>>,
    /// Writes from this id on were submitted while the read was in flight.
    next_wid: u32,
    churn: Vec<u64>,
    leg_failures: u64,
}

impl Oracle {
    pub fn new(data_sectors: u64) -> Oracle {
        Oracle {
            writes: vec![WriteRec {
                sector: 0,
                sectors: 0,
                submit: 0,
                ack: Some(0),
                discard: false,
            }],
            sectors: vec![SectorState::default(); data_sectors as usize],
            acked_not_durable: Vec::new(),
            leg_failures: 0,
        }
    }

    /// A new write id for a write about to be submitted.
    pub fn write_submitted(&mut self, sector: u64, sectors: u32, now: u64, discard: bool) -> u32 {
        let wid = self.writes.len() as u32;
        self.writes.push(WriteRec {
            sector,
            sectors,
            submit: now,
            ack: None,
            discard,
        });
        for s in sector..sector + u64::from(sectors) {
            let st = &mut self.sectors[s as usize];
            st.candidates.push(wid);
            st.pin = None;
            st.churn += 1;
            st.inflight += 1;
        }
        wid
    }

    pub fn write_completed(&mut self, wid: u32, ok: bool, fua: bool, now: u64) {
        let w = &mut self.writes[wid as usize];
        w.ack = Some(now);
        let w = *w;
        for s in w.sector..w.sector + u64::from(w.sectors) {
            let st = &mut self.sectors[s as usize];
            st.churn += 1;
            st.inflight -= 1;
            if ok && !w.discard {
                st.floor_acked = st.floor_acked.max(Some(w.submit));
                if fua {
                    st.floor_durable = st.floor_durable.max(Some(w.submit));
                }
            }
        }
        if ok && !fua && !w.discard {
            self.acked_not_durable.push(wid);
        }
        if ok && fua && !w.discard {
            self.prune(w.sector, w.sectors);
        }
    }

    /// A flush submitted at `submitted` completed successfully.
    pub fn flush_completed(&mut self, submitted: u64) {
        let writes = &self.writes;
        let (durable, rest): (Vec<u32>, Vec<u32>) = self
            .acked_not_durable
            .iter()
            .partition(|&&w| writes[w as usize].ack.is_some_and(|a| a < submitted));
        self.acked_not_durable = rest;
        for wid in durable {
            let w = self.writes[wid as usize];
            for s in w.sector..w.sector + u64::from(w.sectors) {
                let st = &mut self.sectors[s as usize];
                st.floor_durable = st.floor_durable.max(Some(w.submit));
            }
            self.prune(w.sector, w.sectors);
        }
    }

    fn prune(&mut self, sector: u64, sectors: u32) {
        for s in sector..sector + u64::from(sectors) {
            let st = &mut self.sectors[s as usize];
            let floor = st.floor_durable;
            let writes = &self.writes;
            st.candidates
                .retain(|&w| writes[w as usize].ack.is_none_or(|a| Some(a) >= floor));
        }
    }

    /// Power loss at `now`: unacknowledged writes are over (they may or may
    /// not have landed); acknowledged but not durable writes may be lost.
    pub fn crash(&mut self, now: u64) {
        for w in self.writes.iter_mut() {
            if w.ack.is_none() {
                w.ack = Some(now);
            }
        }
        for st in &mut self.sectors {
            st.floor_acked = st.floor_durable;
            st.pin = None;
            st.inflight = 0;
            st.churn += 1;
        }
        self.acked_not_durable.clear();
    }

    /// Forget pins: the leg reads were pinned to is gone. A read in flight
    /// across the failure may hold data from either side of it.
    pub fn unpin_all(&mut self) {
        self.leg_failures += 1;
        for st in &mut self.sectors {
            st.pin = None;
        }
    }

    pub fn read_submitted(&self, sector: u64, sectors: u32) -> ReadTicket {
        let range = sector as usize..(sector + u64::from(sectors)) as usize;
        ReadTicket {
            sector,
            floors: self.sectors[range.clone()]
                .iter()
                .map(|s| s.floor_acked)
                .collect(),
            candidates: self.sectors[range.clone()]
                .iter()
                .map(|s| s.candidates.clone())
                .collect(),
            next_wid: self.writes.len() as u32,
            churn: self.sectors[range].iter().map(|s| s.churn).collect(),
            leg_failures: self.leg_failures,
        }
    }

    /// Judges a completed read; returns the first violation found.
    pub fn read_completed(&mut self, t: &ReadTicket, data: &[u64]) -> Result<(), String> {
        for (k, &v) in data.iter().enumerate() {
            let s = t.sector + k as u64;
            let (wid, ts) = untag(v);
            let concurrent = if v == 0 {
                // Zeroed by a discard concurrent with the read.
                self.writes[t.next_wid as usize..]
                    .iter()
                    .any(|w| w.discard && w.sector <= s && s < w.sector + u64::from(w.sectors))
            } else {
                wid >= t.next_wid && ts == s
            };
            if concurrent {
                // Written by a request concurrent with the read.
            } else {
                self.check_value(s, v, t.floors[k], &t.candidates[k])?;
            }
            let st = &mut self.sectors[s as usize];
            let stable =
                st.churn == t.churn[k] && st.inflight == 0 && t.leg_failures == self.leg_failures;
            if stable {
                match st.pin {
                    Some(p) if p != v => {
                        return Err(format!(
                            "sector {s}: read {} after {} with no write in between (flip-flop)",
                            describe(v),
                            describe(p)
                        ))
                    }
                    _ => st.pin = Some(v),
                }
            }
        }
        Ok(())
    }

    /// Whether `v` is a value sector `s` may hold given the floor.
    /// `earlier`: candidates the sector had when the read was submitted.
    pub fn check_value(
        &self,
        s: u64,
        v: u64,
        floor: Option<u64>,
        earlier: &[u32],
    ) -> Result<(), String> {
        let st = &self.sectors[s as usize];
        let candidates = || st.candidates.iter().chain(earlier);
        let live = |w: u32| {
            let rec = self.writes[w as usize];
            match (rec.ack, floor) {
                (Some(a), Some(f)) => a >= f,
                _ => true,
            }
        };
        // Discarded sectors read as zero or as anything written to them
        // before the discard (a leg that kept old data may serve them).
        let discarded = candidates()
            .filter(|&&w| self.writes[w as usize].discard && live(w))
            .max();
        if v == 0 {
            return match floor {
                _ if discarded.is_some() => Ok(()),
                None => Ok(()),
                Some(_) => Err(format!(
                    "sector {s}: read the initial zero after an acknowledged write (lost write)"
                )),
            };
        }
        let (wid, ts) = untag(v);
        if ts != s {
            return Err(format!(
                "sector {s}: holds data written for sector {ts} (misdirected)"
            ));
        }
        if discarded.is_some_and(|&d| wid < d) {
            return Ok(());
        }
        if !candidates().any(|&w| w == wid) {
            return Err(format!(
                "sector {s}: holds write {wid}, superseded by a durable write (lost write)"
            ));
        }
        let w = self.writes[wid as usize];
        match (w.ack, floor) {
            (Some(a), Some(f)) if a < f => Err(format!(
                "sector {s}: holds write {wid} (acknowledged at {a}), older than a write acknowledged since (lost write)"
            )),
            _ => Ok(()),
        }
    }

    /// The current floor of sector `s` (for checks outside a read).
    pub fn floor(&self, s: u64) -> Option<u64> {
        self.sectors[s as usize].floor_acked
    }
}

fn describe(v: u64) -> String {
    if v == 0 {
        "the initial zero".into()
    } else {
        format!("write {}", untag(v).0)
    }
}
