"""`tolcli train` refuses scales and kernels that cannot work, before writing anything."""

import pytest


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--model", "toy-isr", "--ns", "500"], "ns=500 must be an integer in [1, 64]"),
        (["--model", "toy-isr", "--sigma-basis", "1e4"], "σ_max=30000 px asks for a kernel of 240001 px"),
        (["--model", "toy-isr", "--mult", "1.4"], "mult"),
        (["--model", "mnist-scale-sesn", "--dataset", "mnist-scale", "--mult", "1"], "mult=1.0"),
    ],
)
def test_impossible_scales_are_one_line_and_write_nothing(args, named, data_dir, tmp_path, tolcli, one_line_error):
    one_line_error(tolcli("train", *args, "--out", tmp_path / "run"), named)
    assert not (tmp_path / "run").exists()
