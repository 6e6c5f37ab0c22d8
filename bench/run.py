#!/usr/bin/env python3
"""npyexp's end-to-end benchmark: npyexp against the baselines, side by side in one invocation.

Data sets (fixed seeds, made once under bench/data, reused):
  f32-256m   256 MiB float32 N(0,1), .npy.gz made at level 6 (single gzip member)
  f32-2g     2 GiB float32 N(0,1), .npy.gz at level 1 (for peak memory)
  small      2000 files of 1 KiB float32 tensors, .npy.gz
  chain      npyexp's output of f32-256m (block-framed gzip) re-read as the input of a second stage, against a
             single-member gzip of the very same tensor

Commands per data set, each repeated --reps times, interleaved so that machine noise hits all alike:
  npyexp            .build/release/npyexp (build it first: swift build -c release)
  naive-python      gzip.open + np.load + np.exp + np.save into gzip.open(level 6)
  pigz-6            pigz -dc IN | pigz -p N -6   (no exp at all)
  pigz-H            pigz -dc IN | pigz -p N -H   (no exp at all)
  python-loop       (small files) one Python process doing the naive job per file, with a sha256 sidecar and fsync

Prints medians of wall time, peak RSS of the command's process tree, output sizes, and ratios against npyexp.
Usage: python3 bench/run.py [--reps 3] [--sets f32-256m,chain,small,f32-2g] [--jobs N]
"""
import argparse
import gzip
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "bench", "data")
OUT = os.path.join(ROOT, "bench", "out")
NPYEXP = os.path.join(ROOT, ".build", "release", "npyexp")
PY = sys.executable

NAIVE = r"""
import gzip, sys, numpy as np
with gzip.open(sys.argv[1], "rb") as f:
    x = np.load(f)
with gzip.open(sys.argv[2], "wb", compresslevel=6) as f:
    np.save(f, np.exp(x))
"""

LOOP = r"""
import gzip, hashlib, os, sys, numpy as np
src, dst = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(src)):
    with gzip.open(os.path.join(src, name), "rb") as f:
        x = np.load(f)
    out = os.path.join(dst, name)
    with open(out, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as g:
            np.save(g, np.exp(x))
        raw.flush(); os.fsync(raw.fileno())
    digest = hashlib.sha256(open(out, "rb").read()).hexdigest()
    with open(out + ".sha256", "w") as s:
        s.write(f"{digest}  {name}\n"); s.flush(); os.fsync(s.fileno())
fd = os.open(dst, os.O_RDONLY); os.fsync(fd); os.close(fd)
"""


def have(tool):
    return shutil.which(tool) is not None


def gzip_file(src, dst, level):
    """Single-member gzip at `level`: pigz when present (fast), else Python's gzip."""
    if have("pigz"):
        with open(dst, "wb") as out:
            subprocess.run(["pigz", "-n", f"-{level}", "-c", src], stdout=out, check=True)
    else:
        with open(src, "rb") as f, gzip.open(dst, "wb", compresslevel=level) as g:
            shutil.copyfileobj(f, g, 1 << 20)


def write_normal_npy(path, count, seed):
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (count,)})
        left = count
        while left:
            n = min(left, 1 << 24)
            f.write(rng.standard_normal(n, dtype=np.float32).tobytes())
            left -= n


