// SPDX-License-Identifier: GPL-2.0

//! Little-endian access that cannot panic, and the CRC-32C of a file.

use super::layout::header as lh;

const fn crc32c_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC32C_TABLE: [u32; 256] = crc32c_table();

/// Continues a CRC-32C computation over `data`.
///
/// Start with `0xffff_ffff` and invert the final value, or use [`crc32c`].
pub fn crc32c_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        // The index is a `u8`, always below the table's 256 entries.
        crc = CRC32C_TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8);
    }
    crc
}

/// Returns the checksum of a whole file: the CRC-32C of `bytes` with the header's checksum
/// field taken as zero.
///
/// A buffer shorter than the header is checksummed as if the missing header bytes were
/// zero; such a buffer is never a valid file.
pub fn file_checksum(bytes: &[u8]) -> u32 {
    let head = bytes.get(..lh::CHECKSUM).unwrap_or(bytes);
    let mut crc = crc32c_update(!0, head);
    crc = crc32c_update(crc, &[0; 4]);
    crc = crc32c_update(crc, bytes.get(lh::CHECKSUM + 4..).unwrap_or(&[]));
    !crc
}

pub(super) fn get_u8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

pub(super) fn get_u16(b: &[u8], off: usize) -> u16 {
    match b.get(off..off.saturating_add(2)).map(<[u8; 2]>::try_from) {
        Some(Ok(a)) => u16::from_le_bytes(a),
        _ => 0,
    }
}

pub(super) fn get_u32(b: &[u8], off: usize) -> u32 {
    match b.get(off..off.saturating_add(4)).map(<[u8; 4]>::try_from) {
        Some(Ok(a)) => u32::from_le_bytes(a),
        _ => 0,
    }
}

pub(super) fn get_u64(b: &[u8], off: usize) -> u64 {
    match b.get(off..off.saturating_add(8)).map(<[u8; 8]>::try_from) {
        Some(Ok(a)) => u64::from_le_bytes(a),
        _ => 0,
    }
}

pub(super) fn put(b: &mut [u8], off: usize, v: &[u8]) {
    if let Some(dst) = b.get_mut(off..off.saturating_add(v.len())) {
        for (d, s) in dst.iter_mut().zip(v) {
            *d = *s;
        }
    }
}

pub(super) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_le_bytes());
}

pub(super) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_le_bytes());
}

pub(super) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    put(b, off, &v.to_le_bytes());
}

pub(super) fn all_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

pub(super) fn reserved_ok(b: &[u8], off: usize, len: usize) -> bool {
    b.get(off..off.saturating_add(len)).is_some_and(all_zero)
}
