// SPDX-License-Identifier: GPL-2.0

//! The boot cycle's files: the shell scripts parse as POSIX sh, `install.sh` puts every
//! file in place, the man pages and completions cover every command, the generator and
//! the initramfs hook do what they say, and the units pass `systemd-analyze verify` when
//! the host has it.

mod testenv;

// The man page and completion generator `install.sh` runs, called here directly.
#[allow(dead_code)]
#[path = "../examples/gen-docs.rs"]
mod gen_docs;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use testenv::TestEnv;

const SCRIPTS: [&str; 4] = [
    "install.sh",
    "systemd/bootcache-generator",
    "initramfs-tools/hooks/bootcache",
    "initramfs-tools/scripts/init-top/bootcache",
];

const UNITS: [&str; 3] = [
    "bootcache-start.service",
    "bootcache-stop.service",
    "bootcache-stop.timer",
];

fn src(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn has(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn sh(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new("sh");
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The scripts are not executable in the tree (checkpatch refuses an
/// executable source file outside a `scripts/` directory); install.sh
/// installs them with mode 755, which install_puts_every_file_in_place checks.
#[test]
fn scripts_are_posix_sh() {
    let shells: Vec<&str> = ["sh", "dash", "posh"]
        .into_iter()
        .filter(|s| has(s))
        .collect();
    for s in SCRIPTS {
        let text = fs::read_to_string(src(s)).unwrap();
        assert!(text.starts_with("#!/bin/sh\n"), "{s}: not a /bin/sh script");
        for shell in &shells {
            let out = Command::new(shell).arg("-n").arg(src(s)).output().unwrap();
            assert!(
                out.status.success(),
                "{shell} -n {s}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // A few bashisms `sh -n` does not catch.
        for bad in ["[[ ", "function ", " == ", "$'", "local ", "source "] {
            assert!(!text.contains(bad), "{s}: bashism {bad:?}");
        }
    }
    // The check itself can fail.
    let t = TestEnv::new("sh-n");
    fs::write(t.path("bad.sh"), "if then fi\n").unwrap();
    assert!(!Command::new("sh")
        .arg("-n")
        .arg(t.path("bad.sh"))
        .status()
        .unwrap()
        .success());
}

/// The visible commands, as `bootcache --help` lists them.
fn commands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_bootcache"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    help.split("Commands:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(String::from)
        .collect()
}

#[test]
fn gen_docs_covers_every_command() {
    let t = TestEnv::new("gen-docs");
    let docs = t.path("docs");
    gen_docs::run(&docs).unwrap();
    let cmds = commands();
    assert!(cmds.len() > 10, "{cmds:?}");
    let top = fs::read_to_string(docs.join("bootcache.8")).unwrap();
    assert!(top.starts_with(".ie "), "not roff");
    assert!(top.contains("\n.TH bootcache 8 "), "not section 8");
    let bash = fs::read_to_string(docs.join("bootcache.bash")).unwrap();
    let zsh = fs::read_to_string(docs.join("_bootcache")).unwrap();
    let fish = fs::read_to_string(docs.join("bootcache.fish")).unwrap();
    assert!(zsh.starts_with("#compdef bootcache"));
    for c in &cmds {
        let page = fs::read_to_string(docs.join(format!("bootcache-{c}.8")))
            .unwrap_or_else(|e| panic!("bootcache-{c}.8: {e}"));
        assert!(page.contains(&format!(".TH bootcache-{c} 8 ")), "{c}");
        // Roff escapes the hyphens of the list.
        let listed = format!("bootcache-{c}(8)").replace('-', "\\-");
        assert!(top.contains(&listed), "bootcache.8 lacks {c}");
        for (shell, text) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
            assert!(text.contains(c.as_str()), "{shell} completion lacks {c}");
        }
    }
    // Hidden commands have neither a page nor a completion.
    assert!(!docs.join("bootcache-gen-history.8").exists());
    for (shell, text) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
        assert!(
            !text.contains("gen-history"),
            "{shell} completion offers gen-history"
        );
    }
    // One page per command, the top page, three completions: nothing else.
    assert_eq!(fs::read_dir(&docs).unwrap().count(), cmds.len() + 4);
}

#[test]
fn install_puts_every_file_in_place() {
    let t = TestEnv::new("install");
    let dest = t.path("root");
    let bin = Path::new(env!("CARGO_BIN_EXE_bootcache"));
    let docs = t.path("docs");
    gen_docs::run(&docs).unwrap();
    let script = src("install.sh");
    let env = [("BOOTCACHE_BIN", bin), ("BOOTCACHE_DOCS", docs.as_path())];
    let out = sh(&[script.to_str().unwrap(), dest.to_str().unwrap()], &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want: Vec<(&str, PathBuf, u32)> = vec![
        ("usr/sbin/bootcache", bin.to_path_buf(), 0o755),
        (
            "usr/lib/systemd/system-generators/bootcache-generator",
            src("systemd/bootcache-generator"),
            0o755,
        ),
        (
            "usr/share/initramfs-tools/hooks/bootcache",
            src("initramfs-tools/hooks/bootcache"),
            0o755,
        ),
        (
            "usr/share/initramfs-tools/scripts/init-top/bootcache",
            src("initramfs-tools/scripts/init-top/bootcache"),
            0o755,
        ),
        ("usr/share/doc/bootcache/README.md", src("README.md"), 0o644),
        ("etc/default/bootcache", src("etc/default/bootcache"), 0o644),
        (
            "usr/lib/bootcache/update-initramfs",
            src("lib/update-initramfs"),
            0o755,
        ),
    ];
    let units: Vec<String> = UNITS
        .iter()
        .map(|u| format!("usr/lib/systemd/system/{u}"))
        .collect();
    for (u, path) in UNITS.iter().zip(&units) {
        want.push((path, src(&format!("systemd/{u}")), 0o644));
    }
    let mut man = Vec::new();
    for e in fs::read_dir(&docs).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".8") {
            man.push((format!("usr/share/man/man8/{name}"), docs.join(name)));
        }
    }
    for (path, from) in &man {
        want.push((path, from.clone(), 0o644));
    }
    for (path, name) in [
        (
            "usr/share/bash-completion/completions/bootcache",
            "bootcache.bash",
        ),
        ("usr/share/zsh/vendor-completions/_bootcache", "_bootcache"),
        (
            "usr/share/fish/vendor_completions.d/bootcache.fish",
            "bootcache.fish",
        ),
    ] {
        want.push((path, docs.join(name), 0o644));
    }
    for (rel, from, m) in &want {
        let p = dest.join(rel);
        assert_eq!(fs::read(&p).unwrap(), fs::read(from).unwrap(), "{rel}");
        assert_eq!(mode(&p), *m, "{rel}");
    }
    assert!(dest.join("var/lib/bootcache").is_dir());
    // Nothing else, and no temporary files.
    let mut files = Vec::new();
    let mut dirs = vec![dest.clone()];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert_eq!(files.len(), want.len(), "{files:?}");
    // A settings file that exists is kept.
    fs::write(
        dest.join("etc/default/bootcache"),
        "BOOTCACHE_SAVE_DELAY=5min\n",
    )
    .unwrap();
    let out = sh(&[script.to_str().unwrap(), dest.to_str().unwrap()], &env);
    assert!(out.status.success());
    assert_eq!(
        fs::read_to_string(dest.join("etc/default/bootcache")).unwrap(),
        "BOOTCACHE_SAVE_DELAY=5min\n"
    );
    // Usage.
    assert_eq!(sh(&[script.to_str().unwrap()], &[]).status.code(), Some(2));
}

#[test]
fn generator_writes_the_save_delay() {
    let t = TestEnv::new("generator");
    let gen = src("systemd/bootcache-generator");
    let run = |defaults: &str| {
        let out = t.path("gen");
        let _ = fs::remove_dir_all(&out);
        fs::create_dir(&out).unwrap();
        fs::write(t.path("defaults"), defaults).unwrap();
        let o = sh(
            &[gen.to_str().unwrap(), out.to_str().unwrap(), "/x", "/y"],
            &[("BOOTCACHE_DEFAULTS", &t.path("defaults"))],
        );
        assert!(o.status.success());
        let conf = fs::read_to_string(out.join("bootcache-stop.timer.d/50-save-delay.conf")).ok();
        (conf, String::from_utf8(o.stderr).unwrap())
    };
    let (conf, err) = run("# x\nBOOTCACHE_SAVE_DELAY=10s\nBOOTCACHE_SAVE_DELAY=\"2min\"\n");
    assert_eq!(
        conf.unwrap(),
        format!(
            "# Made by bootcache-generator from BOOTCACHE_SAVE_DELAY in {}.\n\
             [Timer]\nOnActiveSec=\nOnActiveSec=2min\n",
            t.path("defaults").display()
        )
    );
    assert!(err.is_empty());
    // The shipped defaults give the unit's own 30 s.
    let (conf, _) = run(&fs::read_to_string(src("etc/default/bootcache")).unwrap());
    assert!(conf.unwrap().ends_with("\nOnActiveSec=30s\n"));
    // Not a time span: no drop-in, one line saying so.
    let (conf, err) = run("BOOTCACHE_SAVE_DELAY=$(reboot)\n");
    assert_eq!(conf, None);
    assert!(err.contains("is not a time span"), "{err}");
    let (conf, _) = run("BOOTCACHE_STOP_OPTIONS=\"--max-gap 0\"\n");
    assert_eq!(conf, None);
}

#[test]
fn initramfs_hook_copies_and_consumes_the_playlist() {
    let t = TestEnv::new("hook");
    fs::create_dir_all(t.path("saved")).unwrap();
    fs::create_dir_all(t.path("initramfs")).unwrap();
    // Stand-ins for initramfs-tools' hook functions.
    fs::write(
        t.path("hook-functions"),
        "copy_exec() { echo \"$1 $2\" >>\"$DESTDIR/copied\"; }\n",
    )
    .unwrap();
    t.ok(&["make-playlist", "-o", "saved/playlist", "-e", "root:0:1M"]);
    let p = fs::read(t.path("saved/playlist")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_bootcache"));
    let hook = src("initramfs-tools/hooks/bootcache");
    let run = |defaults: &str| {
        fs::write(t.path("defaults"), defaults).unwrap();
        let mut c = Command::new("sh");
        c.arg(&hook)
            .env("DESTDIR", t.path("initramfs"))
            .env("BOOTCACHE_HOOK_FUNCTIONS", t.path("hook-functions"))
            .env("BOOTCACHE_TOOL", bin)
            .env("BOOTCACHE_SAVED", t.path("saved"))
            .env("BOOTCACHE_DEFAULTS", t.path("defaults"));
        let o = c.output().unwrap();
        assert!(o.status.success());
        String::from_utf8(o.stderr).unwrap()
    };
    // Turned off: the tool goes in, the playlist stays on the disk.
    assert_eq!(run("BOOTCACHE_INITRAMFS=no\n"), "");
    assert!(!t.path("initramfs/bootcache/playlist").exists());
    assert_eq!(fs::read(t.path("saved/playlist")).unwrap(), p);
    assert_eq!(
        fs::read_to_string(t.path("initramfs/copied")).unwrap(),
        format!("{} /sbin\n", bin.display())
    );
    // On: copied into the initramfs and taken off the disk.
    assert_eq!(run("BOOTCACHE_INITRAMFS=yes\n"), "");
    assert_eq!(fs::read(t.path("initramfs/bootcache/playlist")).unwrap(), p);
    assert!(!t.path("saved/playlist").exists());
    assert_eq!(fs::read(t.path("saved/playlist.initramfs")).unwrap(), p);
    // A bad playlist is not copied.
    fs::remove_dir_all(t.path("initramfs/bootcache")).unwrap();
    fs::write(t.path("saved/playlist"), b"junk").unwrap();
    let err = run("");
    assert!(err.contains("is not a valid playlist; not copied"), "{err}");
    assert!(!t.path("initramfs/bootcache").exists());
    assert_eq!(fs::read(t.path("saved/playlist")).unwrap(), b"junk");
}

#[test]
fn units_verify() {
    if !has("systemd-analyze") {
        eprintln!("systemd-analyze is not installed; units not verified");
        return;
    }
    let t = TestEnv::new("units");
    let bin = env!("CARGO_BIN_EXE_bootcache");
    let mut paths = Vec::new();
    for u in UNITS {
        let text = fs::read_to_string(src(&format!("systemd/{u}"))).unwrap();
        // The tool is not installed on the host: point the units at the one just built.
        fs::write(t.path(u), text.replace("/usr/sbin/bootcache", bin)).unwrap();
        paths.push(t.path(u));
    }
    let verify = |paths: &[PathBuf]| {
        let o = Command::new("systemd-analyze")
            .arg("verify")
            .args(paths)
            .output()
            .unwrap();
        (o.status.success(), String::from_utf8(o.stderr).unwrap())
    };
    let (ok, err) = verify(&paths);
    assert!(ok && err.is_empty(), "{err}");
    // A unit with a mistake is caught.
    fs::write(t.path("bad.timer"), "[Timer]\nOnActiveSecs=3\n").unwrap();
    let (ok, err) = verify(&[t.path("bad.timer")]);
    assert!(!ok || !err.is_empty());
}
