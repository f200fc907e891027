// SPDX-License-Identifier: GPL-2.0

//! Tests of the shared format code (`drivers/block/bootcache/format/`).

use std::mem::discriminant;

use bootcache::format::{self, *};
use bootcache::malformed;
use proptest::prelude::*;

fn vol(id: VolumeId, block_size: u32) -> Volume {
    Volume {
        id,
        record_count: 0,
        bytes: 0,
        block_size,
    }
}

fn playlist_bytes(vols: &[Volume], exts: &[Extent]) -> Result<Vec<u8>, Error> {
    let size = file_size(Format::Playlist, vols.len() as u32, exts.len() as u32) as usize;
    let mut buf = vec![0u8; size];
    let n = write_playlist(&mut buf, vols, exts)?;
    assert_eq!(n, size);
    Ok(buf)
}

#[test]
fn crc32c_check_value() {
    assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    assert_eq!(crc32c(b""), 0);
    let mut c = !0;
    c = crc32c_update(c, b"1234");
    c = crc32c_update(c, b"56789");
    assert_eq!(!c, 0xe306_9283);
}

#[test]
fn base_samples_are_valid() {
    let p = malformed::encode_playlist(&malformed::base_volumes(), &malformed::base_extents());
    let pl = Playlist::parse(&p).unwrap();
    assert_eq!(pl.volume_count(), 2);
    assert_eq!(pl.extent_count(), 3);
    assert_eq!(pl.batch_count(), 2);
    assert_eq!(pl.total_bytes(), 16384);
    let v0: Vec<_> = pl.volume_extents(0).unwrap().collect();
    let v1: Vec<_> = pl.volume_extents(1).unwrap().collect();
    assert_eq!(v0.len(), 2);
    assert_eq!(v1.len(), 1);
    assert_eq!(v1[0].offset, 4096);
    assert!(pl.volume_extents(2).is_none());
    assert!(pl.volume(2).is_none());
    let h = malformed::encode_history(
        &malformed::base_history_volumes(),
        &malformed::base_entries(),
    );
    let hi = History::parse(&h).unwrap();
    assert_eq!(hi.entry_count(), 4);
    assert_eq!(hi.header().extra, 1);
    assert_eq!(hi.header().bytes, 4096 + 1024);
    assert_eq!(Format::detect(&h), Some(Format::History));
    assert_eq!(Format::detect(&p), Some(Format::Playlist));
}

#[test]
fn empty_playlist_and_history_are_valid() {
    let p = playlist_bytes(&[], &[]).unwrap();
    assert_eq!(p.len(), 40);
    let pl = Playlist::parse(&p).unwrap();
    assert_eq!(pl.extents().count(), 0);
    let mut buf = [0u8; 40];
    assert_eq!(write_history(&mut buf, HISTORY_TRUNCATED, &[], &[]), Ok(40));
    assert!(History::parse(&buf).unwrap().is_truncated());
}

#[test]
fn every_malformed_sample_has_its_own_error() {
    let samples = malformed::samples();
    assert!(samples.len() >= 20, "{} samples", samples.len());
    let mut seen: Vec<(std::mem::Discriminant<Error>, Format, &str)> = Vec::new();
    for s in &samples {
        let err = match s.format {
            Format::Playlist => Playlist::parse(&s.bytes).map(|_| ()),
            Format::History => History::parse(&s.bytes).map(|_| ()),
        }
        .expect_err(s.name);
        let d = discriminant(&err);
        if let Some((_, _, other)) = seen.iter().find(|(e, f, _)| *e == d && *f == s.format) {
            panic!(
                "{} and {} give the same kind of error: {err}",
                s.name, other
            );
        }
        seen.push((d, s.format, s.name));
        let msg = err.to_string();
        assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
    }
    // Every validation variant is produced by some sample.
    assert_eq!(seen.len(), samples.len());
}

