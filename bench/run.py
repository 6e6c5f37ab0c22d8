#!/usr/bin/env python3
"""npyexp's end-to-end benchmark: npyexp and the strongest baselines we know, side by side, on the same data.

What: for each data set, every command runs --reps times, interleaved (rep 1 of every command, then rep 2, ... with
the order rotated each rep) so that noise from other work on the machine hits all of them alike. Per command it
reports the median wall time, the median CPU seconds (user + sys of the whole process tree), the largest peak RSS of
any one process, the output bytes, and the wall time as a ratio of the set's npyexp row. The results go to stdout
and to a Markdown file (bench/results-DATE.md, or --out) whose header records what the numbers ran on: commit,
build, `npyexp --version`, CPU model and vector extensions, cores, load average before and after, tool versions.
That file is what the README's Performance table is regenerated from.

Why: a ratio against a weak baseline says little. npyexp codes float data Huffman-only on all cores, so the
baselines include numpy with Huffman-only zlib on all cores, python-isal (ISA-L from Python), and the igzip and pigz
command-line pipes (which do no exp and no checksum at all: a floor for "just recompress"), besides the naive numpy
script users start from. Output sizes are reported for every row, because speed bought with size is no gain.

Data sets (fixed seeds, made once under bench/data/, or bench/data/scale-S/ with --scale S; N(0,1) float32):
  f32-256m  256 MiB .npy.gz made at level 6 (one gzip member), to .npy.gz
  stages    where the time goes: f32-256m with stages left out (no deflate, no inflate, neither), and ISA-L inflate and
            sha256sum alone; the notes give per-stage CPU seconds by difference
  chain     the second stage: npyexp's own output of f32-256m (block-framed gzip) as the input, full run (read and
            write) and read only, against the same tensor as one plain gzip member; baselines on the same input
  many      4 x 64 MiB .npy.gz in one npyexp run, against one 64 MiB file (ratio of times, peak RSS)
  npz       a np.savez_compressed archive of 4 members totalling 256 MiB, against a numpy load/exp/savez_compressed
            script
  small     2000 files of 1 KiB tensors, .npy.gz: npyexp (outputs and sidecars durable) against the plain loop a user
            writes (no checksum, no fsync) and against the same loop made durable (temp file, fsync, rename, sidecar)
  f32-2g    2 GiB .npy.gz at level 1, to .npy.gz (peak memory on a large input)
--scale S multiplies every size (and the number of small files) by S: for smoke tests only, never for the README.

Baseline scripts are in bench/baselines/, one file each, so that what is measured can be read.

Relies on: Python 3 with numpy; GNU time (/usr/bin/time, Debian package `time`) to measure each command from a
small parent; pigz, igzip (Debian `isal`) and python-isal (PyPI `isal`), which it tries to install where missing
(apt-get as root, pip) unless --no-install, and skips with a note in the results when it cannot; a release build of
npyexp at .build/release/npyexp (--build runs `swift build -c release --product npyexp` first).

Outputs go to bench/out/ and are deleted once measured (the 2 GiB set's would take about 8 GB), unless
--keep-outputs.

Usage: python3 bench/run.py [--reps 3] [--sets f32-256m,stages,chain,many,npz,small,f32-2g] [--scale S] [--out FILE]
                            [--jobs N] [--build] [--no-install] [--keep-outputs]
"""
import argparse
import datetime
import gzip
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
BASELINES = os.path.join(BENCH, "baselines")
NPYEXP = os.path.join(ROOT, ".build", "release", "npyexp")
PY = sys.executable
ALL_SETS = ["f32-256m", "stages", "chain", "many", "npz", "small", "f32-2g"]
MiB = 1 << 20

JOB_NAMES = {
    "f32-256m": "256 MiB float32 `.npy.gz` (level 6) to `.npy.gz`",
    "chain": "second stage: an npyexp output (256 MiB float32) as input",
    "many": "4 x 64 MiB float32 `.npy.gz` in one run vs one 64 MiB file",
    "npz": "`savez_compressed` archive, 4 members, 256 MiB float32",
    "stages": "where the time goes: the 256 MiB job with stages left out",
    "small": "2000 small files (1 KiB float32 tensors), `.npy.gz`",
    "f32-2g": "2 GiB float32 `.npy.gz` (level 1) to `.npy.gz`",
}


