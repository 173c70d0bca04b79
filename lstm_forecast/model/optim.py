"""Adam over one flat buffer that every parameter and its gradient are views into: the train stage's optimizer."""
from __future__ import annotations

import torch
from torch import nn


class FlatAdam:
    """Adam over one flat buffer that every parameter (and its gradient) is a view into.

    The update is stock ``torch.optim.Adam``'s (no weight decay, no amsgrad) written out as its seven
    elementwise kernels, in the same order and with the same float arithmetic, so the result is bitwise
    the same as ``torch.optim.Adam(model.parameters())`` (a test checks it). Stock Adam issues those
    kernels once per parameter tensor (twelve here) behind Python bookkeeping per step, a large share of a
    small model's step on CPU (docs/performance.md).
    """

    def __init__(self, params: torch.Tensor, grads: torch.Tensor, lr: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params, self.grads = params, grads
        self.lr, self.beta1, self.beta2, self.eps = lr, betas[0], betas[1], eps
        self.exp_avg = torch.zeros_like(params)
        self.exp_avg_sq = torch.zeros_like(params)
        self._denom = torch.empty_like(params)
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        # Stock Adam keeps the step count in a float32 tensor and reads it back with .item().
        step = float(self.steps)
        self.exp_avg.lerp_(self.grads, 1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(self.grads, self.grads, value=1 - self.beta2)
        bias_correction1 = 1 - self.beta1**step
        bias_correction2 = 1 - self.beta2**step
        torch.sqrt(self.exp_avg_sq, out=self._denom)
        self._denom.div_(bias_correction2**0.5).add_(self.eps)
        self.params.addcdiv_(self.exp_avg, self._denom, value=-(self.lr / bias_correction1))


def single_buffer_adam(model: nn.Module, lr: float) -> tuple[FlatAdam, torch.Tensor]:
    """Point every trainable parameter and its gradient into two flat buffers; return Adam over them and the
    gradient buffer, which the caller zeroes before each backward pass (autograd accumulates into it in place).

    Move the model to its device before calling this: ``.to()`` would replace the views.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    grads = torch.zeros_like(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.data = flat[offset : offset + n].view_as(p)
        # A gradient that already exists is accumulated into in place, so autograd writes into `grads`.
        p.grad = grads[offset : offset + n].view_as(p)
        offset += n
    return FlatAdam(flat, grads, lr), grads