#[test]
fn malformed_sample_messages_name_the_record() {
    let by_name = |n: &str| {
        let s = malformed::samples()
            .into_iter()
            .find(|s| s.name == n)
            .unwrap();
        match s.format {
            Format::Playlist => Playlist::parse(&s.bytes).unwrap_err(),
            Format::History => History::parse(&s.bytes).unwrap_err(),
        }
    };
    assert_eq!(
        by_name("misaligned").to_string(),
        "extent 2: offset 4097 is not a multiple of 512"
    );
    assert_eq!(
        by_name("misaligned"),
        Error::Misaligned {
            record: Record::Extent(2),
            field: Field::Offset,
            value: 4097,
            align: 512
        }
    );
    assert_eq!(
        by_name("overlapping"),
        Error::Overlap {
            extent: 1,
            offset: 4096,
            previous_end: 8192
        }
    );
    assert_eq!(
        by_name("zero-length").to_string(),
        "extent 1: length is zero"
    );
}

/// Prints every malformed sample's message (`cargo test -- --ignored --nocapture`).
#[test]
#[ignore]
fn print_malformed_messages() {
    for (i, s) in malformed::samples().iter().enumerate() {
        let err = match s.format {
            Format::Playlist => Playlist::parse(&s.bytes).map(|_| ()),
            Format::History => History::parse(&s.bytes).map(|_| ()),
        }
        .unwrap_err();
        println!("{:2} {:30} {err}", i + 1, s.name);
    }
}

#[test]
fn short_and_foreign_inputs() {
    assert_eq!(
        Playlist::parse(&[]).unwrap_err(),
        Error::Truncated { len: 0, need: 40 }
    );
    assert_eq!(
        Playlist::parse(b"BCPL").unwrap_err(),
        Error::Truncated { len: 4, need: 40 }
    );
    assert_eq!(
        History::parse(b"ELF\x7f and more").unwrap_err(),
        Error::BadMagic { found: 0x7f46_4c45 }
    );
    assert!(matches!(
        History::parse(&playlist_bytes(&[], &[]).unwrap()),
        Err(Error::WrongFormat {
            expected: Format::History,
            found: Format::Playlist
        })
    ));
}

#[test]
fn writers_report_small_buffers() {
    let vols = [vol(VolumeId::Root, 4096)];
    let exts = [Extent {
        offset: 0,
        length: 4096,
        volume: 0,
        flags: 0,
        batch: 0,
    }];
    let mut buf = [0u8; 100];
    assert_eq!(
        write_playlist(&mut buf, &vols, &exts),
        Err(Error::BufferTooSmall {
            need: 104,
            have: 100
        })
    );
    assert!(seal(&mut buf[..39]).is_err());
    assert!(exts[0].write_to(&mut buf[..23]).is_err());
    assert!(vols[0].write_to(&mut buf[..39]).is_err());
    assert!(Entry::tag(0, 0).write_to(&mut buf[..31]).is_err());
    // A writer refuses to produce an invalid file.
    let bad = [Extent {
        length: 0,
        ..exts[0]
    }];
    let mut buf = [0u8; 104];
    assert!(matches!(
        write_playlist(&mut buf, &vols, &bad),
        Err(Error::ZeroLength { .. })
    ));
}

#[test]
fn kernel_style_history_assembly() {
    // The kernel writes the header, volumes and entries piecewise, then seals.
    let vols = [vol(VolumeId::Root, 512)];
    let entries = [
        Entry {
            offset: 512,
            length: 1024,
            timestamp_ns: 5,
            pid: 1,
            flags: 0,
            volume: 0,
        },
        Entry::tag(6, 1),
    ];
    let size = file_size(Format::History, 1, 2) as usize;
    let mut buf = vec![0u8; size];
    Header {
        format: Format::History,
        flags: 0,
        checksum: 0,
        volume_count: 1,
        record_count: 2,
        bytes: 1024,
        extra: 1,
    }
    .write_to(&mut buf)
    .unwrap();
    Volume {
        record_count: 1,
        bytes: 1024,
        ..vols[0]
    }
    .write_to(&mut buf[volume_offset(0) as usize..])
    .unwrap();
    for (i, e) in entries.iter().enumerate() {
        let at = record_offset(Format::History, 1, i as u32) as usize;
        e.write_to(&mut buf[at..]).unwrap();
    }
    seal(&mut buf).unwrap();
    let h = History::parse(&buf).unwrap();
    assert_eq!(h.entries().collect::<Vec<_>>(), entries);
    let mut again = vec![0u8; size];
    write_history(&mut again, 0, &vols, &entries).unwrap();
    assert_eq!(again, buf);
}

