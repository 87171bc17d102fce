"""Put the normalization inside an ONNX graph: it then takes uint8 NHWC RGB images at the
model's size, as a camera or a decoder hands them over, and needs no numpy on the client.

The resize (or letterbox) stays outside: it depends on each image's size. Prepended
nodes: Cast to float, Transpose NHWC -> NCHW, then x * (scale / std) - mean / std per
channel (one Mul and one Add: the same arithmetic as the runtime's (x*scale - mean)/std,
to float rounding). The graph's input keeps its name; its batch dimension its symbol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NORMALIZED = "images_normalized"  # the internal tensor the original graph now reads


def embed_preprocessing(src: Path, dst: Path, preprocessing: dict[str, Any]) -> Path:
    """Write `dst`: `src` with a uint8 NHWC input and the normalization of
    `preprocessing` (scale, mean, std, channel_order) inside. ValueError when the graph
    has more than one input or its input is not float NCHW with three channels."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise ValueError(f"embedding preprocessing needs one image input, not {len(inputs)}")
    (image,) = inputs
    dims = image.type.tensor_type.shape.dim
    if image.type.tensor_type.elem_type != TensorProto.FLOAT or len(dims) != 4:
        raise ValueError("embedding preprocessing needs a float32 NCHW input")
    if dims[1].HasField("dim_value") and dims[1].dim_value != 3:
        raise ValueError("embedding preprocessing needs three colour channels")
    name = image.name
    batch = dims[0].dim_param or dims[0].dim_value or "batch"
    height, width = dims[2].dim_value, dims[3].dim_value

    for node in graph.node:
        node.input[:] = [NORMALIZED if i == name else i for i in node.input]

    scale = float(preprocessing.get("scale", 1 / 255))
    mean = np.asarray(preprocessing.get("mean", (0.0, 0.0, 0.0)), np.float32)
    std = np.asarray(preprocessing.get("std", (1.0, 1.0, 1.0)), np.float32)
    bgr = str(preprocessing.get("channel_order", "RGB")).upper() == "BGR"
    nodes = [
        helper.make_node("Cast", [name], ["pre_float"], to=TensorProto.FLOAT, name="pre_cast"),
        helper.make_node("Transpose", ["pre_float"], ["pre_nchw"], perm=[0, 3, 1, 2], name="pre_t"),
    ]
    source = "pre_nchw"
    if bgr:  # the graph was trained on BGR: the input is RGB, swap the channels
        order = numpy_helper.from_array(np.asarray([2, 1, 0], np.int64), "pre_bgr_order")
        graph.initializer.append(order)
        nodes.append(helper.make_node("Gather", ["pre_nchw", "pre_bgr_order"], ["pre_bgr"], axis=1))
        source = "pre_bgr"
    mul = numpy_helper.from_array((scale / std).reshape(1, 3, 1, 1).astype(np.float32), "pre_mul")
    add = numpy_helper.from_array((-mean / std).reshape(1, 3, 1, 1).astype(np.float32), "pre_add")
    graph.initializer.extend([mul, add])
    nodes += [
        helper.make_node("Mul", [source, "pre_mul"], ["pre_scaled"], name="pre_scale"),
        helper.make_node("Add", ["pre_scaled", "pre_add"], [NORMALIZED], name="pre_normalize"),
    ]
    original = list(graph.node)
    del graph.node[:]
    graph.node.extend([*nodes, *original])

    new_input = helper.make_tensor_value_info(name, TensorProto.UINT8, [batch, height, width, 3])
    position = list(graph.input).index(image)
    graph.input.remove(image)
    graph.input.insert(position, new_input)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return Path(dst)
