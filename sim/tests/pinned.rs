//! Seeds that once found a bug, kept so that it stays found. Each ran into
//! the bug named beside it before its fix. Two kinds: `regression_seed_*`
//! reached their bug with the workload of their day, which has grown since
//! (latent errors, split reads, operator requests): they are plain
//! regression runs now, not shown to reach it still. `seed_*` (below the
//! note) reach their bug with today's workload: each fails with its fix
//! taken out.

use dmmirror_sim::{run, Options};

fn pinned(seed: u64) {
    pinned_with(seed, |_| {});
}

fn pinned_with(seed: u64, tune: impl Fn(&mut Options)) {
    let mut o = Options::new(seed, 2_000);
    tune(&mut o);
    if let Err(f) = run(&o) {
        panic!("{f}");
    }
}

/// Two overlapping writes in flight together landed in different orders on
/// the two legs, which then differed: reads flip-flopped.
#[test]
fn regression_seed_1_overlapping_writes_diverge_legs() {
    pinned(1);
}

/// A read pinned to the resync source fell back to another leg on its first
/// (transient) error and returned different data.
#[test]
fn regression_seed_3_pinned_read_falls_back_on_a_transient_error() {
    pinned(3);
}

/// A transient resync read error failed the source leg, and with it the
/// mirror.
#[test]
fn regression_seed_8_transient_resync_read_error_fails_the_leg() {
    pinned(8);
}

/// The resync source died while its copy was being written; a read fell
/// back to a leg the copy had not reached yet.
#[test]
fn regression_seed_335_read_of_a_chunk_copied_from_a_dead_source() {
    pinned(335);
}

/// A read that every live leg had failed once gave up although one leg's
/// error was transient.
#[test]
fn regression_seed_1943_read_gives_up_after_one_round() {
    pinned(1943);
}

/// A read retried on its pinned leg after a transient error "repaired" that
/// same leg with its own data (and, in the checker, a read in flight across
/// a leg failure was held to a pin).
#[test]
fn regression_seed_1463_retried_read_repairs_the_leg_it_read() {
    pinned(1463);
}

/// A write waiting for a chunk whose whole-chunk discard was turning it
/// back to UNWRITTEN asked for DIRTY again without marking the chunk for
/// resync; the legs differed outside the write and reads flip-flopped.
#[test]
fn regression_seed_17_partial_write_after_a_whole_chunk_discard() {
    pinned(17);
}

/// A leg was failed while rebuilding, then returned: the split-brain check
/// took its stale record of the other leg for independent writes.
#[test]
fn regression_seed_23_returning_leg_is_not_split_brain() {
    pinned(23);
}

/// A whole-chunk discard's UNWRITTEN update landed while a leg failure had
/// already asked for DIRTY|MODIFIED again: the chunk lost its resync mark
/// and was later cleaned with the legs different.
#[test]
fn regression_seed_783_unwritten_update_overtaken_by_a_failure() {
    pinned(783);
}

/// (Checker bug.) A read in flight on a leg failed meanwhile returned the
/// value a durable write acknowledged during the read had superseded.
#[test]
fn regression_seed_110_read_concurrent_with_a_durable_write() {
    pinned_with(110, |o| {
        o.ops = 3_000;
        o.admin_rate = 40;
    });
}

/// (Checker bug.) A split read's late part: a write submitted after the
/// read and made durable before it completed was taken for a lost write.
#[test]
fn regression_seed_221_read_sees_a_write_submitted_while_it_ran() {
    pinned(221);
}

/// The operator removed the last leg that was durably in sync right after
/// another leg's rebuild finished, before that leg's new state was on its
/// superblock; a power loss then left no trusted leg. (Found by the soak.)
#[test]
fn regression_seed_7745202852_remove_right_after_a_rebuild() {
    pinned_with(7745202852, |o| {
        o.ops = 3_000;
        o.admin_rate = 40;
    });
}

/// (Checker bug.) A read saw the zeros of a discard submitted while it ran.
#[test]
fn regression_seed_889_read_sees_a_concurrent_discard() {
    pinned(889);
}