#[test]
fn volume_ids() {
    let g = VolumeId::parse("00112233-4455-6677-8899-AABBCCDDEEFF").unwrap();
    assert_eq!(
        g,
        VolumeId::Gpt([
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff
        ])
    );
    assert_eq!(g.to_string(), "00112233-4455-6677-8899-aabbccddeeff");
    let m = VolumeId::parse("1234abcd-05").unwrap();
    assert_eq!(
        m,
        VolumeId::Mbr {
            signature: 0x1234_abcd,
            partition: 5
        }
    );
    assert_eq!(m.to_string(), "1234abcd-05");
    let (t, raw) = m.to_raw();
    assert_eq!(t, VOLUME_MBR);
    assert_eq!(&raw[..5], &[0xcd, 0xab, 0x34, 0x12, 5]);
    assert_eq!(VolumeId::parse("ROOT"), Some(VolumeId::Root));
    for bad in [
        "",
        "1234abcd-00",
        "1234abcd-100",
        "1234abcg-01",
        "00000000-0000-0000-0000-000000000000",
        "00112233-4455-6677-8899+aabbccddeeff",
        "0011223-34455-6677-8899-aabbccddeeff",
        "ü0112233-4455-6677-8899-aabbccddeef",
    ] {
        assert_eq!(VolumeId::parse(bad), None, "{bad}");
    }
}

#[test]
fn partition_disk_volume_ids() {
    let mbr = VolumeId::parse("disk:1234ABCD-05").unwrap();
    assert_eq!(
        mbr,
        VolumeId::MbrDisk {
            signature: 0x1234_abcd,
            partition: 5
        }
    );
    assert_eq!(mbr.to_string(), "disk:1234abcd-05");
    assert_eq!(mbr.partition(), VolumeId::parse("1234abcd-05"));
    assert_eq!(mbr.partition().and_then(VolumeId::disk), Some(mbr));
    let (t, raw) = mbr.to_raw();
    assert_eq!((t, VOLUME_MBR_DISK), (5, 5));
    assert_eq!(&raw[..5], &[0xcd, 0xab, 0x34, 0x12, 5]);
    assert_eq!(&raw[5..], &[0; 11]);
    assert_eq!(VolumeId::from_raw(t, &raw), Some(mbr));

    let text = "disk:00112233-4455-6677-8899-aabbccddeeff";
    let gpt = VolumeId::parse(text).unwrap();
    assert_eq!(gpt.to_string(), text);
    let (t, raw) = gpt.to_raw();
    assert_eq!((t, VOLUME_GPT_DISK), (4, 4));
    assert_eq!(raw[0], 0x00);
    assert_eq!(raw[15], 0xff);
    assert_eq!(VolumeId::from_raw(t, &raw), Some(gpt));
    assert_eq!(gpt.partition().map(|p| p.to_raw()), Some((VOLUME_GPT, raw)));

    // Offsets are the disk's; the partitions, the root and a medium have no disk of this
    // kind, and a disk has no disk.
    assert!(mbr.is_whole_disk() && gpt.is_whole_disk());
    assert!(!VolumeId::parse("1234abcd-05").unwrap().is_whole_disk());
    assert_eq!(VolumeId::Root.disk(), None);
    assert_eq!(mbr.disk(), None);
    assert_eq!(VolumeId::Root.partition(), None);
    let iso = VolumeId::parse("iso9660:2026-11-30-04-00-00-00:1a2b3c4d").unwrap();
    assert_eq!(iso.disk(), None);

    // The ids a partition may not have, its disk may not have either.
    assert_eq!(VolumeId::from_raw(VOLUME_GPT_DISK, &[0; 16]), None);
    let mut p0 = [0u8; 16];
    p0[0] = 1;
    assert_eq!(VolumeId::from_raw(VOLUME_MBR_DISK, &p0), None);
    assert_eq!(VolumeId::from_raw(6, &raw), None);
    for bad in [
        "disk:",
        "disk:root",
        "disk:disk:1234abcd-05",
        "disk:1234abcd-00",
        "disk:iso9660:2026-11-30-04-00-00-00:1a2b3c4d",
        "DISK:1234abcd-05",
    ] {
        assert_eq!(VolumeId::parse(bad), None, "{bad}");
    }
    // A long chain of prefixes is refused without recursing through it.
    let chain = "disk:".repeat(10_000) + "1234abcd-05";
    assert_eq!(VolumeId::parse(&chain), None);
}

