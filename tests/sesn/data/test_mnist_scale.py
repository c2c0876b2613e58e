import os

import numpy as np
import pytest
import torch
from scipy import stats

from sesn.data import mnist_scale
from sesn.data.mnist import MNIST, load_mnist
from sesn.data.registry import build_dataset

SIZES = (100, 40, 200)
MEAN, STD = 0.0607, 0.2161  # thesis App. A.2 / SESN normalisation


def blob_mnist(n=400, seed=0) -> MNIST:
    """Smooth random digits (Gaussian blobs of random width and place) with
    unequal label frequencies (label c has weight c + 1)."""
    rng = np.random.default_rng(seed)
    coords = np.arange(28) + 0.5 - 14
    sigma = rng.uniform(2.0, 4.0, (n, 1, 1))
    row, col = rng.uniform(-3, 3, (2, n, 1, 1))
    blobs = np.exp(-((coords[:, None] - row) ** 2 + (coords[None, :] - col) ** 2) / (2 * sigma**2))
    labels = rng.choice(10, size=n, p=np.arange(1, 11) / 55)
    return MNIST(images=torch.from_numpy(np.round(255 * blobs).astype(np.uint8)), labels=torch.from_numpy(labels))


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALETOL_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def mnist():
    return blob_mnist()


def build(mnist, **options):
    return build_dataset("mnist-scale", mnist=mnist, sizes=options.pop("sizes", SIZES), **options)


def test_splits_are_stratified_by_label(mnist):
    splits = build(mnist)
    proportions = np.bincount(mnist.labels.numpy(), minlength=10) / len(mnist)
    for (name, split), size in zip(splits.items(), SIZES):
        counts = np.bincount(split.labels.numpy(), minlength=10)
        assert counts.sum() == size
        assert np.all(np.abs(counts - size * proportions) < 2), name


def test_splits_are_disjoint_digits_of_the_pool(mnist):
    splits = build(mnist)
    pool = {bytes(image.numpy()): index for index, image in enumerate(mnist.images)}
    seen = []
    for _, split in splits.items():
        sources = [pool[bytes(digit.numpy())] for digit in split.digits]
        assert torch.equal(split.labels, mnist.labels[sources])
        seen += sources
    assert len(set(seen)) == sum(SIZES)


def test_each_digit_is_shrunk_once_by_a_uniform_factor(mnist):
    splits = build(mnist)
    scales = torch.cat([split.scales for _, split in splits.items()]).double().numpy()
    assert scales.min() >= 0.3 and scales.max() <= 1.0
    assert stats.kstest(scales, stats.uniform(0.3, 0.7).cdf).pvalue > 1e-3
    for _, split in splits.items():
        # shrinking by s keeps the digit centred and leaves s² of its ink
        ink = split.images.double().sum((1, 2)) / split.digits.double().sum((1, 2))
        torch.testing.assert_close(ink, split.scales.double() ** 2, rtol=0.05, atol=0.0)
        assert split.image_size == 28


def test_batches_are_normalised_with_the_thesis_constants(mnist):
    splits = build(mnist)
    x, y, s = next(iter(splits.val.loader(40)))
    assert x.shape == (40, 1, 28, 28)
    torch.testing.assert_close(x[:, 0] * STD + MEAN, splits.val.images.float() / 255, rtol=0, atol=1e-6)
    assert torch.equal(y, splits.val.labels) and torch.equal(s, splits.val.scales)


def test_same_seed_is_bit_identical_and_other_seeds_differ(mnist, cache, monkeypatch):
    first = build(mnist, seed=0)
    monkeypatch.setenv("SCALETOL_CACHE", str(cache.parent / "fresh"))  # build again from scratch
    again = build(mnist, seed=0)
    other = build(mnist, seed=1)
    for (_, a), (_, b), (_, c) in zip(first.items(), again.items(), other.items()):
        assert torch.equal(a.images, b.images) and torch.equal(a.scales, b.scales)
        assert torch.equal(a.labels, b.labels)
        assert not torch.equal(a.images, c.images)
        assert not torch.equal(a.scales, c.scales)


