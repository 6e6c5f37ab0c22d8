#!/usr/bin/env python3
"""fuzz-verify: checks npyexp on fuzz corpus files against a verdict that shares no code with it.

The fuzz-stream target compares the pipeline with npyexp's own verifier, which shares the gzip decoder and the NPY
header parser with the code under test. This script is the independent check: for a seeded sample of files it asks
Python's gzip module and numpy whether each file is a valid .npy or .npy.gz that npyexp supports, runs the built
`npyexp` binary on it, and requires
  - valid input:   npyexp succeeds, and its output has npyexp's documented dtype and the input's shape, and holds
                   exp of the input (long double reference; correctly rounded for float16/float32, < 0.52 ulp for
                   float64, a few ulps per component for complex, special values by class);
  - invalid input: npyexp fails (exit status not 0) and leaves no output file.
"Valid" is decided here: gzip.decompress for gzip data (every member, nothing but members), numpy's header reader
(numpy's own 10000-byte header limit), a dtype npyexp supports (bool, integers, float16/32/64, complex64/128), and
data exactly as long as the shape says (numpy ignores extra bytes; npyexp refuses them, as documented).
Usage: fuzz-verify.py --npyexp PATH [--sample N] [--seed S] DIR_OR_FILE ...   Exit 1 on any disagreement.
Relies on: python3 with numpy; a long double wider than double (x87 on x86-64) for the float64 bound.
"""
import argparse
import gzip
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import warnings
import zlib

import numpy as np

warnings.simplefilter("ignore")
try:  # numpy 2: the header reader that handles versions 1.0, 2.0 and 3.0 lives here
    from numpy.lib._format_impl import _read_array_header as read_npy_header
except ImportError:
    from numpy.lib.format import _read_array_header as read_npy_header
SUPPORTED_KINDS = {"b", "i", "u", "f", "c"}


def independent_verdict(data):
    """(array, None) when Python's gzip and numpy accept the bytes as an input npyexp supports, else (None, why)."""
    if data[:2] == b"\x1f\x8b":
        try:
            payload = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            return None, f"gzip: {e}"
    else:
        payload = data
    f = io.BytesIO(payload)
    try:
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = read_npy_header(f, version)
    except Exception as e:  # numpy raises ValueError, SyntaxError, TypeError... on bad headers
        return None, f"numpy header: {type(e).__name__}: {e}"
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in SUPPORTED_KINDS:
        return None, f"dtype {dtype} not supported"
    if dtype.kind == "f" and dtype.itemsize not in (2, 4, 8) or dtype.kind == "c" and dtype.itemsize not in (8, 16):
        return None, f"dtype {dtype} not supported"
    count = 1
    for n in shape:
        count *= n
    start = f.tell()
    if len(payload) != start + count * dtype.itemsize:
        return None, f"data is {len(payload) - start} bytes, shape needs {count * dtype.itemsize}"
    array = np.frombuffer(payload, dtype=dtype, count=count, offset=start)
    return array.reshape(shape, order="F" if fortran else "C"), None


def output_dtype(dtype):
    """npyexp's result dtype (torch's rules): floats and complex keep theirs, bool and integers give float32."""
    if dtype.kind in "fc":
        return np.dtype(dtype.newbyteorder("="))
    return np.dtype(np.float32)


def ulp_errors(got, ref, out):
    """|got - ref| in ulps of the format `out` at ref (subnormal spacing below the normal range)."""
    info = np.finfo(out)
    spacing = np.maximum(np.abs(ref), np.longdouble(info.smallest_normal)) * np.longdouble(info.eps)
    return np.abs(got.astype(np.longdouble) - ref) / spacing


def same_class(got, ref):
    """NaN where NaN, the same infinities, else both finite."""
    bad = np.isnan(got) != np.isnan(ref)
    bad |= np.isinf(got) != np.isinf(ref)
    both_inf = np.isinf(got) & np.isinf(ref)
    bad |= both_inf & (np.sign(got) != np.sign(ref))
    return ~bad