/// A primary volume descriptor: type 1, `CD001`, version 1, the label `label` padded with
/// spaces, and the creation date `date` (16 digits) with time zone byte 0.
fn pvd(label: &str, date: &[u8; 16]) -> Vec<u8> {
    let mut p = vec![0u8; ISO9660_PVD_SIZE];
    p[..7].copy_from_slice(b"\x01CD001\x01");
    p[8..40].fill(b' ');
    p[40..72].fill(b' ');
    p[40..40 + label.len()].copy_from_slice(label.as_bytes());
    p[813..829].copy_from_slice(date);
    p
}

#[test]
fn iso9660_volume_ids() {
    let id = VolumeId::parse("iso9660:2026-11-30-04-00-00-00:1a2b3c4d").unwrap();
    assert_eq!(
        id,
        VolumeId::Iso9660 {
            created: 2_026_113_004_000_000,
            label_crc: 0x1a2b_3c4d
        }
    );
    assert_eq!(id.to_string(), "iso9660:2026-11-30-04-00-00-00:1a2b3c4d");
    assert!(id.is_whole_disk());
    assert!(!VolumeId::Root.is_whole_disk());
    assert!(!VolumeId::Gpt([1; 16]).is_whole_disk());
    let (t, raw) = id.to_raw();
    assert_eq!(t, VOLUME_ISO9660);
    assert_eq!(t, 3);
    assert_eq!(&raw[..8], &2_026_113_004_000_000u64.to_le_bytes());
    assert_eq!(&raw[8..12], &[0x4d, 0x3c, 0x2b, 0x1a]);
    assert_eq!(&raw[12..], &[0; 4]);
    assert_eq!(VolumeId::from_raw(t, &raw), Some(id));
    // Upper-case hex is read; the smallest and largest dates round-trip.
    let upper = VolumeId::parse("iso9660:2026-11-30-04-00-00-00:1A2B3C4D").unwrap();
    assert_eq!(upper, id);
    for text in [
        "iso9660:0000-00-00-00-00-00-01:00000000",
        "iso9660:9999-99-99-99-99-99-99:ffffffff",
        "iso9660:1999-12-31-23-59-59-99:00000001",
    ] {
        assert_eq!(VolumeId::parse(text).unwrap().to_string(), text);
    }
    for bad in [
        "iso9660:",
        "iso9660:0000-00-00-00-00-00-00:1a2b3c4d",
        "iso9660:2026-11-30-04-00-00-00:1a2b3c4",
        "iso9660:2026-11-30-04-00-00-00:1a2b3c4d0",
        "iso9660:2026-11-30-04-00-00-00:1a2b3c4g",
        "iso9660:2026-11-30-04-00-00-00:+a2b3c4d",
        "iso9660:2026-11-30-04-00-00-00-1a2b3c4d",
        "iso9660:2026-11-30-04-00-00:1a2b3c4d",
        "iso9660:2026-11-30-04-00-00-000:1a2b3c4d",
        "iso9660:2026-11-30-04-00-00-0:1a2b3c4d",
        "iso9660:2026-11-30 04-00-00-00:1a2b3c4d",
        "iso9660:20261130040000 00:1a2b3c4d",
        "iso9660:2026113004000000:1a2b3c4d",
        "iso9660:+026-11-30-04-00-00-00:1a2b3c4d",
        "iso9660:2026-11-30-04-00-00-00",
        "ISO9660:2026-11-30-04-00-00-00:1a2b3c4d",
        "iso9660 2026-11-30-04-00-00-00:1a2b3c4d",
        "iso9660:2026-11-30-04-00-00-0ü:1a2b3c4d",
    ] {
        assert_eq!(VolumeId::parse(bad), None, "{bad}");
    }
}

