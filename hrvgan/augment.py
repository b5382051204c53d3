"""Differentiable augmentation of whole clips before the discriminator (DiffAugment, Zhao et al. 2020).

With 56 training videos a discriminator soon memorises them and its gradients stop telling the
generator anything useful; showing it randomly translated, cut-out and re-coloured clips (real and
generated alike, through a differentiable transform so the generator still learns) keeps it
honest.  Every frame of a clip gets the same transform: a clip stays a coherent video and motion is
not confused with jitter.  Videos are (B, 3, T, H, W) in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _rand(x: torch.Tensor) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, 1, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor) -> torch.Tensor:
    """Brightness, saturation and contrast, one random draw of each per clip."""
    x = x + (_rand(x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3, 4), keepdim=True)
    return (x - mean) * (_rand(x) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each clip by up to ratio * size pixels in x and y, filling with zeros (mid-grey)."""
    b, _, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (b, 1, 1), device=x.device)
    gy = (torch.arange(h, device=x.device)[None, :, None] + dy + 1).clamp(0, h + 1)   # (B, H, 1)
    gx = (torch.arange(w, device=x.device)[None, None, :] + dx + 1).clamp(0, w + 1)   # (B, 1, W)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 3, 4, 2, 1)                            # (B, H+2, W+2, T, C)
    bi = torch.arange(b, device=x.device)[:, None, None]
    return padded[bi, gy, gx].permute(0, 4, 3, 1, 2)                                  # (B, C, T, H, W)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Blank one square of ratio * size per clip, at the same place in every frame."""
    b, _, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h - ch + 1, (b, 1, 1), device=x.device)
    left = torch.randint(0, w - cw + 1, (b, 1, 1), device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (ys >= top) & (ys < top + ch) & (xs >= left) & (xs < left + cw)          # (B, H, W)
    return x * (~inside).to(x.dtype)[:, None, None]


POLICIES = {"color": color, "translation": translation, "cutout": cutout}


def parse_policy(policy: str) -> list[str]:
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown}; choose from {sorted(POLICIES)} (comma-separated) or ''.")
    return names


def augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """Apply the comma-separated transforms of `policy` ("" = none) to a batch of clips."""
    for name in parse_policy(policy):
        x = POLICIES[name](x)
    return x
