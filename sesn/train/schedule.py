"""Learning rates of the two Adam parameter groups (thesis App. B).

Network weights: `lr`, multiplied by `decay` at each milestone epoch. Scale
parameters: `scale_lr`, ramped up linearly over the first `scale_warmup`
epochs (per step) and multiplied by `scale_decay` at the same milestones.
The rates are a pure function of the global step, so a resumed run needs no
scheduler state.
"""

from __future__ import annotations

from dataclasses import dataclass

from sesn.train.config import TrainConfig


@dataclass(frozen=True)
class Schedule:
    lr: float
    milestones: tuple[int, ...]
    decay: float
    scale_lr: float
    scale_warmup: int
    scale_decay: float

    @classmethod
    def from_config(cls, config: TrainConfig) -> Schedule:
        assert config.scale_lr is not None and config.scale_warmup is not None and config.scale_decay is not None
        return cls(
            config.lr, config.milestones, config.lr_decay, config.scale_lr, config.scale_warmup, config.scale_decay
        )

    def rates(self, step: int, steps_per_epoch: int) -> tuple[float, float]:
        """(weights lr, scale lr) for global optimiser step `step` (0-based)."""
        epoch = step // steps_per_epoch
        passed = sum(epoch >= m for m in self.milestones)
        warmup_steps = self.scale_warmup * steps_per_epoch
        ramp = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
        return (self.lr * self.decay**passed, self.scale_lr * self.scale_decay**passed * ramp)
