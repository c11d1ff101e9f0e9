"""The TFJS-to-ONNX converter of the embedding study, on small graphs written here, against plain numpy."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from bench.tfjs_onnx import ARCFACE_TEMPLATE, ConversionError, Embedder, Model, aligned, convert, similarity

onnxruntime = pytest.importorskip("onnxruntime")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _conv_attrs(strides: int, padding: str, fused: list[str] | None) -> dict:
    attrs: dict = {
        "strides": {"list": {"i": ["1", str(strides), str(strides), "1"]}},
        "padding": {"s": _b64(padding)},
        "data_format": {"s": _b64("NHWC")},
    }
    if fused is not None:
        attrs["fused_ops"] = {"list": {"s": [_b64(op) for op in fused]}}
    return attrs


def write_graph(folder: Path, weights: dict[str, np.ndarray], nodes: list[dict], side: int = 9) -> Path:
    """A TFJS graph model: `model.json` and one weights file in the manifest's order."""
    placeholder = {
        "name": "x",
        "op": "Placeholder",
        "attr": {
            "shape": {"shape": {"dim": [{"size": "-1"}, {"size": str(side)}, {"size": str(side)}, {"size": "3"}]}}
        },
    }
    consts = [{"name": name, "op": "Const", "attr": {}} for name in weights]
    manifest = [
        {
            "paths": ["w.bin"],
            "weights": [
                {"name": name, "shape": list(value.shape), "dtype": "int32" if value.dtype == np.int32 else "float32"}
                for name, value in weights.items()
            ],
        }
    ]
    (folder / "w.bin").write_bytes(b"".join(np.ascontiguousarray(v).tobytes() for v in weights.values()))
    spec = {
        "format": "graph-model",
        "modelTopology": {"node": [*consts, placeholder, *nodes]},
        "weightsManifest": manifest,
    }
    path = folder / "model.json"
    path.write_text(json.dumps(spec))
    return path