class Row:
    """One command of a data set: how to run it, how to show it, where its output goes."""

    def __init__(self, label, display, cmd, out=None, reference=False, may_fail=False, needs=None):
        self.label = label          # short name, unique in its set
        self.display = display      # the command as shown in the table (IN/OUT stand for the paths)
        self.cmd = cmd              # argv list, or a string run by bash
        self.out = out              # output file or directory (None: output discarded)
        self.reference = reference  # the set's npyexp row that ratios are taken against
        self.may_fail = may_fail    # a failure is reported as "unsupported", not as a benchmark error
        self.needs = needs          # the name of an optional baseline this row needs (skipped without it)
        self.walls, self.cpus, self.rss = [], [], 0.0
        self.failure = None         # why it has no numbers (a failed run, or a baseline that is not installed)
        self.skipped = False


# ---------------------------------------------------------------------------------------------------------- tools

def have(tool):
    return shutil.which(tool) is not None


def run_text(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        return (p.stdout + p.stderr).strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e.__class__.__name__})"


def python_has_isal():
    return subprocess.run([PY, "-c", "import isal.igzip, isal.igzip_threaded"],
                          capture_output=True).returncode == 0


def ensure_baselines(install):
    """Make pigz, igzip and python-isal available where possible; return {name: None or why it is missing}."""
    notes = {}
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    for tool, package in (("pigz", "pigz"), ("igzip", "isal")):
        if not have(tool) and install and is_root and have("apt-get"):
            cmd = ["apt-get", "install", "-y", "-q", package]
            if subprocess.run(cmd, capture_output=True).returncode != 0:
                subprocess.run(["apt-get", "update", "-q"], capture_output=True)
                subprocess.run(cmd, capture_output=True)
        notes[tool] = None if have(tool) else (
            f"`{tool}` not found (Debian package `{package}`" + (
                ": apt-get install failed)" if install and is_root else "; not installed: run as root without "
                "--no-install, or apt-get install it)"))
    if not python_has_isal() and install:
        subprocess.run([PY, "-m", "pip", "install", "-q", "isal"], capture_output=True)
    notes["python-isal"] = None if python_has_isal() else (
        "python-isal (PyPI `isal`) not importable" + (": pip install isal failed" if install else
                                                      "; not installed (--no-install)"))
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("GNU time is needed at /usr/bin/time (Debian package `time`)")
    return notes


def timed(cmd, scratch):
    """Run cmd; return (ok, wall s, CPU s, peak RSS MiB, stderr text).

    GNU time runs the command from a small parent and reports its rusage once it has been reaped: user and system
    time of the command and of every descendant it waited for (both sides of a pipe, every thread), and the
    largest resident set of any one of them. Taking rusage in this Python process instead (wait4 on a
    posix_spawn'd child) would count the pages of this process that the child shared before exec."""
    if isinstance(cmd, str):
        cmd = ["/bin/bash", "-c", "set -o pipefail; " + cmd]
    report = os.path.join(scratch, ".time")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-o", report, "-f", "%M %U %S"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    try:
        with open(report) as f:
            kib, user, sys_ = f.read().strip().splitlines()[-1].split()
        cpu, rss = float(user) + float(sys_), int(kib) / 1024
    except (OSError, ValueError):
        cpu, rss = float("nan"), float("nan")
    return p.returncode == 0, wall, cpu, rss, p.stderr.decode(errors="replace")


def size_of(path):
    """Bytes of the tensor outputs at path (a file, or every file under a directory except .sha256 sidecars)."""
    if path is None or not os.path.exists(path):
        return None
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs
                   if not f.endswith(".sha256"))
    return os.path.getsize(path)


def sidecar_bytes(path):
    if path is None or not os.path.isdir(path):
        return 0, 0
    sizes = [os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs if f.endswith(".sha256")]
    return len(sizes), sum(sizes)


def fresh(path):
    if path is None:
        return
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


TRASH = os.path.join(BENCH, "out", ".trash")


