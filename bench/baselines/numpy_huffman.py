"""Baseline: numpy + Huffman-only gzip, on every core Python can use.

npyexp picks Huffman-only deflate for float data (LZ77 finds almost nothing in random mantissas), which is several
times faster than zlib's default strategy. This script gives numpy the same advantage, so that a comparison with it
measures npyexp's engineering rather than its choice of strategy:

- the input is read with gzip.open + np.load (inflate of one gzip member is serial in any case);
- the output payload is cut into 4 MiB blocks; each block is exp'd and compressed with
  zlib.compressobj(6, DEFLATED, 31, 9, Z_HUFFMAN_ONLY) into its own gzip member in a thread pool (numpy's ufuncs
  and zlib both release the GIL, so the threads run on all cores);
- the members are written in order, at most 2 x THREADS blocks in flight. Concatenated members are a valid gzip
  file that gzip, Python's gzip module and np.load read.

Usage: python3 numpy_huffman.py IN OUT [THREADS]
"""
import collections
import gzip
import io
import os
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

BLOCK_BYTES = 4 << 20


def member(*buffers):
    c = zlib.compressobj(6, zlib.DEFLATED, 31, 9, zlib.Z_HUFFMAN_ONLY)
    return b"".join([c.compress(b) for b in buffers] + [c.flush()])


def main():
    src, dst = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
    with gzip.open(src, "rb") as f:
        x = np.load(f)
    fortran = x.flags.f_contiguous and not x.flags.c_contiguous
    flat = x.ravel(order="K")  # no copy for the contiguous arrays np.load returns
    out_dtype = np.exp(flat[:0]).dtype
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": np.lib.format.dtype_to_descr(out_dtype), "fortran_order": fortran, "shape": x.shape})
    step = max(1, BLOCK_BYTES // out_dtype.itemsize)

    def job(lo):
        y = np.exp(flat[lo:lo + step])
        return member(header.getvalue(), y.data) if lo == 0 else member(y.data)

    with open(dst, "wb") as out, ThreadPoolExecutor(threads) as pool:
        pending = collections.deque()
        starts = iter(range(0, max(flat.size, 1), step))
        for lo in starts:
            pending.append(pool.submit(job, lo))
            if len(pending) >= 2 * threads:
                out.write(pending.popleft().result())
        while pending:
            out.write(pending.popleft().result())


if __name__ == "__main__":
    main()
