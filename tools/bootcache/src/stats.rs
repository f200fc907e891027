// SPDX-License-Identifier: GPL-2.0

//! The statistics page: the kernel's counters (whatever files `stats/` holds), grouped,
//! with the ratios computed from those that exist.
//!
//! The known counters only decide the order and the group; a counter this tool does not
//! know is shown too, in its group by name prefix or under `other`.

use std::fmt::Write;

use serde_json::{json, Map, Value};

/// The groups of the page, in order.
pub const GROUPS: [&str; 7] = [
    "read-ahead",
    "serving",
    "writes",
    "history",
    "memory",
    "jettisons",
    "other",
];

/// The counters the driver had when this was written, in the driver's order.
const KNOWN: [&str; 32] = [
    "playlist_bytes",
    "playlist_appends",
    "missing_volume_bytes",
    "capped_bytes",
    "cache_limit_bytes",
    "readahead_bios",
    "readahead_bytes",
    "readahead_errors",
    "hits",
    "hit_bytes",
    "misses",
    "miss_bytes",
    "parked",
    "parked_hits",
    "parked_timeouts",
    "parked_passed",
    "parked_wait_ns",
    "writes",
    "invalidated_bytes",
    "history_events",
    "history_dropped",
    "cache_bytes",
    "cache_peak_bytes",
    "jettison_command",
    "jettison_misses",
    "jettison_memory",
    "jettison_disk_gone",
    "rehit_bytes",
    "demand_bios",
    "partial_miss_bytes",
    "cpu_ns",
    "cpu_max_ns",
];

/// The group of a counter, by its name.
pub fn group_of(name: &str) -> &'static str {
    let has = |p: &str| name.starts_with(p);
    if has("jettison") {
        "jettisons"
    } else if has("capped") {
        "read-ahead"
    } else if has("cache_") || has("mem") || has("shrink") {
        "memory"
    } else if has("history_") {
        "history"
    } else if has("write") || has("invalidat") {
        "writes"
    } else if has("hit")
        || has("rehit")
        || has("miss_")
        || has("partial_miss")
        || name == "misses"
        || has("parked")
        || has("cpu_")
    {
        "serving"
    } else if has("playlist_")
        || has("missing_volume")
        || has("readahead_")
        || has("demand_")
        || has("volume")
    {
        "read-ahead"
    } else {
        "other"
    }
}

/// One counter as read: a number, or the text if it is not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reading {
    /// A decimal number.
    Number(u64),
    /// Anything else, as read.
    Text(String),
}

impl Reading {
    /// Parses the text of a sysfs file.
    pub fn parse(s: &str) -> Reading {
        match s.trim().parse() {
            Ok(n) => Reading::Number(n),
            Err(_) => Reading::Text(s.trim().to_string()),
        }
    }

    fn json(&self) -> Value {
        match self {
            Reading::Number(n) => json!(n),
            Reading::Text(s) => json!(s),
        }
    }
}

/// A derived figure: present when its inputs are; `None` when a denominator is zero.
#[derive(Clone, Debug, PartialEq)]
pub struct Ratio {
    /// Its key in JSON.
    pub key: &'static str,
    /// Its label on the page.
    pub label: &'static str,
    /// The group it is shown in.
    pub group: &'static str,
    /// The value, or `None` if it would divide by zero.
    pub value: Option<f64>,
    /// Shown as a percentage (a fraction in JSON); otherwise as milliseconds.
    pub percent: bool,
}

/// Everything the page shows.
#[derive(Clone, Debug)]
pub struct Page {
    /// The top-level files: `version`, `state`, `recording`, `reason` (`None` if missing).
    pub top: Vec<(&'static str, Option<String>)>,
    /// Every counter, in page order.
    pub counters: Vec<(String, Reading)>,
    /// The ratios whose inputs exist.
    pub ratios: Vec<Ratio>,
}

/// The top-level files shown.
pub const TOP: [&str; 4] = ["version", "state", "recording", "reason"];

impl Page {
    /// Makes the page from the top-level files and the counters, as read.
    pub fn new(top: Vec<(&'static str, Option<String>)>, raw: Vec<(String, String)>) -> Page {
        let mut counters: Vec<(String, Reading)> = raw
            .into_iter()
            .map(|(n, v)| {
                let r = Reading::parse(&v);
                (n, r)
            })
            .collect();
        counters.sort_by_key(|(a, _)| order_key(a));
        let ratios = ratios(&counters);
        Page {
            top,
            counters,
            ratios,
        }
    }

    /// The page as JSON.
    pub fn json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in &self.top {
            let val = match (k, v.as_deref()) {
                (_, None) => Value::Null,
                (&"recording", Some("1")) => json!(true),
                (&"recording", Some("0")) => json!(false),
                (_, Some(s)) => Reading::parse(s).json(),
            };
            m.insert((*k).to_string(), val);
        }
        let counters: Map<String, Value> = self
            .counters
            .iter()
            .map(|(n, r)| (n.clone(), r.json()))
            .collect();
        m.insert("counters".into(), Value::Object(counters));
        let ratios: Map<String, Value> = self
            .ratios
            .iter()
            .map(|r| (r.key.to_string(), r.value.map_or(Value::Null, |v| json!(v))))
            .collect();
        m.insert("ratios".into(), Value::Object(ratios));
        Value::Object(m)
    }

