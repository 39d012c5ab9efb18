#!/usr/bin/env python3
"""Parquet files written by real writers, for the footer and page-header checks to pass.

Run by hand when these fixtures change (pyarrow is not installed by the test command):

    python3 -m venv /tmp/pavenv
    /tmp/pavenv/bin/pip install pyarrow==26.0.1 pandas==3.1.1 fastparquet==2026.9.0
    /tmp/pavenv/bin/python testdata/generate_parquet.py

Writes testdata/datasets/parquet-writers/: every file holds the same 50 rows' worth of
columns, written with a different writer or writer option (data page v1 and v2, dictionary
or not, statistics, page indexes, size statistics, sorting columns, byte-stream-split and
delta encodings, nested types, logical types, pandas metadata, fastparquet's own encoder).
`tests/dataset.rs` reads each one and expects 50 records.
"""

import datetime
import decimal
import shutil
from pathlib import Path

import fastparquet
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent / "datasets" / "parquet-writers"
N = 50


def table():
    base = datetime.datetime(2024, 1, 1)
    cols = {
        "id": pa.array(range(N), pa.int64()),
        "i8": pa.array([i % 100 - 50 for i in range(N)], pa.int8()),
        "u16": pa.array([i * 7 for i in range(N)], pa.uint16()),
        "u64": pa.array([i * 2**40 for i in range(N)], pa.uint64()),
        "f32": pa.array([i / 3 for i in range(N)], pa.float32()),
        "f64": pa.array([None if i % 7 == 0 else i / 7 for i in range(N)], pa.float64()),
        "flag": pa.array([i % 3 == 0 for i in range(N)], pa.bool_()),
        "text": pa.array([f"row {i} " + "x" * (i % 5) for i in range(N)], pa.string()),
        "label": pa.array([("cat", "dog", "bird")[i % 3] for i in range(N)]).dictionary_encode(),
        "blob": pa.array([bytes([i]) * (i % 4) for i in range(N)], pa.binary()),
        "fixed": pa.array([i.to_bytes(4, "little") for i in range(N)], pa.binary(4)),
        "dec": pa.array([decimal.Decimal(i) / 100 for i in range(N)], pa.decimal128(9, 2)),
        "day": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=i) for i in range(N)], pa.date32()),
        "tod": pa.array([datetime.time(i % 24, i % 60) for i in range(N)], pa.time64("us")),
        "ts_ms": pa.array([base + datetime.timedelta(minutes=i) for i in range(N)], pa.timestamp("ms")),
        "ts_tz": pa.array([base + datetime.timedelta(seconds=i) for i in range(N)], pa.timestamp("ns", tz="UTC")),
        "tags": pa.array([[j for j in range(i % 4)] for i in range(N)], pa.list_(pa.int32())),
        "attrs": pa.array([[("k", i), ("n", -i)] for i in range(N)], pa.map_(pa.string(), pa.int64())),
        "point": pa.array([{"x": i, "y": float(i) / 2} for i in range(N)],
                          pa.struct([("x", pa.int32()), ("y", pa.float64())])),
    }
    return pa.table(cols)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    t = table()
    pq.write_table(t, OUT / "pyarrow-v1-dict-snappy.parquet", row_group_size=16)
    pq.write_table(t, OUT / "pyarrow-v2-zstd-nodict.parquet", data_page_version="2.0",
                   use_dictionary=False, compression="zstd", row_group_size=20,
                   sorting_columns=[pq.SortingColumn(0)])
    pq.write_table(t, OUT / "pyarrow-page-index.parquet", write_page_index=True,
                   write_statistics=True, data_page_size=64, compression="gzip")
    pq.write_table(t.select(["id", "f32", "f64", "u64"]), OUT / "pyarrow-encodings.parquet",
                   use_dictionary=False, use_byte_stream_split=["f32", "f64"],
                   column_encoding={"id": "DELTA_BINARY_PACKED", "u64": "DELTA_BINARY_PACKED"})
    pq.write_table(t.select(["id", "text", "blob"]), OUT / "pyarrow-delta-strings.parquet",
                   use_dictionary=False,
                   column_encoding={"text": "DELTA_BYTE_ARRAY", "blob": "DELTA_LENGTH_BYTE_ARRAY"})
    pq.write_table(t.select(["id", "text"]), OUT / "pyarrow-format-1.0.parquet", version="1.0",
                   write_statistics=False, compression="none")
    pq.write_table(t, OUT / "pyarrow-lz4.parquet", compression="lz4", store_schema=False)
    df = pd.DataFrame({
        "id": range(N),
        "text": [f"sample {i}" for i in range(N)],
        "score": [i / 9 for i in range(N)],
        "when": pd.date_range("2024-01-01", periods=N, freq="h"),
        "cat": pd.Categorical([("a", "b")[i % 2] for i in range(N)]),
    }).set_index("id")
    df.to_parquet(OUT / "pandas-pyarrow.parquet")
    fastparquet.write(str(OUT / "fastparquet.parquet"), df.reset_index(), row_group_offsets=[0, 25])
    fastparquet.write(str(OUT / "fastparquet-snappy-stats.parquet"), df.reset_index(),
                      compression="SNAPPY", stats=True)
    print(f"pyarrow {pa.__version__}, pandas {pd.__version__}, fastparquet {fastparquet.__version__}")


if __name__ == "__main__":
    main()
