"""Baseline: the naive numpy script a user writes first.

Reads IN (.npy.gz) with gzip.open, np.load, np.exp, and writes OUT with np.save into gzip.open at level 6:
one core, zlib's default deflate strategy, the whole tensor in memory twice.
Usage: python3 naive_gzip.py IN OUT
"""
import gzip
import sys

import numpy as np

with gzip.open(sys.argv[1], "rb") as f:
    x = np.load(f)
with gzip.open(sys.argv[2], "wb", compresslevel=6) as f:
    np.save(f, np.exp(x))
