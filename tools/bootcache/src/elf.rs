// SPDX-License-Identifier: GPL-2.0

//! Finding the bytes of a section, or between two symbols, in an ELF64 file (`vmlinux`),
//! with the `object` crate's ELF reader.
//!
//! The file is read through `object::ReadCache`, which reads only the parts asked for:
//! the headers, the section name table and (as a fallback) the symbol table, so a
//! `vmlinux` with debug info of hundreds of MiB costs a few small reads. The low-level
//! `object::read::elf` API is used, not `object::File`, which would read the whole symbol
//! table up front. Both byte orders are understood; ELF32 files are refused.

use std::fmt;
use std::io::{self, Read, Seek};

use object::elf::{FileHeader64, ELFMAG, SHT_SYMTAB};
use object::read::elf::{FileHeader, SectionHeader, SectionTable, Sym};
use object::{Endianness, FileKind, ReadCache, ReadRef};

/// The file header of an ELF64 file of either byte order.
type Header = FileHeader64<Endianness>;

/// The length of `e_ident`, which says what kind of file it is.
const IDENT_SIZE: usize = 16;

/// Why a file could not be read as ELF64.
#[derive(Debug)]
pub enum Error {
    /// Reading failed.
    Io(io::Error),
    /// Not an ELF file at all.
    NotElf,
    /// An ELF file, but not a 64-bit one.
    NotElf64,
    /// A header or table points outside the file or is inconsistent.
    Malformed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "cannot read: {e}"),
            Error::NotElf => write!(f, "not an ELF file (give vmlinux, not a compressed image)"),
            Error::NotElf64 => write!(f, "not a 64-bit ELF file"),
            Error::Malformed(s) => write!(f, "malformed ELF: {s}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<object::read::Error> for Error {
    fn from(e: object::read::Error) -> Error {
        Error::Malformed(e.to_string())
    }
}

/// An ELF64 file being read.
pub struct Elf<R: Read + Seek> {
    data: ReadCache<R>,
    endian: Endianness,
}

impl<R: Read + Seek> Elf<R> {
    /// Checks that `file` is ELF64 and reads its file header and section headers.
    pub fn parse(mut file: R) -> Result<Elf<R>, Error> {
        // `e_ident` is read here, not through the cache, which would hide why a file
        // that cannot be read at all (a directory, an I/O error) failed.
        let mut ident = [0u8; IDENT_SIZE];
        let got = read_up_to(&mut file, &mut ident)?;
        match FileKind::parse(&ident[..got]) {
            Ok(FileKind::Elf64) => {}
            Ok(FileKind::Elf32) => return Err(Error::NotElf64),
            Err(_) if got < IDENT_SIZE && ident.starts_with(&ELFMAG) => {
                return Err(Error::Malformed("truncated file header".into()))
            }
            Err(_) if ident.starts_with(&ELFMAG) => return Err(Error::NotElf64),
            _ => return Err(Error::NotElf),
        }
        let data = ReadCache::new(file);
        let endian = Header::parse(&data)?.endian()?;
        let elf = Elf { data, endian };
        elf.sections()?;
        Ok(elf)
    }

