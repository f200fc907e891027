// SPDX-License-Identifier: GPL-2.0

//! `bootcache plot`: a history as an SVG timeline.
//!
//! Time runs along the x axis and the volume offset up the y axis, one band per volume.
//! Reads are coloured by what happened to them (hit, parked, miss), writes have their own
//! colour, tags are vertical lines, and a playlist's extents are a shaded background on
//! the offset axis (a playlist has no times). Entries are drawn on a grid of small cells
//! (2 px of time by 1 px of offset), and each column's runs of marked cells become one
//! rectangle, so the file stays small however many entries there are: at most one
//! rectangle per cell, usually far fewer.

use std::fmt::Write;

use crate::format::{self, History, Playlist, VolumeId};
use crate::size::{format_bytes, format_count};

/// Width of the whole picture, px.
const WIDTH: u32 = 1200;
/// Left margin (y labels), px.
const LEFT: u32 = 90;
/// Right margin (the legend), px.
const RIGHT: u32 = 230;
/// Top margin (title, tag labels), px.
const TOP: u32 = 64;
/// Bottom margin (x labels), px.
const BOTTOM: u32 = 56;
/// Space between bands, px.
const GAP: u32 = 18;
/// Width of a time cell, px.
const CELL: u32 = 2;
/// Width of the plot area, px.
const PLOT_W: u32 = WIDTH - LEFT - RIGHT;

/// The kinds of marks, in drawing order (later ones are drawn on top).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A read served from the cache without waiting.
    Hit,
    /// A read served from the cache after waiting (parked) for read-ahead.
    Waited,
    /// A read that went to the disk.
    Miss,
    /// A write.
    Write,
}

impl Kind {
    /// All kinds, in drawing order.
    pub const ALL: [Kind; 4] = [Kind::Hit, Kind::Waited, Kind::Miss, Kind::Write];

    /// The kind of a (non-tag) entry.
    pub fn of(flags: u16) -> Kind {
        if flags & format::ENTRY_WRITE != 0 {
            Kind::Write
        } else if flags & format::ENTRY_WAITED != 0 {
            Kind::Waited
        } else if flags & format::ENTRY_HIT != 0 {
            Kind::Hit
        } else {
            Kind::Miss
        }
    }

    /// The SVG group id of its marks.
    pub fn id(self) -> &'static str {
        match self {
            Kind::Hit => "hit",
            Kind::Waited => "waited",
            Kind::Miss => "miss",
            Kind::Write => "write",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Hit => "read: hit",
            Kind::Waited => "read: parked, then hit",
            Kind::Miss => "read: miss",
            Kind::Write => "write",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Kind::Hit => "#2ca02c",
            Kind::Waited => "#ff7f0e",
            Kind::Miss => "#d62728",
            Kind::Write => "#1f4fb4",
        }
    }
}

/// What was drawn, for the command's summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drawn {
    /// Entries of each kind, in [`Kind::ALL`] order.
    pub entries: [u64; 4],
    /// Rectangles of each kind, in [`Kind::ALL`] order.
    pub rects: [u64; 4],
    /// Tags.
    pub tags: u64,
    /// Rectangles of the playlist's extents.
    pub readahead_rects: u64,
}

/// Escapes text for XML.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// A step of 1, 2 or 5 times a power of ten that cuts `span` into about `n` parts.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(f64::MIN_POSITIVE);
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let f = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    f * p
}

/// A tick label with as many decimals as the step needs.
fn tick(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    format!("{v:.decimals$}")
}

/// One band: a volume and the offsets it shows.
struct Band {
    id: VolumeId,
    top: u32,
    height: u32,
    /// The offset at the top of the band, bytes.
    ymax: u64,
}

impl Band {
    /// The rows (from the band's top) that `offset..end` covers, top first.
    fn rows(&self, offset: u64, end: u64) -> (u32, u32) {
        let h = u128::from(self.height);
        let row = |b: u64| {
            let r = (u128::from(b) * h / u128::from(self.ymax)).min(h - 1) as u32;
            self.height - 1 - r
        };
        let last = end.max(offset + 1) - 1;
        (row(last), row(offset))
    }
}

/// A grid of cells of one band and one kind.
struct Grid {
    cols: u32,
    rows: u32,
    cells: Vec<bool>,
}

