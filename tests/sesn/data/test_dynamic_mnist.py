import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from sesn.data.mnist import MNIST
from sesn.data.registry import build_dataset, evaluation_grid
from tolerance.distributions import make_distribution

SIZES = (60, 30, 150)


def numbered_mnist(n=300, seed=0) -> MNIST:
    """Random digits whose first two pixels spell their index (to trace them)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    images[:, 0, 0], images[:, 0, 1] = np.arange(n) // 256, np.arange(n) % 256
    return MNIST(images=torch.from_numpy(images), labels=torch.from_numpy(rng.integers(0, 10, n)))


def digit_ids(digits: torch.Tensor) -> np.ndarray:
    return digits[:, 0, 0].long().numpy() * 256 + digits[:, 0, 1].long().numpy()


@pytest.fixture(scope="module")
def mnist():
    return numbered_mnist()


@pytest.fixture(scope="module")
def splits(mnist):
    return build_dataset(
        "dynamic-mnist", mnist=mnist, seed=0, sizes=SIZES, dist=make_distribution("loguniform", 0.5, 4)
    )


def test_splits_are_disjoint_draws_of_the_requested_sizes(splits, mnist):
    ids = {name: digit_ids(split.stored_images) for name, split in splits.items()}
    assert [len(ids[name]) for name in ("train", "val", "test")] == list(SIZES)
    everything = np.concatenate(list(ids.values()))
    assert len(np.unique(everything)) == sum(SIZES)
    for name, split in splits.items():
        assert torch.equal(split.labels, mnist.labels[ids[name]])
        assert torch.equal(split.stored_images, mnist.images[ids[name]])
        assert split.image_size == 168


def test_training_scales_follow_the_distribution_above_one(splits):
    # loguniform [0.5, 4] conditioned on s >= 1 is loguniform [1, 4]: log2 s uniform on [0, 2].
    train = splits.train.scales.double().numpy()
    assert train.min() >= 1 and train.max() <= 4
    assert stats.kstest(np.log2(train), stats.uniform(0, 2).cdf).pvalue > 1e-3


def test_evaluation_splits_keep_scales_below_one(splits):
    test = splits.test.scales.double().numpy()
    assert test.min() >= 0.5 and test.max() <= 4
    assert stats.kstest(np.log2(test), stats.uniform(-1, 3).cdf).pvalue > 1e-3
    assert (test < 1).mean() > 0.15  # a third of log-uniform [0.5, 4] lies below 1


def test_unbounded_distributions_work_too(mnist):
    splits = build_dataset("dynamic-mnist", mnist=mnist, sizes=SIZES, dist=make_distribution("lognormal", 0.5, 2))
    assert splits.train.scales.min() >= 1
    assert splits.test.scales.min() < 1


def test_same_seed_is_bit_identical_and_other_seeds_differ(mnist, splits):
    dist = make_distribution("loguniform", 0.5, 4)
    again = build_dataset("dynamic-mnist", mnist=mnist, seed=0, sizes=SIZES, dist=dist)
    other = build_dataset("dynamic-mnist", mnist=mnist, seed=1, sizes=SIZES, dist=dist)
    for (_name, first), (_, second), (_, third) in zip(splits.items(), again.items(), other.items()):
        assert torch.equal(first.stored_images, second.stored_images)
        assert torch.equal(first.scales, second.scales)
        assert first.mean == second.mean and first.std == second.std
        assert not torch.equal(first.stored_images, third.stored_images)
        assert not torch.equal(first.scales, third.scales)
    batches = [next(iter(s.train.loader(16, shuffle=True, seed=3))) for s in (splits, again)]
    for a, b in zip(*batches):
        assert torch.equal(a, b)


def test_loader_yields_whole_normalised_batches_covering_the_split(splits):
    loader = splits.train.loader(25)
    assert len(loader) == math.ceil(SIZES[0] / 25)
    batches = list(loader)
    assert [len(y) for _, y, _ in batches] == [25, 25, 10]
    x, y, s = batches[0]
    assert x.shape == (25, 1, 168, 168) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and s.dtype == torch.float32
    images = torch.cat([x for x, _, _ in batches]).double()
    # the constants are the training split's own pixel statistics
    assert float(images.mean()) == pytest.approx(0, abs=1e-5)
    assert float(images.std()) == pytest.approx(1, abs=1e-4)
    assert torch.equal(torch.cat([y for _, y, _ in batches]), splits.train.labels)
    assert torch.equal(torch.cat([s for _, _, s in batches]), splits.train.scales)


def test_shuffled_epochs_differ_but_repeat_with_the_seed(splits):
    def epochs(seed):
        loader = splits.val.loader(30, shuffle=True, seed=seed, drop_last=True)
        return [torch.cat([y for _, y, _ in loader]) for _ in range(2)]

    first, second = epochs(seed=5)
    assert sorted(first.tolist()) == sorted(splits.val.labels.tolist())
    assert not torch.equal(first, second)
    assert all(torch.equal(a, b) for a, b in zip(epochs(seed=5), (first, second)))
    assert len(splits.val.loader(40, drop_last=True)) == 0 and len(splits.val.loader(40)) == 1


def test_at_scale_one_shows_the_digit_unchanged_in_the_canvas_centre(splits):
    at_one = splits.test.at_scale(1.0)
    assert torch.all(at_one.scales == 1.0)
    x, _, s = next(iter(at_one.loader(8)))
    pixels = x[:, 0] * at_one.std + at_one.mean
    expected = F.pad(at_one.stored_images[:8].float() / 255, (70, 70, 70, 70))
    torch.testing.assert_close(pixels, expected, rtol=0, atol=1e-5)
    assert torch.all(s == 1.0)


def test_at_scale_magnifies_about_the_centre(splits):
    # A digit's ink grows with the area: four times as much at scale 2 as at 1.
    def ink(scale):
        x, _, _ = next(iter(splits.test.at_scale(scale).loader(8)))
        return (x[:, 0].double() * splits.test.std + splits.test.mean).sum((1, 2))

    torch.testing.assert_close(ink(2.0) / ink(1.0), torch.full((8,), 4.0, dtype=torch.float64), rtol=2e-2, atol=0)


@pytest.mark.parametrize("bad", [0.0, -2.0, math.inf])
def test_at_scale_rejects_impossible_scales(splits, bad):
    with pytest.raises(ValueError, match=str(bad)):
        splits.test.at_scale(bad)


def test_evaluation_grid_is_the_thesis_grid():
    grid = evaluation_grid()
    assert len(grid) == 45
    assert grid[0] == pytest.approx(2**-0.5) and grid[-1] == pytest.approx(2**3.5)
    steps = np.diff(np.log2(grid))
    assert np.allclose(steps, 4 / 44)


def test_evaluation_grid_takes_a_range_and_density():
    grid = evaluation_grid(1, 8, per_octave=2)
    assert np.allclose(grid, 2 ** np.arange(0, 3.5, 0.5))


@pytest.mark.parametrize(("lo", "hi"), [(0, 8), (-1, 8), (8, 1), (2, 2)])
def test_evaluation_grid_rejects_impossible_ranges(lo, hi):
    with pytest.raises(ValueError, match=rf"eval_range=\(?{lo}\b"):
        evaluation_grid(lo, hi)


@pytest.mark.parametrize("sizes", [(200, 50, 51), (0, 10, 10), (10, -1, 10), (10, 10)])
def test_impossible_split_sizes_are_named(mnist, sizes):
    with pytest.raises(ValueError, match=r"sizes.*" + ", ".join(map(str, sizes))):
        build_dataset("dynamic-mnist", mnist=mnist, sizes=sizes, dist=make_distribution("loguniform", 1, 2))


def test_a_distribution_below_one_cannot_train(mnist):
    with pytest.raises(ValueError, match="training needs scales >= 1"):
        build_dataset("dynamic-mnist", mnist=mnist, sizes=SIZES, dist=make_distribution("loguniform", 0.25, 0.5))


def test_build_dataset_checks_its_arguments(mnist):
    dist = make_distribution("loguniform", 1, 2)
    with pytest.raises(ValueError, match="dataset='fashion'"):
        build_dataset("fashion", mnist=mnist)
    with pytest.raises(ValueError, match="needs a scale distribution"):
        build_dataset("dynamic-mnist", mnist=mnist)
    with pytest.raises(ValueError, match="only for mnist-scale"):
        build_dataset("dynamic-mnist", mnist=mnist, dist=dist, augment=True)
    with pytest.raises(ValueError, match="seed=-1 must be an integer ≥ 0"):
        build_dataset("dynamic-mnist", mnist=mnist, dist=dist, sizes=SIZES, seed=-1)


def test_loader_rejects_a_bad_batch_size(splits):
    with pytest.raises(ValueError, match="batch_size=0 must be"):
        splits.val.loader(0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batches_are_made_on_the_requested_device(splits):
    x, y, s = next(iter(splits.train.loader(16, device="cuda")))
    assert x.is_cuda and y.is_cuda and s.is_cuda
    cpu_x, _, _ = next(iter(splits.train.loader(16)))
    torch.testing.assert_close(x.cpu(), cpu_x, rtol=1e-4, atol=1e-4)


def test_an_unbounded_distribution_almost_all_below_one_cannot_train(mnist):
    with pytest.raises(ValueError, match="lognormal puts too little probability on scales >= 1"):
        build_dataset("dynamic-mnist", mnist=mnist, sizes=SIZES, dist=make_distribution("lognormal", 0.01, 0.02))