/// A pinned read could not be served by the source (latent sector error)
/// and fell back to a leg holding other data; the checker now hears of it
/// (PinnedReadMoved) and the source is repaired with what was returned.
#[test]
fn regression_seed_132_pinned_read_moves_off_an_unreadable_source() {
    pinned(132);
}

/// A rebuild whose only source had an unreadable sector failed that source
/// after eight errors and with it the whole mirror; now the last in-sync
/// leg is kept and copying pauses and retries.
#[test]
fn regression_seed_411_last_leg_is_not_failed_for_a_copy_read_error() {
    pinned(411);
}

// The seeds above ran into their bugs with the workload of their day; the
// workload has grown since (latent errors, split reads, operator requests),
// so some of them no longer reach the bug. These seeds reach it with
// today's workload: each fails with its fix taken out.

/// As seed 783: an UNWRITTEN update overtaken by a DIRTY one lost the
/// chunk's resync mark.
#[test]
fn seed_423_unwritten_update_overtaken() {
    pinned(423);
}

/// As seed 411: the last in-sync leg failed for a copy read error.
#[test]
fn seed_420_last_leg_kept_on_copy_read_errors() {
    pinned(420);
}

/// As seed 17: a waiting write asked for DIRTY without the resync mark of
/// a partial first write.
#[test]
fn seed_56_waiting_write_marks_its_partial_chunk() {
    pinned(56);
}

/// A read retried on another leg repaired the first with what it read,
/// although a discard had started and ended while it ran: slow writes did
/// not mark their chunks as written since the read (found with the fast
/// path, whose failed reads are retried this way).
#[test]
fn seed_11850_repair_after_an_overtaking_discard() {
    pinned(11850);
}

/// The fast path's regime word held leg masks of 8 bits: with spares added
/// the mirror used slots 8 and up, and fast writes skipped those legs.
#[test]
fn seed_30262_fast_writes_skip_legs_in_slots_above_7() {
    pinned_with(30262, |o| {
        o.ops = 4_000;
        o.admin_rate = 40;
        o.fast_share = 100;
    });
}

/// A read moved off the pinned leg (transient error) and repaired it with
/// the other leg's version of a discarded range; reads of the pinned leg
/// between the move and the repair saw the old version, later ones the
/// new: other reads now wait while a moved read and its repair run.
#[test]
fn seed_13285_reads_between_a_moved_read_and_its_repair() {
    pinned(13285);
}

/// A disk re-added in a new slot lost power before its new superblock
/// landed; its old one claimed the same slot as another former member's,
/// and assembly refused the whole mirror instead of leaving both out.
/// (Found by the soak.)
#[test]
fn seed_3252202174_two_former_members_claim_one_slot() {
    pinned_with(3252202174, |o| {
        o.ops = 5_000;
        o.crash_rate = 300;
        o.death_rate = 100;
        o.return_rate = 100;
    });
}

/// A read pinned to the resync source used up its retries on a latent
/// sector error there and moved to the other leg, which then died; a write
/// had meanwhile rewritten the bad sectors, yet the read failed instead of
/// trying the pinned leg again. (Found by the soak.)
#[test]
fn seed_3270009739_moved_read_loses_its_leg_and_goes_back() {
    pinned_with(3270009739, |o| o.ops = 5_000);
}

/// A rebuild finished and tracking ended, and a clean stop came before the
/// cleaner's next pass: the MODIFIED marks stayed on the media for good
/// (found by the clean stop `mirrorctl resync` makes, then by the sim).
#[test]
fn seed_6_clean_stop_leaves_stale_modified_marks() {
    pinned_with(6, |o| o.ops = 10_000);
}

/// A leg was re-added to the slot of one removed while that leg's
/// superblock write was still in flight; its completion counted for the
/// new leg, whose secondary copy was then built with serial 0 (the core
/// stopped on "the template stays valid"). A slot now takes a leg only
/// once the previous one's I/O is done. (Found with a heavier fault mix
/// than CI's, now in the soak.)
#[test]
fn seed_97_slot_reused_while_its_old_leg_has_io_in_flight() {
    pinned_with(97, |o| {
        o.ops = 10_000;
        o.crash_rate = 300;
        o.death_rate = 100;
        o.admin_rate = 200;
        o.return_rate = 100;
    });
}
