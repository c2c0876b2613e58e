"""Object sizes from annotation files, the way detection datasets store them.

A box's size is sqrt(w·h) px; its data scale is size / ref_size, ref_size being
the object size [px] the network's σ_unit is meant for (DESIGN.md §8).
Formats (`read_boxes` tells them apart):

- **COCO JSON** (a `.json` file): `annotations[].bbox = [x, y, w, h]` in px;
  crowd annotations (`iscrowd` 1) and zero-area boxes are skipped; `categories`
  (names) filter by `categories[].name`.
- **YOLO label folder** (a directory): every `*.txt` file in it (not its
  subfolders; `classes.txt` is a list of names, not labels) holds lines
  `class cx cy w h`, normalised to [0, 1]; `image_size` [px] is the size of the
  (square) image the network sees. Zero-area boxes are skipped.
- **CSV** (a `.csv` file): columns `width` and `height` in px, zero-area rows skipped.

Bad files raise one-line InputErrors that name the file.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence

import numpy as np

from scaletol.checks import InputError, check_positive
from scaletol.tables import read_table, read_text
from tolerance.result import format_table

COCO_SMALL = 32.0  # px: COCO's "small" objects have areas below 32², "large" above 96²
COCO_LARGE = 96.0
MAX_ANNOTATION_BYTES = 2 * 2**30  # an annotation file as large as COCO's (450 MB) reads; larger is refused


def box_format(path: str | os.PathLike) -> str:
    """'yolo' for a folder, 'coco' for a .json file, 'csv' for a .csv file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return "yolo"
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such file or directory", path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".json":
        return "coco"
    if suffix == ".csv":
        return "csv"
    raise InputError(
        f"{path}: boxes must be a COCO .json file, a .csv file with width and height, or a folder of YOLO labels"
    )


def read_boxes(
    path: str | os.PathLike, *, categories: Sequence[str] = (), image_size: float | None = None
) -> np.ndarray:
    """Object sizes sqrt(w·h) [px] from an annotation file or folder, shape [n_boxes].

    categories: COCO category names to keep (all when empty; COCO only);
    image_size: px, the side of the image the network sees (YOLO only, required there).
    """
    kind = box_format(path)
    categories = list(categories)
    if categories and kind != "coco":
        raise InputError(f"{os.fspath(path)}: categories={categories!r} apply to COCO files only")
    if kind == "yolo":
        if image_size is None:
            raise InputError(f"{os.fspath(path)}: YOLO labels are normalised; give image_size (--image-size PX)")
        return read_yolo(path, check_positive("image_size [px]", image_size))
    if image_size is not None:
        raise InputError(f"{os.fspath(path)}: image_size={image_size!r} applies to YOLO label folders only")
    return read_coco(path, categories) if kind == "coco" else read_box_csv(path)


def _sizes(path: str, widths: list[float], heights: list[float]) -> np.ndarray:
    sizes = np.sqrt(np.asarray(widths, dtype=float) * np.asarray(heights, dtype=float))
    sizes = sizes[sizes > 0]
    if sizes.size == 0:
        raise InputError(f"{path} holds no boxes of positive area")
    return sizes


