// SPDX-License-Identifier: GPL-2.0

//! Compiles a C program against `include/uapi/linux/bootcache.h` and checks that every
//! size, offset and constant matches the Rust side.

use std::path::PathBuf;
use std::process::Command;

use bootcache::format::{self, layout};

const PROGRAM: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include <linux/bootcache.h>

#define S(t) printf("sizeof %s %zu\n", #t, sizeof(struct t))
#define O(t, f) printf("offsetof %s.%s %zu\n", #t, #f, offsetof(struct t, f))
#define C(c) printf("const %s %llu\n", #c, (unsigned long long)(c))

int main(void)
{
	S(bootcache_playlist_header);
	O(bootcache_playlist_header, magic);
	O(bootcache_playlist_header, version);
	O(bootcache_playlist_header, header_size);
	O(bootcache_playlist_header, flags);
	O(bootcache_playlist_header, checksum);
	O(bootcache_playlist_header, volume_count);
	O(bootcache_playlist_header, extent_count);
	O(bootcache_playlist_header, total_bytes);
	O(bootcache_playlist_header, batch_count);
	O(bootcache_playlist_header, reserved);
	S(bootcache_history_header);
	O(bootcache_history_header, magic);
	O(bootcache_history_header, version);
	O(bootcache_history_header, header_size);
	O(bootcache_history_header, flags);
	O(bootcache_history_header, checksum);
	O(bootcache_history_header, volume_count);
	O(bootcache_history_header, entry_count);
	O(bootcache_history_header, read_bytes);
	O(bootcache_history_header, tag_count);
	O(bootcache_history_header, reserved);
	S(bootcache_volume);
	O(bootcache_volume, id_type);
	O(bootcache_volume, reserved0);
	O(bootcache_volume, record_count);
	O(bootcache_volume, id);
	O(bootcache_volume, bytes);
	O(bootcache_volume, block_size);
	O(bootcache_volume, reserved1);
	S(bootcache_extent);
	O(bootcache_extent, offset);
	O(bootcache_extent, length);
	O(bootcache_extent, volume);
	O(bootcache_extent, flags);
	O(bootcache_extent, batch);
	O(bootcache_extent, reserved);
	S(bootcache_history_entry);
	O(bootcache_history_entry, offset);
	O(bootcache_history_entry, length);
	O(bootcache_history_entry, timestamp_ns);
	O(bootcache_history_entry, pid);
	O(bootcache_history_entry, flags);
	O(bootcache_history_entry, volume);
	C(BOOTCACHE_FORMAT_VERSION);
	C(BOOTCACHE_PLAYLIST_MAGIC);
	C(BOOTCACHE_HISTORY_MAGIC);
	C(BOOTCACHE_MAX_VOLUMES);
	C(BOOTCACHE_MAX_EXTENTS);
	C(BOOTCACHE_MAX_BATCHES);
	C(BOOTCACHE_MAX_TOTAL_BYTES);
	C(BOOTCACHE_MAX_HISTORY_ENTRIES);
	C(BOOTCACHE_MAX_VOLUME_BYTES);
	C(BOOTCACHE_SECTOR_SIZE);
	C(BOOTCACHE_MIN_BLOCK_SIZE);
	C(BOOTCACHE_MAX_BLOCK_SIZE);
	C(BOOTCACHE_PLAYLIST_FLAGS_ALL);
	C(BOOTCACHE_HISTORY_TRUNCATED);
	C(BOOTCACHE_HISTORY_FLAGS_ALL);
	C(BOOTCACHE_VOLUME_ROOT);
	C(BOOTCACHE_VOLUME_GPT);
	C(BOOTCACHE_VOLUME_MBR);
	C(BOOTCACHE_VOLUME_ISO9660);
	C(BOOTCACHE_VOLUME_GPT_DISK);
	C(BOOTCACHE_VOLUME_MBR_DISK);
	C(BOOTCACHE_EXTENT_LOW_PRIORITY);
	C(BOOTCACHE_EXTENT_KEEP);
	C(BOOTCACHE_EXTENT_FLAGS_ALL);
	C(BOOTCACHE_ENTRY_HIT);
	C(BOOTCACHE_ENTRY_WRITE);
	C(BOOTCACHE_ENTRY_TAG);
	C(BOOTCACHE_ENTRY_WAITED);
	C(BOOTCACHE_ENTRY_FLAGS_ALL);
	C(BOOTCACHE_NO_VOLUME);
	return 0;
}
"#;

