//! dm-mirror core: the policy of a RAID1 device-mapper target, free of I/O.
//!
//! This crate never touches a disk. Callers hand it bytes and events; it
//! hands back decoded metadata, encoded blocks and (later) actions. It must
//! build for `x86_64-unknown-none`, so it uses neither `std` nor `alloc`.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod format;
pub mod mirror;
pub mod table;
