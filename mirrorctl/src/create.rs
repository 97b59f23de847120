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
    let chunk_sectors = chunk_sectors(chunk_bytes)?;
    let legs = Leg::open_all(paths, true)?;
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
    let geometry = geometry_for(&legs, chunk_sectors)?;
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
        "mirror {mirror_uuid}: {} leg{}, {} chunks of {}",
        legs.len(),
        if legs.len() == 1 { "" } else { "s" },
        geometry.chunk_count,
        human_size(chunk_bytes)
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

/// The chunk size in sectors, if the size is one the format allows.
fn chunk_sectors(chunk_bytes: u64) -> Result<u32, Failure> {
    let sector = SECTOR_SIZE as u64;
    let min = u64::from(geometry::MIN_CHUNK_SECTORS) * sector;
    let max = u64::from(geometry::MAX_CHUNK_SECTORS) * sector;
    if !chunk_bytes.is_power_of_two() || !(min..=max).contains(&chunk_bytes) {
        return fail(
            2,
            format!(
                "chunk size {} is not a power of two from {} to {}",
                human_size(chunk_bytes),
                human_size(min),
                human_size(max)
            ),
        );
    }
    Ok((chunk_bytes / sector) as u32)
}

/// The geometry for the smallest leg; the others' extra space is unused,
/// which is said rather than done silently.
fn geometry_for(legs: &[Leg], chunk_sectors: u32) -> Result<Geometry, Failure> {
    let smallest = legs
        .iter()
        .min_by_key(|l| l.sectors)
        .expect("clap requires a leg");
    let geometry = Geometry::for_leg(smallest.sectors, chunk_sectors).map_err(|e| match e {
        GeometryError::LegTooSmall { min_sectors, .. } => Failure(
            1,
            format!(
                "{} is too small: {} where a mirror with {} chunks needs at least {}",
                smallest.path.display(),
                human_size(smallest.sectors * SECTOR_SIZE as u64),
                human_size(u64::from(chunk_sectors) * SECTOR_SIZE as u64),
                human_size(min_sectors * SECTOR_SIZE as u64)
            ),
        ),
        e => Failure(1, format!("cannot create: {e}")),
    })?;
    for leg in legs.iter().filter(|l| l.sectors > smallest.sectors) {
        eprintln!(
            "mirrorctl: {} is larger than {} ({} against {}): the mirror uses the size of the smallest leg",
            leg.path.display(),
            smallest.path.display(),
            human_size(leg.sectors * SECTOR_SIZE as u64),
            human_size(smallest.sectors * SECTOR_SIZE as u64)
        );
    }
    Ok(geometry)
}

/// Bytes as a person writes them: the largest unit that divides them
/// exactly (1M, 64K, 1536K), else bytes.
pub fn human_size(bytes: u64) -> String {
    let units = [
        (1u64 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    units
        .iter()
        .find(|(unit, _)| bytes >= *unit && bytes % unit == 0)
        .map_or(
            format!("{bytes} byte{}", if bytes == 1 { "" } else { "s" }),
            |(unit, name)| format!("{}{name}", bytes / unit),
        )
}

/// The dmsetup table line for these legs in the native syntax.
fn dmsetup_table(data_sectors: u64, paths: &[PathBuf]) -> String {
    let legs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    format!("0 {data_sectors} mirror {} {}", legs.len(), legs.join(" "))
}