impl Grid {
    fn new(cols: u32, rows: u32) -> Grid {
        Grid {
            cols,
            rows,
            cells: vec![false; (cols * rows) as usize],
        }
    }

    fn mark(&mut self, col: u32, top: u32, bottom: u32) {
        for r in top..=bottom.min(self.rows - 1) {
            self.cells[(col * self.rows + r) as usize] = true;
        }
    }

    /// Emits each column's runs as rectangles; returns how many.
    fn emit(&self, out: &mut String, left: u32, band_top: u32, width: u32) -> u64 {
        let mut n = 0;
        for c in 0..self.cols {
            let col = &self.cells[(c * self.rows) as usize..((c + 1) * self.rows) as usize];
            let mut r = 0;
            while r < self.rows {
                if !col[r as usize] {
                    r += 1;
                    continue;
                }
                let start = r;
                while r < self.rows && col[r as usize] {
                    r += 1;
                }
                let _ = writeln!(
                    out,
                    r#"<rect x="{}" y="{}" width="{width}" height="{}"/>"#,
                    left + c * width,
                    band_top + start,
                    r - start
                );
                n += 1;
            }
        }
        n
    }
}

/// Draws `history` (and the extents of `playlist`) as an SVG document.
pub fn svg(history: &History<'_>, playlist: Option<&Playlist<'_>>, title: &str) -> (String, Drawn) {
    let mut drawn = Drawn::default();
    // Bands: the history's volumes, then the playlist's other volumes.
    let mut ids: Vec<VolumeId> = history.volumes().map(|v| v.id).collect();
    if let Some(p) = playlist {
        for v in p.volumes() {
            if !ids.contains(&v.id) {
                ids.push(v.id);
            }
        }
    }
    if ids.is_empty() {
        ids.push(VolumeId::Root);
    }
    let mut ymax = vec![1u64 << 20; ids.len()];
    let band_of_history: Vec<usize> = history
        .volumes()
        .map(|v| ids.iter().position(|i| *i == v.id).unwrap_or(0))
        .collect();
    let band_of_playlist: Vec<usize> = playlist
        .map(|p| {
            p.volumes()
                .map(|v| ids.iter().position(|i| *i == v.id).unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    let mut tmax_ns = 0u64;
    for e in history.entries() {
        tmax_ns = tmax_ns.max(e.timestamp_ns);
        if !e.is_tag() {
            if let Some(&b) = band_of_history.get(usize::from(e.volume)) {
                ymax[b] = ymax[b].max(e.end());
            }
        }
    }
    if let Some(p) = playlist {
        for x in p.extents() {
            if let Some(&b) = band_of_playlist.get(usize::from(x.volume)) {
                ymax[b] = ymax[b].max(x.end());
            }
        }
    }
    let n = ids.len() as u32;
    let band_h = (480 / n).clamp(60, 300);
    let plot_h = n * band_h + (n - 1) * GAP;
    let height = TOP + plot_h + BOTTOM;
    let bands: Vec<Band> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Band {
            id: *id,
            top: TOP + i as u32 * (band_h + GAP),
            height: band_h,
            ymax: ymax[i],
        })
        .collect();
    // The time axis ends just after the last entry.
    let t_max = (tmax_ns as f64 / 1e9).max(1e-3) * 1.01;
    let t_step = nice_step(t_max, 10.0);
    let cols = PLOT_W / CELL;
    let col_of = |ns: u64| (((ns as f64 / 1e9) / t_max * f64::from(cols)) as u32).min(cols - 1);
    let x_of = |s: f64| f64::from(LEFT) + s / t_max * f64::from(PLOT_W);

    let mut grids: Vec<Vec<Grid>> = bands
        .iter()
        .map(|b| {
            Kind::ALL
                .iter()
                .map(|_| Grid::new(cols, b.height))
                .collect()
        })
        .collect();
    let mut tags = Vec::new();
    for e in history.entries() {
        if e.is_tag() {
            tags.push(e.timestamp_ns);
            continue;
        }
        let Some(&b) = band_of_history.get(usize::from(e.volume)) else {
            continue;
        };
        let k = Kind::of(e.flags);
        let ki = Kind::ALL.iter().position(|x| *x == k).unwrap_or(0);
        drawn.entries[ki] += 1;
        let (top, bottom) = bands[b].rows(e.offset, e.end());
        grids[b][ki].mark(col_of(e.timestamp_ns), top, bottom);
    }
    drawn.tags = tags.len() as u64;

    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(
        s,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="26" font-size="16" text-anchor="middle">{}</text>"#,
        LEFT + PLOT_W / 2,
        escape(title)
    );

    // The playlist's extents, behind everything.
    if let Some(p) = playlist {
        let _ = writeln!(
            s,
            r##"<g id="readahead" fill="#6baed6" fill-opacity="0.3">"##
        );
        let mut rows: Vec<Vec<bool>> = bands
            .iter()
            .map(|b| vec![false; b.height as usize])
            .collect();
        for x in p.extents() {
            if let Some(&b) = band_of_playlist.get(usize::from(x.volume)) {
                let (top, bottom) = bands[b].rows(x.offset, x.end());
                for r in top..=bottom {
                    rows[b][r as usize] = true;
                }
            }
        }
        for (b, rows) in bands.iter().zip(&rows) {
            let mut r = 0;
            while r < rows.len() {
                if !rows[r] {
                    r += 1;
                    continue;
                }
                let start = r;
                while r < rows.len() && rows[r] {
                    r += 1;
                }
                let _ = writeln!(
                    s,
                    r#"<rect x="{LEFT}" y="{}" width="{PLOT_W}" height="{}"/>"#,
                    b.top + start as u32,
                    r - start
                );
                drawn.readahead_rects += 1;
            }
        }
        let _ = writeln!(s, "</g>");
    }

    // Frames, axes and labels of each band.
    let _ = writeln!(
        s,
        r##"<g id="axes" fill="none" stroke="#888" stroke-width="1">"##
    );
    for b in &bands {
        let _ = writeln!(
            s,
            r#"<rect x="{LEFT}" y="{}" width="{PLOT_W}" height="{}"/>"#,
            b.top, b.height
        );
    }
    let _ = writeln!(s, "</g>");
    let _ = writeln!(s, r##"<g id="labels" fill="#333">"##);
    for b in &bands {
        let mib = b.ymax as f64 / f64::from(1 << 20);
        let step = nice_step(mib, (f64::from(b.height) / 40.0).max(2.0));
        let mut v = 0.0;
        while v <= mib + step * 1e-9 {
            let y = f64::from(b.top + b.height) - v / mib * f64::from(b.height);
            let _ = write!(
                s,
                r##"<line x1="{}" y1="{y:.1}" x2="{LEFT}" y2="{y:.1}" stroke="#888"/>"##,
                LEFT - 4
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 6,
                y + 4.0,
                tick(v, step)
            );
            v += step;
        }
    }
    let bottom = TOP + plot_h;
    let mut t = 0.0;
    while t <= t_max + t_step * 1e-9 {
        let x = x_of(t);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{}" stroke="#888"/>"##,
            bottom + 4
        );
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
            bottom + 17,
            tick(t, t_step)
        );
        t += t_step;
    }
    let _ = writeln!(
        s,
        concat!(
            r#"<text x="{}" y="{}" text-anchor="middle" font-size="12">"#,
            "time since recording started (s)</text>"
        ),
        LEFT + PLOT_W / 2,
        bottom + 38
    );
    let _ = writeln!(
        s,
        concat!(
            r#"<text x="20" y="{y}" text-anchor="middle" font-size="12" "#,
            r#"transform="rotate(-90 20 {y})">offset in volume (MiB)</text>"#
        ),
        y = TOP + plot_h / 2
    );
    let _ = writeln!(s, "</g>");

    // The entries.
    for (ki, k) in Kind::ALL.iter().enumerate() {
        let _ = writeln!(s, r#"<g id="{}" fill="{}">"#, k.id(), k.colour());
        for (b, band) in bands.iter().enumerate() {
            drawn.rects[ki] += grids[b][ki].emit(&mut s, LEFT, band.top, CELL);
        }
        let _ = writeln!(s, "</g>");
    }

    // The volumes' names, over the entries, with a white halo.
    let _ = writeln!(
        s,
        r##"<g id="volumes" fill="#333" stroke="white" stroke-width="3" paint-order="stroke">"##
    );
    for (i, b) in bands.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">volume {i}: {}</text>"#,
            LEFT + 4,
            b.top + 12,
            escape(&b.id.to_string())
        );
    }
    let _ = writeln!(s, "</g>");

    // Tags: a line each; labels where there is room.
    let _ = writeln!(
        s,
        r##"<g id="tags" stroke="#555" stroke-dasharray="4 3" fill="#555">"##
    );
    let mut last_label = f64::NEG_INFINITY;
    for (i, ns) in tags.iter().enumerate() {
        let x = x_of(*ns as f64 / 1e9);
        let _ = writeln!(
            s,
            r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{bottom}"/>"#,
            TOP - 6
        );
        if x - last_label >= 36.0 {
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="{}" stroke="none" text-anchor="middle">tag {}</text>"#,
                TOP - 10,
                i + 1
            );
            last_label = x;
        }
    }
    let _ = writeln!(s, "</g>");

    // The legend.
    let lx = LEFT + PLOT_W + 18;
    let _ = writeln!(s, r#"<g id="legend">"#);
    let mut ly = TOP;
    for (ki, k) in Kind::ALL.iter().enumerate() {
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="{ly}" width="12" height="12" fill="{}"/>"#,
            k.colour()
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">{} ({})</text>"#,
            lx + 18,
            ly + 10,
            k.label(),
            format_count(drawn.entries[ki])
        );
        ly += 20;
    }
    let _ = write!(
        s,
        r##"<line x1="{}" y1="{ly}" x2="{}" y2="{}" stroke="#555" stroke-dasharray="4 3"/>"##,
        lx + 6,
        lx + 6,
        ly + 12
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}">tag ({})</text>"#,
        lx + 18,
        ly + 10,
        format_count(drawn.tags)
    );
    ly += 20;
    if let Some(p) = playlist {
        let _ = write!(
            s,
            concat!(
                r#"<rect x="{lx}" y="{ly}" width="12" height="12" "#,
                r##"fill="#6baed6" fill-opacity="0.3"/>"##
            ),
            lx = lx,
            ly = ly
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">read ahead ({})</text>"#,
            lx + 18,
            ly + 10,
            format_bytes(p.total_bytes())
        );
        ly += 20;
    }
    let h = history.header();
    let _ = writeln!(
        s,
        r##"<text x="{lx}" y="{}" fill="#555">{} entries, {} read</text>"##,
        ly + 16,
        format_count(u64::from(history.entry_count())),
        format_bytes(h.bytes)
    );
    if history.is_truncated() {
        let _ = writeln!(
            s,
            r##"<text x="{lx}" y="{}" fill="#d62728">truncated: the log filled up</text>"##,
            ly + 32
        );
    }
    let _ = writeln!(s, "</g>");
    let _ = writeln!(s, "</svg>");
    (s, drawn)
}

