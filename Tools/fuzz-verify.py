#!/usr/bin/env python3
"""fuzz-verify: checks npyexp on fuzz corpus files (.npy, .npy.gz, .npz) against a verdict sharing no code with it.

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
import struct
import tempfile
import warnings
import zipfile
import zlib

import numpy as np

warnings.simplefilter("ignore")
try:  # numpy 2: the header reader that handles versions 1.0, 2.0 and 3.0 lives here
    from numpy.lib._format_impl import _read_array_header as read_npy_header
except ImportError:
    from numpy.lib.format import _read_array_header as read_npy_header
SUPPORTED_KINDS = {"b", "i", "u", "f", "c"}


def zip_verdict(data):
    """({name: array}, None) when Python's zipfile and numpy accept the bytes as an archive npyexp supports, else
    (None, why). npyexp reads archives as a stream, so beyond what zipfile checks (CRC-32 and sizes of every member)
    the layout must be the plain one numpy and zipfile write: members back to back from offset 0, the central
    directory right after the last, then the end record(s) and nothing else; no encryption, stored or deflated only,
    names unique, every member a supported .npy."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            return None, "duplicate member names"
        arrays, offset = {}, 0
        for i in infos:
            if i.flag_bits & 0x61 or i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                return None, f"member {i.filename}: encrypted, patched data or method {i.compress_type}"
            if i.header_offset != offset:
                return None, f"member {i.filename} at {i.header_offset}, previous member ends at {offset}"
            name_len, extra_len = struct.unpack("<HH", data[offset + 26:offset + 30])
            # npyexp reads each member by its local header, then checks the directory against it: the fields zipfile
            # takes from the directory alone must agree (encryption and patched data refused in either).
            local_flags, local_method = struct.unpack("<HH", data[offset + 6:offset + 10])
            if local_flags & 0x61:
                return None, f"member {i.filename}: encrypted or patched data (local header flags)"
            if local_method != i.compress_type or (local_flags ^ i.flag_bits) & 0x08:
                return None, f"member {i.filename}: local header method or descriptor flag differs from the directory's"
            if not local_flags & 0x08 and struct.unpack("<I", data[offset + 14:offset + 18])[0] != i.CRC:
                return None, f"member {i.filename}: local header CRC differs from the directory's"
            extra = data[offset + 30 + name_len:offset + 30 + name_len + extra_len]
            if extra_ids(extra) is None:  # zipfile never parses a local header's extra field; npyexp does
                return None, f"member {i.filename}: malformed extra field in its local header"
            compressed32, uncompressed32 = struct.unpack("<II", data[offset + 18:offset + 26])
            escaped = [v == 0xFFFFFFFF for v in (uncompressed32, compressed32)]
            sizes = zip64_sizes(extra)
            if any(escaped) and (sizes is None or len(sizes) < sum(escaped)):
                return None, f"member {i.filename}: local header sizes escaped without a zip64 field to hold them"
            # zipfile takes sizes from the directory only; npyexp streams by the local header's, which must agree.
            local = list(sizes or [])
            if not i.flag_bits & 0x08 and (
                    (local.pop(0) if escaped[0] else uncompressed32) != i.file_size
                    or (local.pop(0) if escaped[1] else compressed32) != i.compress_size):
                return None, f"member {i.filename}: local header sizes differ from the directory's"
            offset += 30 + name_len + extra_len + i.compress_size
            if i.flag_bits & 0x08:
                zip64 = any(extra_id == 1 for extra_id in extra_ids(data[offset - i.compress_size - extra_len:
                                                                        offset - i.compress_size]))
                at = offset + (4 if data[offset:offset + 4] == b"PK\x07\x08" else 0)
                crc, = struct.unpack("<I", data[at:at + 4])
                compressed, uncompressed = struct.unpack("<QQ" if zip64 else "<II", data[at + 4:at + (20 if zip64 else 12)])
                # zipfile never reads the descriptor; npyexp checks the member against it (the local header's
                # compressed size, where it gives one, wins), so it must agree with the directory.
                local = list(sizes or [])
                if escaped[0]:
                    local.pop(0)
                listed = (local.pop(0) if escaped[1] else compressed32) or None  # 0: left to the descriptor
                if listed is not None and listed != compressed:
                    compressed = listed
                if (crc, compressed, uncompressed) != (i.CRC, i.compress_size, i.file_size):
                    return None, f"member {i.filename}: data descriptor differs from the directory"
                offset = at + (20 if zip64 else 12)
            payload = z.read(i)
            if len(payload) != i.file_size:  # zipfile checks the CRC only when it read file_size bytes
                return None, f"member {i.filename}: holds {len(payload)} bytes, the directory says {i.file_size}"
            array, why = npy_verdict(payload)
            if array is None:
                return None, f"member {i.filename}: {why}"
            arrays[i.filename] = array
        # The end record as zipfile finds it (npyexp finds the same one): the last 22 bytes when they are one with no
        # comment, else the last signature in the last 64 KiB + 22 bytes; its comment must reach the end of the file.
        if data[-22:-18] == b"PK\x05\x06" and data[-2:] == b"\x00\x00":
            end = len(data) - 22
        else:
            end = data.rfind(b"PK\x05\x06", max(len(data) - 65536 - 22, 0))
        if end < 0 or end + 22 > len(data):
            return None, "no end record"
        if end + 22 + struct.unpack("<H", data[end + 20:end + 22])[0] != len(data):
            return None, "bytes after the end record"
        if any(d not in (0, 0xFFFF) for d in struct.unpack("<HH", data[end + 4:end + 8])):
            return None, "multi-disk archive (disk numbers in the end record)"  # zipfile ignores them
        # The member count and the directory's offset, as npyexp reads them (zipfile reads entries up to the
        # directory's size and places the directory before the end records, whatever these say): from the zip64 end
        # record where a locator points at one, else from the end record (its per-disk count ignored, no escapes).
        locator = end - 20
        if locator >= 0 and data[locator:locator + 4] == b"PK\x06\x07":
            record = struct.unpack("<Q", data[locator + 8:locator + 16])[0]
            if record + 56 != locator or data[record:record + 4] != b"PK\x06\x06":
                return None, "no zip64 end record right before the locator"
            total, size, directory_offset = struct.unpack("<QQQ", data[record + 32:record + 56])
            directory_end = record
        else:
            total = struct.unpack("<H", data[end + 10:end + 12])[0]
            size, directory_offset = struct.unpack("<II", data[end + 12:end + 20])
            directory_end = end
        if total != len(infos):
            return None, f"the end records count {total} members, the directory holds {len(infos)}"
        if directory_offset != offset:
            return None, f"central directory at {directory_offset}, last member ends at {offset}"
        # zipfile reads the directory as the bytes just before the end records and takes anything before the first
        # member as a prefix; npyexp reads members from offset 0 and the directory at its offset: no gap or prefix.
        if directory_offset + size != directory_end:
            return None, f"directory of {size} bytes at {directory_offset}, end records at {directory_end}"
        # zipfile reads a directory entry's comment short at the directory's end without a word; npyexp parses the
        # entries, which must fill the directory exactly.
        at = directory_offset
        while at < directory_end:
            if data[at:at + 4] != b"PK\x01\x02":
                return None, f"no directory entry at {at}"
            n, e, c = struct.unpack("<HHH", data[at + 28:at + 34])
            at += 46 + n + e + c
        if at != directory_end:
            return None, f"directory entries run {at - directory_end} bytes past the directory"
        return arrays, None
    except Exception as e:  # zipfile raises BadZipFile, ValueError, EOFError, zlib.error, NotImplementedError...
        return None, f"zipfile: {type(e).__name__}: {e}"


