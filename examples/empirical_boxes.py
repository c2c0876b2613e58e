"""Internal scales from the object sizes of a (synthetic) detection dataset.

    python examples/empirical_boxes.py OUT_DIR

Writes to OUT_DIR:
  synthetic_coco.json   a small COCO-like annotation file: 3 categories, boxes
                        whose sizes are log-normal per category, none annotated
                        below 20 px (a hard lower limit), a few crowd and empty boxes
  empirical_boxes.png   the octave histogram of the box scales (size / 32 px)
                        under the fitted tolerance mixture (N_S = 3)
and prints the box summary, the suggestion and its bootstrap intervals, as
`tolcli suggest --dist empirical --boxes OUT_DIR/synthetic_coco.json --ref-size 32
--bootstrap 200` does.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from scaletol.figures import save_figure
from scaletol.files import atomic_write_text
from tolerance.bootstrap import bootstrap
from tolerance.boxes import boxes_summary, data_scales, read_boxes, summary_text
from tolerance.empirical import Empirical
from tolerance.fit import suggest
from tolerance.plot import figure_with_axes, plot_observed

REF_SIZE = 32.0  # px, the object size σ_unit suits
MIN_ANNOTATED = 20.0  # px: smaller objects are not annotated
# name: (objects, median size [px], spread [octaves], aspect ratio w/h)
CATEGORIES = {"person": (220, 56.0, 0.9, 0.45), "car": (130, 90.0, 0.8, 1.8), "bicycle": (50, 40.0, 0.6, 1.3)}


def synthetic_coco(seed: int = 7) -> dict:
    """A COCO-style dict: images, categories, annotations (bbox [x, y, w, h] px)."""
    rng = np.random.default_rng(seed)
    annotations, categories = [], []
    for category_id, (name, (count, median, spread, aspect)) in enumerate(CATEGORIES.items(), start=1):
        categories.append({"id": category_id, "name": name, "supercategory": "thing"})
        sizes = median * 2 ** rng.normal(0.0, spread, size=4 * count)
        sizes = sizes[sizes >= MIN_ANNOTATED][:count]
        for size in sizes:
            w, h = size * np.sqrt(aspect), size / np.sqrt(aspect)
            x, y = rng.uniform(0, 640 - min(w, 639)), rng.uniform(0, 480 - min(h, 479))
            annotations.append(
                {"category_id": category_id, "bbox": [round(x, 1), round(y, 1), round(w, 1), round(h, 1)]}
            )
    annotations += [{"category_id": 1, "bbox": [0, 0, 400.0, 300.0], "iscrowd": 1} for _ in range(3)]
    annotations += [{"category_id": 2, "bbox": [10.0, 10.0, 0.0, 25.0]} for _ in range(2)]
    for index, annotation in enumerate(annotations):
        annotation.update(id=index + 1, image_id=1 + index % 40, iscrowd=annotation.get("iscrowd", 0))
        annotation["area"] = annotation["bbox"][2] * annotation["bbox"][3]
    images = [{"id": i, "width": 640, "height": 480, "file_name": f"{i:06d}.jpg"} for i in range(1, 41)]
    return {"images": images, "annotations": annotations, "categories": categories}


def write_json(path: str, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description="Internal scales from synthetic COCO-like boxes.")
    parser.add_argument("out_dir", help="folder for synthetic_coco.json and empirical_boxes.png (created if missing)")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    coco_path = os.path.join(args.out_dir, "synthetic_coco.json")
    write_json(coco_path, synthetic_coco())

    sizes = read_boxes(coco_path)
    print(summary_text(boxes_summary(sizes, REF_SIZE, source=coco_path)) + "\n")
    dist = Empirical(data_scales(sizes, REF_SIZE), source=coco_path)
    print(dist.summary())
    fitted = suggest(dist, 3)
    print(fitted.report() + "\n")
    print(bootstrap(fitted, 200, seed=0).report())

    figure, axes = figure_with_axes(1, width=6.0, height=4.0)
    plot_observed(fitted, axes[0])
    axes[0].set_xlabel(f"data scale = box size / {REF_SIZE:g} px (log2 axis)")
    figure_path = os.path.join(args.out_dir, "empirical_boxes.png")
    save_figure(figure, figure_path)
    print("\nwritten:\n" + "\n".join(f"  {path}" for path in (coco_path, figure_path)))


if __name__ == "__main__":
    main()
