import numpy as np
import pytest
from scipy import stats

from tolerance.distributions import make_distribution
from tolerance.empirical import Empirical, read_scales


def test_reads_one_number_per_line_skipping_blank_lines(tmp_path):
    path = tmp_path / "scales.txt"
    path.write_text("1.5\n\n2.0\n 3.25 \n")
    assert read_scales(path).tolist() == [1.5, 2.0, 3.25]


def test_reads_a_named_csv_column(tmp_path):
    path = tmp_path / "boxes.csv"
    path.write_text("id,scale\na,1.5\nb,2\nc,4\n")
    assert read_scales(path, column="scale").tolist() == [1.5, 2.0, 4.0]


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("", None, "holds no scales"),
        ("\n\n", None, "holds no scales"),
        ("1.0\nbig\n", None, "line 2: 'big' is not a number"),
        ("1.0\n-1.5\n", None, "line 2: .*'-1.5'"),
        ("1.0\n0\n", None, "line 2: .*'0'"),
        ("1.0\nnan\n", None, "'nan'"),
        ("id,scale\na,1\n", None, "'id,scale' is not a number .*--column"),
        ("id,scale\na,1\n", "width", "no column 'width' .*id, scale"),
        ("id,scale\na,1\nb,x\n", "scale", "line 3: 'x'"),
    ],
)
def test_malformed_files_are_named_with_line_and_value(tmp_path, text, column, message):
    path = tmp_path / "scales.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_scales(path, column)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="absent.txt: no such file"):
        make_distribution("empirical", file=tmp_path / "absent.txt")


def test_one_distinct_value_is_not_a_distribution(tmp_path):
    path = tmp_path / "same.txt"
    path.write_text("2\n2\n")
    with pytest.raises(ValueError, match="two distinct"):
        make_distribution("empirical", file=path)


def test_empirical_is_bounded_by_the_observations_and_follows_them(tmp_path):
    rng = np.random.default_rng(3)
    observed = np.exp2(rng.uniform(0.0, 3.0, size=20000))
    path = tmp_path / "scales.txt"
    path.write_text("\n".join(map(str, observed)))
    dist = make_distribution("empirical", file=path)
    assert dist.bounds == (observed.min(), observed.max())
    # log-uniform observations: the estimate is flat (1/3 per octave) away from the edges
    assert dist.pdf(np.array([0.75, 1.5, 2.25])) == pytest.approx([1 / 3] * 3, rel=0.08)
    assert dist.to_dict()["n"] == 20000


def test_kde_matches_scipy_gaussian_kde_inside_the_bounds():
    observed = np.exp2(np.random.default_rng(1).normal(1.0, 0.5, size=300))
    dist = Empirical(observed)
    x = np.log2(observed)
    oracle = stats.gaussian_kde(x, bw_method="scott")
    grid = np.linspace(x.min(), x.max(), 50)
    inside_mass = oracle.integrate_box_1d(x.min(), x.max())
    assert dist.pdf(grid) == pytest.approx(oracle(grid) / inside_mass, rel=0.02)
