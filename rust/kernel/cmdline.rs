// SPDX-License-Identifier: GPL-2.0

//! The kernel command line, and finding a parameter's value in it.
//!
//! [`get`] looks a parameter up in the command line the kernel booted with
//! (`saved_command_line`, as `/proc/cmdline` shows it). [`find`] does the
//! same on any command line, and [`Params`] walks one parameter at a time.
//!
//! Parameters are split by the kernel's own `next_arg()`, as `parse_args()`
//! splits them for `__setup()` handlers and module parameters: at spaces
//! outside double quotes; `name=value` has a value, a bare `name` has none,
//! and quotes around the value (`name="a b"`) or around the whole parameter
//! (`"name=a b"`) are not part of it. A `--` ends the kernel's parameters:
//! what follows is for init and is ignored. Names are compared by
//! `parameq()`: `-` and `_` are the same, as for module parameters.
//!
//! `next_arg()` splits a line in place, so each walk works on a copy of the
//! line; the parameters it hands out are slices of the line itself.
//!
//! C header: [`include/linux/init.h`](srctree/include/linux/init.h)
//!
//! # Examples
//!
//! ```
//! use kernel::{c_str, cmdline};
//!
//! let line = b"ro xbootcache=no bootcache=first quiet bootcache=\"a b\" -- bootcache=init";
//! // The last one before `--` wins; prefixes of other names do not match.
//! assert_eq!(cmdline::find(line, c_str!("bootcache"))?, Some(&b"a b"[..]));
//! assert_eq!(cmdline::find(line, c_str!("boot"))?, None);
//! // A bare parameter has an empty value.
//! assert_eq!(cmdline::find(line, c_str!("quiet"))?, Some(&b""[..]));
//!
//! // The real command line: whatever it holds, it splits into parameters.
//! let line = cmdline::saved();
//! assert_eq!(cmdline::get(c_str!("bootcache"))?, cmdline::find(line, c_str!("bootcache"))?);
//! # Ok::<(), Error>(())
//! ```

use crate::{
    alloc::{flags::GFP_KERNEL, KVec},
    bindings,
    error::Result,
    ffi::c_char,
    str::CStr,
};

/// Returns the command line the kernel booted with.
///
/// It includes any parameters from bootconfig, and what follows `--`.
pub fn saved() -> &'static [u8] {
    // SAFETY: `saved_command_line` is set in `start_kernel()`, before any
    // Rust code runs, and is `__ro_after_init`.
    let ptr = unsafe { bindings::saved_command_line };
    if ptr.is_null() {
        return &[];
    }
    // SAFETY: `ptr` points to a NUL-terminated string allocated at boot,
    // which is neither freed nor changed afterwards.
    unsafe { CStr::from_char_ptr(ptr) }.as_bytes()
}

/// Returns the value of the last parameter called `name` on the kernel's
/// command line, before any `--`.
///
/// `name=value` gives `value` (without surrounding quotes); a bare `name`
/// and `name=` give an empty value. Use [`Params`] over [`saved`] to tell
/// those two apart.
///
/// # Errors
///
/// `ENOMEM` if there is no memory for a copy of the command line.
pub fn get(name: &CStr) -> Result<Option<&'static [u8]>> {
    find(saved(), name)
}

/// Returns the value of the last parameter called `name` in `cmdline`,
/// before any `--`, as [`get`] does for the kernel's command line.
///
/// # Examples
///
/// ```
/// use kernel::{c_str, cmdline::find};
///
/// let name = c_str!("bootcache");
/// assert_eq!(find(b"", name)?, None);
/// assert_eq!(find(b"bootcache", name)?, Some(&b""[..]));
/// assert_eq!(find(b"bootcache=", name)?, Some(&b""[..]));
/// assert_eq!(find(b"  bootcache=on\n", name)?, Some(&b"on"[..]));
/// assert_eq!(find(b"bootcache=a bootcache=b", name)?, Some(&b"b"[..]));
/// assert_eq!(find(b"bootcache=a bootcache", name)?, Some(&b""[..]));
/// assert_eq!(find(b"xbootcache=a bootcachex=b boot_cache=c", name)?, None);
/// assert_eq!(find(b"bootcache=\"x=1 y=2\" z", name)?, Some(&b"x=1 y=2"[..]));
/// assert_eq!(find(b"\"bootcache=x y\" z", name)?, Some(&b"x y"[..]));
/// assert_eq!(find(b"bootcache==x", name)?, Some(&b"=x"[..]));
/// assert_eq!(find(b"ro -- bootcache=x", name)?, None);
/// assert_eq!(find(b"bootcache=a --x bootcache=b", name)?, Some(&b"b"[..]));
/// assert_eq!(find(b"bootcache=a -- bootcache=b", name)?, Some(&b"a"[..]));
/// assert_eq!(find(b"rd.udev=1 rd-udev=2", c_str!("rd_udev"))?, Some(&b"2"[..]));
/// // An unterminated quote runs to the end.
/// assert_eq!(find(b"bootcache=\"a b", name)?, Some(&b"a b"[..]));
/// # Ok::<(), Error>(())
/// ```
pub fn find<'a>(cmdline: &'a [u8], name: &CStr) -> Result<Option<&'a [u8]>> {
    let mut params = Params::new(cmdline)?;
    let mut found = None;
    while let Some((param, value)) = params.next_raw() {
        // SAFETY: `next_raw` returns a NUL-terminated name in the copy that
        // `params` owns, which is not changed until its next call; `name` is
        // NUL-terminated.
        if unsafe { bindings::parameq(param, name.as_char_ptr()) } {
            found = Some(value.map_or(&[][..], |value| params.bytes_at(value)));
        }
    }
    Ok(found)
}