def make_data(sets, jobs):
    os.makedirs(DATA, exist_ok=True)
    if "f32-256m" in sets or "chain" in sets:
        gz = os.path.join(DATA, "f32-256m.npy.gz")
        if not os.path.exists(gz):
            raw = os.path.join(DATA, "f32-256m.npy")
            write_normal_npy(raw, 64 << 20, 1)
            gzip_file(raw, gz, 6)
            os.remove(raw)
    if "chain" in sets:
        stage1 = os.path.join(DATA, "chain-npyexp.npy.gz")
        single = os.path.join(DATA, "chain-single.npy.gz")
        if not os.path.exists(stage1) or not os.path.exists(single):
            tmp = os.path.join(DATA, "chain-tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            subprocess.run([NPYEXP, "-o", tmp, os.path.join(DATA, "f32-256m.npy.gz")], check=True)
            shutil.move(os.path.join(tmp, "f32-256m.npy.gz"), stage1)
            shutil.rmtree(tmp)
            raw = os.path.join(DATA, "chain-raw.npy")
            with gzip.open(stage1, "rb") as f, open(raw, "wb") as o:
                shutil.copyfileobj(f, o, 1 << 20)
            gzip_file(raw, single, 6)
            os.remove(raw)
    if "f32-2g" in sets:
        gz = os.path.join(DATA, "f32-2g.npy.gz")
        if not os.path.exists(gz):
            raw = os.path.join(DATA, "f32-2g.npy")
            write_normal_npy(raw, 512 << 20, 2)
            gzip_file(raw, gz, 1)
            os.remove(raw)
    if "small" in sets:
        d = os.path.join(DATA, "small")
        if not os.path.isdir(d) or len(os.listdir(d)) != 2000:
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            rng = np.random.default_rng(3)
            for i in range(2000):
                with gzip.GzipFile(os.path.join(d, f"t{i:04d}.npy.gz"), "wb", mtime=0) as g:
                    np.save(g, rng.standard_normal(256, dtype=np.float32))


def timed(cmd, shell=False):
    """Wall seconds and peak RSS (MiB) of the command's largest process.

    GNU time measures from a small parent: rusage taken from this (large) Python process's own fork would count
    the pages the fork inherited before exec."""
    if shell:
        cmd = ["/bin/bash", "-c", cmd]
    report = os.path.join(OUT, ".time")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-o", report, "-f", "%M"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"command failed: {cmd}\n{p.stderr.decode()}")
    with open(report) as f:
        kib = int(f.read().strip().splitlines()[-1])
    return wall, kib / 1024


def size_of(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def fresh(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def commands(name, jobs):
    """(label, command builder, output path) per data set."""
    o = lambda label: os.path.join(OUT, f"{name}-{label}")
    if name in ("f32-256m", "f32-2g"):
        src = os.path.join(DATA, f"{name}.npy.gz")
        out_gz = lambda label: o(label) + ".npy.gz"
        cmds = [
            ("npyexp", lambda: [NPYEXP, "-f", "-j", str(jobs), "-o", o("npyexp"), src],
             os.path.join(o("npyexp"), f"{name}.npy.gz")),
        ]
        if name == "f32-256m":
            cmds.append(("naive-python", lambda: [PY, "-c", NAIVE, src, out_gz("naive")], out_gz("naive")))
        if have("pigz"):
            cmds.append(("pigz-6", lambda: f"pigz -dc {src} | pigz -p {jobs} -6 > {out_gz('pigz6')}", out_gz("pigz6")))
            cmds.append(("pigz-H", lambda: f"pigz -dc {src} | pigz -p {jobs} -H > {out_gz('pigzH')}", out_gz("pigzH")))
        return cmds
    if name == "chain":
        res = []
        for label, f in (("npyexp-blocks", "chain-npyexp.npy.gz"), ("npyexp-single", "chain-single.npy.gz")):
            src = os.path.join(DATA, f)
            # The second stage's reading: plain output to /dev/null, so deflate does not mask the inflate side.
            res.append((f"{label}-read", (lambda s=src: f"{NPYEXP} -c --no-gzip -j {jobs} {s} > /dev/null"), None))
            res.append((f"{label}", (lambda s=src, l=label: [NPYEXP, "-f", "-j", str(jobs), "-o", o(l), s]), o(label)))
        return res
    if name == "small":
        src = os.path.join(DATA, "small")
        return [
            ("npyexp", lambda: [NPYEXP, "-f", "-j", str(jobs), "-o", o("npyexp"), src], o("npyexp")),
            ("python-loop", lambda: f"mkdir -p {o('loop')} && {PY} -c '{LOOP}' {src} {o('loop')}", o("loop")),
        ]
    raise SystemExit(f"unknown set {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sets", default="f32-256m,chain,small,f32-2g")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    args = ap.parse_args()
    sets = args.sets.split(",")
    if not os.path.exists(NPYEXP):
        raise SystemExit("build first: swift build -c release")
    make_data(sets, args.jobs)
    os.makedirs(OUT, exist_ok=True)
    print(f"# npyexp benchmark: {os.cpu_count()} cores, jobs={args.jobs}, reps={args.reps}, numpy {np.__version__}")
    for name in sets:
        cmds = commands(name, args.jobs)
        results = {label: [] for label, _, _ in cmds}
        rss = {label: 0.0 for label, _, _ in cmds}
        for _ in range(args.reps):
            for label, build, out in cmds:
                if out:
                    fresh(out)
                cmd = build()
                wall, peak = timed(cmd, shell=isinstance(cmd, str))
                results[label].append(wall)
                rss[label] = max(rss[label], peak)
        base = statistics.median(results[cmds[0][0]])
        print(f"\n## {name}")
        print("| command | median s | runs | vs first | peak RSS MiB | output bytes |")
        print("|---|---|---|---|---|---|")
        for label, _, out in cmds:
            med = statistics.median(results[label])
            runs = " ".join(f"{t:.2f}" for t in results[label])
            size = size_of(out) if out and os.path.exists(out) else ""
            print(f"| {label} | {med:.2f} | {runs} | {med / base:.2f}x | {rss[label]:.0f} | {size} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