def test_second_load_reads_the_cache(mnist, cache, monkeypatch):
    first = build(mnist, seed=2)
    files = list((cache / "mnist-scale").iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"  # no temporary file left behind

    def no_building(*args, **kwargs):
        raise AssertionError("rebuilt instead of reading the cache")

    monkeypatch.setattr(mnist_scale, "render_realisation", no_building)
    second = build(mnist, seed=2)
    for (_, a), (_, b) in zip(first.items(), second.items()):
        assert torch.equal(a.images, b.images) and torch.equal(a.scales, b.scales)


def test_cache_key_covers_data_seed_and_sizes(mnist):
    other_mnist = blob_mnist(seed=1)
    paths = {
        mnist_scale.cache_path(mnist, 0, SIZES),
        mnist_scale.cache_path(mnist, 1, SIZES),
        mnist_scale.cache_path(mnist, 0, (100, 40, 201)),
        mnist_scale.cache_path(other_mnist, 0, SIZES),
    }
    assert len(paths) == 4


def test_a_damaged_cache_file_is_rebuilt(mnist, cache):
    first = build(mnist, seed=3)
    (path,) = (cache / "mnist-scale").iterdir()
    path.write_bytes(path.read_bytes()[:1000])
    second = build(mnist, seed=3)
    assert torch.equal(first.test.images, second.test.images)
    assert len(path.read_bytes()) > 1000


def test_plus_variant_rescales_training_batches_again(mnist):
    splits = build(mnist, augment=True)
    x, y, s = next(iter(splits.train.loader(100)))
    factors = (s / splits.train.scales).double()
    assert torch.equal(y, splits.train.labels)
    assert stats.kstest(factors.numpy(), stats.uniform(0.5, 1.5).cdf).pvalue > 1e-3
    # a shrinking factor f leaves f² of the stored ink (magnified digits may leave the canvas)
    shrunk = factors < 1
    ink = (x[:, 0].double() * STD + MEAN).sum((1, 2)) / (splits.train.images.double() / 255).sum((1, 2))
    torch.testing.assert_close(ink[shrunk], factors[shrunk] ** 2, rtol=0.05, atol=0.0)


def test_plus_variant_draws_repeat_with_the_loader_seed_and_change_per_epoch(mnist):
    train = build(mnist, augment=True).train
    loader = train.loader(100, seed=1)
    epoch_one, epoch_two = (next(iter(loader)) for _ in range(2))
    repeat = next(iter(train.loader(100, seed=1)))
    other_seed = next(iter(train.loader(100, seed=2)))
    assert all(torch.equal(a, b) for a, b in zip(epoch_one, repeat))
    assert not torch.equal(epoch_one[2], epoch_two[2])
    assert not torch.equal(epoch_one[2], other_seed[2])


def test_only_the_training_split_is_augmented(mnist):
    splits = build(mnist, augment=True)
    _, _, s = next(iter(splits.test.loader(200)))
    assert torch.equal(s, splits.test.scales)


def test_at_scale_shows_the_original_digits_at_that_scale(mnist):
    at_half = build(mnist).test.at_scale(0.5)
    x, y, s = next(iter(at_half.loader(50)))
    assert x.shape == (50, 1, 28, 28) and torch.all(s == 0.5)
    ink = (x[:, 0].double() * STD + MEAN).sum((1, 2)) / (at_half.stored_images[:50].double() / 255).sum((1, 2))
    torch.testing.assert_close(ink, torch.full_like(ink, 0.25), rtol=0.02, atol=0.0)


def test_mnist_scale_has_its_own_distribution(mnist):
    with pytest.raises(ValueError, match="mnist-scale has its own scale distribution"):
        build_dataset("mnist-scale", mnist=mnist, dist=object())


def test_impossible_split_sizes_are_named(mnist):
    with pytest.raises(ValueError, match=r"split sizes \(10000, 2000, 50000\) need 62000 digits, only 400"):
        build_dataset("mnist-scale", mnist=mnist)


@pytest.mark.mnist
@pytest.mark.skipif(not os.environ.get("SCALETOL_DATA"), reason="SCALETOL_DATA does not point at MNIST")
def test_the_real_realisation_matches_the_thesis_normalisation():
    splits = build_dataset("mnist-scale", mnist=load_mnist(), seed=0)
    assert [len(split) for _, split in splits.items()] == [10_000, 2_000, 50_000]
    pixels = splits.train.images.double() / 255
    # The thesis normalises MNIST-Scale with mean 0.0607, std 0.2161.
    assert float(pixels.mean()) == pytest.approx(MEAN, rel=0.03)
    assert float(pixels.std()) == pytest.approx(STD, rel=0.05)
