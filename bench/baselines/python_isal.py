"""Baseline: numpy with python-isal, the fastest gzip a Python user can install (PyPI `isal`).

Reads IN with isal.igzip (ISA-L inflate, about 2.5x zlib's), np.load, np.exp, and writes OUT with np.save into
isal.igzip_threaded at level 1 with THREADS compression threads.
Usage: python3 python_isal.py IN OUT [THREADS]
"""
import os
import sys

import numpy as np
from isal import igzip, igzip_threaded

threads = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
with igzip.open(sys.argv[1], "rb") as f:
    x = np.load(f)
with igzip_threaded.open(sys.argv[2], "wb", compresslevel=1, threads=threads) as f:
    np.save(f, np.exp(x))
