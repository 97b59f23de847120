//! The mirror state machine: events in, actions out, no I/O of its own.
//!
//! `docs/design.md` gives the states of legs and chunks and the order of
//! every durable step. In short, a data write reaches a leg only once every
//! chunk it touches is DIRTY in a durable bitmap copy on every writable leg;
//! a chunk returns to CLEAN only once its writes are durable and it has been
//! idle for a while; a write that failed on a leg is acknowledged only once
//! that leg is recorded as failed in the survivors' superblocks.

mod assemble;
mod engine;
mod fast;
mod legset;
mod types;

pub use assemble::{
    assemble, assemble_external, assemble_with, Assembly, AssemblyError, BlankLog, BlockReader,
    FoundLeg, MemoryShortfall, SegmentFound,
};
#[cfg(feature = "mutations")]
pub use engine::Mutation;
pub use engine::{LegHealth, Mirror, Stats};
pub use fast::{FastPath, FastRead, FastWrite, FastWriteDone};
pub use types::*;
