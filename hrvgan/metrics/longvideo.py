"""Videos longer than the model's clips, measured window by window.

    python -m hrvgan evaluate --model weights --data ../shared/data/weizmann-actions --num_frames 64
    python -m hrvgan calibrate --data ../shared/data/weizmann-actions --num_frames 64

A long video fails in ways a 16-frame clip cannot: it freezes, it jitters, it forgets its class, its
frames decay into smears or noise, its colours drift.  So every figure of the short evaluation that
sees those is taken again for each 16-frame window along the video (frames 0-15, 16-31, ...):

- class accuracy of the window (the project's classifier, the class asked for);
- motion of the window over the real train clips' motion (1 = as much as the data; 0 = frozen);
- SWD at the finest level of the window's frames and frame differences against the real test clips,
  beside real train <-> test (``swd.swd``);

and over the whole video the colour drift: 1 - the histogram intersection of the last frame's colours
with the first frame's, beside real videos at least as long (their first ``num_frames`` frames).

`calibrate_long` checks the instrument on real videos spoiled on purpose: frozen after 16 frames,
drifting in colour, gaining noise over time.  Each must read clearly worse than the real videos.
"""

from __future__ import annotations

import numpy as np
import torch

from .classifier import VideoClassifier, classify
from .scores import motion
from .swd import swd

WINDOW = 16
HIST_BINS = 8          # per channel: 8 x 8 x 8 colour cells
LONG_DEGRADATIONS = ("frozen", "colour-drift", "growing-noise")


def windows(videos: np.ndarray, size: int = WINDOW) -> list[np.ndarray]:
    """uint8 (N, T, H, W, 3) -> the consecutive (N, size, H, W, 3) windows (a last, shorter part is dropped)."""
    if videos.ndim != 5 or videos.shape[1] < size:
        raise ValueError(f"expected videos (N, T, H, W, 3) of at least {size} frames, got shape {videos.shape}.")
    return [videos[:, i:i + size] for i in range(0, videos.shape[1] - size + 1, size)]