def same_pad(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """TF's SAME padding: the odd pixel at the end."""
    h, w = x.shape[1:3]
    ph = max((-(-h // s) - 1) * s + k - h, 0)
    pw = max((-(-w // s) - 1) * s + k - w, 0)
    return np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))


def conv_nhwc(x: np.ndarray, kernel: np.ndarray, s: int, depthwise: bool = False) -> np.ndarray:
    k = kernel.shape[0]
    x = same_pad(x, k, s)
    oh, ow = (x.shape[1] - k) // s + 1, (x.shape[2] - k) // s + 1
    out = 0.0
    for i in range(k):
        for j in range(k):
            patch = x[:, i : i + (oh - 1) * s + 1 : s, j : j + (ow - 1) * s + 1 : s, :]
            out = out + (patch * kernel[i, j, :, 0] if depthwise else patch @ kernel[i, j])
    return np.asarray(out)


def run(model: bytes, output: str, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run([output], {"input": x})[0]


def test_a_small_network_computes_what_tensorflow_would(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    weights = {
        "k1": rng.normal(size=(3, 3, 3, 4)).astype(np.float32),
        "b1": rng.normal(size=4).astype(np.float32),
        "alpha": rng.normal(size=4).astype(np.float32),
        "k2": rng.normal(size=(3, 3, 4, 1)).astype(np.float32),
        "b2": rng.normal(size=4).astype(np.float32),
        "k3": rng.normal(size=(1, 1, 4, 5)).astype(np.float32),
        "axes": np.array([1, 2], dtype=np.int32),
        "six": np.array(6.0, dtype=np.float32),
    }
    nodes = [
        {"name": "c1", "op": "_FusedConv2D", "input": ["x", "k1", "b1"], "attr": _conv_attrs(2, "SAME", ["BiasAdd"])},
        {"name": "relu", "op": "Relu", "input": ["c1"]},
        {"name": "abs", "op": "Abs", "input": ["c1"]},
        {"name": "sub", "op": "Sub", "input": ["c1", "abs"]},
        {"name": "mul", "op": "Mul", "input": ["sub", "alpha"]},
        {"name": "prelu", "op": "Add", "input": ["relu", "mul"]},
        {
            "name": "dw",
            "op": "FusedDepthwiseConv2dNative",
            "input": ["prelu", "k2", "b2"],
            "attr": _conv_attrs(1, "SAME", ["BiasAdd", "Relu"]),
        },
        {"name": "c3", "op": "Conv2D", "input": ["dw", "k3"], "attr": _conv_attrs(1, "VALID", None)},
        {"name": "clip", "op": "Minimum", "input": ["c3", "six"]},
        {"name": "pool", "op": "Mean", "input": ["clip", "axes"], "attr": {"keep_dims": {"b": False}}},
        {"name": "unused", "op": "Relu", "input": ["pool"]},
    ]
    path = write_graph(tmp_path, weights, nodes)
    x = rng.uniform(-1, 1, size=(2, 9, 9, 3)).astype(np.float32)

    c1 = conv_nhwc(x, weights["k1"], 2) + weights["b1"]
    prelu = np.maximum(c1, 0) + (c1 - np.abs(c1)) * weights["alpha"]
    dw = np.maximum(conv_nhwc(prelu, weights["k2"], 1, depthwise=True) + weights["b2"], 0)
    expected = np.minimum(dw @ weights["k3"][0, 0], 6.0).mean(axis=(1, 2))

    got = run(convert(path, "pool"), "pool", x)
    assert got.shape == (2, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_the_prelu_fix_reads_the_value_before_a_fused_relu(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    weights = {
        "k": rng.normal(size=(3, 3, 3, 1)).astype(np.float32),
        "b": rng.normal(size=3).astype(np.float32),
        "alpha": np.full(3, 0.5, dtype=np.float32),
    }
    nodes = [
        {
            "name": "dw",
            "op": "FusedDepthwiseConv2dNative",
            "input": ["x", "k", "b"],
            "attr": _conv_attrs(1, "SAME", ["BiasAdd", "Relu"]),
        },
        {"name": "abs", "op": "Abs", "input": ["dw"]},
        {"name": "sub", "op": "Sub", "input": ["dw", "abs"]},
        {"name": "mul", "op": "Mul", "input": ["sub", "alpha"]},
        {"name": "out", "op": "Add", "input": ["dw", "mul"]},
    ]
    path = write_graph(tmp_path, weights, nodes, side=5)
    x = rng.uniform(-1, 1, size=(1, 5, 5, 3)).astype(np.float32)
    raw = conv_nhwc(x, weights["k"], 1, depthwise=True) + weights["b"]

    as_graph = run(convert(path, "out", prelu_fix=False), "out", x).transpose(0, 2, 3, 1)
    fixed = run(convert(path, "out", prelu_fix=True), "out", x).transpose(0, 2, 3, 1)

    np.testing.assert_allclose(as_graph, np.maximum(raw, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fixed, np.maximum(raw, 0) + (raw - np.abs(raw)) * 0.5, rtol=1e-4, atol=1e-5)


def test_an_unknown_operation_is_refused_by_name(tmp_path: Path) -> None:
    path = write_graph(tmp_path, {}, [{"name": "odd", "op": "Erf", "input": ["x"]}])
    with pytest.raises(ConversionError, match="odd: operation Erf"):
        convert(path, "odd")


def test_weights_that_do_not_fill_the_file_are_refused(tmp_path: Path) -> None:
    path = write_graph(tmp_path, {"b": np.zeros(3, dtype=np.float32)}, [{"name": "r", "op": "Relu", "input": ["x"]}])
    (tmp_path / "w.bin").write_bytes(np.zeros(4, dtype=np.float32).tobytes())
    with pytest.raises(ConversionError, match="4 bytes left over"):
        convert(path, "r")


def test_the_similarity_is_recovered_and_the_crop_puts_the_points_on_the_template() -> None:
    angle, scale, shift = 0.3, 2.5, np.array([40.0, 25.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = ARCFACE_TEMPLATE @ (scale * rotation).T + shift

    transform = similarity(points, ARCFACE_TEMPLATE)

    np.testing.assert_allclose(points @ transform[:, :2].T + transform[:, 2], ARCFACE_TEMPLATE, atol=1e-9)
    image = np.zeros((400, 400, 3), dtype=np.uint8)
    x, y = np.round(points[0]).astype(int)
    image[y - 3 : y + 4, x - 3 : x + 4] = 255
    crop = aligned(image, points)
    assert crop.shape == (112, 112, 3)
    rows, cols = np.nonzero(crop[:, :, 0] > 128)
    assert abs(cols.mean() - ARCFACE_TEMPLATE[0, 0]) < 1.0 and abs(rows.mean() - ARCFACE_TEMPLATE[0, 1]) < 1.0


def test_the_embedder_gives_unit_vectors(tmp_path: Path) -> None:
    weights = {
        "k": np.random.default_rng(5).normal(size=(1, 1, 3, 6)).astype(np.float32),
        "axes": np.array([1, 2], dtype=np.int32),
    }
    nodes = [
        {"name": "c", "op": "Conv2D", "input": ["x", "k"], "attr": _conv_attrs(1, "SAME", None)},
        {"name": "pool", "op": "Mean", "input": ["c", "axes"], "attr": {"keep_dims": {"b": False}}},
    ]
    write_graph(tmp_path, weights, nodes, side=112)
    embedder = Embedder(tmp_path, Model("model.json", "pool", 112, offset=127.5, scale=1 / 128))
    crops = [np.full((112, 112, 3), value, dtype=np.uint8) for value in (30, 200)]

    encodings = embedder.embed(crops)

    assert [e.shape for e in encodings] == [(6,), (6,)]
    np.testing.assert_allclose([np.linalg.norm(e) for e in encodings], 1.0, rtol=1e-5)