def zip64_sizes(extra):
    """The 8-byte values of the zip64 field (id 1) in a well-formed extra block, None when there is none."""
    while len(extra) >= 4:
        extra_id, size = struct.unpack("<HH", extra[:4])
        if extra_id == 1:
            body = extra[4:4 + size]
            return [struct.unpack("<Q", body[k:k + 8])[0] for k in range(0, len(body) - 7, 8)]
        extra = extra[4 + size:]
    return None


def extra_ids(extra):
    """The ids of the fields in a zip extra block; None when a field runs past the block."""
    ids = []
    while len(extra) >= 4:
        extra_id, size = struct.unpack("<HH", extra[:4])
        if 4 + size > len(extra):
            return None
        ids.append(extra_id)
        extra = extra[4 + size:]
    return ids


def independent_verdict(data):
    """(array, None) when Python's gzip and numpy accept the bytes as an input npyexp supports, else (None, why);
    for a zip archive, a dict of the members' arrays."""
    if data[:2] == b"PK":
        return zip_verdict(data)
    if data[:2] == b"\x1f\x8b":
        try:
            payload = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            return None, f"gzip: {e}"
    else:
        payload = data
    return npy_verdict(payload)


def npy_verdict(payload):
    """(array, None) when numpy accepts `payload` as an .npy npyexp supports, else (None, why)."""
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