def _box_side(path: str, where: str, name: str, value) -> float:
    """A width or height: a finite number >= 0, else InputError naming file and place."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{path} {where}: {name}={value!r} must be a number")
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{path} {where}: {name}={value!r} must be a finite number >= 0")
    return float(value)


def read_coco(path: str | os.PathLike, categories: Sequence[str] = ()) -> np.ndarray:
    """Box sizes [px] of a COCO annotation file, crowd and zero-area boxes skipped (see `read_boxes`)."""
    path = os.fspath(path)
    try:
        data = json.loads(read_text(path, max_bytes=MAX_ANNOTATION_BYTES))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise InputError(f"{path}: a COCO file needs an 'annotations' list")
    wanted = _category_ids(path, data, categories) if categories else None
    widths, heights = [], []
    for index, annotation in enumerate(data["annotations"]):
        where = f"annotations[{index}]"
        if not isinstance(annotation, dict):
            raise InputError(f"{path} {where}: must be an object")
        if annotation.get("iscrowd"):
            continue
        if wanted is not None and annotation.get("category_id") not in wanted:
            continue
        bbox = annotation.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise InputError(f"{path} {where}: bbox={bbox!r} must be [x, y, w, h]")
        widths.append(_box_side(path, where, "w", bbox[2]))
        heights.append(_box_side(path, where, "h", bbox[3]))
    return _sizes(path, widths, heights)


def _category_ids(path: str, data: dict, names: Sequence[str]) -> set:
    """The ids of the categories called `names`; InputError listing the names that exist."""
    entries = data.get("categories")
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "name" in e for e in entries):
        raise InputError(f"{path}: filtering by category needs a 'categories' list of {{id, name}}")
    by_name: dict[str, set] = {}
    for entry in entries:
        by_name.setdefault(str(entry["name"]), set()).add(entry.get("id"))
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise InputError(
            f"{path}: no category {', '.join(map(repr, unknown))} (categories: {', '.join(sorted(by_name))})"
        )
    return set().union(*(by_name[name] for name in names))


def read_yolo(folder: str | os.PathLike, image_size: float) -> np.ndarray:
    """Box sizes [px] of a folder of YOLO label files, normalised sizes times `image_size` px."""
    folder = os.fspath(folder)
    files = sorted(name for name in os.listdir(folder) if name.endswith(".txt") and name != "classes.txt")
    if not files:
        raise InputError(f"{folder}: holds no YOLO label files (*.txt)")
    widths, heights = [], []
    for name in files:
        path = os.path.join(folder, name)
        for line_number, line in enumerate(read_text(path).splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            where = f"line {line_number}"
            if len(fields) != 5:
                raise InputError(f"{path} {where}: {line.strip()!r} must be 'class cx cy w h'")
            try:
                w, h = float(fields[3]), float(fields[4])
            except ValueError:
                raise InputError(f"{path} {where}: {line.strip()!r} must be 'class cx cy w h' numbers") from None
            for label, value in (("w", w), ("h", h)):
                if not 0 <= value <= 1:
                    raise InputError(f"{path} {where}: {label}={value!r} must be a normalised size in [0, 1]")
            widths.append(w * image_size)
            heights.append(h * image_size)
    return _sizes(folder, widths, heights)


def read_box_csv(path: str | os.PathLike) -> np.ndarray:
    """Box sizes [px] of a CSV file with `width` and `height` columns in px."""
    table = read_table(path)
    table.require("width", "height")
    widths, heights = [], []
    for (line_number, width), (_, height) in zip(table.texts("width"), table.texts("height")):
        if not (width or height):
            continue
        where = f"line {line_number}"
        values = []
        for name, text in (("width", width), ("height", height)):
            try:
                value = float(text)
            except ValueError:
                raise InputError(f"{table.path} {where}: {name}={text!r} must be a number") from None
            values.append(_box_side(table.path, where, name, value))
        widths.append(values[0])
        heights.append(values[1])
    return _sizes(table.path, widths, heights)


def data_scales(sizes: np.ndarray, ref_size: float) -> np.ndarray:
    """Data scales size / ref_size; ref_size [px] is the object size σ_unit suits."""
    return np.asarray(sizes, dtype=float) / check_positive("ref_size [px]", ref_size)


def size_classes(sizes: np.ndarray) -> dict[str, int]:
    """COCO's counts of small (area < 32² px), medium and large (area > 96² px) boxes."""
    sizes = np.asarray(sizes, dtype=float)
    small = int(np.sum(sizes < COCO_SMALL))
    large = int(np.sum(sizes > COCO_LARGE))
    return {"small": small, "medium": int(sizes.size) - small - large, "large": large}


def octave_histogram(scales: np.ndarray, per_octave: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Counts of `scales` in bins of 1/per_octave octave aligned to powers of 2.

    Returns (edges on x = log2(s), shape [bins + 1]; counts, shape [bins]).
    """
    x = np.log2(np.asarray(scales, dtype=float))
    first = math.floor(x.min() * per_octave)
    last = max(math.floor(x.max() * per_octave) + 1, first + 1)
    edges = np.arange(first, last + 1) / per_octave
    counts, _ = np.histogram(x, bins=edges)
    return edges, counts


def boxes_summary(sizes: np.ndarray, ref_size: float, *, source: str = "") -> dict:
    """Counts, COCO size classes and the octave histogram of `sizes` [px], as a JSON-ready dict."""
    edges, counts = octave_histogram(data_scales(sizes, ref_size))
    return {
        "file": source,
        "count": int(np.asarray(sizes).size),
        "ref_size": float(ref_size),
        **size_classes(sizes),
        "histogram": [
            {"scale": [2.0 ** edges[i], 2.0 ** edges[i + 1]], "count": int(count)} for i, count in enumerate(counts)
        ],
    }


def summary_text(summary: dict, *, width: int = 40) -> str:
    """`boxes_summary` as lines of text: counts, size classes and a bar per octave."""
    ref = summary["ref_size"]
    most = max(item["count"] for item in summary["histogram"])
    lines = [
        f"{summary['count']} objects in {summary['file']}: {summary['small']} small (< 32 px), "
        f"{summary['medium']} medium, {summary['large']} large (> 96 px; sqrt of the box area); "
        f"data scale = size / {ref:g} px",
    ]
    rows = []
    for item in summary["histogram"]:
        lo, hi = item["scale"]
        bar = "#" * math.ceil(width * item["count"] / most) if item["count"] else ""
        rows.append([f"[{lo:.4g}, {hi:.4g})", f"[{lo * ref:.4g}, {hi * ref:.4g})", str(item["count"]), bar])
    table = format_table(["data scale", "size [px]", "objects", ""], rows)
    return "\n".join(lines + ["  " + line for line in table.splitlines()])