#[test]
fn iso9660_raw_ids_are_checked() {
    let raw = |created: u64, crc: u32, tail: [u8; 4]| {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&created.to_le_bytes());
        id[8..12].copy_from_slice(&crc.to_le_bytes());
        id[12..].copy_from_slice(&tail);
        VolumeId::from_raw(VOLUME_ISO9660, &id)
    };
    assert!(raw(1, 0, [0; 4]).is_some());
    assert!(raw(9_999_999_999_999_999, !0, [0; 4]).is_some());
    assert_eq!(raw(0, 5, [0; 4]), None);
    assert_eq!(raw(10_000_000_000_000_000, 5, [0; 4]), None);
    assert_eq!(raw(u64::MAX, 5, [0; 4]), None);
    for i in 0..4 {
        let mut tail = [0; 4];
        tail[i] = 1;
        assert_eq!(raw(2_026_113_004_000_000, 5, tail), None, "byte {}", 12 + i);
    }
    // A playlist with such a volume is refused with the volume's error.
    let vols = [vol(
        VolumeId::Iso9660 {
            created: 2_026_113_004_000_000,
            label_crc: 7,
        },
        2048,
    )];
    let exts = [Extent {
        offset: 0,
        length: 2048,
        volume: 0,
        flags: 0,
        batch: 0,
    }];
    let mut p = playlist_bytes(&vols, &exts).unwrap();
    let at = layout::header::SIZE + layout::volume::ID;
    p[at..at + 8].fill(0);
    seal(&mut p).unwrap();
    let err = Playlist::parse(&p).unwrap_err();
    assert_eq!(
        err,
        Error::VolumeBadId {
            volume: 0,
            id_type: VOLUME_ISO9660
        }
    );
    assert!(err.to_string().contains("ISO 9660"), "{err}");
}

