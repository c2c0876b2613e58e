import json
import math

import numpy as np
import pytest

from scaletol.checks import InputError
from tolerance.boxes import (
    boxes_summary,
    data_scales,
    octave_histogram,
    read_boxes,
    size_classes,
    summary_text,
)

CATEGORIES = [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}, {"id": 7, "name": "dog"}]


def write_coco(path, annotations, categories=CATEGORIES):
    path.write_text(json.dumps({"images": [], "annotations": annotations, "categories": categories}))
    return path


def box(w, h, category=1, crowd=0):
    return {"bbox": [3.0, 4.0, w, h], "category_id": category, "iscrowd": crowd, "area": w * h}


def test_coco_sizes_are_square_roots_of_box_areas_without_crowds_and_empty_boxes(tmp_path):
    path = write_coco(
        tmp_path / "instances.json",
        [box(16, 4), box(30, 30, 2), box(500, 400, 1, crowd=1), box(0, 12), box(12, 0, 2), box(90, 160, 7)],
    )
    assert read_boxes(path).tolist() == pytest.approx([8.0, 30.0, 120.0])


def test_coco_categories_filter_by_name(tmp_path):
    path = write_coco(tmp_path / "instances.json", [box(16, 4), box(30, 30, 2), box(90, 160, 7), box(2, 8, 2)])
    assert read_boxes(path, categories=["car"]).tolist() == pytest.approx([30.0, 4.0])
    assert read_boxes(path, categories=["car", "dog"]).tolist() == pytest.approx([30.0, 120.0, 4.0])


def test_an_unknown_category_lists_the_names_that_exist(tmp_path):
    path = write_coco(tmp_path / "instances.json", [box(16, 4)])
    with pytest.raises(InputError, match=r"instances\.json: no category 'cat' \(categories: car, dog, person\)"):
        read_boxes(path, categories=["cat"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps({"images": []}), "needs an 'annotations' list"),
        (json.dumps([1, 2]), "needs an 'annotations' list"),
        ('{"annotations": [', "not valid JSON .*line 1 column"),
        (json.dumps({"annotations": [box(-3, 4)]}), r"annotations\[0\]: w=-3 must be a finite number >= 0"),
        (json.dumps({"annotations": [box(3, 4), {"bbox": [1, 2, 3]}]}), r"annotations\[1\]: bbox=\[1, 2, 3\]"),
        (json.dumps({"annotations": [{"bbox": [0, 0, "3", 4]}]}), "w='3' must be a number"),
        (json.dumps({"annotations": [box(0, 4)]}), "holds no boxes of positive area"),
        (json.dumps({"annotations": []}), "holds no boxes"),
    ],
)
def test_bad_coco_files_are_one_line_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as caught:
        read_boxes(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_a_non_utf8_annotation_file_is_named(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"annotations": [], "categories": [{"name": "caf\u00e9"}]}'.encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.json line 1: not UTF-8 text"):
        read_boxes(path)


def write_yolo(folder, files):
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_yolo_labels_are_normalised_sizes_times_the_image_size(tmp_path):
    folder = write_yolo(
        tmp_path / "labels",
        {
            "a.txt": "0 0.5 0.5 0.25 0.0625\n3 0.1 0.2 0.5 0.5\n",
            "b.txt": "\n1 0.5 0.5 0.0 0.3\n",  # a blank line and a zero-area box
            "empty.txt": "",
            "classes.txt": "person\ncar\n",
        },
    )
    sizes = read_boxes(folder, image_size=640)
    assert sorted(sizes.tolist()) == pytest.approx([math.sqrt(160 * 40), 320.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 0.5 0.5 0.2\n", "line 1: '0 0.5 0.5 0.2' must be 'class cx cy w h'"),
        ("0 0.5 0.5 0.2 0.1 0.9\n", "must be 'class cx cy w h'"),
        ("0 0.5 0.5 wide 0.1\n", "numbers"),
        ("0 0.5 0.5 0.2 -0.1\n", "h=-0.1 must be a normalised size in"),
        ("0 0.5 0.5 1.5 0.1\n", "w=1.5 must be a normalised size in"),
    ],
)
def test_bad_yolo_lines_name_the_file_and_line(tmp_path, text, message):
    folder = write_yolo(tmp_path / "labels", {"img1.txt": "0 0.5 0.5 0.1 0.1\n", "img2.txt": text})
    with pytest.raises(InputError, match=message) as caught:
        read_boxes(folder, image_size=416)
    assert "img2.txt" in str(caught.value)


def test_yolo_needs_the_image_size_and_label_files(tmp_path):
    folder = write_yolo(tmp_path / "labels", {"a.txt": "0 0.5 0.5 0.1 0.1\n"})
    with pytest.raises(InputError, match="--image-size"):
        read_boxes(folder)
    with pytest.raises(InputError, match="image_size"):
        read_boxes(folder, image_size=0)
    empty = write_yolo(tmp_path / "nothing", {"classes.txt": "person\n"})
    with pytest.raises(InputError, match=r"nothing: holds no YOLO label files"):
        read_boxes(empty, image_size=416)


def test_csv_widths_and_heights(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("id,width,height\na,16,4\nb,30,30\nc,0,5\n,,\n")
    assert read_boxes(path).tolist() == pytest.approx([8.0, 30.0])
    excel = tmp_path / "excel.csv"
    excel.write_bytes("\ufeffwidth,height\r\n9,4\r\n".encode())
    assert read_boxes(excel).tolist() == pytest.approx([6.0])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("w,h\n1,2\n", r"missing column\(s\) width, height \(found: w, h\)"),
        ("width,height\n3,-2\n", "line 2: height=-2.0 must be a finite number >= 0"),
        ("width,height\n3,tall\n", "line 2: height='tall' must be a number"),
        ("width,height\n3,inf\n", "height=inf must be a finite number"),
        ("width,height\n3,4\n5," + "9" * 140_000 + "\n", "line 3: a field longer than 10000 characters"),
    ],
)
def test_bad_csv_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "boxes.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_boxes(path)


