"""The fitting target: a padded data density sampled on a fine log2 grid.

The grid runs from `below` octaves under the data's lower end to `above`
octaves over its upper end, `per_octave` points per octave. The defaults
(1 and 2 octaves, i.e. 2.5 and 5 padding widths of 0.4) are the thesis's:
its fit used one grid over [2^-1, 2^5] for data starting at scale 1, and they
reproduce its published numbers (README, "Reproduction"). The margins matter
because the mixture is renormalised on the grid, so a short grid drops part of
its tails: grids reaching 2 or more octaves past both ends give τ = 0.452
instead of 0.459 for the thesis's combined fit, 1 octave on both sides 0.469.

Size: data extents stay within 26.6 octaves (the scale limits of
tolerance.distributions; its widest log-normal spans 24), so a grid has at
most (26.6 + 2·MAX_MARGIN)·MAX_POINTS_PER_OCTAVE ≈ 44 000 points, and about
7 600 with the default margins and resolution.
"""

from __future__ import annotations

import numpy as np

from scaletol.checks import check_int, check_number
from tolerance.distributions import ScaleDistribution
from tolerance.kl import check_direction
from tolerance.mixture import mixture_pdf
from tolerance.padding import DEFAULT_PADDING, PaddedDensity

MARGIN_BELOW = 1.0  # octaves below the data
MARGIN_ABOVE = 2.0  # octaves above the data
POINTS_PER_OCTAVE = 256
MAX_MARGIN = 8.0  # octaves, each side
MAX_POINTS_PER_OCTAVE = 1024
# Densities below this count as this much, so a density that underflows far
# out (or a mixture that lies off the grid) never makes a KL infinite or undefined.
DENSITY_FLOOR = 1e-300


class FitTarget:
    """A distribution's padded density on the fitting grid, and KLs against it.

    x: grid on log2(s) [octaves], shape [n]; data: padded density at x, shape [n].
    """

    def __init__(
        self,
        dist: ScaleDistribution,
        padding: float = DEFAULT_PADDING,
        *,
        below: float = MARGIN_BELOW,
        above: float = MARGIN_ABOVE,
        per_octave: int = POINTS_PER_OCTAVE,
    ):
        self.dist = dist
        self.density = PaddedDensity(dist, padding)
        lo, hi = dist.log2_extent()
        self.x_lo = lo - check_number("margin_below", below, low=0.0, low_open=True, high=MAX_MARGIN)
        self.x_hi = hi + check_number("margin_above", above, low=0.0, low_open=True, high=MAX_MARGIN)
        per_octave = check_int("points_per_octave", per_octave, low=16, high=MAX_POINTS_PER_OCTAVE)
        n = int(np.ceil((self.x_hi - self.x_lo) * per_octave)) + 1
        self.x = np.linspace(self.x_lo, self.x_hi, n)
        self.data = np.maximum(self.density.pdf(self.x), DENSITY_FLOOR)
        share = self.data / self.data.sum()
        self._log_share = np.log(share)
        self._share = share
        self._entropy = float(np.dot(share, self._log_share))  # Σ d log d of the normalised data

    def central_interval(self, mass: float = 0.96) -> tuple[float, float]:
        """The interval on x [octaves] holding the central `mass` of the (unpadded)
        data: where the data is, even when its support is far wider. Data
        narrower than the grid's spacing give their own extent."""
        cumulative = np.cumsum(self.dist.pdf(self.x))
        if cumulative[-1] <= 0:
            return self.dist.log2_extent()
        cumulative /= cumulative[-1]
        tail = (1.0 - mass) / 2
        lo, hi = np.searchsorted(cumulative, [tail, 1.0 - tail])
        return float(self.x[lo]), float(self.x[min(hi, self.x.size - 1)])

    def kl(self, scales: np.ndarray, tau: float, direction: str = "model-data") -> float:
        """KL between the tolerance mixture of `scales` (data units) and the data [nats].

        The same as `tolerance.kl.directed_kl` of the two densities on the grid,
        with the data's part computed once: for the model m normalised by its
        sum S, KL(m‖d) = Σ m (log m - log d)/S - log S and
        KL(d‖m) = Σ d log d - Σ d log m + log S.
        """
        model = mixture_pdf(self.x, scales, tau)
        np.maximum(model, DENSITY_FLOOR, out=model)
        total = model.sum()
        log_model = np.log(model)
        if check_direction(direction) == "model-data":
            return float(np.dot(model, log_model - self._log_share) / total - np.log(total))
        return float(self._entropy - np.dot(self._share, log_model) + np.log(total))