fn expected() -> Vec<(String, u64)> {
    use layout::{entry as le, extent as lx, header as lh, volume as lv};
    let mut v: Vec<(String, u64)> = Vec::new();
    let mut s = |k: &str, n: usize| v.push((k.to_string(), n as u64));
    for (t, count, bytes, extra) in [
        (
            "bootcache_playlist_header",
            "extent_count",
            "total_bytes",
            "batch_count",
        ),
        (
            "bootcache_history_header",
            "entry_count",
            "read_bytes",
            "tag_count",
        ),
    ] {
        s(&format!("sizeof {t}"), lh::SIZE);
        s(&format!("offsetof {t}.magic"), lh::MAGIC);
        s(&format!("offsetof {t}.version"), lh::VERSION);
        s(&format!("offsetof {t}.header_size"), lh::HEADER_SIZE);
        s(&format!("offsetof {t}.flags"), lh::FLAGS);
        s(&format!("offsetof {t}.checksum"), lh::CHECKSUM);
        s(&format!("offsetof {t}.volume_count"), lh::VOLUME_COUNT);
        s(&format!("offsetof {t}.{count}"), lh::COUNT);
        s(&format!("offsetof {t}.{bytes}"), lh::BYTES);
        s(&format!("offsetof {t}.{extra}"), lh::EXTRA);
        s(&format!("offsetof {t}.reserved"), lh::RESERVED);
    }
    let t = "bootcache_volume";
    s(&format!("sizeof {t}"), lv::SIZE);
    s(&format!("offsetof {t}.id_type"), lv::ID_TYPE);
    s(&format!("offsetof {t}.reserved0"), lv::RESERVED0);
    s(&format!("offsetof {t}.record_count"), lv::RECORD_COUNT);
    s(&format!("offsetof {t}.id"), lv::ID);
    s(&format!("offsetof {t}.bytes"), lv::BYTES);
    s(&format!("offsetof {t}.block_size"), lv::BLOCK_SIZE);
    s(&format!("offsetof {t}.reserved1"), lv::RESERVED1);
    let t = "bootcache_extent";
    s(&format!("sizeof {t}"), lx::SIZE);
    s(&format!("offsetof {t}.offset"), lx::OFFSET);
    s(&format!("offsetof {t}.length"), lx::LENGTH);
    s(&format!("offsetof {t}.volume"), lx::VOLUME);
    s(&format!("offsetof {t}.flags"), lx::FLAGS);
    s(&format!("offsetof {t}.batch"), lx::BATCH);
    s(&format!("offsetof {t}.reserved"), lx::RESERVED);
    let t = "bootcache_history_entry";
    s(&format!("sizeof {t}"), le::SIZE);
    s(&format!("offsetof {t}.offset"), le::OFFSET);
    s(&format!("offsetof {t}.length"), le::LENGTH);
    s(&format!("offsetof {t}.timestamp_ns"), le::TIMESTAMP_NS);
    s(&format!("offsetof {t}.pid"), le::PID);
    s(&format!("offsetof {t}.flags"), le::FLAGS);
    s(&format!("offsetof {t}.volume"), le::VOLUME);
    let mut c = |k: &str, n: u64| v.push((format!("const BOOTCACHE_{k}"), n));
    c("FORMAT_VERSION", format::FORMAT_VERSION.into());
    c("PLAYLIST_MAGIC", format::PLAYLIST_MAGIC.into());
    c("HISTORY_MAGIC", format::HISTORY_MAGIC.into());
    c("MAX_VOLUMES", format::MAX_VOLUMES.into());
    c("MAX_EXTENTS", format::MAX_EXTENTS.into());
    c("MAX_BATCHES", format::MAX_BATCHES.into());
    c("MAX_TOTAL_BYTES", format::MAX_TOTAL_BYTES);
    c("MAX_HISTORY_ENTRIES", format::MAX_HISTORY_ENTRIES.into());
    c("MAX_VOLUME_BYTES", format::MAX_VOLUME_BYTES);
    c("SECTOR_SIZE", format::SECTOR_SIZE.into());
    c("MIN_BLOCK_SIZE", format::MIN_BLOCK_SIZE.into());
    c("MAX_BLOCK_SIZE", format::MAX_BLOCK_SIZE.into());
    c("PLAYLIST_FLAGS_ALL", format::PLAYLIST_FLAGS_ALL.into());
    c("HISTORY_TRUNCATED", format::HISTORY_TRUNCATED.into());
    c("HISTORY_FLAGS_ALL", format::HISTORY_FLAGS_ALL.into());
    c("VOLUME_ROOT", format::VOLUME_ROOT.into());
    c("VOLUME_GPT", format::VOLUME_GPT.into());
    c("VOLUME_MBR", format::VOLUME_MBR.into());
    c("VOLUME_ISO9660", format::VOLUME_ISO9660.into());
    c("VOLUME_GPT_DISK", format::VOLUME_GPT_DISK.into());
    c("VOLUME_MBR_DISK", format::VOLUME_MBR_DISK.into());
    c("EXTENT_LOW_PRIORITY", format::EXTENT_LOW_PRIORITY.into());
    c("EXTENT_KEEP", format::EXTENT_KEEP.into());
    c("EXTENT_FLAGS_ALL", format::EXTENT_FLAGS_ALL.into());
    c("ENTRY_HIT", format::ENTRY_HIT.into());
    c("ENTRY_WRITE", format::ENTRY_WRITE.into());
    c("ENTRY_TAG", format::ENTRY_TAG.into());
    c("ENTRY_WAITED", format::ENTRY_WAITED.into());
    c("ENTRY_FLAGS_ALL", format::ENTRY_FLAGS_ALL.into());
    c("NO_VOLUME", format::NO_VOLUME.into());
    v
}

#[test]
fn c_header_matches_rust_layout() {
    let header =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../include/uapi/linux/bootcache.h");
    let dir = std::env::temp_dir().join(format!("bootcache-c-layout-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("linux")).unwrap();
    // Only bootcache.h is taken from the tree; <linux/types.h> comes from the system.
    std::fs::copy(&header, dir.join("linux/bootcache.h")).unwrap();
    std::fs::write(dir.join("layout.c"), PROGRAM).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let exe = dir.join("layout");
    let out = Command::new(&cc)
        .args(["-std=c99", "-Wall", "-Wextra", "-Wpadded", "-Werror", "-I"])
        .arg(&dir)
        .arg(dir.join("layout.c"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run the C compiler");
    assert!(
        out.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    let text = String::from_utf8(run.stdout).unwrap();
    let got: Vec<(String, u64)> = text
        .lines()
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect();
    let want = expected();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want.iter()) {
        assert_eq!(g, w);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
