"""Baseline for many small files with npyexp's guarantees: the same loop as loop_plain.py, made durable and atomic.

Per file: the gzip bytes (same framing and level as loop_plain.py) are built in memory, hashed with SHA-256, written
to a temporary name, fsync'd and renamed; the `HASH  NAME` sidecar likewise; the directory is fsync'd once at the
end. This is what a careful user writes to get what npyexp guarantees (npyexp itself batches durability with
syncfs; this loop pays one fsync per output and per sidecar).
Usage: python3 loop_durable.py SRC DST
"""
import gzip
import hashlib
import io
import os
import sys

import numpy as np


def durable_write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    with gzip.open(os.path.join(src, name), "rb") as f:
        x = np.load(f)
    buf = io.BytesIO()
    inner = name[:-3] if name.endswith(".gz") else name
    with gzip.GzipFile(filename=inner, mode="wb", compresslevel=6, fileobj=buf) as g:
        np.save(g, np.exp(x))
    data = buf.getvalue()
    durable_write(os.path.join(dst, name), data)
    durable_write(os.path.join(dst, name + ".sha256"), f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode())
fd = os.open(dst, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
