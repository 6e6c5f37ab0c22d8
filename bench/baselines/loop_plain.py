"""Baseline for many small files: the loop a user writes, one Python process for the whole directory.

For each SRC/*.npy.gz: gzip.open + np.load + np.exp + np.save into gzip.open(DST/name, level 6). No checksum, no
fsync, no temporary file: a crash can leave a truncated output under its final name.
Usage: python3 loop_plain.py SRC DST
"""
import gzip
import os
import sys

import numpy as np

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    with gzip.open(os.path.join(src, name), "rb") as f:
        x = np.load(f)
    with gzip.open(os.path.join(dst, name), "wb", compresslevel=6) as f:
        np.save(f, np.exp(x))