def set_aside(path):
    """Clears the way for a timed run by moving the last run's outputs, when they are many files, into a trash
    directory, removed only after every timing (a few files are deleted at once), then writes back whatever the earlier runs left dirty (sync), so that every run starts with no
    writeback pending. Deleting the outputs here would bias the timings on this machine's ext4 (mounted without a
    journal): for a minute or more after many deletions, allocating each new inode in that block group scans every
    recently freed one (ext4's recently_deleted, seen in perf as 70% of a small-file run), so every run would pay per
    file it creates for the files the run before it deleted; npyexp, which writes a sidecar beside each output,
    twice. Without the sync, the baselines' unsynced outputs would still be in flight during the next run: npyexp's
    group commit (syncfs) would write them back, and its own writeback would queue behind them."""
    if path is not None and os.path.lexists(path):
        if os.path.isdir(path) and sum(len(fs) for _, _, fs in os.walk(path)) > MANY_FILES:
            os.makedirs(TRASH, exist_ok=True)
            os.rename(path, os.path.join(TRASH, f"{len(os.listdir(TRASH))}-{os.path.basename(path)}"))
        else:
            fresh(path)
    os.sync()


# Outputs of more files than this are set aside; fewer (the large-tensor sets' one or two files a run) are deleted
# at once: kept, every large run's output would stay in the page cache, and the next run would write into memory
# the VM had not touched yet (on this machine that made npyexp's later 256 MiB runs ~20% slower, CPU time too).
MANY_FILES = 64


def gzip_anatomy(path, fields=None):
    """Split a gzip file into its parts: (members, header bytes, deflate bytes, trailer bytes).

    Adds the optional header fields met (FEXTRA with its subfield ids, FNAME, FCOMMENT) to the set `fields`."""
    data = open(path, "rb").read()
    pos = members = head = body = tail = 0
    fields = set() if fields is None else fields
    while pos < len(data):
        if data[pos:pos + 2] != b"\x1f\x8b":
            break
        flg = data[pos + 3]
        p = pos + 10
        if flg & 4:
            xlen = int.from_bytes(data[p:p + 2], "little")
            x, end = p + 2, p + 2 + xlen
            while x + 4 <= end:
                fields.add(f"FEXTRA {data[x:x + 2].decode('latin1')} ({xlen + 2} bytes)")
                x += 4 + int.from_bytes(data[x + 2:x + 4], "little")
            p = end
        for bit, field in ((8, "FNAME"), (16, "FCOMMENT")):
            if flg & bit:
                e = data.index(b"\0", p) + 1
                fields.add(f"{field} ({e - p} bytes)" if e - p > 0 else field)
                p = e
        if flg & 2:
            p += 2
        d = zlib.decompressobj(-15)
        d.decompress(data[p:])
        used = len(data) - p - len(d.unused_data)
        members += 1
        head += p - pos
        body += used
        tail += 8
        pos = p + used + 8
    return members, head, body, tail


# ----------------------------------------------------------------------------------------------------------- data

def gzip_file(src, dst, level):
    """One gzip member at `level`, no name, mtime 0: pigz when present (fast), else Python's gzip."""
    if have("pigz"):
        with open(dst, "wb") as out:
            subprocess.run(["pigz", "-n", f"-{level}", "-c", src], stdout=out, check=True)
    else:
        with open(src, "rb") as f, gzip.GzipFile(dst, "wb", compresslevel=level, mtime=0) as g:
            shutil.copyfileobj(f, g, MiB)


def write_normal_npy(path, count, seed):
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (count,)})
        left = count
        while left:
            n = min(left, 1 << 24)
            f.write(rng.standard_normal(n, dtype=np.float32).tobytes())
            left -= n


def make_gz(path, count, seed, level):
    if not os.path.exists(path):
        raw = path[:-3]
        write_normal_npy(raw, count, seed)
        gzip_file(raw, path + ".part", level)
        os.remove(raw)
        os.rename(path + ".part", path)