def block_header_disagrees(data):
    """Whether some gzip member carries npyexp's block header (FLG 4, XLEN 12, subfield 'NX' of 8 bytes: member and
    inflated sizes) with sizes the member does not have. gzip readers skip the extra field; npyexp trusts the header
    where it reads blocks in parallel and finds the lie there, but not on every path (a member too large for a batch,
    or one after a member without the header, is read serially). Such a file may be accepted or refused."""
    pos = 0
    while data[pos:pos + 2] == b"\x1f\x8b" and len(data) >= pos + 10:
        flags, p = data[pos + 3], pos + 10
        claim = None
        if flags & 4:
            xlen, = struct.unpack("<H", data[p:p + 2])
            if flags == 4 and xlen == 12 and data[p + 2:p + 6] == b"NX\x08\x00":
                claim = struct.unpack("<II", data[p + 6:p + 14])
            p += 2 + xlen
        for flag in (8, 16):
            if flags & flag:
                p = data.find(b"\0", p) + 1
                if p == 0:
                    return False
        p += 2 if flags & 2 else 0
        d = zlib.decompressobj(-15)
        try:
            raw = d.decompress(data[p:])
        except zlib.error:
            return False
        if not d.eof:
            return False
        end = len(data) - len(d.unused_data) + 8
        if claim is not None and claim != (end - pos, len(raw)):
            return True
        pos = end
    return False


def check_file(npyexp, path, work):
    """(valid, problem): whether the independent verdict accepts `path`, and None when npyexp agrees with it, else
    a one-line description. A gzip file whose npyexp block headers lie about their members may be refused; if
    npyexp accepts it, its output must still be right."""
    with open(path, "rb") as f:
        data = f.read()
    array, why = independent_verdict(data)
    problem = run_and_compare(npyexp, data, array, why, work)
    if problem and array is not None and problem.startswith("npyexp refused") and block_header_disagrees(data):
        problem = None if not leftover_outputs(work) else f"npyexp failed but left {leftover_outputs(work)}"
    return array is not None, problem


def leftover_outputs(work):
    return [n for n in os.listdir(os.path.join(work, "out")) if n.endswith(".npy")]


def run_and_compare(npyexp, data, array, why, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "out"))
    src = os.path.join(work, "in.npy")
    with open(src, "wb") as f:
        f.write(data)
    run = subprocess.run([npyexp, "-q", "-j", "2", "--no-gzip", "-o", os.path.join(work, "out"), src],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    outputs = [n for n in os.listdir(os.path.join(work, "out")) if n.endswith(".npy")]
    if isinstance(array, dict):  # an archive: the output (same name as the input) holds exp of every member
        if run.returncode != 0:
            return f"npyexp refused a valid archive (exit {run.returncode}: {run.stderr.decode(errors='replace').strip()[:200]})"
        with np.load(os.path.join(work, "out", "in.npy")) as archive:
            outputs_by_name = {n + ".npy": archive[n] for n in archive.files}
        if sorted(outputs_by_name) != sorted(array):
            return f"output members {sorted(outputs_by_name)}, input has {sorted(array)}"
        for name, x in array.items():
            problem = compare_one(x, outputs_by_name[name])
            if problem:
                return f"member {name}: {problem}"
        return None
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
    return compare_one(array, np.load(os.path.join(work, "out", outputs[0])))


def compare_one(array, y):
    """None when the output array y is npyexp's exp of the input array, else what differs."""
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