#[test]
fn iso9660_ids_from_a_pvd() {
    let p = pvd("BOOTCACHE_LIVE", b"2026113004000000");
    let mut label = [b' '; 32];
    label[..14].copy_from_slice(b"BOOTCACHE_LIVE");
    let id = VolumeId::from_iso9660_pvd(&p).unwrap();
    assert_eq!(
        id,
        VolumeId::Iso9660 {
            created: 2_026_113_004_000_000,
            label_crc: crc32c(&label)
        }
    );
    assert_eq!(
        id.to_string(),
        format!("iso9660:2026-11-30-04-00-00-00:{:08x}", crc32c(&label))
    );
    // Only the first 829 bytes matter, and the time zone byte does not.
    assert_eq!(VolumeId::from_iso9660_pvd(&p[..829]), Some(id));
    let mut tz = p.clone();
    tz[829] = 8;
    assert_eq!(VolumeId::from_iso9660_pvd(&tz), Some(id));
    // Another label, another date: another id.
    let other = VolumeId::from_iso9660_pvd(&pvd("BOOTCACHE_LIVE2", b"2026113004000000"));
    assert!(other.is_some() && other != Some(id));
    let other = VolumeId::from_iso9660_pvd(&pvd("BOOTCACHE_LIVE", b"2026113004000001"));
    assert!(other.is_some() && other != Some(id));
    // What is not a PVD.
    let broken = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = p.clone();
        f(&mut b);
        VolumeId::from_iso9660_pvd(&b)
    };
    assert_eq!(broken(&|b| b[0] = 2), None, "a supplementary descriptor");
    assert_eq!(broken(&|b| b[0] = 255), None, "a terminator");
    assert_eq!(broken(&|b| b[3] = b'X'), None, "not CD001");
    assert_eq!(broken(&|b| b[6] = 2), None, "version 2");
    assert_eq!(broken(&|b| b[813..829].fill(b'0')), None, "date zero");
    assert_eq!(broken(&|b| b[813..829].fill(0)), None, "no date");
    assert_eq!(broken(&|b| b[828] = b' '), None, "a space in the date");
    assert_eq!(broken(&|b| b[813] = b'-'), None, "a sign in the date");
    assert_eq!(VolumeId::from_iso9660_pvd(&p[..828]), None, "too short");
    assert_eq!(VolumeId::from_iso9660_pvd(&[]), None);
    assert_eq!(VolumeId::from_iso9660_pvd(&[0; 2048]), None);
    // A volume of a playlist: whole-disk extents, 2048-byte blocks.
    let vols = [vol(VolumeId::Root, 4096), vol(id, 2048)];
    let exts = [
        Extent {
            offset: 0,
            length: 4096,
            volume: 0,
            flags: 0,
            batch: 0,
        },
        Extent {
            offset: ISO9660_PVD_OFFSET,
            length: ISO9660_PVD_SIZE as u64,
            volume: 1,
            flags: 0,
            batch: 0,
        },
    ];
    let bytes = playlist_bytes(&vols, &exts).unwrap();
    let pl = Playlist::parse(&bytes).unwrap();
    assert_eq!(pl.volume(1).unwrap().id, id);
}

/// The PVD of an image that xorriso made, if `BOOTCACHE_TEST_ISO` names one: its id must
/// be what blkid shows. Example:
///
/// ```text
/// xorriso -outdev t.iso -volid TEST -volume_date uuid 2026113004000000 -map /etc/hostname /h
/// BOOTCACHE_TEST_ISO=t.iso BOOTCACHE_TEST_ISO_ID="$(blkid -o value -s UUID t.iso)" \
///     cargo test iso9660_id_of_a_real_image
/// ```
#[test]
fn iso9660_id_of_a_real_image() {
    let Ok(path) = std::env::var("BOOTCACHE_TEST_ISO") else {
        return;
    };
    let image = std::fs::read(&path).unwrap();
    let at = ISO9660_PVD_OFFSET as usize;
    let id = VolumeId::from_iso9660_pvd(&image[at..at + ISO9660_PVD_SIZE]).unwrap();
    if let Ok(uuid) = std::env::var("BOOTCACHE_TEST_ISO_ID") {
        assert!(
            id.to_string().starts_with(&format!("iso9660:{uuid}:")),
            "{id}"
        );
    }
}

#[test]
fn layout_constants_are_consistent() {
    use format::layout::*;
    assert_eq!(header::RESERVED + 4, header::SIZE);
    assert_eq!(volume::RESERVED1 + 4, volume::SIZE);
    assert_eq!(extent::RESERVED + 3, extent::SIZE);
    assert_eq!(entry::VOLUME + 2, entry::SIZE);
    assert_eq!(
        fileio_max(),
        file_size(Format::History, MAX_VOLUMES, MAX_HISTORY_ENTRIES)
    );
}

fn fileio_max() -> u64 {
    bootcache::fileio::max_file_size()
}

// ---------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------