def test_options_that_do_not_apply_to_a_format_are_rejected(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("width,height\n3,4\n")
    with pytest.raises(InputError, match="apply to COCO files only"):
        read_boxes(path, categories=["car"])
    with pytest.raises(InputError, match="applies to YOLO label folders only"):
        read_boxes(path, image_size=640)
    other = tmp_path / "boxes.txt"
    other.write_text("3 4\n")
    with pytest.raises(InputError, match="COCO .json file, a .csv file"):
        read_boxes(other)
    with pytest.raises(FileNotFoundError):
        read_boxes(tmp_path / "absent.json")


def test_size_classes_follow_cocos_area_limits():
    # COCO: small area < 32², medium 32²..96², large > 96² (size = sqrt(area))
    sizes = np.array([1.0, 31.9, 32.0, 50.0, 96.0, 96.1, 400.0])
    assert size_classes(sizes) == {"small": 2, "medium": 3, "large": 2}


def test_octave_histogram_bins_are_powers_of_two():
    scales = np.array([0.3, 0.6, 0.7, 1.0, 1.9, 3.99])
    edges, counts = octave_histogram(scales)
    assert edges.tolist() == [-2, -1, 0, 1, 2]
    assert counts.tolist() == [1, 2, 2, 1]
    edges, counts = octave_histogram(scales, per_octave=2)
    assert edges[1] - edges[0] == 0.5 and counts.sum() == scales.size


def test_data_scales_and_summary():
    sizes = np.array([8.0, 20.0, 40.0, 40.0, 200.0])
    assert data_scales(sizes, 16).tolist() == [0.5, 1.25, 2.5, 2.5, 12.5]
    with pytest.raises(InputError, match="ref_size"):
        data_scales(sizes, -1)
    summary = boxes_summary(sizes, 16, source="x.json")
    assert (summary["count"], summary["small"], summary["medium"], summary["large"]) == (5, 2, 2, 1)
    assert [item["count"] for item in summary["histogram"]] == [1, 1, 2, 0, 1]
    assert summary["histogram"][0]["scale"] == [0.5, 1.0]
    text = summary_text(summary)
    assert text.startswith("5 objects in x.json: 2 small") and "[16, 32)" in text
    json.dumps(summary)
