#!/usr/bin/env python3
"""ONNX fixtures written by the onnx package (onnx==1.19.1, numpy): a clean model with its
weights inline, one whose external data points out of its folder, and one with a PyOp of
onnxruntime-extensions. Run by hand: `python testdata/generate_onnx.py`."""
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent


def model(initializer, nodes=None, opsets=None):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    nodes = nodes or [helper.make_node("Add", ["x", "w"], ["y"])]
    graph = helper.make_graph(nodes, "g", [x], [y], [initializer])
    return helper.make_model(graph, opset_imports=opsets or [helper.make_opsetid("", 17)])


def main():
    (HERE / "benign" / "onnx").mkdir(parents=True, exist_ok=True)
    (HERE / "malicious" / "onnx").mkdir(parents=True, exist_ok=True)
    w = numpy_helper.from_array(np.ones(2, dtype=np.float32), "w")
    onnx.save(model(w), HERE / "benign" / "onnx" / "add.onnx")
    ext = numpy_helper.from_array(np.ones(2, dtype=np.float32), "w")
    ext.ClearField("raw_data")
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../../../../etc/passwd"), ("offset", "0"), ("length", "8")):
        e = ext.external_data.add()
        e.key, e.value = k, v
    onnx.save(model(ext), HERE / "malicious" / "onnx" / "external_data.onnx")
    pyop = helper.make_node("PyReverseMatrix", ["x"], ["y"], domain="ai.onnx.contrib")
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.contrib", 1)]
    onnx.save(model(w, [pyop], opsets), HERE / "malicious" / "onnx" / "pyop.onnx")


if __name__ == "__main__":
    main()