    /// The page as text.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.top {
            let _ = writeln!(s, "{k}: {}", v.as_deref().unwrap_or("?"));
        }
        let width = self
            .counters
            .iter()
            .map(|(n, _)| n.len())
            .chain(self.ratios.iter().map(|r| r.label.len()))
            .max()
            .unwrap_or(0);
        for g in GROUPS {
            let rows: Vec<_> = self
                .counters
                .iter()
                .filter(|(n, _)| group_of(n) == g)
                .collect();
            let ratios: Vec<_> = self.ratios.iter().filter(|r| r.group == g).collect();
            if rows.is_empty() && ratios.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{g}:");
            for (n, r) in rows {
                let v = match r {
                    Reading::Number(x) => format!("{x:>14}{}", unit(n, *x)),
                    Reading::Text(t) => format!("{t:>14}"),
                };
                let _ = writeln!(s, "  {n:<width$}  {v}");
            }
            for r in ratios {
                let v = match (r.value, r.percent) {
                    (None, _) => "-".to_string(),
                    (Some(x), true) => format!("{:.1}%", x * 100.0),
                    (Some(x), false) => format!("{x:.2} ms"),
                };
                let _ = writeln!(s, "  {:<width$}  {v:>14}", r.label);
            }
        }
        s
    }
}

/// Known counters first, in the driver's order; then the others by name.
fn order_key(name: &str) -> (usize, String) {
    let i = KNOWN.iter().position(|k| *k == name).unwrap_or(KNOWN.len());
    (i, name.to_string())
}

/// A human-readable unit after a counter, from its name's suffix.
fn unit(name: &str, v: u64) -> String {
    if name.ends_with("_bytes") && v >= 1024 {
        format!("  ({})", crate::size::format_bytes(v))
    } else if name.ends_with("_ns") && v > 0 {
        format!("  ({:.1} ms)", v as f64 / 1e6)
    } else {
        String::new()
    }
}

/// The ratios whose inputs are all there.
fn ratios(counters: &[(String, Reading)]) -> Vec<Ratio> {
    let get = |n: &str| {
        counters.iter().find_map(|(k, r)| match r {
            Reading::Number(x) if k == n => Some(*x as f64),
            _ => None,
        })
    };
    let div = |a: f64, b: f64| (b != 0.0).then(|| a / b);
    let mut out = Vec::new();
    let mut add = |key, label, group, percent, value: Option<Option<f64>>| {
        if let Some(value) = value {
            out.push(Ratio {
                key,
                label,
                group,
                value,
                percent,
            });
        }
    };
    add(
        "readahead_done",
        "read ahead of playlist",
        "read-ahead",
        true,
        (|| Some(div(get("readahead_bytes")?, get("playlist_bytes")?)))(),
    );
    add(
        "hit_ratio_bios",
        "hit ratio (bios)",
        "serving",
        true,
        (|| {
            let h = get("hits")?;
            Some(div(h, h + get("misses")?))
        })(),
    );
    add(
        "hit_ratio_bytes",
        "hit ratio (bytes)",
        "serving",
        true,
        (|| {
            let h = get("hit_bytes")?;
            Some(div(h, h + get("miss_bytes")?))
        })(),
    );
    add(
        "served_of_readahead",
        "served of read ahead",
        "serving",
        true,
        (|| Some(div(get("hit_bytes")?, get("readahead_bytes")?)))(),
    );
    add(
        "mean_parked_wait_ms",
        "mean wait when parked",
        "serving",
        false,
        (|| {
            // A parked bio adds its wait when it leaves: served, timed out or passed.
            let left = get("parked_hits")? + get("parked_timeouts")? + get("parked_passed")?;
            Some(div(get("parked_wait_ns")? / 1e6, left))
        })(),
    );
    add(
        "peak_of_limit",
        "peak of limit",
        "memory",
        true,
        (|| Some(div(get("cache_peak_bytes")?, get("cache_limit_bytes")?)))(),
    );
    add(
        "history_dropped_ratio",
        "dropped of recorded",
        "history",
        true,
        (|| {
            let d = get("history_dropped")?;
            Some(div(d, d + get("history_events")?))
        })(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(c: &[(&str, &str)]) -> Page {
        Page::new(
            vec![("state", Some("active".into())), ("reason", None)],
            c.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn groups() {
        for k in KNOWN {
            assert_ne!(group_of(k), "other", "{k}");
        }
        assert_eq!(group_of("jettison_new_reason"), "jettisons");
        assert_eq!(group_of("cache_limit_bytes"), "memory");
        assert_eq!(group_of("frobs"), "other");
    }

    #[test]
    fn ratios_need_their_inputs_and_never_divide_by_zero() {
        let p = page(&[("hits", "3"), ("misses", "1"), ("hit_bytes", "0")]);
        assert_eq!(p.ratios.len(), 1);
        assert_eq!(p.ratios[0].value, Some(0.75));
        let p = page(&[
            ("hits", "0"),
            ("misses", "0"),
            ("hit_bytes", "0"),
            ("miss_bytes", "0"),
        ]);
        assert!(p.ratios.iter().all(|r| r.value.is_none()));
        assert!(p.text().contains("hit ratio (bios)"));
        let p = page(&[
            ("parked_wait_ns", "30000000"),
            ("parked_hits", "2"),
            ("parked_timeouts", "1"),
            ("parked_passed", "0"),
        ]);
        assert_eq!(p.json()["ratios"]["mean_parked_wait_ms"], json!(10.0));
    }

    #[test]
    fn order_units_and_text_values() {
        let p = page(&[
            ("zz_new", "5"),
            ("hits", "1"),
            ("playlist_bytes", "1048576"),
            ("odd", "n/a"),
        ]);
        let names: Vec<_> = p.counters.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["playlist_bytes", "hits", "odd", "zz_new"]);
        let t = p.text();
        assert!(t.contains("(1.0 MiB)"), "{t}");
        assert!(t.contains("reason: ?"), "{t}");
        let j = p.json();
        assert_eq!(j["counters"]["odd"], json!("n/a"));
        assert_eq!(j["reason"], Value::Null);
    }
}
