"""Baseline for .npz archives: the numpy script a user writes.

np.load the archive, np.exp every member, np.savez_compressed the results under the same member names (zipfile's
deflate, level 6, one core; the whole archive in memory).
Usage: python3 npz_numpy.py IN.npz OUT.npz
"""
import sys

import numpy as np

with np.load(sys.argv[1]) as d:
    out = {k: np.exp(d[k]) for k in d.files}
np.savez_compressed(sys.argv[2], **out)
