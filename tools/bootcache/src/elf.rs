// SPDX-License-Identifier: GPL-2.0

//! Finding a section of an ELF64 file (`vmlinux`) by name, by reading its section headers.
//!
//! Only the headers, the section name table and (as a fallback) the symbol table are
//! read, so a `vmlinux` with debug info of hundreds of MiB costs a few small reads.
//! Both byte orders are understood; ELF32 files are refused.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

/// `\x7fELF`.
const MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
/// `e_ident[EI_CLASS]` of a 64-bit file.
const CLASS64: u8 = 2;
/// `e_ident[EI_DATA]`: little-endian.
const DATA_LSB: u8 = 1;
/// `e_ident[EI_DATA]`: big-endian.
const DATA_MSB: u8 = 2;
/// The size of the ELF64 file header.
const EHDR_SIZE: usize = 64;
/// The size of an ELF64 section header.
const SHDR_SIZE: usize = 64;
/// The size of an ELF64 symbol.
const SYM_SIZE: usize = 24;
/// A section header type: a symbol table.
const SHT_SYMTAB: u32 = 2;
/// A section header type: occupies no space in the file (`.bss`).
const SHT_NOBITS: u32 = 8;
/// `e_shstrndx` when the real index is in section 0's `sh_link`.
const SHN_XINDEX: u16 = 0xffff;
/// The most section headers read (vmlinux has a few dozen; a damaged count is refused).
const MAX_SECTIONS: u64 = 1 << 16;
/// The largest string or symbol table read.
const MAX_TABLE: u64 = 256 << 20;

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
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::Malformed("truncated".into())
        } else {
            Error::Io(e)
        }
    }
}

/// One section header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Its name.
    pub name: String,
    /// `sh_type`.
    pub kind: u32,
    /// `sh_addr`: its address when loaded.
    pub addr: u64,
    /// `sh_offset`: where its bytes are in the file.
    pub offset: u64,
    /// `sh_size`.
    pub size: u64,
    /// `sh_link`.
    pub link: u32,
}

impl Section {
    /// Whether the section has bytes in the file.
    pub fn has_data(&self) -> bool {
        self.kind != SHT_NOBITS
    }
}

/// An ELF64 file being read.
pub struct Elf<R> {
    file: R,
    big_endian: bool,
    /// The section headers, with their names.
    pub sections: Vec<Section>,
}

impl<R: Read + Seek> Elf<R> {
    /// Reads the file header and the section headers.
    pub fn parse(mut file: R) -> Result<Elf<R>, Error> {
        let mut ehdr = [0u8; EHDR_SIZE];
        let mut got = 0;
        while got < EHDR_SIZE {
            match file.read(&mut ehdr[got..])? {
                0 => break,
                n => got += n,
            }
        }
        if got < 4 || ehdr[..4] != MAGIC {
            return Err(Error::NotElf);
        }
        if got < 5 || ehdr[4] != CLASS64 {
            return Err(Error::NotElf64);
        }
        if got < EHDR_SIZE {
            return Err(Error::Malformed("truncated file header".into()));
        }
        let big_endian = match ehdr[5] {
            DATA_LSB => false,
            DATA_MSB => true,
            d => return Err(Error::Malformed(format!("unknown byte order {d}"))),
        };
        let mut elf = Elf {
            file,
            big_endian,
            sections: Vec::new(),
        };
        let shoff = elf.u64(&ehdr[0x28..]);
        let shentsize = elf.u16(&ehdr[0x3a..]);
        let mut shnum = u64::from(elf.u16(&ehdr[0x3c..]));
        let mut shstrndx = u32::from(elf.u16(&ehdr[0x3e..]));
        if shoff == 0 {
            return Ok(elf);
        }
        if usize::from(shentsize) != SHDR_SIZE {
            return Err(Error::Malformed(format!(
                "section header size {shentsize}, not {SHDR_SIZE}"
            )));
        }
        // Section 0 holds the real count and name-table index when they do not fit.
        let first = elf.read_shdr(shoff)?;
        if shnum == 0 {
            shnum = first.size;
        }
        if shstrndx == u32::from(SHN_XINDEX) {
            shstrndx = first.link;
        }
        if shnum > MAX_SECTIONS {
            return Err(Error::Malformed(format!("{shnum} sections")));
        }
        let mut raw = Vec::with_capacity(shnum as usize);
        for i in 0..shnum {
            raw.push(elf.read_shdr(shoff + i * SHDR_SIZE as u64)?);
        }
        let names = match raw.get(shstrndx as usize) {
            Some(s) if shstrndx != 0 => elf.read_table(s, "section name table")?,
            _ => Vec::new(),
        };
        for (i, mut s) in raw.into_iter().enumerate() {
            let at = s.name.parse::<usize>().unwrap_or(usize::MAX);
            s.name = if i == 0 {
                String::new()
            } else {
                c_string(&names, at)
            };
            elf.sections.push(s);
        }
        Ok(elf)
    }

