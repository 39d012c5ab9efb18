#!/usr/bin/env python3
"""Writes the hostile-input bombs of issue 13 into OUTDIR (standard library only).

Each bomb is a directory or file plus the command that meets it (`scan` or `dataset`), listed
in OUTDIR/bombs.tsv for scripts/bomb-table.sh. Deterministic: the same bytes every run.

    python3 scripts/gen-bombs.py /tmp/bombs [PARQUET]

PARQUET is a real parquet file to mutate (default: testdata/datasets/parquet-base/train.parquet).
The files take about 2.5 GB of disk (the CSV field is 2 GiB), generated in about a minute.
"""
import bz2
import gzip
import lzma
import os
import struct
import sys
import zlib

out = sys.argv[1]
parquet_src = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
    os.path.dirname(__file__), "..", "testdata", "datasets", "parquet-base", "train.parquet")
os.makedirs(out, exist_ok=True)
rows = []


def bomb(name, kind, what, extra=""):
    """A bomb in its own directory beside an ordinary file, so that a scan runs it on the
    thread pool (smaller stacks than the main thread)."""
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    if kind == "scan":
        with open(os.path.join(d, "other.pkl"), "wb") as f:
            f.write(b"\x80\x02N.")
    rows.append((name, kind, what, extra))
    return d


def write(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# 1. Deeply nested values: a million nested tuples, and nested lists.
d = bomb("deep_tuples", "scan", "pickle of 1M nested tuples")
write(d, "model.pt", b"\x80\x02)" + b"\x85" * 1_000_000 + b".")
d = bomb("deep_lists", "scan", "pickle of 1M nested lists")
write(d, "model.pkl", b"\x80\x02" + b"]" * 1_000_000 + b"a" * 999_999 + b".")

# 2. Reference cycles: 40 gzip'd pickles of a dict that contains itself 200k times.
d = bomb("cycles", "scan", "40 gzip'd self-containing dicts")
cyc = b"\x80\x02}q\x00" + b"(h\x00h\x00u" * 200_000 + b"."
for i in range(40):
    write(d, f"c{i:02}.pkl.gz", gzip.compress(cyc, 1, mtime=0))

# 4. Finding floods: safetensors headers of duplicate keys (1 MB and 100 MB).
for mb in (1, 100):
    d = bomb(f"dup_keys_{mb}mb", "scan", f"safetensors header of {mb} MB duplicate keys")
    n = mb * 1_000_000 // 7
    h = b"{" + b'"a": 1,' * n + b'"a": 1}'
    write(d, "model.safetensors", struct.pack("<Q", len(h)) + h)

# 4. A zip whose 10,000 central entries share one local header with a 65,000-byte name.
d = bomb("zip_long_names", "scan", "10k central entries, one 65,000-byte local name")
long_name = b"n" * 65_000
body = b"x"
crc = zlib.crc32(body)
local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, 1, 1,
                    len(long_name), 0) + long_name + body
cd = b""
for i in range(10_000):
    name = b"m%d" % i
    cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, crc, 1, 1,
                      len(name), 0, 0, 0, 0, 0, 0) + name
end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 10_000, 10_000, len(cd), len(local), 0)
write(d, "model.zip", local + cd + end)

