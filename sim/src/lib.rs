//! Deterministic simulation of the dm-mirror core: simulated disks with
//! volatile caches, power loss at any step, dying disks, transient read
//! errors, and an oracle that judges every completion.

pub mod disk;
pub mod exhaustive;
pub mod oracle;
pub mod rng;
pub mod world;

pub use world::{run, Failure, Options, Report};
