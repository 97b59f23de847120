//! dm-mirror core: the policy of a RAID1 device-mapper target, free of I/O.
//!
//! This crate never touches a disk. Callers hand it bytes and events
//! (a request arrived, an I/O completed, time passed); it hands back
//! decoded metadata, encoded blocks and actions. It builds for
//! `x86_64-unknown-none`: no `std`; `alloc` only while a mirror is
//! created (its tables are sized then), never on the I/O path.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod format;
pub mod mirror;
pub mod table;
