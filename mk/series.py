#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""mk/series.py: write bootcache as a patch series for the mailing lists.

    mk/series.py PRISTINE OUTDIR

patches/ is the series. Each patches/NNNN-*.patch is one patch of it, in
order: a header of "Subject:" and "Files:" lines, a blank line, the commit
message's body, and, after a "---" line, the diff of the kernel files it
edits (the part mk/tree.sh applies). "Files:" names the files of this
repository the patch adds, whole: a path, or a directory ending in "/" for
every file under it that no more specific "Files:" entry claims.

The files a patch adds are the repository's overlay files (mk/tree.sh
files), so every overlay file must be claimed by exactly one patch, and
every claim must match a file: the series then holds exactly what
mk/tree.sh lays over the kernel (the pristine tree, plus every overlay
file, plus every diff in this order), and the two cannot differ.

The series is made in a scratch git repository (OUTDIR/../series-work)
holding the pristine versions of the kernel files the diffs edit: one
commit per patch, then `git format-patch --cover-letter`; the cover letter's
subject and blurb come from patches/cover-letter.txt. Author and
Signed-off-by are SIGNOFF ("Name <email>") if set, else git's user.name and
user.email; the date of every patch is that of the repository's HEAD
commit (or SERIES_DATE), so the same tree gives the same series.
"""

import os
import re
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def die(msg):
    sys.stderr.write('mk/series: error: %s\n' % msg)
    sys.exit(1)


def say(tag, msg):
    print('  %-8s %s' % (tag, msg))


class Patch:
    """One patches/*.patch: its subject, claimed files, body and diff."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        text = open(path, encoding='utf-8').read()
        head, sep, rest = text.partition('\n\n')
        if not sep:
            die('%s: no blank line after the header' % self.name)
        self.subject = None
        self.files = []
        for line in head.split('\n'):
            key, _, value = line.partition(':')
            value = value.strip()
            if key == 'Subject' and value:
                self.subject = value
            elif key == 'Files' and value:
                self.files += value.split()
            else:
                die('%s: header line "%s" is neither "Subject: ..." nor "Files: ..."'
                    % (self.name, line))
        if not self.subject:
            die('%s: no Subject' % self.name)
        # The body ends at the "---" line before the diff, if there is one.
        m = re.search(r'^---\n', rest, re.M)
        if m:
            self.body, self.diff = rest[:m.start()], rest[m.end():]
        else:
            self.body, self.diff = rest, ''
        self.body = self.body.strip('\n')
        if not self.body:
            die('%s: no commit message body (say why)' % self.name)
        self.targets = re.findall(r'^\+\+\+ b/(\S+)', self.diff, re.M)
        if self.diff.strip() and not self.targets:
            die('%s: text after "---" that is not a diff' % self.name)


def load_patches():
    d = os.path.join(TOP, 'patches')
    names = sorted(f for f in os.listdir(d) if f.endswith('.patch'))
    if not names:
        die('no patches in patches/')
    for i, n in enumerate(names, 1):
        if not n.startswith('%04d-' % i):
            die('patches/%s: expected number %04d (the series is numbered 1, 2, 3, ...)' % (n, i))
    return [Patch(os.path.join(d, n)) for n in names]


def overlay_files():
    out = subprocess.run([os.path.join(TOP, 'mk/tree.sh'), 'files'], check=True,
                         capture_output=True, text=True).stdout
    return [f for f in out.split('\n') if f]


def assign(patches, files):
    """Map every overlay file to the one patch whose claim on it is the most
    specific; fail on a file claimed by none, twice, or a claim of nothing."""
    owner = {}
    used = set()
    for f in files:
        best = None
        for p in patches:
            for c in p.files:
                if c.endswith('/'):
                    if not f.startswith(c):
                        continue
                    score = len(c)
                elif c == f:
                    score = 1 << 30
                else:
                    continue
                if best and best[0] == score:
                    die('%s is claimed by both %s and %s' % (f, best[1].name, p.name))
                if not best or score > best[0]:
                    best = (score, p, c)
        if not best:
            die('%s is in no patch: add it to a "Files:" line of one' % f)
        owner[f] = best[1]
        used.add((best[1].name, best[2]))
    for p in patches:
        for c in p.files:
            if (p.name, c) not in used:
                die('%s: "Files: %s" matches no file of the repository' % (p.name, c))
    return owner


def git(repo, *args, env=None, stdin=None):
    r = subprocess.run(['git', '-C', repo] + list(args), capture_output=True, text=True,
                       env=env, input=stdin)
    if r.returncode:
        die('git %s: %s' % (' '.join(args), r.stderr.strip()))
    return r.stdout


def identity():
    s = os.environ.get('SIGNOFF', '').strip()
    if s:
        m = re.fullmatch(r'(.+?)\s*<([^<>\s]+@[^<>\s]+)>', s)
        if not m:
            die('SIGNOFF must be "Name <email>", not "%s"' % s)
        return m.group(1), m.group(2)
    name = subprocess.run(['git', '-C', TOP, 'config', 'user.name'], capture_output=True,
                          text=True).stdout.strip()
    email = subprocess.run(['git', '-C', TOP, 'config', 'user.email'], capture_output=True,
                           text=True).stdout.strip()
    if not name or not email:
        die('no identity for From: and Signed-off-by:: set git config user.name and '
            'user.email, or SIGNOFF="Name <email>"')
    return name, email


def series_date():
    d = os.environ.get('SERIES_DATE', '').strip()
    if d:
        return d
    r = subprocess.run(['git', '-C', TOP, 'log', '-1', '--format=%aD'], capture_output=True,
                       text=True)
    if r.returncode == 0 and r.stdout.strip():
        return r.stdout.strip()
    return subprocess.run(['date', '-R'], capture_output=True, text=True).stdout.strip()


def main():
    if len(sys.argv) != 3:
        die('usage: mk/series.py PRISTINE OUTDIR')
    pristine, outdir = sys.argv[1], os.path.abspath(sys.argv[2])
    if not os.path.isfile(os.path.join(pristine, 'Makefile')):
        die('%s is not a kernel tree (run make tree)' % pristine)
    patches = load_patches()
    owner = assign(patches, overlay_files())
    name, email = identity()
    date = series_date()
    cover = os.path.join(TOP, 'patches', 'cover-letter.txt')
    if not os.path.isfile(cover):
        die('patches/cover-letter.txt is missing')
    csubject, _, cblurb = open(cover, encoding='utf-8').read().partition('\n\n')
    if not csubject.startswith('Subject: '):
        die('patches/cover-letter.txt must start with "Subject: "')
    csubject = csubject[len('Subject: '):].strip()

    work = os.path.join(os.path.dirname(outdir), 'series-work')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
               GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email,
               GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date,
               GIT_CONFIG_GLOBAL='/dev/null', GIT_CONFIG_NOSYSTEM='1')
    git(work, 'init', '-q', '-b', 'series', env=env)
    for t in sorted({t for p in patches for t in p.targets}):
        src = os.path.join(pristine, t)
        if not os.path.isfile(src):
            die('%s edits %s, which Linux 6.12 does not have' % (
                next(p.name for p in patches if t in p.targets), t))
        os.makedirs(os.path.dirname(os.path.join(work, t)), exist_ok=True)
        shutil.copy2(src, os.path.join(work, t))
    git(work, 'add', '-A', env=env)
    git(work, 'commit', '-q', '--allow-empty', '-m', 'Linux 6.12 (the files the series edits)',
        env=env)
    base = git(work, 'rev-parse', 'HEAD').strip()

    for p in patches:
        for f in sorted(f for f, o in owner.items() if o is p):
            dst = os.path.join(work, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(TOP, f), dst)
        if p.diff.strip():
            r = subprocess.run(['patch', '-d', work, '-p1', '--batch', '--forward',
                                '--no-backup-if-mismatch', '--reject-file=-', '-s'],
                               input=p.diff, capture_output=True, text=True)
            if r.returncode:
                die('%s does not apply:\n%s' % (p.name, r.stdout + r.stderr))
        git(work, 'add', '-A', env=env)
        msg = '%s\n\n%s\n\nSigned-off-by: %s <%s>\n' % (p.subject, p.body, name, email)
        git(work, 'commit', '-q', '--allow-empty', '-F', '-', env=env, stdin=msg)

    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    git(work, 'format-patch', '-q', '--cover-letter', '--subject-prefix=PATCH', '--no-signature',
        '--zero-commit', '-o', outdir, '%s..HEAD' % base, env=env)
    cl = os.path.join(outdir, '0000-cover-letter.patch')
    text = open(cl, encoding='utf-8').read()
    if '*** SUBJECT HERE ***' not in text or '*** BLURB HERE ***' not in text:
        die('git format-patch wrote a cover letter without its placeholders')
    text = text.replace('*** SUBJECT HERE ***', csubject)
    text = text.replace('*** BLURB HERE ***', cblurb.strip('\n'))
    open(cl, 'w', encoding='utf-8').write(text)
    n = len(patches)
    say('SERIES', '%s: cover letter and %d patches, %s <%s>, %s' % (
        os.path.relpath(outdir), n, name, email, date))


if __name__ == '__main__':
    main()