fn arb_volume_id() -> impl Strategy<Value = VolumeId> {
    prop_oneof![
        Just(VolumeId::Root),
        any::<[u8; 16]>()
            .prop_filter("non-null", |g| g.iter().any(|&b| b != 0))
            .prop_map(VolumeId::Gpt),
        (any::<u32>(), 1u8..=255).prop_map(|(signature, partition)| VolumeId::Mbr {
            signature,
            partition
        }),
        (1u64..10_000_000_000_000_000, any::<u32>())
            .prop_map(|(created, label_crc)| VolumeId::Iso9660 { created, label_crc }),
        any::<[u8; 16]>()
            .prop_filter("non-null", |g| g.iter().any(|&b| b != 0))
            .prop_map(VolumeId::GptDisk),
        (any::<u32>(), 1u8..=255).prop_map(|(signature, partition)| VolumeId::MbrDisk {
            signature,
            partition
        }),
    ]
}

/// A valid playlist: distinct volumes, each with sorted, disjoint, aligned extents.
fn arb_playlist() -> impl Strategy<Value = (Vec<Volume>, Vec<Extent>)> {
    let volume = (arb_volume_id(), 9u32..=16).prop_flat_map(|(id, shift)| {
        let bs = 1u32 << shift;
        (
            Just(vol(id, bs)),
            prop::collection::vec((0u64..8, 1u64..8, any::<u8>(), any::<bool>()), 1..12),
        )
    });
    prop::collection::vec(volume, 0..5).prop_map(|vs| {
        let mut vols: Vec<Volume> = Vec::new();
        let mut exts = Vec::new();
        for (v, list) in vs {
            if vols.iter().any(|w| w.id == v.id) {
                continue;
            }
            let idx = vols.len() as u16;
            let bs = u64::from(v.block_size);
            let mut at = 0u64;
            for (gap, len, batch, low) in list {
                at += gap * bs;
                exts.push(Extent {
                    offset: at,
                    length: len * bs,
                    volume: idx,
                    flags: if low { EXTENT_LOW_PRIORITY } else { 0 },
                    batch,
                });
                at += len * bs;
            }
            vols.push(v);
        }
        (vols, exts)
    })
}

