//! `mirrorctl create`: fresh metadata on every leg, and the table line.

use crate::leg::{foreign_signature, Leg};
use crate::{fail, io_err, Failure, Outcome};
use dmmirror_core::format::*;
use std::path::PathBuf;

fn random_uuid() -> std::io::Result<Uuid> {
    let mut bytes = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut bytes)?;
    Ok(Uuid::from_random_bytes(bytes))
}

pub fn create(chunk_bytes: u64, force: bool, json: bool, paths: &[PathBuf]) -> Outcome {
    if chunk_bytes % SECTOR_SIZE as u64 != 0
        || chunk_bytes / SECTOR_SIZE as u64 > u64::from(u32::MAX)
    {
        return fail(
            2,
            format!("chunk size {chunk_bytes} is not a whole number of sectors"),
        );
    }
    let chunk_sectors = (chunk_bytes / SECTOR_SIZE as u64) as u32;
    for (i, p) in paths.iter().enumerate() {
        if paths[..i].iter().any(|q| q == p) {
            return fail(2, format!("{} named twice", p.display()));
        }
    }
    let legs = paths
        .iter()
        .map(|p| Leg::open(p, true).map_err(io_err(p)))
        .collect::<Result<Vec<_>, _>>()?;
    for leg in &legs {
        if let Some(what) = foreign_signature(leg).map_err(io_err(&leg.path))? {
            if !force {
                return fail(
                    1,
                    format!(
                        "{} holds {what}; use --force to overwrite it",
                        leg.path.display()
                    ),
                );
            }
            eprintln!(
                "mirrorctl: overwriting {what} on {} (--force)",
                leg.path.display()
            );
        }
    }
    let smallest = legs.iter().map(|l| l.sectors).min().unwrap_or(0);
    let geometry = Geometry::for_leg(smallest, chunk_sectors)
        .map_err(|e| Failure(1, format!("cannot create: {e}")))?;
    let uuid = || random_uuid().map_err(|e| Failure(1, format!("random uuid: {e}")));
    let mirror_uuid = uuid()?;
    let leg_uuids = legs.iter().map(|_| uuid()).collect::<Result<Vec<_>, _>>()?;
    for (slot, leg) in legs.iter().enumerate() {
        let sb = new_superblock(mirror_uuid, &leg_uuids, slot, geometry)
            .map_err(|e| Failure(2, e.to_string()))?;
        new_leg_blocks(&sb, |sector, block| leg.write_durable(sector, block))
            .map_err(io_err(&leg.path))?;
    }
    let table = dmsetup_table(geometry.data_sectors, paths);
    if json {
        let out = serde_json::json!({
            "mirror_uuid": mirror_uuid.to_string(),
            "legs": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "chunk_bytes": chunk_bytes,
            "chunks": geometry.chunk_count,
            "data_sectors": geometry.data_sectors,
            "data_offset": geometry.data_offset,
            "table": table,
        });
        outln!("{out}");
        return Ok(());
    }
    outln!(
        "mirror {mirror_uuid}: {} legs, {} chunks of {} KiB",
        legs.len(),
        geometry.chunk_count,
        chunk_bytes / 1024
    );
    outln!(
        "data: {} sectors at sector {} of each leg",
        geometry.data_sectors,
        geometry.data_offset
    );
    outln!("dmsetup table line (legs as the kernel will name them):");
    outln!("{table}");
    Ok(())
}

/// The dmsetup table line for these legs in the native syntax.
fn dmsetup_table(data_sectors: u64, paths: &[PathBuf]) -> String {
    let legs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    format!("0 {data_sectors} mirror {} {}", legs.len(), legs.join(" "))
}