    /// The section headers and their names (read once; the cache keeps them).
    fn sections(&self) -> Result<SectionTable<'_, Header, &ReadCache<R>>, Error> {
        Ok(Header::parse(&self.data)?.sections(self.endian, &self.data)?)
    }

    /// The bytes of the first section called `name`: `None` if there is none; empty if
    /// it has no bytes in the file.
    pub fn section_data(&self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let sections = self.sections()?;
        let Some((_, s)) = sections.section_by_name(self.endian, name.as_bytes()) else {
            return Ok(None);
        };
        let bytes = s
            .data(self.endian, &self.data)
            .map_err(|e| Error::Malformed(format!("section {name}: {e}")))?;
        Ok(Some(bytes.to_vec()))
    }

    /// The value of each of `names` in the symbol table (`None` for a missing one).
    pub fn symbols(&self, names: &[&str]) -> Result<Vec<Option<u64>>, Error> {
        let table = self
            .sections()?
            .symbols(self.endian, &self.data, SHT_SYMTAB)?;
        let mut out = vec![None; names.len()];
        for sym in table.iter() {
            let Ok(name) = sym.name(self.endian, table.strings()) else {
                continue;
            };
            if let Some(i) = names.iter().position(|n| n.as_bytes() == name) {
                out[i].get_or_insert(sym.st_value(self.endian));
            }
        }
        Ok(out)
    }

    /// The bytes from address `start` to `end`, from the section that holds them.
    pub fn bytes_between(&self, start: u64, end: u64) -> Result<Vec<u8>, Error> {
        if end < start {
            return Err(Error::Malformed(format!(
                "end symbol {end:#x} before start {start:#x}"
            )));
        }
        let e = self.endian;
        let sections = self.sections()?;
        let s = sections
            .iter()
            .find(|s| {
                let addr = s.sh_addr(e);
                addr != 0 && addr <= start && end <= addr.saturating_add(s.sh_size(e))
            })
            .ok_or_else(|| Error::Malformed(format!("no section holds {start:#x}..{end:#x}")))?;
        let len = end - start;
        let Some((offset, _)) = s.file_range(e) else {
            // SHT_NOBITS: zeros when loaded.
            let len = usize::try_from(len)
                .map_err(|_| Error::Malformed(format!("{len} bytes between symbols")))?;
            return Ok(vec![0; len]);
        };
        let at = offset.saturating_add(start - s.sh_addr(e));
        let bytes = (&self.data)
            .read_bytes_at(at, len)
            .map_err(|()| Error::Malformed(format!("{len} bytes at {at} are past the end")))?;
        Ok(bytes.to_vec())
    }
}

