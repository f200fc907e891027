// SPDX-License-Identifier: GPL-2.0

//! `bootcache embed`: the copy built into the kernel image, and `--check` of a vmlinux,
//! here a small ELF64 file made by this test.

mod testenv;

use std::fs;

use bootcache::format::*;
use testenv::{no_temp_files, TestEnv};

/// A minimal little-endian ELF64 file: a file header, the given sections (name, bytes,
/// SHT_PROGBITS or SHT_NOBITS) at addresses 1 MiB apart from 0xffffffff82000000, a
/// section name table, a symbol table with `symbols` (name, address) if there are any,
/// and the section header table.
fn elf64_syms(sections: &[(&str, &[u8], u32)], symbols: &[(&str, u64)]) -> Vec<u8> {
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 24];
    for (n, v) in symbols {
        let mut sym = [0u8; 24];
        sym[0..4].copy_from_slice(&(strtab.len() as u32).to_le_bytes());
        sym[4] = 0x11; // STB_GLOBAL, STT_OBJECT
        sym[8..16].copy_from_slice(&v.to_le_bytes());
        symtab.extend_from_slice(&sym);
        strtab.extend_from_slice(n.as_bytes());
        strtab.push(0);
    }
    let mut all: Vec<(&str, &[u8], u32)> = sections.to_vec();
    let first_table = all.len() + 1;
    if !symbols.is_empty() {
        all.push((".symtab", &symtab, 2));
        all.push((".strtab", &strtab, 3));
    }
    let mut names = vec![0u8];
    let mut name_of = Vec::new();
    for (n, _, _) in all.iter().copied().chain([(".shstrtab", &[][..], 3)]) {
        name_of.push(names.len() as u32);
        names.extend_from_slice(n.as_bytes());
        names.push(0);
    }
    all.push((".shstrtab", &names, 3));
    let mut f = vec![0u8; 64];
    let mut shdrs = vec![[0u8; 64]];
    let mut addr = 0xffff_ffff_8200_0000u64;
    for (i, (name, bytes, kind)) in all.iter().enumerate() {
        while f.len() & 15 != 0 {
            f.push(0);
        }
        let loaded = !name.starts_with(".s");
        let mut h = [0u8; 64];
        h[0..4].copy_from_slice(&name_of[i].to_le_bytes());
        h[4..8].copy_from_slice(&kind.to_le_bytes());
        if loaded {
            h[16..24].copy_from_slice(&addr.to_le_bytes());
            addr += 0x10_0000;
        }
        h[24..32].copy_from_slice(&(f.len() as u64).to_le_bytes());
        h[32..40].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        if *name == ".symtab" {
            // sh_link: the symbol names.
            h[40..44].copy_from_slice(&(first_table as u32 + 1).to_le_bytes());
            h[56..64].copy_from_slice(&24u64.to_le_bytes());
        }
        h[48..56].copy_from_slice(&8u64.to_le_bytes());
        shdrs.push(h);
        if *kind != 8 {
            f.extend_from_slice(bytes);
        }
    }
    while f.len() & 7 != 0 {
        f.push(0);
    }
    let shoff = f.len() as u64;
    for h in &shdrs {
        f.extend_from_slice(h);
    }
    f[0..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // ELFCLASS64
    f[5] = 1; // ELFDATA2LSB
    f[6] = 1; // EV_CURRENT
    f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    f[0x34..0x36].copy_from_slice(&64u16.to_le_bytes());
    f[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    f[0x3c..0x3e].copy_from_slice(&(shdrs.len() as u16).to_le_bytes());
    f[0x3e..0x40].copy_from_slice(&((shdrs.len() - 1) as u16).to_le_bytes());
    f
}

fn elf64(sections: &[(&str, &[u8], u32)]) -> Vec<u8> {
    elf64_syms(sections, &[])
}

fn playlist(t: &TestEnv, name: &str) -> Vec<u8> {
    t.ok(&[
        "make-playlist",
        "-o",
        name,
        "-e",
        "root:0:64K",
        "-e",
        "root:1M:8K:1",
        "-e",
        "00112233-4455-6677-8899-aabbccddeeff:4K:4K:2:low",
    ]);
    fs::read(t.path(name)).unwrap()
}

#[test]
fn embed_writes_a_checked_canonical_copy() {
    let t = TestEnv::new("embed");
    let p = playlist(&t, "p");
    let out = t.run(&["embed", "p", "-o", "out/p.bin"]);
    assert_eq!(out.status.code(), Some(1), "no such directory");
    fs::create_dir(t.path("out")).unwrap();
    let out = t.run(&["embed", "p", "-o", "out/p.bin"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "out/p.bin: 2 volumes, 3 extents, 3 batches, 76.0 KiB to read ahead (192 bytes to embed)\n"
    );
    assert_eq!(fs::read(t.path("out/p.bin")).unwrap(), p);
    // The linker aligns the section to 8 bytes; every playlist is a multiple of 8 long.
    assert_eq!(p.len() % 8, 0);
    no_temp_files(&t.path("out"));
}

#[test]
fn embed_refuses_histories_and_bad_playlists() {
    let t = TestEnv::new("embed-bad");
    t.ok(&["gen-history", "-o", "h", "--entries", "10"]);
    let e = t.fails(&["embed", "h", "-o", "x"]);
    assert_eq!(
        e,
        "bootcache: h: a history, not a playlist; make one first with `bootcache convert h -o PLAYLIST`\n"
    );
    t.ok(&["gen-malformed", "bad"]);
    for name in ["01-truncated.playlist", "13-bad-checksum.playlist"] {
        let path = format!("bad/{name}");
        let e = t.fails(&["embed", &path, "-o", "x"]);
        // The same reason `validate` gives.
        let v = t.fails(&["validate", "--format", "playlist", &path]);
        assert_eq!(e, v);
    }
    t.fails(&["embed", "missing", "-o", "x"]);
    assert!(!t.path("x").exists());
    no_temp_files(&t.dir);
    // Usage: an input and an output, or --check alone.
    assert_eq!(t.run(&["embed", "h"]).status.code(), Some(2));
    assert_eq!(
        t.run(&["embed", "h", "-o", "x", "--check", "v"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn embed_warns_about_a_big_playlist() {
    let t = TestEnv::new("embed-big");
    // 700,000 extents of 4 KiB: a 16.0 MiB file.
    let n = 700_000u64;
    let vols = [Volume {
        id: VolumeId::Root,
        record_count: 0,
        bytes: 0,
        block_size: 4096,
    }];
    let xs: Vec<Extent> = (0..n)
        .map(|i| Extent {
            offset: i * 8192,
            length: 4096,
            volume: 0,
            flags: 0,
            batch: 0,
        })
        .collect();
    let mut buf = vec![0u8; file_size(Format::Playlist, 1, n as u32) as usize];
    let len = write_playlist(&mut buf, &vols, &xs).unwrap();
    assert!(len > 16 << 20);
    fs::write(t.path("big"), &buf[..len]).unwrap();
    let out = t.run(&["embed", "big", "-o", "big.bin"]);
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(
        lines[0],
        "bootcache: warning: big: 16.0 MiB is big for a kernel image (it is loaded with the kernel)"
    );
    assert_eq!(fs::read(t.path("big.bin")).unwrap(), &buf[..len]);
    // A small one gives no warning.
    playlist(&t, "p");
    let out = t.run(&["embed", "p", "-o", "p.bin"]);
    assert!(!String::from_utf8(out.stderr).unwrap().contains("warning"));
}

#[test]
fn check_finds_the_embedded_playlist() {
    let t = TestEnv::new("embed-check");
    let p = playlist(&t, "p");
    let elf = elf64(&[
        (".text", b"\x90\x90\xc3", 1),
        (".init.bootcache_playlist", &p, 1),
        (".bss", &[0u8; 64], 8),
    ]);
    fs::write(t.path("vmlinux"), &elf).unwrap();
    assert_eq!(
        t.ok(&["embed", "--check", "vmlinux"]),
        "vmlinux: embedded playlist, 192 bytes: 2 volumes, 3 extents, 3 batches, 76.0 KiB to read ahead\n"
    );
    // An empty section, or none, is no playlist.
    fs::write(
        t.path("empty"),
        elf64(&[(".text", b"\xc3", 1), (".init.bootcache_playlist", b"", 1)]),
    )
    .unwrap();
    assert_eq!(
        t.ok(&["embed", "--check", "empty"]),
        "empty: no embedded playlist\n"
    );
    fs::write(t.path("none"), elf64(&[(".text", b"\xc3", 1)])).unwrap();
    assert_eq!(
        t.ok(&["embed", "--check", "none"]),
        "none: no embedded playlist\n"
    );
    // A damaged one is reported with the format's reason.
    let mut bad = p.clone();
    bad[60] ^= 1;
    fs::write(
        t.path("bad"),
        elf64(&[(".init.bootcache_playlist", &bad, 1)]),
    )
    .unwrap();
    let e = t.fails(&["embed", "--check", "bad"]);
    assert!(
        e.starts_with(
            "bootcache: bad: the embedded playlist (section .init.bootcache_playlist) is not valid: "
        ),
        "{e}"
    );
    assert!(e.contains("checksum"), "{e}");
}

#[test]
fn check_finds_the_playlist_merged_into_init_data() {
    // The kernel's linker script puts .init.bootcache_playlist inside .init.data,
    // between __bootcache_playlist_start and __bootcache_playlist_end.
    let t = TestEnv::new("embed-initdata");
    let p = playlist(&t, "p");
    let mut init_data = vec![0xaau8; 40];
    init_data.extend_from_slice(&p);
    init_data.extend_from_slice(&[0x55; 24]);
    // .text is at 0xffffffff82000000, .init.data 1 MiB later.
    let base = 0xffff_ffff_8210_0000u64;
    let start = base + 40;
    let end = start + p.len() as u64;
    let sections: [(&str, &[u8], u32); 2] = [(".text", b"\xc3", 1), (".init.data", &init_data, 1)];
    fs::write(
        t.path("vmlinux"),
        elf64_syms(
            &sections,
            &[
                ("_stext", 0xffff_ffff_8200_0000),
                ("__bootcache_playlist_start", start),
                ("__bootcache_playlist_end", end),
            ],
        ),
    )
    .unwrap();
    assert_eq!(
        t.ok(&["embed", "--check", "vmlinux"]),
        "vmlinux: embedded playlist, 192 bytes: 2 volumes, 3 extents, 3 batches, 76.0 KiB to read ahead\n"
    );
    // Empty: the two symbols at the same address.
    fs::write(
        t.path("empty"),
        elf64_syms(
            &sections,
            &[
                ("__bootcache_playlist_start", start),
                ("__bootcache_playlist_end", start),
            ],
        ),
    )
    .unwrap();
    assert_eq!(
        t.ok(&["embed", "--check", "empty"]),
        "empty: no embedded playlist\n"
    );
    // Off by 8 bytes: the format code says what is wrong.
    fs::write(
        t.path("off"),
        elf64_syms(
            &sections,
            &[
                ("__bootcache_playlist_start", start),
                ("__bootcache_playlist_end", end + 8),
            ],
        ),
    )
    .unwrap();
    let e = t.fails(&["embed", "--check", "off"]);
    assert!(
        e.starts_with(
            "bootcache: off: the embedded playlist (__bootcache_playlist_start..__bootcache_playlist_end) is not valid: "
        ),
        "{e}"
    );
}

#[test]
fn check_refuses_what_is_not_elf64() {
    let t = TestEnv::new("embed-notelf");
    let p = playlist(&t, "p");
    assert_eq!(
        t.fails(&["embed", "--check", "p"]),
        "bootcache: p: not an ELF file (give vmlinux, not a compressed image)\n"
    );
    let mut elf32 = elf64(&[(".init.bootcache_playlist", &p, 1)]);
    elf32[4] = 1;
    fs::write(t.path("elf32"), &elf32).unwrap();
    assert_eq!(
        t.fails(&["embed", "--check", "elf32"]),
        "bootcache: elf32: not a 64-bit ELF file\n"
    );
    // Section headers cut off.
    let elf = elf64(&[(".init.bootcache_playlist", &p, 1)]);
    fs::write(t.path("short"), &elf[..elf.len() - 70]).unwrap();
    let e = t.fails(&["embed", "--check", "short"]);
    assert!(e.starts_with("bootcache: short: malformed ELF: "), "{e}");
    let e = t.fails(&["embed", "--check", "missing"]);
    assert!(e.starts_with("bootcache: missing: cannot open"), "{e}");
}
