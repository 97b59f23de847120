//! A simulated disk with a volatile write cache.
//!
//! A write that executes lands in the cache (`current`, what reads see). It
//! reaches the media (`durable`) with FUA, or when a later flush executes.
//! At a crash any subset of the cached writes, each torn at any subset of
//! its sectors, may have reached the media.

use crate::rng::Rng;

pub const SECTOR: usize = 512;

/// One sector's contents: real bytes in the metadata area, a tag naming the
/// write that produced it in the data area (0: never written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sector {
    Meta(Box<[u8; SECTOR]>),
    Data(u64),
}

#[derive(Clone, Debug)]
pub struct Image {
    /// Written metadata sectors (the rest read as zero): cheap to copy.
    meta: std::collections::BTreeMap<u64, [u8; SECTOR]>,
    meta_sectors: u64,
    data: Vec<u64>,
}

impl Image {
    fn new(meta_sectors: u64, data_sectors: u64) -> Image {
        Image {
            meta: Default::default(),
            meta_sectors,
            data: vec![0; data_sectors as usize],
        }
    }

    fn put(&mut self, sector: u64, v: &Sector) {
        let m = self.meta_sectors;
        match v {
            Sector::Meta(b) if sector < m => {
                self.meta.insert(sector, **b);
            }
            Sector::Data(t) if sector >= m => self.data[(sector - m) as usize] = *t,
            _ => panic!("sector {sector}: metadata and data areas mixed up"),
        }
    }

    pub fn meta_block(&self, sector: u64) -> Option<[u8; 4096]> {
        let mut out = [0u8; 4096];
        for k in 0..8 {
            let at = sector + k as u64;
            if at >= self.meta_sectors {
                return None;
            }
            if let Some(b) = self.meta.get(&at) {
                out[k * SECTOR..(k + 1) * SECTOR].copy_from_slice(b);
            }
        }
        Some(out)
    }

    pub fn data(&self) -> &[u64] {
        &self.data
    }
}

/// A write as it executed: its first sector and contents.
#[derive(Clone, Debug)]
pub struct Write {
    pub sector: u64,
    pub sectors: Vec<Sector>,
}

/// What a power loss does to one write that was not on the media yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Lost,
    Whole,
    /// Torn: the sectors whose bit is set landed.
    Torn(u64),
}

#[derive(Clone, Debug)]
pub struct Disk {
    pub durable: Image,
    pub current: Image,
    /// Executed writes not yet on the media, oldest first; a sector that a
    /// newer write replaced is None (a cache never writes stale data back).
    cached: Vec<(u64, Vec<Option<Sector>>)>,
    /// Every I/O fails (a dead disk); it still holds its media.
    pub dead: bool,
    /// Latent sector errors: reads of these sectors fail until a write
    /// covers them (the drive remaps on write).
    pub bad: Vec<u64>,
    pub meta_sectors: u64,
}

impl Disk {
    pub fn new(meta_sectors: u64, data_sectors: u64) -> Disk {
        let img = Image::new(meta_sectors, data_sectors);
        Disk {
            durable: img.clone(),
            current: img,
            cached: Vec::new(),
            dead: false,
            bad: Vec::new(),
            meta_sectors,
        }
    }

    pub fn write(&mut self, w: Write, fua: bool) {
        let end = w.sector + w.sectors.len() as u64;
        self.bad.retain(|&b| b < w.sector || b >= end);
        for (start, sectors) in &mut self.cached {
            for (k, s) in sectors.iter_mut().enumerate() {
                let at = *start + k as u64;
                if at >= w.sector && at < end {
                    *s = None;
                }
            }
        }
        for (k, s) in w.sectors.iter().enumerate() {
            self.current.put(w.sector + k as u64, s);
        }
        if fua {
            for (k, s) in w.sectors.iter().enumerate() {
                self.durable.put(w.sector + k as u64, s);
            }
        } else {
            self.cached
                .push((w.sector, w.sectors.into_iter().map(Some).collect()));
        }
    }

    pub fn flush(&mut self) {
        for (start, sectors) in self.cached.drain(..) {
            for (k, s) in sectors.iter().enumerate() {
                if let Some(s) = s {
                    self.durable.put(start + k as u64, s);
                }
            }
        }
    }

    /// Changes a metadata block on the media behind the disk's back.
    pub fn overwrite_meta(&mut self, sector: u64, block: &[u8; 4096]) {
        for (k, s) in block.chunks(SECTOR).enumerate() {
            let v = Sector::Meta(Box::new(s.try_into().expect("512 bytes")));
            self.durable.put(sector + k as u64, &v);
            self.current.put(sector + k as u64, &v);
        }
    }

    pub fn read_meta(&self, sector: u64) -> Option<[u8; 4096]> {
        self.current.meta_block(sector)
    }

    /// A read of this range meets a latent sector error.
    pub fn read_fails(&self, sector: u64, sectors: u32) -> bool {
        self.bad
            .iter()
            .any(|&b| b >= sector && b < sector + u64::from(sectors))
    }

    pub fn read_data(&self, sector: u64, sectors: u32) -> Vec<u64> {
        let m = self.meta_sectors;
        assert!(
            sector >= m,
            "data read from the metadata area at sector {sector}"
        );
        self.current.data[(sector - m) as usize..(sector - m) as usize + sectors as usize].to_vec()
    }

    /// Power loss: each cached write, and each of `in_flight` (issued but
    /// not executed), reaches the media in part or not at all.
    pub fn crash(&mut self, rng: &mut Rng, in_flight: Vec<Write>) {
        self.crash_with(in_flight, |_, _| match rng.below(3) {
            0 => Fate::Lost,
            1 => Fate::Whole,
            _ => Fate::Torn(rng.next_u64()),
        });
    }

    /// Writes not yet on the media: cached ones, then `in_flight` ones.
    pub fn unsettled(&self, in_flight: usize) -> usize {
        self.cached.len() + in_flight
    }

    /// Power loss with the fate of each unsettled write chosen by `fate`
    /// (its index and length in sectors).
    pub fn crash_with(
        &mut self,
        in_flight: Vec<Write>,
        mut fate: impl FnMut(usize, usize) -> Fate,
    ) {
        let cached = std::mem::take(&mut self.cached);
        let unexecuted = in_flight
            .into_iter()
            .map(|w| (w.sector, w.sectors.into_iter().map(Some).collect()));
        for (i, (start, sectors)) in cached.into_iter().chain(unexecuted).enumerate() {
            let f = fate(i, sectors.len());
            for (k, s) in sectors.iter().enumerate() {
                let lands = match f {
                    Fate::Lost => false,
                    Fate::Whole => true,
                    // Bit k of the mask: sector k landed.
                    Fate::Torn(mask) => mask >> (k % 64) & 1 == 1,
                };
                if let Some(s) = s.as_ref().filter(|_| lands) {
                    self.durable.put(start + k as u64, s);
                }
            }
        }
        self.current = self.durable.clone();
    }
}
