"""Real clips degraded on purpose: what a pixel metric must read as clearly worse than real.

    python -m hrvgan calibrate --data ../shared/data/weizmann-actions

Each degradation imitates a flaw generated videos show: blur (Gaussian, sigma = 1), colour fringes
(red and blue shifted one pixel apart, horizontally) and lost detail (half resolution, enlarged
back).  A metric that scores any of them as good as real data cannot see that flaw.  One more
copy, noise-free (the camera's noise held still), changes nothing a viewer sees in a frame: it
shows what else a metric reads.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

DEGRADATIONS = ("blur", "fringes", "half-resolution")
# Flaws of motion that a whole-frame figure dilutes (most of a frame is still background): where limbs
# sweep, a pale fan (the swept region blended towards the clip's average where no limb covers it), or
# limbs that leave ghosts of where they were.  The moving-region SWD must see them (fans also in the clips' still
# images, ghosts in their frame differences).
MOTION_DEGRADATIONS = ("fans", "ghosts")
# A change a viewer does not see in a frame, to show what the frame-difference SWD's finest level
# also reads: the camera's noise.  A generator that draws a perfectly still background scores there
# like real clips with their noise removed.
UNSEEN = ("noise-free",)


def gaussian_blur(videos: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    radius = int(np.ceil(3 * sigma))
    k = torch.exp(-torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2 / (2 * sigma**2))
    k = k / k.sum()
    x = torch.from_numpy(np.ascontiguousarray(videos)).float().flatten(0, 1).permute(0, 3, 1, 2)  # (N*T, 3, H, W)
    x = F.pad(x, (radius,) * 4, mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(3, 1, 1, -1), groups=3)
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(3, 1, -1, 1), groups=3)
    return x.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy().reshape(videos.shape)


def colour_fringes(videos: np.ndarray) -> np.ndarray:
    """Red one pixel left, blue one pixel right (edges repeated): the pink/green fringes of a bad decoder."""
    out = videos.copy()
    out[..., :-1, 0] = videos[..., 1:, 0]
    out[..., 1:, 2] = videos[..., :-1, 2]
    return out


def half_resolution(videos: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(videos)).float().flatten(0, 1).permute(0, 3, 1, 2)
    h, w = x.shape[-2:]
    x = F.interpolate(F.avg_pool2d(x, 2), size=(h, w), mode="bilinear", align_corners=False)
    return x.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy().reshape(videos.shape)


def noise_free(videos: np.ndarray, threshold: int = 6) -> np.ndarray:
    """A camera without noise: a pixel that changes by less than `threshold` levels in every channel
    keeps its previous value, so a still background is exactly still; moving parts are untouched."""
    out = videos.copy()
    for t in range(1, videos.shape[1]):
        change = np.abs(videos[:, t].astype(np.int16) - out[:, t - 1]).max(axis=-1, keepdims=True)
        out[:, t] = np.where(change < threshold, out[:, t - 1], videos[:, t])
    return out


def _moving(videos: np.ndarray, threshold: float) -> np.ndarray:
    """Where each frame differs from the one before (either way), (N, T, H, W, 1) bool; frame 0 as frame 1."""
    x = videos.astype(np.int16)
    d = np.abs(np.diff(x, axis=1)).max(axis=-1) > threshold                 # (N, T-1, H, W)
    moving = np.concatenate([d[:, :1], d], axis=1)
    moving[:, :-1] |= d                                                      # the pixel left or arrived
    return moving[..., None]


def passing(x: np.ndarray, threshold: float = 30) -> np.ndarray:
    """Where a limb passes now: each pixel of float (N, T, H, W, 3) clips that differs from its usual (median over
    the clip) colour by more than ``threshold`` in some channel, (N, T, H, W, 1) bool.  ``.any(axis=1)``: where one
    passes at some moment of the clip (the swept region)."""
    usual = np.median(x, axis=1, keepdims=True)
    return np.abs(x - usual).max(axis=-1, keepdims=True) > threshold


def fans(videos: np.ndarray, threshold: float = 30, strength: float = 0.4, pale: float = 235) -> np.ndarray:
    """Where a limb passes at some moment of the clip (a pixel that then differs from its usual, median, colour),
    in every frame where it is not there, blended towards a pale grey: the whitish, smooth fan along the sweep
    that generated arms leave.  The still body, never far from its median, is left alone."""
    x = videos.astype(np.float32)
    present = passing(x, threshold)                                          # something passes here now
    swept = present.any(axis=1, keepdims=True)                               # ... at some moment of the clip
    weight = strength * (swept & ~present)
    weight = gaussian_blur((weight * 255).round().astype(np.uint8).repeat(3, -1), sigma=1.0)[..., :1] / 255.0
    return ((1 - weight) * x + weight * pale).round().clip(0, 255).astype(np.uint8)


def ghosts(videos: np.ndarray, threshold: float = 24) -> np.ndarray:
    """Moving regions drawn half from the two frames before: a limb leaves a trail of where it was."""
    x = videos.astype(np.float32)
    prev1 = np.concatenate([x[:, :1], x[:, :-1]], axis=1)
    prev2 = np.concatenate([prev1[:, :1], prev1[:, :-1]], axis=1)
    mixed = 0.5 * x + 0.3 * prev1 + 0.2 * prev2
    return np.where(_moving(videos, threshold), mixed, x).round().clip(0, 255).astype(np.uint8)


def degrade(videos: np.ndarray, kind: str) -> np.ndarray:
    fns = {"blur": gaussian_blur, "fringes": colour_fringes, "half-resolution": half_resolution, "noise-free": noise_free,
           "fans": fans, "ghosts": ghosts}
    if kind not in fns:
        raise ValueError(f"unknown degradation {kind!r}; choose from {DEGRADATIONS + MOTION_DEGRADATIONS + UNSEEN}.")
    return fns[kind](videos)


def degraded_copies(videos: np.ndarray) -> dict[str, np.ndarray]:
    """{"real": the clips, each degradation: a degraded copy}: the rows of every calibration table."""
    return {"real": videos, **{kind: degrade(videos, kind) for kind in DEGRADATIONS + MOTION_DEGRADATIONS + UNSEEN}}


def calibrate(copies: dict[str, np.ndarray], test: np.ndarray, swd_kwargs: dict | None = None, train_labels=None,
              test_labels=None, split: tuple | None = None) -> dict:
    """SWD of real train clips and of each degraded copy (``copies``, as :func:`degraded_copies` gives them)
    against real test clips: whole frames and frame differences, and restricted to moving regions (class by class
    when labels are given) the frames, differences and each clip's still image (`swd.MOVING_VIEWS`).  With
    ``split`` = (early copies, early labels, late, late labels), the early clips of `evaluate.time_split_clips` as
    :func:`degraded_copies` gives them, also the moving-region figures of those copies against the late clips
    ("moving_*_late")."""
    from .swd import MOVING_VIEWS, swd, swd_moving_by_class

    kw = swd_kwargs or {}
    table = {name: {"frames": swd(v, test, **kw), "motion": swd(v, test, motion=True, **kw),
                    **{f"moving_{kind}": swd_moving_by_class(v, train_labels, test, test_labels, **view, **kw)[0]
                       for kind, view in MOVING_VIEWS.items()}}
             for name, v in copies.items()}
    if split is not None:
        early, early_labels, late, late_labels = split
        for name, v in early.items():
            for kind, view in MOVING_VIEWS.items():
                table[name][f"moving_{kind}_late"] = swd_moving_by_class(v, early_labels, late, late_labels, **view,
                                                                          **kw)[0]
    return table


def calibrate_coverage(early: dict[str, np.ndarray], early_labels, late: np.ndarray, late_labels,
                       groups) -> dict[str, float]:
    """Coverage (`coverage.coverage`) of the train videos' second halves by their first halves and each degraded copy
    of those (``early``, as :func:`degraded_copies` gives them), and by a purpose-made collapse onto one video per
    class (``groups``: the video of each early clip).  Blur, lost detail and the camera's noise held still must read
    as real (coverage reads who is drawn, not how sharply); the collapse must read clearly lower."""
    from .coverage import collapsed, coverage

    rows = {**early, "collapsed (one video per class)": collapsed(early["real"], early_labels, groups)}
    return {name: coverage(late, late_labels, v, early_labels)[0] for name, v in rows.items()}