def colour_histograms(frames: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """uint8 (N, H, W, 3) frames -> (N, bins^3) joint RGB histograms, each summing to 1."""
    q = frames.astype(np.int64) * bins // 256                               # (N, H, W, 3) cell per channel
    cells = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    hist = np.stack([np.bincount(c.ravel(), minlength=bins**3) for c in cells]).astype(np.float64)
    return hist / hist.sum(axis=1, keepdims=True)


def colour_drift(videos: np.ndarray) -> np.ndarray:
    """Per video: 1 - histogram intersection of the last frame's colours with the first's (0 = the same colours)."""
    first, last = colour_histograms(videos[:, 0]), colour_histograms(videos[:, -1])
    return 1.0 - np.minimum(first, last).sum(axis=1)


# --- real videos spoiled on purpose --------------------------------------------------------------------

def frozen(videos: np.ndarray, after: int = WINDOW) -> np.ndarray:
    """Every frame from ``after`` on repeats frame ``after - 1``: the video stops."""
    out = videos.copy()
    out[:, after:] = videos[:, after - 1:after]
    return out


def colour_drifting(videos: np.ndarray, shift: float = 24.0) -> np.ndarray:
    """A colour cast that grows linearly over the video: red up and blue down by ``shift`` levels at the end."""
    t = videos.shape[1]
    ramp = np.linspace(0.0, 1.0, t, dtype=np.float32).reshape(1, t, 1, 1, 1)
    cast = np.array([shift, 0.0, -shift], dtype=np.float32).reshape(1, 1, 1, 1, 3)
    return (videos.astype(np.float32) + ramp * cast).round().clip(0, 255).astype(np.uint8)


def growing_noise(videos: np.ndarray, sigma: float = 24.0, seed: int = 0) -> np.ndarray:
    """Gaussian noise whose standard deviation grows linearly from 0 to ``sigma`` levels over the video."""
    t = videos.shape[1]
    ramp = np.linspace(0.0, sigma, t, dtype=np.float32).reshape(1, t, 1, 1, 1)
    noise = np.random.default_rng(seed).standard_normal(videos.shape, dtype=np.float32)
    return (videos.astype(np.float32) + ramp * noise).round().clip(0, 255).astype(np.uint8)


def degrade_long(videos: np.ndarray, kind: str) -> np.ndarray:
    fns = {"frozen": frozen, "colour-drift": colour_drifting, "growing-noise": growing_noise}
    if kind not in fns:
        raise ValueError(f"unknown long-video degradation {kind!r}; choose from {LONG_DEGRADATIONS}.")
    return fns[kind](videos)


# --- the figures ---------------------------------------------------------------------------------------

def evaluate_long(videos: np.ndarray, labels, classifier: VideoClassifier | None, test: np.ndarray,
                  train_motion: float, real_long: np.ndarray, seed: int = 0) -> dict:
    """The window-by-window figures of uint8 videos (N, T, H, W, 3) made for classes ``labels`` (or None).

    ``test``: real test clips, whose length is the window's (the model's own: 16 for the default); the SWD
    reference.  ``train_motion``: the real train clips' motion (the motion reference); ``real_long``: real
    videos cut to T frames (the colour-drift reference).  Lists run over the windows, first to last.
    """
    window = test.shape[1]
    if real_long.shape[1] != videos.shape[1]:
        raise ValueError(f"the real reference videos have {real_long.shape[1]} frames, the videos {videos.shape[1]}.")
    parts = windows(videos, window)
    accuracy = []
    for part in parts:
        if classifier is not None and labels is not None:
            probs, _ = classify(classifier, part)
            accuracy.append(float((probs.argmax(1) == np.asarray(labels)).mean()))
    return {
        "num_frames": int(videos.shape[1]),
        "window": window,
        "window_class_accuracy": accuracy or None,
        "window_motion_ratio_train": [motion(p) / max(train_motion, 1e-9) for p in parts],
        "window_swd_frames_vs_test": [swd(p, test, seed=seed)[0] for p in parts],
        "window_swd_motion_vs_test": [swd(p, test, motion=True, seed=seed)[0] for p in parts],
        "colour_drift": float(colour_drift(videos).mean()),
        "colour_drift_real": float(colour_drift(real_long).mean()),
        "num_real_long": int(len(real_long)),
    }


def long_verdict(r: dict, swd_frames_real: float, swd_motion_real: float) -> dict:
    """The issue's targets for long videos, each True or False: class accuracy >= 90% in every window; motion
    0.7-1.3x the real train clips' in every window; the last window's finest SWD (frames and differences) at
    most 1.5x real train <-> test and at most 1.3x the first window's; colour drift at most 1.5x real."""
    f, m = r["window_swd_frames_vs_test"], r["window_swd_motion_vs_test"]
    acc = r["window_class_accuracy"]
    return {
        "class accuracy >= 90% in every window": None if acc is None else min(acc) >= 0.9,
        "motion 0.7-1.3x real train in every window": all(0.7 <= x <= 1.3 for x in r["window_motion_ratio_train"]),
        "last window SWD <= 1.5x real train<->test": f[-1] <= 1.5 * swd_frames_real and m[-1] <= 1.5 * swd_motion_real,
        "last window SWD <= 1.3x first window's": f[-1] <= 1.3 * f[0] and m[-1] <= 1.3 * m[0],
        "colour drift <= 1.5x real": r["colour_drift"] <= 1.5 * max(r["colour_drift_real"], 1e-9),
    }


def window_table(r: dict, swd_frames_real: float, swd_motion_real: float) -> str:
    """Markdown: one row per window, then the colour drift and the targets."""
    w, acc = r["window"], r["window_class_accuracy"]
    lines = [f"{r['num_frames']} frames, windows of {w}; SWD x10³ finest level vs real test "
             f"(real train: frames {swd_frames_real:.1f}, differences {swd_motion_real:.1f})", "",
             "| frames | class accuracy | motion / real train | SWD frames | SWD differences |", "|---|---|---|---|---|"]
    for k, (mo, sf, sm) in enumerate(zip(r["window_motion_ratio_train"], r["window_swd_frames_vs_test"],
                                         r["window_swd_motion_vs_test"])):
        a = "-" if acc is None else f"{acc[k]:.1%}"
        lines.append(f"| {k * w}-{k * w + w - 1} | {a} | {mo:.2f} | {sf:.1f} ({sf / swd_frames_real:.2f}x) "
                     f"| {sm:.1f} ({sm / swd_motion_real:.2f}x) |")
    lines += ["", f"colour drift (1 - histogram intersection, last frame vs first): {r['colour_drift']:.3f}; "
              f"real videos of {r['num_frames']}+ frames: {r['colour_drift_real']:.3f} ({r['num_real_long']} videos)", ""]
    for target, ok in long_verdict(r, swd_frames_real, swd_motion_real).items():
        lines.append(f"- {target}: {'-' if ok is None else 'met' if ok else 'NOT met'}")
    return "\n".join(lines)


def real_long_videos(datasets, num_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``num_frames`` frames of every video of the datasets that has that many -> (N, T, H, W, 3), labels."""
    videos, labels = [], []
    for ds in datasets:
        for i in range(len(ds)):
            v = ds.video(i)
            if v.shape[0] >= num_frames:
                videos.append(v[:num_frames])
                labels.append(ds.labels[i])
    if not videos:
        raise ValueError(f"no real video has {num_frames} frames or more: nothing to compare the colour drift with; "
                         "choose a shorter --num_frames.")
    return np.stack(videos), np.asarray(labels)


@torch.inference_mode()
def calibrate_long(real_long: np.ndarray, labels, classifier: VideoClassifier | None, test: np.ndarray,
                   train_motion: float, seed: int = 0) -> dict:
    """:func:`evaluate_long` of real long videos and of each spoiled copy (``LONG_DEGRADATIONS``)."""
    rows = {"real": real_long, **{kind: degrade_long(real_long, kind) for kind in LONG_DEGRADATIONS}}
    return {name: evaluate_long(v, labels, classifier, test, train_motion, real_long, seed=seed) for name, v in rows.items()}