def elements(nbytes, scale):
    return max(1024, int(nbytes * scale) // 4)


def make_data(sets, data, scale, jobs):
    os.makedirs(data, exist_ok=True)
    if "f32-256m" in sets or "chain" in sets:
        make_gz(os.path.join(data, "f32-256m.npy.gz"), elements(256 * MiB, scale), 1, 6)
    if "stages" in sets:
        make_gz(os.path.join(data, "f32-256m.npy.gz"), elements(256 * MiB, scale), 1, 6)
        plain = os.path.join(data, "f32-256m.npy")
        if not os.path.exists(plain):
            with gzip.open(os.path.join(data, "f32-256m.npy.gz"), "rb") as f, open(plain + ".part", "wb") as o:
                shutil.copyfileobj(f, o, MiB)
            os.rename(plain + ".part", plain)
    if "chain" in sets:
        src = os.path.join(data, "f32-256m.npy.gz")
        stage1 = os.path.join(data, "chain-npyexp.npy.gz")
        single = os.path.join(data, "chain-single.npy.gz")
        stale = os.path.exists(stage1) and os.path.getmtime(stage1) < os.path.getmtime(NPYEXP)
        if stale or not os.path.exists(stage1) or not os.path.exists(single):
            tmp = os.path.join(data, "chain-tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            subprocess.run([NPYEXP, "-q", "-j", str(jobs), "-o", tmp, src], check=True)
            shutil.move(os.path.join(tmp, "f32-256m.npy.gz"), stage1)
            shutil.rmtree(tmp)
            raw = os.path.join(data, "chain-raw.npy")
            with gzip.open(stage1, "rb") as f, open(raw, "wb") as o:
                shutil.copyfileobj(f, o, MiB)
            gzip_file(raw, single, 6)
            os.remove(raw)
    if "many" in sets:
        d = os.path.join(data, "many")
        os.makedirs(d, exist_ok=True)
        for i in range(4):
            make_gz(os.path.join(d, f"m{i}.npy.gz"), elements(64 * MiB, scale), 10 + i, 6)
    if "npz" in sets:
        path = os.path.join(data, "f32-4x64m.npz")
        if not os.path.exists(path):
            rng = np.random.default_rng(4)
            n = elements(64 * MiB, scale)
            members = {f"m{i}": rng.standard_normal(n, dtype=np.float32) for i in range(4)}
            np.savez_compressed(path[:-4] + ".part.npz", **members)
            del members
            os.rename(path[:-4] + ".part.npz", path)
    if "f32-2g" in sets:
        make_gz(os.path.join(data, "f32-2g.npy.gz"), elements(2048 * MiB, scale), 2, 1)
    if "small" in sets:
        d = os.path.join(data, "small")
        count = max(10, int(2000 * scale))
        if not os.path.isdir(d) or len(os.listdir(d)) != count:
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            rng = np.random.default_rng(3)
            for i in range(count):
                with gzip.GzipFile(os.path.join(d, f"t{i:04d}.npy.gz"), "wb", mtime=0) as g:
                    np.save(g, rng.standard_normal(256, dtype=np.float32))


# ------------------------------------------------------------------------------------------------------- commands

def big_file_rows(src, o, jobs, *, python=True, naive=True):
    """npyexp and the baselines for one large .npy.gz input."""
    gz = lambda label: o(label) + ".npy.gz"
    base = os.path.basename(src)
    rows = [Row("npyexp", f"npyexp -f -j {jobs} -o DIR IN", [NPYEXP, "-q", "-f", "-j", str(jobs), "-o", o("npyexp"), src],
                os.path.join(o("npyexp"), base), reference=True)]
    if naive:
        rows.append(Row("naive-python", "numpy + gzip level 6, 1 core (baselines/naive_gzip.py)",
                        [PY, os.path.join(BASELINES, "naive_gzip.py"), src, gz("naive")], gz("naive")))
    if python:
        rows.append(Row("numpy-huffman", f"numpy + zlib Huffman-only, {jobs} threads (baselines/numpy_huffman.py)",
                        [PY, os.path.join(BASELINES, "numpy_huffman.py"), src, gz("huffman"), str(jobs)],
                        gz("huffman")))
        rows.append(Row("python-isal", f"numpy + python-isal, igzip_threaded level 1, {jobs} threads "
                                       "(baselines/python_isal.py)",
                        [PY, os.path.join(BASELINES, "python_isal.py"), src, gz("isal"), str(jobs)], gz("isal"),
                        needs="python-isal"))
    rows.append(Row("igzip-1", f"igzip -dc IN \\| igzip -1 -T {jobs} (no exp)",
                    f"igzip -dc {src} | igzip -1 -T {jobs} > {gz('igzip')}", gz("igzip"), needs="igzip"))
    rows.append(Row("pigz-6", f"pigz -dc IN \\| pigz -p {jobs} -6 (no exp)",
                    f"pigz -dc {src} | pigz -p {jobs} -6 > {gz('pigz6')}", gz("pigz6"), needs="pigz"))
    rows.append(Row("pigz-H", f"pigz -dc IN \\| pigz -p {jobs} -H (no exp)",
                    f"pigz -dc {src} | pigz -p {jobs} -H > {gz('pigzH')}", gz("pigzH"), needs="pigz"))
    return rows


def rows_for(name, data, out, jobs):
    o = lambda label: os.path.join(out, f"{name}-{label}")
    if name == "f32-256m":
        return big_file_rows(os.path.join(data, "f32-256m.npy.gz"), o, jobs)
    if name == "stages":
        gz, plain = os.path.join(data, "f32-256m.npy.gz"), os.path.join(data, "f32-256m.npy")
        run = lambda args, src: f"{NPYEXP} -q -j {jobs} -c {args}{src} > /dev/null"
        return [
            Row("full", "npyexp -c IN.npy.gz > /dev/null (inflate, exp, deflate, both SHA-256s)",
                run("", gz), reference=True),
            Row("no-deflate", "npyexp -c --no-gzip IN.npy.gz > /dev/null", run("--no-gzip ", gz)),
            Row("no-inflate", "npyexp -c --gzip IN.npy > /dev/null", run("--gzip ", plain)),
            Row("exp-only", "npyexp -c IN.npy > /dev/null (read, exp, SHA-256s, write)", run("", plain)),
            Row("inflate-alone", "igzip -dc IN.npy.gz > /dev/null (ISA-L inflate, 1 thread)",
                f"igzip -dc {gz} > /dev/null", needs="igzip"),
            Row("sha256-alone", "sha256sum IN.npy (one SHA-256 pass over 256 MiB)", f"sha256sum {plain} > /dev/null"),
        ]
    if name == "f32-2g":
        # The Python baselines would hold 4 GiB and take minutes; the pipes and npyexp show the memory story.
        return big_file_rows(os.path.join(data, "f32-2g.npy.gz"), o, jobs, python=False, naive=False)
    if name == "chain":
        blocks = os.path.join(data, "chain-npyexp.npy.gz")
        single = os.path.join(data, "chain-single.npy.gz")
        rows = big_file_rows(blocks, o, jobs)
        rows[0].label, rows[0].display = "npyexp-blocks", rows[0].display + " (IN block-framed: parallel inflate)"
        rows.insert(1, Row("npyexp-blocks-read", f"npyexp -c --no-gzip -j {jobs} IN > /dev/null (read only)",
                           f"{NPYEXP} -q -c --no-gzip -j {jobs} {blocks} > /dev/null"))
        rows.insert(2, Row("npyexp-single", f"npyexp -f -j {jobs} -o DIR IN (IN one gzip member: serial inflate)",
                           [NPYEXP, "-q", "-f", "-j", str(jobs), "-o", o("single"), single],
                           os.path.join(o("single"), os.path.basename(single))))
        rows.insert(3, Row("npyexp-single-read", f"npyexp -c --no-gzip -j {jobs} IN > /dev/null (read only, "
                                                 "one member)",
                           f"{NPYEXP} -q -c --no-gzip -j {jobs} {single} > /dev/null"))
        return rows
    if name == "many":
        d = os.path.join(data, "many")
        files = [os.path.join(d, f"m{i}.npy.gz") for i in range(4)]
        return [
            Row("npyexp-1file", f"npyexp -f -j {jobs} -o DIR m0.npy.gz",
                [NPYEXP, "-q", "-f", "-j", str(jobs), "-o", o("one"), files[0]], o("one"), reference=True),
            Row("npyexp-4files", f"npyexp -f -j {jobs} -o DIR m0.npy.gz m1.npy.gz m2.npy.gz m3.npy.gz",
                [NPYEXP, "-q", "-f", "-j", str(jobs), "-o", o("four")] + files, o("four")),
        ]
    if name == "npz":
        src = os.path.join(data, "f32-4x64m.npz")
        return [
            Row("npyexp", f"npyexp -f -j {jobs} -o DIR IN.npz",
                [NPYEXP, "-q", "-f", "-j", str(jobs), "-o", o("npyexp"), src], o("npyexp"), reference=True,
                may_fail=True),
            Row("numpy-savez", "np.load + np.exp + np.savez_compressed, 1 core (baselines/npz_numpy.py)",
                [PY, os.path.join(BASELINES, "npz_numpy.py"), src, o("numpy") + ".npz"], o("numpy") + ".npz"),
        ]
    if name == "small":
        src = os.path.join(data, "small")
        return [
            Row("npyexp", f"npyexp -f -j {jobs} -o DIR SRC (outputs and sidecars durable)",
                [NPYEXP, "-q", "-f", "-j", str(jobs), "-o", o("npyexp"), src], o("npyexp"), reference=True),
            Row("python-loop", "Python loop: gzip.open + np.load + np.exp + np.save, level 6, no checksum, no fsync "
                               "(baselines/loop_plain.py)",
                [PY, os.path.join(BASELINES, "loop_plain.py"), src, o("loop")], o("loop")),
            Row("python-loop-durable", "same loop, temp + fsync + rename per output and sidecar "
                                       "(baselines/loop_durable.py)",
                [PY, os.path.join(BASELINES, "loop_durable.py"), src, o("durable")], o("durable")),
        ]
    raise SystemExit(f"unknown set {name} (known: {','.join(ALL_SETS)})")


# --------------------------------------------------------------------------------------------------------- report

def machine_header(args, notes, load_before):
    def cpuinfo():
        info, flags = {}, set()
        try:
            for line in open("/proc/cpuinfo"):
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "cpu family", "model", "stepping") and key not in info:
                    info[key] = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
        except OSError:
            pass
        # Virtual machines often show a bare "AMD EPYC": family/model/stepping still tell the generation.
        model = (f"{info.get('model name', 'unknown')} (family {info.get('cpu family', '?')}, model "
                 f"{info.get('model', '?')}, stepping {info.get('stepping', '?')})")
        return model, flags

    model, flags = cpuinfo()
    vec = [f for f in ("sse4_2", "avx", "avx2", "avx512f", "avx512bw", "avx512vl", "pclmulqdq", "vpclmulqdq",
                       "sha_ni") if f in flags]
    commit = run_text(["git", "-C", ROOT, "rev-parse", "HEAD"])
    dirty = run_text(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    # The newest commit that changed what the binary is built from (bench/ commits do not make it stale).
    head_time = run_text(["git", "-C", ROOT, "log", "-1", "--format=%ct", "--", "Sources", "Package.swift"])
    try:
        stale = os.path.getmtime(NPYEXP) < float(head_time)
    except ValueError:
        stale = False
    try:
        import isal
        isal_version = isal.__version__
    except ImportError:
        isal_version = "not installed"
    try:
        package = [l.strip() for l in open(os.path.join(ROOT, "Package.swift")) if not l.strip().startswith("//")]
        flags_used = [l for l in package if "unsafeFlags(" in l or ".define(" in l]
    except OSError:
        flags_used = ["Package.swift unreadable"]
    lines = [
        f"- date (UTC): {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}",
        f"- commit: `{commit}`" + (" (working tree DIRTY: tracked files modified)" if dirty else " (clean tree)"),
        "- build: " + ("`swift build -c release --product npyexp`, run by this script (--build)" if args.build
                       else "`swift build -c release --product npyexp` expected (binary built beforehand; run "
                            "with --build to have the script build it)")
        + f"; binary mtime {datetime.datetime.fromtimestamp(os.path.getmtime(NPYEXP), datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
        + (" (OLDER than the last commit to Sources/ or Package.swift: rebuild!)" if stale else "")
        + f"; {run_text(['swift', '--version']).splitlines()[0] if have('swift') else 'swift not on PATH'}",
        "- Package.swift compiler flags: " + ("; ".join(f"`{l}`" for l in flags_used) if flags_used else
                                               "none (no unsafeFlags or defines: SwiftPM's release defaults)"),
        f"- `npyexp --version`: {run_text([NPYEXP, '--version'])}",
        f"- CPU: {model}; {os.cpu_count()} cores; vector/crypto flags: {' '.join(vec) or 'none of note'}"
        + ("; AVX-512" if "avx512f" in flags else "; no AVX-512"),
        f"- OS: {platform.platform()}",
        f"- load average before: {' '.join(f'{x:.2f}' for x in load_before)}",
        f"- run: reps={args.reps}, jobs={args.jobs}, sets={args.sets}, scale={args.scale}, settle={args.settle:g} s before each run, sync before each run",
        f"- versions: Python {platform.python_version()}, numpy {np.__version__}, zlib {zlib.ZLIB_RUNTIME_VERSION}, "
        f"pigz {run_text(['pigz', '--version']).split()[-1] if have('pigz') else 'missing'}, "
        f"igzip {run_text(['igzip', '--version']).split()[-1] if have('igzip') else 'missing'}, "
        f"python-isal {isal_version}",
    ]
    for what, why in notes.items():
        if why:
            lines.append(f"- SKIPPED baseline {what}: {why}")
    return lines


def fmt_bytes(n):
    return "" if n is None else f"{n:,}"


def summarise(name, rows):
    """Markdown table rows and notes for one data set."""
    ref = next((r for r in rows if r.reference), None)
    ref_wall = statistics.median(ref.walls) if ref and ref.walls and not ref.failure else None
    table, notes = [], []
    for r in rows:
        if r.failure:
            what = "skipped" if r.skipped else "unsupported" if r.may_fail else "FAILED"
            table.append(f"| {JOB_NAMES[name]} | {r.display} | {what} | | | | |")
            notes.append(f"{r.label}: {what}: {r.failure}")
            continue
        wall = statistics.median(r.walls)
        cpu = statistics.median(r.cpus)
        ratio = f"{wall / ref_wall:.2f}x" if ref_wall else "n/a"
        table.append(f"| {JOB_NAMES[name]} | {r.display} | {wall:.2f} s | {cpu:.2f} | {r.rss:.0f} MiB | "
                     f"{fmt_bytes(r.size)} | {ratio} |")
    by = {r.label: r for r in rows if not r.failure and r.walls}
    if name == "many" and "npyexp-1file" in by and "npyexp-4files" in by:
        one, four = by["npyexp-1file"], by["npyexp-4files"]
        notes.append(f"4 files took {statistics.median(four.walls) / statistics.median(one.walls):.2f}x the time of "
                     f"one (4.00x = no gain from running them together); peak RSS {four.rss:.0f} MiB for 4 files, "
                     f"{one.rss:.0f} MiB for one")
    if name == "small":
        parts = []
        for r in rows:
            if r.label not in by or not os.path.isdir(r.out):
                continue
            files = sorted(f for f in os.listdir(r.out) if not f.endswith(".sha256"))
            if not files:
                continue
            fields = set()
            m, h, b, t = (sum(x) / len(files)
                          for x in zip(*(gzip_anatomy(os.path.join(r.out, f), fields) for f in files)))
            n_side, side = sidecar_bytes(r.out)
            parts.append(f"{r.label}: {len(files)} outputs, {r.size / len(files):.0f} bytes each on average = "
                         f"{m:.2f} gzip members, {h:.0f} bytes of gzip headers (optional fields: "
                         f"{', '.join(sorted(fields)) or 'none'}), {b:.0f} of deflate data, {t:.0f} of trailers; "
                         f"{n_side} sidecars, {side:,} bytes")
        if parts:
            notes.append("output sizes (tensor files only; sidecars listed apart): " + "; ".join(parts))
    if name == "stages" and all(k in by for k in ("full", "no-deflate", "no-inflate", "exp-only")):
        cpu = {k: statistics.median(by[k].cpus) for k in ("full", "no-deflate", "no-inflate", "exp-only")}
        notes.append(
            f"per-stage CPU seconds by difference: inflate (with its CRC) {cpu['no-deflate'] - cpu['exp-only']:.2f}, "
            f"deflate {cpu['no-inflate'] - cpu['exp-only']:.2f}, the rest (read, exp, convert, both SHA-256s, "
            f"write) {cpu['exp-only']:.2f}; full job {cpu['full']:.2f} CPU s")
    if name == "chain" and "npyexp-blocks" in by and "npyexp-single" in by:
        notes.append(f"full second stage (read + write): block-framed input "
                     f"{statistics.median(by['npyexp-blocks'].walls):.2f} s vs one-member input "
                     f"{statistics.median(by['npyexp-single'].walls):.2f} s; read only "
                     f"{statistics.median(by['npyexp-blocks-read'].walls):.2f} s vs "
                     f"{statistics.median(by['npyexp-single-read'].walls):.2f} s")
    for r in rows:
        if r.walls and not r.failure:
            notes.append(f"{r.label} runs (wall s): {' '.join(f'{w:.2f}' for w in r.walls)}")
    return table, notes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sets", default=",".join(ALL_SETS))
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every data size by this (smoke tests only)")
    ap.add_argument("--out", help="results file (default bench/results-DATE.md; with --scale, bench/out/...)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--build", action="store_true", help="run swift build -c release --product npyexp first")
    ap.add_argument("--keep-outputs", action="store_true", help="keep each set's outputs under bench/out/")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get/pip install missing baselines")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds of idle before each timed run (default 2), so a run does not start on the heels "
                         "of the last one's load")
    args = ap.parse_args()
    sets = [s for s in args.sets.split(",") if s]
    for s in sets:
        if s not in ALL_SETS:
            raise SystemExit(f"unknown set {s} (known: {','.join(ALL_SETS)})")
    if args.scale <= 0 or args.reps < 1:
        raise SystemExit("--scale must be > 0 and --reps >= 1")
    if args.build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "npyexp"], cwd=ROOT, check=True)
    if not os.path.exists(NPYEXP):
        raise SystemExit("build first: swift build -c release --product npyexp (or pass --build)")

    scaled = args.scale != 1.0
    data = os.path.join(BENCH, "data") if not scaled else os.path.join(BENCH, "data", f"scale-{args.scale:g}")
    out = os.path.join(BENCH, "out")
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    results = args.out or (os.path.join(out, f"results-{today}-scale-{args.scale:g}.md") if scaled
                           else os.path.join(BENCH, f"results-{today}.md"))
    if not args.out and not scaled and os.path.exists(results):
        results = os.path.join(BENCH, f"results-{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d-%H%M}.md")

    notes = ensure_baselines(not args.no_install)
    make_data(sets, data, args.scale, args.jobs)
    os.makedirs(out, exist_ok=True)
    load_before = os.getloadavg()
    header = machine_header(args, notes, load_before)
    print("\n".join(header), flush=True)

    tables, all_notes, failed = [], [], False
    for name in sets:
        rows = rows_for(name, data, out, args.jobs)
        for r in rows:
            if r.needs and notes.get(r.needs):
                r.failure, r.skipped = notes[r.needs], True
        for rep in range(args.reps):
            k = rep % len(rows)
            for r in rows[k:] + rows[:k]:
                if r.failure:
                    continue
                set_aside(r.out)
                time.sleep(args.settle)
                ok, wall, cpu, rss, err = timed(r.cmd, out)
                if not ok:
                    first = next((line for line in err.splitlines() if line.strip()), "no message")
                    r.failure = f"exit status non-zero: {first.strip()[:300]}"
                    failed = failed or not r.may_fail
                    continue
                r.walls.append(wall)
                r.cpus.append(cpu)
                r.rss = max(r.rss, rss)
        for r in rows:
            r.size = size_of(r.out)
        table, set_notes = summarise(name, rows)
        tables.extend(table)
        all_notes.append((name, set_notes))
        print(f"\n{name}:\n" + "\n".join(table) + "".join(f"\n  - {n}" for n in set_notes), flush=True)
        if not args.keep_outputs:
            for r in rows:
                set_aside(r.out)

    load_after = os.getloadavg()
    fresh(TRASH)
    text = ["# npyexp end-to-end benchmark" + (f" (SCALED x{args.scale:g}: smoke test, not a measurement)"
                                                if scaled else ""), ""]
    text += header + [f"- load average after: {' '.join(f'{x:.2f}' for x in load_after)}", ""]
    text += ["Wall: median of the runs; CPU s: median user + sys of the command's whole process tree; peak RSS: the "
             "largest of any one process of the command, over all runs; output bytes: the tensor outputs (sidecars "
             "not counted); ratio: this row's wall median over the set's npyexp row's (for `many`, the one-file "
             "run), so above 1 means npyexp is faster. Rows marked \"(no exp)\" only recompress and compute nothing.",
             "", "| job | command | wall median | CPU s | peak RSS | output bytes | ratio vs npyexp |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    text += tables + [""]
    for name, set_notes in all_notes:
        if set_notes:
            text.append(f"## {name}")
            text += [f"- {n}" for n in set_notes] + [""]
    os.makedirs(os.path.dirname(os.path.abspath(results)), exist_ok=True)
    with open(results, "w") as f:
        f.write("\n".join(text))
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in load_after)}\nresults written to {results}")
    if failed:
        raise SystemExit("some commands failed: see FAILED rows")


if __name__ == "__main__":
    main()
