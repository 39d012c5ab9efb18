#!/usr/bin/env python3
"""A PyTorch-zip checkpoint written without torch, as scripts/bench-peers.sh writes its own.

    python3 tests/servers/torchzip.py OUT MIB [TENSORS]

The same layout torch.save gives (stored members): archive/data.pkl, a protocol-2 pickle of an
OrderedDict of tensors naming torch._utils._rebuild_tensor_v2 and torch.FloatStorage through
persistent ids; archive/byteorder; archive/data/<n>, one storage of MIB/TENSORS MiB each (a
seeded random MiB repeated, so the file is the same on every run); archive/version.
"""

import collections
import io
import pickle
import random
import sys
import types
import zipfile


def main():
    out, mib = sys.argv[1], int(sys.argv[2])
    n_tensors = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    per = (mib << 20) // n_tensors
    per -= per % 4
    # A fake torch namespace so that pickle writes the same globals torch.save writes.
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    FloatStorage.__module__ = "torch"
    FloatStorage.__qualname__ = "FloatStorage"
    torch.FloatStorage = FloatStorage

    def _rebuild_tensor_v2(*a):
        pass

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils

    class Storage:
        def __init__(self, key):
            self.key = key

    class T:
        def __init__(self, key):
            self.key = key

        def __reduce__(self):
            return (
                _rebuild_tensor_v2,
                (Storage(self.key), 0, (per // 4,), (1,), False, collections.OrderedDict()),
            )

    class P(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ("storage", FloatStorage, str(obj.key), "cpu", per // 4)
            return None

    sd = collections.OrderedDict((f"layer{i}.weight", T(i)) for i in range(n_tensors))
    b = io.BytesIO()
    P(b, protocol=2).dump(sd)
    chunk = random.Random(0).randbytes(1 << 20)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr("archive/data.pkl", b.getvalue())
        z.writestr("archive/byteorder", "little")
        for i in range(n_tensors):
            with z.open(f"archive/data/{i}", "w", force_zip64=True) as w:
                left = per
                while left:
                    w.write(chunk[: min(left, len(chunk))])
                    left -= min(left, len(chunk))
        z.writestr("archive/version", "3\n")


if __name__ == "__main__":
    main()