/// Reads into `buf` until it is full or the file ends; returns how many bytes were read.
fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    use object::elf::{ELFCLASS64, ELFDATA2LSB};

    const MAGIC: [u8; 4] = ELFMAG;
    const CLASS64: u8 = ELFCLASS64.0;
    const DATA_LSB: u8 = ELFDATA2LSB.0;
    const SHT_SYMTAB: u32 = object::elf::SHT_SYMTAB.0;
    /// The sizes of the ELF64 file header, a section header and a symbol.
    const EHDR_SIZE: usize = 64;
    const SHDR_SIZE: usize = 64;
    const SYM_SIZE: usize = 24;

    /// Builds a small ELF64 little-endian file with the given sections (name, bytes), a
    /// section name table, and optionally a symbol table; for tests.
    fn build_test_elf(sections: &[(&str, &[u8])], symbols: &[(&str, u64)]) -> Vec<u8> {
        let mut shstrtab = vec![0u8];
        let mut name_at = Vec::new();
        let add_name = |n: &str, t: &mut Vec<u8>| {
            let at = t.len() as u32;
            t.extend_from_slice(n.as_bytes());
            t.push(0);
            at
        };
        for (n, _) in sections {
            name_at.push(add_name(n, &mut shstrtab));
        }
        let shstr_name = add_name(".shstrtab", &mut shstrtab);
        let symtab_name = add_name(".symtab", &mut shstrtab);
        let strtab_name = add_name(".strtab", &mut shstrtab);
        let mut strtab = vec![0u8];
        let mut symtab = vec![0u8; SYM_SIZE];
        for (n, v) in symbols {
            let at = strtab.len() as u32;
            strtab.extend_from_slice(n.as_bytes());
            strtab.push(0);
            let mut s = [0u8; SYM_SIZE];
            s[0..4].copy_from_slice(&at.to_le_bytes());
            s[8..16].copy_from_slice(&v.to_le_bytes());
            symtab.extend_from_slice(&s);
        }
        let mut file = vec![0u8; EHDR_SIZE];
        // (name, type, addr, offset, size, link)
        let mut headers: Vec<(u32, u32, u64, u64, u64, u32)> = vec![(0, 0, 0, 0, 0, 0)];
        let mut addr = 0xffff_ffff_8100_0000u64;
        let place = |file: &mut Vec<u8>, bytes: &[u8]| {
            while file.len() & 7 != 0 {
                file.push(0);
            }
            let off = file.len() as u64;
            file.extend_from_slice(bytes);
            off
        };
        for (i, (_, bytes)) in sections.iter().enumerate() {
            let off = place(&mut file, bytes);
            headers.push((name_at[i], 1, addr, off, bytes.len() as u64, 0));
            addr += (bytes.len() as u64 + 0xfff) & !0xfff;
        }
        let n = headers.len() as u32;
        let off = place(&mut file, &shstrtab);
        headers.push((shstr_name, 3, 0, off, shstrtab.len() as u64, 0));
        if !symbols.is_empty() {
            let off = place(&mut file, &symtab);
            headers.push((symtab_name, SHT_SYMTAB, 0, off, symtab.len() as u64, n + 2));
            let off = place(&mut file, &strtab);
            headers.push((strtab_name, 3, 0, off, strtab.len() as u64, 0));
        }
        let shoff = place(&mut file, &[]);
        for (name, kind, addr, off, size, link) in &headers {
            let mut h = [0u8; SHDR_SIZE];
            h[0..4].copy_from_slice(&name.to_le_bytes());
            h[4..8].copy_from_slice(&kind.to_le_bytes());
            h[16..24].copy_from_slice(&addr.to_le_bytes());
            h[24..32].copy_from_slice(&off.to_le_bytes());
            h[32..40].copy_from_slice(&size.to_le_bytes());
            h[40..44].copy_from_slice(&link.to_le_bytes());
            h[48..56].copy_from_slice(&8u64.to_le_bytes());
            file.extend_from_slice(&h);
        }
        file[..4].copy_from_slice(&MAGIC);
        file[4] = CLASS64;
        file[5] = DATA_LSB;
        file[6] = 1; // EV_CURRENT
        file[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        file[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
        file[20..24].copy_from_slice(&1u32.to_le_bytes());
        file[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
        file[0x34..0x36].copy_from_slice(&(EHDR_SIZE as u16).to_le_bytes());
        file[0x3a..0x3c].copy_from_slice(&(SHDR_SIZE as u16).to_le_bytes());
        file[0x3c..0x3e].copy_from_slice(&(headers.len() as u16).to_le_bytes());
        file[0x3e..0x40].copy_from_slice(&(n as u16).to_le_bytes());
        file
    }

    #[test]
    fn finds_sections_and_symbols() {
        let f = build_test_elf(
            &[
                (".text", b"code"),
                (".init.bootcache_playlist", b"12345678"),
            ],
            &[
                ("__start", 0xffff_ffff_8100_1000),
                ("__end", 0xffff_ffff_8100_1004),
            ],
        );
        let e = Elf::parse(Cursor::new(f)).unwrap();
        assert_eq!(e.sections().unwrap().len(), 6);
        assert_eq!(
            e.section_data(".init.bootcache_playlist").unwrap().unwrap(),
            b"12345678"
        );
        assert_eq!(e.section_data(".text").unwrap().unwrap(), b"code");
        assert!(e.section_data(".data").unwrap().is_none());
        let v = e.symbols(&["__end", "__start", "__nope"]).unwrap();
        assert_eq!(
            v,
            [
                Some(0xffff_ffff_8100_1004),
                Some(0xffff_ffff_8100_1000),
                None
            ]
        );
        assert_eq!(
            e.bytes_between(v[1].unwrap(), v[1].unwrap() + 4).unwrap(),
            b"1234"
        );
        assert!(e.bytes_between(5, 4).is_err());
    }

    #[test]
    fn refuses_what_is_not_elf64() {
        assert!(matches!(
            Elf::parse(Cursor::new(b"MZ\x90\0".to_vec())),
            Err(Error::NotElf)
        ));
        assert!(matches!(
            Elf::parse(Cursor::new(Vec::new())),
            Err(Error::NotElf)
        ));
        let mut f = build_test_elf(&[], &[]);
        f[4] = 1;
        assert!(matches!(Elf::parse(Cursor::new(f)), Err(Error::NotElf64)));
        let f = build_test_elf(&[(".a", b"x")], &[]);
        let short = f[..f.len() - 10].to_vec();
        assert!(matches!(
            Elf::parse(Cursor::new(short)),
            Err(Error::Malformed(_))
        ));
    }
}