    fn u16(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }

    fn u32(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn u64(&self, b: &[u8]) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        if self.big_endian {
            u64::from_be_bytes(a)
        } else {
            u64::from_le_bytes(a)
        }
    }

    /// Reads one section header; its name is left as the decimal name offset.
    fn read_shdr(&mut self, at: u64) -> Result<Section, Error> {
        let mut b = [0u8; SHDR_SIZE];
        self.file.seek(SeekFrom::Start(at))?;
        self.file
            .read_exact(&mut b)
            .map_err(|_| Error::Malformed(format!("section header at {at} is past the end")))?;
        Ok(Section {
            name: self.u32(&b[0..]).to_string(),
            kind: self.u32(&b[4..]),
            addr: self.u64(&b[16..]),
            offset: self.u64(&b[24..]),
            size: self.u64(&b[32..]),
            link: self.u32(&b[40..]),
        })
    }

    fn read_table(&mut self, s: &Section, what: &str) -> Result<Vec<u8>, Error> {
        if s.size > MAX_TABLE {
            return Err(Error::Malformed(format!("{what} of {} bytes", s.size)));
        }
        self.read_at(s.offset, s.size, what)
    }

    /// Reads `len` bytes at `offset`.
    pub fn read_at(&mut self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>, Error> {
        let len = usize::try_from(len).map_err(|_| Error::Malformed(format!("{what} too big")))?;
        let mut buf = vec![0u8; len];
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(&mut buf).map_err(|_| {
            Error::Malformed(format!("{what} ({len} bytes at {offset}) is past the end"))
        })?;
        Ok(buf)
    }

    /// The first section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The bytes of the section called `name`: `None` if there is none; empty if it
    /// has no bytes in the file.
    pub fn section_data(&mut self, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let Some(s) = self.section(name).cloned() else {
            return Ok(None);
        };
        if !s.has_data() || s.size == 0 {
            return Ok(Some(Vec::new()));
        }
        self.read_at(s.offset, s.size, name).map(Some)
    }

    /// The value of each of `names` in the symbol table (`None` for a missing one).
    pub fn symbols(&mut self, names: &[&str]) -> Result<Vec<Option<u64>>, Error> {
        let mut out = vec![None; names.len()];
        let Some(symtab) = self.sections.iter().find(|s| s.kind == SHT_SYMTAB).cloned() else {
            return Ok(out);
        };
        let strtab = match self.sections.get(symtab.link as usize).cloned() {
            Some(s) => s,
            None => return Err(Error::Malformed("symbol table without strings".into())),
        };
        let syms = self.read_table(&symtab, "symbol table")?;
        let strs = self.read_table(&strtab, "symbol names")?;
        for sym in syms.chunks_exact(SYM_SIZE) {
            let name = c_string(&strs, self.u32(sym) as usize);
            if let Some(i) = names.iter().position(|n| *n == name) {
                out[i].get_or_insert(self.u64(&sym[8..]));
            }
        }
        Ok(out)
    }

    /// The bytes from address `start` to `end`, from the section that holds them.
    pub fn bytes_between(&mut self, start: u64, end: u64) -> Result<Vec<u8>, Error> {
        if end < start {
            return Err(Error::Malformed(format!(
                "end symbol {end:#x} before start {start:#x}"
            )));
        }
        let s = self
            .sections
            .iter()
            .find(|s| s.addr != 0 && s.addr <= start && end <= s.addr.saturating_add(s.size))
            .cloned()
            .ok_or_else(|| Error::Malformed(format!("no section holds {start:#x}..{end:#x}")))?;
        if !s.has_data() {
            return Ok(vec![0; (end - start) as usize]);
        }
        self.read_at(s.offset + (start - s.addr), end - start, &s.name)
    }
}

/// The NUL-terminated string at `at` in a string table (empty if out of range).
fn c_string(table: &[u8], at: usize) -> String {
    let Some(rest) = table.get(at..) else {
        return String::new();
    };
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

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
        let mut e = Elf::parse(Cursor::new(f)).unwrap();
        assert_eq!(e.sections.len(), 6);
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