/// The default title: the file name, the entry count and the duration.
pub fn default_title(name: &str, history: &History<'_>) -> String {
    let t = history.entries().map(|e| e.timestamp_ns).max().unwrap_or(0);
    format!(
        "{name}: {} entries over {:.1} s",
        format_count(u64::from(history.entry_count())),
        t as f64 / 1e9
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_ticks() {
        assert_eq!(nice_step(10.0, 10.0), 1.0);
        assert_eq!(nice_step(12.3, 10.0), 2.0);
        assert_eq!(nice_step(0.04, 10.0), 0.005);
        assert_eq!(tick(2.0, 1.0), "2");
        assert_eq!(tick(0.25, 0.05), "0.25");
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn kinds() {
        assert_eq!(Kind::of(0), Kind::Miss);
        assert_eq!(Kind::of(format::ENTRY_HIT), Kind::Hit);
        assert_eq!(
            Kind::of(format::ENTRY_HIT | format::ENTRY_WAITED),
            Kind::Waited
        );
        assert_eq!(Kind::of(format::ENTRY_WAITED), Kind::Waited);
        assert_eq!(Kind::of(format::ENTRY_WRITE), Kind::Write);
    }

    #[test]
    fn rows_of_a_band() {
        let b = Band {
            id: VolumeId::Root,
            top: 0,
            height: 100,
            ymax: 100 << 20,
        };
        assert_eq!(b.rows(0, 4096), (99, 99));
        assert_eq!(b.rows((100 << 20) - 512, 100 << 20), (0, 0));
        assert_eq!(b.rows(0, 100 << 20), (0, 99));
    }
}