/// A parameter of a command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// The name: what comes before the first `=`.
    pub name: &'a [u8],
    /// The value: what comes after the first `=`, without surrounding quotes;
    /// `None` if there is no `=`.
    pub value: Option<&'a [u8]>,
}

/// An iterator over the parameters of a command line, up to any `--`.
///
/// # Examples
///
/// ```
/// use kernel::cmdline::{Param, Params};
///
/// let mut params = Params::new(b" root=/dev/vda1  \"a=b c\" single -- init-arg")?;
/// assert_eq!(params.next(), Some(Param { name: b"root", value: Some(b"/dev/vda1") }));
/// assert_eq!(params.next(), Some(Param { name: b"a", value: Some(b"b c") }));
/// assert_eq!(params.next(), Some(Param { name: b"single", value: None }));
/// assert_eq!(params.next(), None);
/// # Ok::<(), Error>(())
/// ```
///
/// # Invariants
///
/// `buf` is a copy of `line` followed by a NUL, with the NULs `next_arg()`
/// wrote in it, and `rest` is the offset in `buf` of what is left to split:
/// a NUL-terminated string within `buf`.
pub struct Params<'a> {
    line: &'a [u8],
    buf: KVec<u8>,
    rest: usize,
}

impl<'a> Params<'a> {
    /// Starts walking the parameters of `cmdline`, up to its first NUL if it
    /// has one.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if there is no memory for a copy of `cmdline`.
    pub fn new(cmdline: &'a [u8]) -> Result<Self> {
        let len = cmdline
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(cmdline.len());
        let line = &cmdline[..len];
        let mut buf = KVec::with_capacity(len + 1, GFP_KERNEL)?;
        buf.extend_from_slice(line, GFP_KERNEL)?;
        buf.push(0, GFP_KERNEL)?;
        // SAFETY: `buf` holds a NUL-terminated string; `skip_spaces()` only
        // reads it and returns a pointer into it.
        let start = unsafe { bindings::skip_spaces(buf.as_ptr().cast()) };
        // INVARIANT: `buf` is `line` and a NUL, and `rest` is the offset of a
        // suffix of that string.
        Ok(Self {
            line,
            rest: start as usize - buf.as_ptr() as usize,
            buf,
        })
    }

    /// Splits off the next parameter with `next_arg()`, and returns its name
    /// and value (`None` without an `=`) as NUL-terminated strings in `buf`,
    /// which stay as they are until the next call. Returns `None` at the end
    /// of the line and at `--`.
    fn next_raw(&mut self) -> Option<(*const c_char, Option<*const c_char>)> {
        if self.buf.get(self.rest).copied().unwrap_or(0) == 0 {
            return None;
        }
        let base = self.buf.as_mut_ptr();
        let mut param = core::ptr::null_mut();
        let mut value = core::ptr::null_mut();
        // SAFETY: By the type invariant, `base + rest` is a NUL-terminated
        // string within `buf`, which we own. `next_arg()` writes NULs only
        // within that string, and returns a pointer to its unsplit rest and
        // sets `param` and `value` (or `value` to null) to strings within it.
        let rest =
            unsafe { bindings::next_arg(base.add(self.rest).cast(), &mut param, &mut value) };
        // INVARIANT: `next_arg()` returns a suffix of the string it split.
        self.rest = rest as usize - base as usize;
        let value = (!value.is_null()).then_some(value.cast_const());
        if value.is_none() && self.bytes_at(param) == b"--" {
            // What follows is for init.
            self.rest = self.line.len();
            return None;
        }
        Some((param.cast_const(), value))
    }

    /// Returns the bytes of the line that the NUL-terminated string at `ptr`,
    /// a string `next_raw` returned, was split from.
    fn bytes_at(&self, ptr: *const c_char) -> &'a [u8] {
        let start = (ptr as usize)
            .wrapping_sub(self.buf.as_ptr() as usize)
            .min(self.line.len());
        let len = self.buf[start..].iter().position(|&c| c == 0).unwrap_or(0);
        &self.line[start..start + len]
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        let (param, value) = self.next_raw()?;
        Some(Param {
            name: self.bytes_at(param),
            value: value.map(|value| self.bytes_at(value)),
        })
    }
}