# 5. A long key over a long array in a safetensors header (3 MB and 12 MB).
for mb in (3, 12):
    d = bomb(f"long_key_array_{mb}mb", "scan", f"safetensors: long key over long array, {mb} MB")
    half = mb * 1_000_000 // 2
    h = b'{"' + b"k" * half + b'": {"v": [' + b"0," * (half // 2) + b"0]}}"
    write(d, "model.safetensors", struct.pack("<Q", len(h)) + h)

# 6. Directories linked as a DAG: 20 levels, each linking twice to the next.
d = bomb("dag_links", "scan", "20-level directory DAG (2 links a level)")
for k in range(20):
    lvl = os.path.join(d, f"d{k}")
    os.makedirs(lvl, exist_ok=True)
    if k < 19:
        for link in ("a", "b"):
            p = os.path.join(lvl, link)
            if not os.path.lexists(p):
                os.symlink(f"../d{k + 1}", p)
    else:
        write(lvl, "w.pkl", b"\x80\x02N.")

# 7. Dataset readers: a CSV with a 2 GiB field, a JSON array of 100 MB of numbers.
d = bomb("csv_2gib_field", "dataset", "CSV record with a 2 GiB field")
with open(os.path.join(d, "data.csv"), "wb") as f:
    f.write(b"text,label\n\"")
    chunk = b"x" * (1 << 20)
    for _ in range(2048):
        f.write(chunk)
    f.write(b"\",1\n")
d = bomb("json_array_100mb", "dataset", "JSON array of 100 MB of numbers")
with open(os.path.join(d, "data.json"), "wb") as f:
    f.write(b"[")
    f.write(b"0," * 50_000_000)
    f.write(b"0]")

# 3. Parquet: the first page of a real file re-encoded to declare 2^30 values.
def zz(v):
    u = (v << 1) ^ (v >> 63)
    o = b""
    while u >= 0x80:
        o += bytes([(u & 0x7F) | 0x80])
        u >>= 7
    return o + bytes([u])


def num_values_span(b, at):
    """Where the first page header's num_values (field 1 of its data, dictionary or v2 page
    header, fields 5, 7 or 8) sits: (start, end) of its varint. The compact protocol, as far as
    page headers need it: i32/i64 varints, booleans, binaries, structs."""
    def varint(p):
        v = s = 0
        while True:
            c = b[p]
            p += 1
            v |= (c & 0x7F) << s
            s += 7
            if c < 0x80:
                return v, p

    span = []
    top = {}

    def struct_(p, path):
        fid = 0
        while True:
            h = b[p]
            p += 1
            if h == 0:
                return p
            t = h & 15
            if h >> 4:
                fid += h >> 4
            else:
                v, p = varint(p)
                fid = (v >> 1) ^ -(v & 1)
            if t in (5, 6):
                start = p
                v, p = varint(p)
                if not path:
                    top[fid] = (v >> 1) ^ -(v & 1)
                if len(path) == 1 and path[0] in (5, 7, 8) and fid == 1 and not span:
                    span.append((start, p))
            elif t in (1, 2):
                pass
            elif t == 8:
                n, p = varint(p)
                p += n
            elif t == 12:
                p = struct_(p, path + [fid])
            else:
                raise SystemExit(f"gen-bombs: page header field type {t} not handled")
    end = struct_(at, [])
    return (span[0] if span else None), top, end


def text_dictionary_page(b):
    """The num_values span of the largest dictionary page (the text column's, whose values the
    crate holds as 24-byte ByteArrays): pages are walked from the start to the footer."""
    footer = len(b) - 8 - struct.unpack("<I", b[-8:-4])[0]
    at, best = 4, None
    while at < footer:
        span, top, end = num_values_span(b, at)
        if top.get(1) == 2 and span and (best is None or top[2] > best[0]):
            best = (top[2], span)
        at = end + top[3]
    return best[1]


d = bomb("parquet_dict_2g", "dataset", "parquet page declaring 2^30 values")
src = open(parquet_src, "rb").read()
start, end = text_dictionary_page(src)
# The page header keeps every field; only num_values grows (the pages after it shift by a few
# bytes, but the crate sizes its buffers from this first header before it gets there).
write(d, "train.parquet", src[:start] + zz(1 << 30) + src[end:])

# 8. Slow to decompress: a pickle whose BINBYTES8 holds 18 GB of zeros (the reader has to go
# through them to the STOP opcode), as concatenated bz2 and xz streams. The second of each is
# scanned with a 10-second per-file budget.
zeros_bz2 = bz2.compress(b"\0" * 45_000_000, 9)
n = 400
head = b"\x80\x04\x8e" + struct.pack("<Q", n * 45_000_000)
body = bz2.compress(head, 9) + zeros_bz2 * n + bz2.compress(b".", 9)
for name, extra in (("bz2_slow", ""), ("bz2_slow_budget", "--max-seconds-per-file 10")):
    d = bomb(name, "scan", "bz2: pickle bytes of 18 GB zeros" + (" (10 s budget)" if extra else ""), extra)
    write(d, "model.pkl.bz2", body)
zeros_xz = lzma.compress(b"\0" * (256 << 20), preset=9)
n = 68
head = b"\x80\x04\x8e" + struct.pack("<Q", n * (256 << 20))
body = lzma.compress(head) + zeros_xz * n + lzma.compress(b".")
for name, extra in (("xz_slow", ""), ("xz_slow_budget", "--max-seconds-per-file 10")):
    d = bomb(name, "scan", "xz: pickle bytes of 18 GB zeros" + (" (10 s budget)" if extra else ""), extra)
    write(d, "model.pkl.xz", body)

with open(os.path.join(out, "bombs.tsv"), "w") as f:
    for r in rows:
        f.write("\t".join(r) + "\n")
print(f"{len(rows)} bombs in {out}")
