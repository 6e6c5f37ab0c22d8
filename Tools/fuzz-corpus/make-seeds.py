#!/usr/bin/env python3
"""make-seeds: writes the hand-made seeds of the fuzz-stream corpus (Tools/fuzz-corpus/fuzz-stream/seed-*).

Fuzzing grows the corpus from these and from the fixtures (.ci/fuzz merges the finds back into this folder). The
seeds are small but reach the paths a few-byte input cannot: several 4 KiB chunks and the overlapped reader (inputs
of 8 KiB or more, fuzz-stream runs with 2 jobs), gzip of several members, and npyexp's own block-framed gzip (BC
subfields, the parallel block reader) when an npyexp binary is given.
Usage: make-seeds.py OUT-DIR [NPYEXP]. Deterministic (fixed seeds, gzip mtime 0). Relies on numpy.
"""
import gzip
import io
import os
import subprocess
import sys
import tempfile

import numpy as np


def npy_bytes(array):
    f = io.BytesIO()
    np.save(f, array)
    return f.getvalue()


def member(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(15)
    seeds = {}
    normal = npy_bytes(rng.normal(0, 3, 3000).astype(np.float32))      # 12 KiB: three chunks, overlapped reader
    seeds["seed-f32-normal.npy"] = normal
    seeds["seed-f32-normal.npy.gz"] = member(normal)
    cut = len(normal) // 3                                             # members split mid-header-free data
    seeds["seed-f32-3members.npy.gz"] = member(normal[:cut]) + member(normal[cut:2 * cut]) + member(normal[2 * cut:])
    seeds["seed-f16-specials.npy"] = npy_bytes(np.array([0, -0.0, np.inf, -np.inf, np.nan, 11.1, -17.5, 6e-8] * 700, np.float16))
    seeds["seed-c64-fortran.npy.gz"] = member(npy_bytes(np.asfortranarray(
        (rng.normal(0, 20, (40, 30)) + 1j * rng.normal(0, 1e3, (40, 30))).astype(np.complex64))))
    seeds["seed-i64-be.npy"] = npy_bytes(rng.integers(-100, 100, 1500).astype(">i8"))
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    if len(sys.argv) > 2:  # npyexp's own output: block-framed gzip, 1 MiB per member, so 1.2 MiB gives two members
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "zeros.npy.gz")
            with open(src, "wb") as f:
                f.write(member(npy_bytes(np.zeros(300_000, np.float32))))
            subprocess.run([sys.argv[2], "-q", "-o", tmp + "/o", src], check=True)
            made = [n for n in os.listdir(os.path.join(tmp, "o")) if n.endswith(".npy.gz")]
            with open(os.path.join(tmp, "o", made[0]), "rb") as f, \
                    open(os.path.join(out, "seed-npyexp-blocks.npy.gz"), "wb") as g:
                g.write(f.read())


if __name__ == "__main__":
    main()