fn arb_history() -> impl Strategy<Value = (u32, Vec<Volume>, Vec<Entry>)> {
    let vols = prop::collection::vec(arb_volume_id(), 1..4).prop_map(|ids| {
        let mut v: Vec<Volume> = Vec::new();
        for id in ids {
            if !v.iter().any(|w| w.id == id) {
                v.push(vol(id, 512));
            }
        }
        v
    });
    (
        vols,
        prop::collection::vec(
            (0u8..10, 0u64..1000, 1u64..64, 0u64..100, any::<u32>()),
            0..40,
        ),
    )
        .prop_map(|(vols, raw)| {
            let mut ts = 0;
            let n = vols.len() as u64;
            let entries = raw
                .into_iter()
                .map(|(kind, off, len, dt, pid)| {
                    ts += dt;
                    if kind == 0 {
                        return Entry::tag(ts, pid);
                    }
                    let flags = match kind {
                        1 | 2 => ENTRY_WRITE,
                        3 => ENTRY_HIT,
                        4 => ENTRY_HIT | ENTRY_WAITED,
                        _ => 0,
                    };
                    Entry {
                        offset: off * 512,
                        length: len * 512,
                        timestamp_ns: ts,
                        pid,
                        flags,
                        volume: (off % n) as u16,
                    }
                })
                .collect();
            (0, vols, entries)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn playlist_round_trip((vols, exts) in arb_playlist()) {
        let bytes = playlist_bytes(&vols, &exts).unwrap();
        let p = Playlist::parse(&bytes).unwrap();
        prop_assert_eq!(p.extents().collect::<Vec<_>>(), exts.clone());
        let ids: Vec<_> = p.volumes().map(|v| v.id).collect();
        prop_assert_eq!(ids, vols.iter().map(|v| v.id).collect::<Vec<_>>());
        for (i, v) in p.volumes().enumerate() {
            let mine: Vec<_> = exts
                .iter()
                .filter(|x| usize::from(x.volume) == i)
                .copied()
                .collect();
            prop_assert_eq!(v.record_count as usize, mine.len());
            prop_assert_eq!(v.bytes, mine.iter().map(|x| x.length).sum::<u64>());
            prop_assert_eq!(p.volume_extents(i as u32).unwrap().collect::<Vec<_>>(), mine);
        }
        // Writing what was read gives the same bytes.
        let vols2: Vec<_> = p.volumes().collect();
        let exts2: Vec<_> = p.extents().collect();
        prop_assert_eq!(playlist_bytes(&vols2, &exts2).unwrap(), bytes);
    }

    #[test]
    fn history_round_trip((flags, vols, entries) in arb_history()) {
        let size = file_size(Format::History, vols.len() as u32, entries.len() as u32) as usize;
        let mut buf = vec![0u8; size];
        prop_assert_eq!(write_history(&mut buf, flags, &vols, &entries), Ok(size));
        let h = History::parse(&buf).unwrap();
        prop_assert_eq!(h.entries().collect::<Vec<_>>(), entries.clone());
        let tags = entries.iter().filter(|e| e.is_tag()).count() as u32;
        prop_assert_eq!(h.header().extra, tags);
    }

    #[test]
    fn any_corruption_is_rejected(
        (vols, exts) in arb_playlist(),
        pos in any::<prop::sample::Index>(),
        x in 1u8..=255,
    ) {
        let mut bytes = playlist_bytes(&vols, &exts).unwrap();
        let i = pos.index(bytes.len());
        bytes[i] ^= x;
        prop_assert!(Playlist::parse(&bytes).is_err());
    }

    #[test]
    fn resealed_corruption_never_panics(
        (vols, exts) in arb_playlist(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = playlist_bytes(&vols, &exts).unwrap();
        for (pos, v) in edits {
            let i = pos.index(bytes.len());
            bytes[i] = v;
        }
        seal(&mut bytes).unwrap();
        if let Ok(p) = Playlist::parse(&bytes) {
            // Whatever passes must really satisfy the rules.
            let all: Vec<_> = p.extents().collect();
            for w in all.windows(2) {
                prop_assert!(w[0].volume < w[1].volume || w[0].end() <= w[1].offset);
            }
            prop_assert_eq!(all.iter().map(|x| x.length).sum::<u64>(), p.total_bytes());
        } else {
            let msg = Playlist::parse(&bytes).unwrap_err().to_string();
            prop_assert!(!msg.is_empty());
        }
    }

    #[test]
    fn volume_ids_round_trip(id in arb_volume_id()) {
        prop_assert_eq!(VolumeId::parse(&id.to_string()), Some(id));
        let (t, raw) = id.to_raw();
        prop_assert_eq!(VolumeId::from_raw(t, &raw), Some(id));
    }

    #[test]
    fn volume_text_never_panics(
        s in "(iso9660:)?[0-9a-fA-F:-]{0,40}",
        pvd in prop::collection::vec(any::<u8>(), 0..900),
    ) {
        if let Some(id) = VolumeId::parse(&s) {
            prop_assert_eq!(id.to_string().to_lowercase(), s.to_lowercase());
        }
        if let Some(id) = VolumeId::from_iso9660_pvd(&pvd) {
            prop_assert!(id.is_whole_disk());
        }
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Playlist::parse(&bytes);
        let _ = History::parse(&bytes);
    }

    #[test]
    fn garbage_with_good_header_never_panics(
        vc in 0u32..4,
        rc in 0u32..6,
        body in prop::collection::vec(any::<u8>(), 0..400),
        hist in any::<bool>(),
    ) {
        let format = if hist { Format::History } else { Format::Playlist };
        let size = file_size(format, vc, rc) as usize;
        let mut bytes = vec![0u8; size];
        Header {
            format,
            flags: 0,
            checksum: 0,
            volume_count: vc,
            record_count: rc,
            bytes: 0,
            extra: 0,
        }
        .write_to(&mut bytes)
        .unwrap();
        for (d, s) in bytes[40..].iter_mut().zip(body) {
            *d = s;
        }
        seal(&mut bytes).unwrap();
        let _ = Playlist::parse(&bytes);
        let _ = History::parse(&bytes);
    }
}