def compare_real(x, y, out):
    """None when y is exp(x) within npyexp's claim for `out`, else a description of the worst element."""
    xs = x.astype(out).astype(np.longdouble)  # npyexp converts to the output type first (torch), then takes exp
    ref = np.exp(xs)
    info = np.finfo(out)
    finite_ref = ref.astype(out)  # overflow to inf and underflow to 0 as the format does
    ok = same_class(y, finite_ref)
    finite = np.isfinite(y) & np.isfinite(finite_ref)
    bound = 0.52 if out == np.float64 else 0.5 + 2.0**-20
    err = np.zeros(y.shape, dtype=np.longdouble)
    err[finite] = ulp_errors(y[finite], ref[finite], out)
    ok &= ~finite | (err <= bound)
    if ok.all():
        return None
    i = np.flatnonzero(~ok.ravel())[0]
    return f"element {i}: x={xs.ravel()[i]!r} got {y.ravel()[i]!r} want {finite_ref.ravel()[i]!r} err {err.ravel()[i]:.3f} ulp (bound {bound}) of {info.dtype}"


def compare_complex(x, y, out):
    part = np.float32 if out == np.complex64 else np.float64
    z = x.astype(out)
    ref = np.exp(z.astype(np.clongdouble))
    classes = np.exp(z.astype(np.complex128)).astype(out)  # numpy's specials (Annex G), class by class
    bound = 1.0 if out == np.complex64 else 4.0
    for name, g, r, c in (("real", y.real, ref.real, classes.real), ("imag", y.imag, ref.imag, classes.imag)):
        ok = same_class(g, c)
        finite = np.isfinite(g) & np.isfinite(c)
        err = np.zeros(g.shape, dtype=np.longdouble)
        err[finite] = ulp_errors(g[finite], r[finite], part)
        ok &= ~finite | (err <= bound)
        if not ok.all():
            i = np.flatnonzero(~ok.ravel())[0]
            return f"{name} part of element {i}: z={z.ravel()[i]!r} got {g.ravel()[i]!r} want {c.ravel()[i]!r} err {err.ravel()[i]:.3f} ulp"
    return None


def check_file(npyexp, path, work):
    """(valid, problem): whether the independent verdict accepts `path`, and None when npyexp agrees with it, else
    a one-line description."""
    with open(path, "rb") as f:
        data = f.read()
    array, why = independent_verdict(data)
    return array is not None, run_and_compare(npyexp, data, array, why, work)


def run_and_compare(npyexp, data, array, why, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "out"))
    src = os.path.join(work, "in.npy")
    with open(src, "wb") as f:
        f.write(data)
    run = subprocess.run([npyexp, "-q", "-j", "2", "--no-gzip", "-o", os.path.join(work, "out"), src],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    outputs = [n for n in os.listdir(os.path.join(work, "out")) if n.endswith(".npy")]
    if array is None:
        if run.returncode == 0:
            return f"npyexp accepted an input Python refuses ({why})"
        if outputs:
            return f"npyexp failed (exit {run.returncode}) but left {outputs}"
        return None
    if run.returncode != 0:
        return f"npyexp refused a valid input (exit {run.returncode}: {run.stderr.decode(errors='replace').strip()[:200]})"
    if len(outputs) != 1:
        return f"npyexp succeeded but wrote {outputs}"
    y = np.load(os.path.join(work, "out", outputs[0]))
    out = output_dtype(array.dtype)
    if y.dtype != out or y.shape != array.shape:
        return f"output is {y.dtype} {y.shape}, want {out} {array.shape}"
    if array.size == 0:
        return None
    return compare_complex(array, y, out) if out.kind == "c" else compare_real(array, y, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--npyexp", required=True)
    parser.add_argument("--sample", type=int, default=300, help="files checked at most (seeded sample)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    files = []
    for p in args.paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names]
        elif os.path.isfile(p):
            files.append(p)
    files.sort()
    random.Random(args.seed).shuffle(files)
    files = files[: args.sample]
    failures, valid = [], 0
    with tempfile.TemporaryDirectory(prefix="fuzz-verify.") as tmp:
        for path in files:
            ok, problem = check_file(args.npyexp, path, os.path.join(tmp, "w"))
            valid += ok
            if problem:
                failures.append(f"{path}: {problem}")
    print(f"fuzz-verify: {len(files)} files, {valid} valid by Python's gzip + numpy, {len(failures)} disagreements")
    for line in failures[:20]:
        print("  " + line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
