"""relu_norm_pool against nn.ReLU → nn.BatchNorm2d → nn.MaxPool2d, in float64."""

import copy

import pytest
import torch
from torch import nn

from sesn.nn.norm_pool import relu_norm_pool


def modules(channels: int, weight: list[float], momentum: float | None = 0.1):
    torch.manual_seed(0)
    norm = nn.BatchNorm2d(channels, momentum=momentum).double()
    with torch.no_grad():
        norm.weight.copy_(torch.tensor(weight))
        norm.bias.uniform_(-1, 1)
    return norm, nn.MaxPool2d(3)


@pytest.mark.parametrize("weight", [[1.0, 0.5, 2.0], [1.5, -0.7, 0.3]])  # a negative γ takes the min
def test_training_forward_backward_and_running_stats_match_the_modules(weight):
    norm, pool = modules(3, weight)
    reference = copy.deepcopy(norm)
    x = torch.randn(4, 3, 9, 12, dtype=torch.float64) + 0.3
    fused_x, plain_x = x.clone().requires_grad_(), x.clone().requires_grad_()
    fused = relu_norm_pool(fused_x, norm, pool)
    plain = pool(reference(torch.relu(plain_x)))
    torch.testing.assert_close(fused, plain)
    grad = torch.randn_like(plain)
    fused.backward(grad)
    plain.backward(grad)
    torch.testing.assert_close(fused_x.grad, plain_x.grad)
    torch.testing.assert_close(norm.weight.grad, reference.weight.grad)
    torch.testing.assert_close(norm.bias.grad, reference.bias.grad)
    torch.testing.assert_close(norm.running_mean, reference.running_mean)
    torch.testing.assert_close(norm.running_var, reference.running_var)
    assert norm.num_batches_tracked == reference.num_batches_tracked == 1


@pytest.mark.parametrize("size", [(6, 6), (7, 8)])  # tiles that cover the input, and a cut-off margin
@pytest.mark.parametrize("weight", [[1.0, -2.0, 0.5], [1.0, 2.0, 0.5]])
def test_eval_mode_uses_the_running_statistics(size, weight):
    norm, pool = modules(3, weight)
    with torch.no_grad():
        norm.running_mean.uniform_(0, 1)
        norm.running_var.uniform_(0.5, 2)
    norm.eval()
    x = torch.randn(2, 3, *size, dtype=torch.float64, requires_grad=True)
    fused = relu_norm_pool(x, norm, pool)
    torch.testing.assert_close(fused, pool(norm(torch.relu(x))))
    (grad,) = torch.autograd.grad(fused.sum(), x)
    (expected,) = torch.autograd.grad(pool(norm(torch.relu(x))).sum(), x)
    torch.testing.assert_close(grad, expected)


def test_gradcheck_in_training_mode():
    norm, pool = modules(2, [0.8, -1.2])
    x = torch.randn(3, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    params = (norm.weight, norm.bias)
    assert torch.autograd.gradcheck(lambda x, *_: relu_norm_pool(x, norm, pool), (x, *params), fast_mode=True)


@pytest.mark.parametrize(
    ("pool", "momentum"),
    [(nn.MaxPool2d(3, stride=2), 0.1), (nn.MaxPool2d(3, padding=1), 0.1), (nn.MaxPool2d(3), None)],
)
def test_what_it_cannot_fuse_goes_through_the_modules(pool, momentum):
    norm, _ = modules(2, [1.0, 1.0], momentum)
    reference = copy.deepcopy(norm)
    x = torch.randn(2, 2, 9, 9, dtype=torch.float64)
    torch.testing.assert_close(relu_norm_pool(x, norm, pool), pool(reference(torch.relu(x))))
