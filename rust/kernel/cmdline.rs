// SPDX-License-Identifier: GPL-2.0

//! The kernel command line, and finding a parameter's value in it.
//!
//! [`get`] looks a parameter up in the command line the kernel booted with
//! (`saved_command_line`, as `/proc/cmdline` shows it). [`find`] does the
//! same on any command line, and [`Params`] walks one parameter at a time.
//!
//! Parameters are split as the kernel's `next_arg()` splits them: at spaces
//! outside double quotes; `name=value` has a value, a bare `name` has none,
//! and quotes around the value (`name="a b"`) or around the whole parameter
//! (`"name=a b"`) are not part of it. A `--` ends the kernel's parameters:
//! what follows is for init and is ignored. In names, `-` and `_` are the
//! same, as for module parameters.
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
//! assert_eq!(cmdline::find(line, c_str!("bootcache")), Some(&b"a b"[..]));
//! assert_eq!(cmdline::find(line, c_str!("boot")), None);
//! // A bare parameter has an empty value.
//! assert_eq!(cmdline::find(line, c_str!("quiet")), Some(&b""[..]));
//!
//! // The real command line: whatever it holds, it splits into parameters.
//! let line = cmdline::saved();
//! assert_eq!(cmdline::get(c_str!("bootcache")), cmdline::find(line, c_str!("bootcache")));
//! ```

use crate::{bindings, str::CStr};

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
pub fn get(name: &CStr) -> Option<&'static [u8]> {
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
/// assert_eq!(find(b"", name), None);
/// assert_eq!(find(b"bootcache", name), Some(&b""[..]));
/// assert_eq!(find(b"bootcache=", name), Some(&b""[..]));
/// assert_eq!(find(b"  bootcache=on\n", name), Some(&b"on"[..]));
/// assert_eq!(find(b"bootcache=a bootcache=b", name), Some(&b"b"[..]));
/// assert_eq!(find(b"bootcache=a bootcache", name), Some(&b""[..]));
/// assert_eq!(find(b"xbootcache=a bootcachex=b boot_cache=c", name), None);
/// assert_eq!(find(b"bootcache=\"x=1 y=2\" z", name), Some(&b"x=1 y=2"[..]));
/// assert_eq!(find(b"\"bootcache=x y\" z", name), Some(&b"x y"[..]));
/// assert_eq!(find(b"bootcache==x", name), Some(&b"=x"[..]));
/// assert_eq!(find(b"ro -- bootcache=x", name), None);
/// assert_eq!(find(b"bootcache=a --x bootcache=b", name), Some(&b"b"[..]));
/// assert_eq!(find(b"bootcache=a -- bootcache=b", name), Some(&b"a"[..]));
/// assert_eq!(find(b"rd.udev=1 rd-udev=2", c_str!("rd_udev")), Some(&b"2"[..]));
/// // An unterminated quote runs to the end.
/// assert_eq!(find(b"bootcache=\"a b", name), Some(&b"a b"[..]));
/// ```
pub fn find<'a>(cmdline: &'a [u8], name: &CStr) -> Option<&'a [u8]> {
    let name = name.as_bytes();
    Params::new(cmdline)
        .filter(|p| param_eq(p.name, name))
        .last()
        .map(|p| p.value.unwrap_or(&[]))
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
/// let mut params = Params::new(b" root=/dev/vda1  \"a=b c\" single -- init-arg");
/// assert_eq!(params.next(), Some(Param { name: b"root", value: Some(b"/dev/vda1") }));
/// assert_eq!(params.next(), Some(Param { name: b"a", value: Some(b"b c") }));
/// assert_eq!(params.next(), Some(Param { name: b"single", value: None }));
/// assert_eq!(params.next(), None);
/// ```
#[derive(Clone, Debug)]
pub struct Params<'a> {
    rest: &'a [u8],
}

impl<'a> Params<'a> {
    /// Starts walking the parameters of `cmdline`.
    pub fn new(cmdline: &'a [u8]) -> Self {
        Self {
            rest: skip_spaces(cmdline),
        }
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        // This follows `next_arg()` in `lib/cmdline.c`, without writing NULs.
        let args = self.rest;
        if args.is_empty() {
            return None;
        }
        let (quoted, args) = match args.split_first() {
            Some((b'"', rest)) => (true, rest),
            _ => (false, args),
        };
        let mut in_quote = quoted;
        let mut equals = None;
        let mut end = args.len();
        for (i, &c) in args.iter().enumerate() {
            if is_space(c) && !in_quote {
                end = i;
                break;
            }
            // As in C, an `=` at the very start does not split (the name
            // then begins with `=`).
            if equals.is_none() && c == b'=' && i > 0 {
                equals = Some(i);
            }
            if c == b'"' {
                in_quote = !in_quote;
            }
        }
        self.rest = skip_spaces(args.get(end + 1..).unwrap_or(&[]));

        let mut param = args.get(..end).unwrap_or(&[]);
        // A closing quote at the end goes with an opening one, of the value
        // or of the whole parameter.
        let mut value = equals.map(|eq| param.get(eq + 1..).unwrap_or(&[]));
        if let Some(eq) = equals {
            param = param.get(..eq).unwrap_or(&[]);
        }
        let closing = end > 0 && args.get(end - 1) == Some(&b'"');
        if let Some(v) = value {
            if let Some((b'"', inner)) = v.split_first() {
                value = Some(strip_closing(inner, closing));
            } else if quoted {
                value = Some(strip_closing(v, closing));
            }
        } else if quoted {
            param = strip_closing(param, closing);
        }

        if value.is_none() && param == b"--" {
            self.rest = &[];
            return None;
        }
        Some(Param { name: param, value })
    }
}

/// Drops the last byte of `s` (a closing `"`) if `closing`.
fn strip_closing(s: &[u8], closing: bool) -> &[u8] {
    match (closing, s.split_last()) {
        (true, Some((b'"', head))) => head,
        _ => s,
    }
}

/// Whether `c` is a space for `isspace()` in the kernel's `ctype`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| !is_space(c)).unwrap_or(s.len());
    s.get(start..).unwrap_or(&[])
}

/// Compares parameter names as `parameq()` does: `-` and `_` are the same.
fn param_eq(a: &[u8], b: &[u8]) -> bool {
    let dash = |c: u8| if c == b'-' { b'_' } else { c };
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| dash(x) == dash(y))
}
