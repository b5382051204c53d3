"""Which of the training videos a generator draws: coverage (Naeem et al. 2020, "Reliable fidelity and diversity
metrics for generative models"), on each clip's appearance.

The spread within a class (RMS distance from the class mean) reads a generator that draws one performer in
front of one wall, at every phase of the action, as spread as the data: the phase alone moves every limb.
Coverage asks instead, for every real reference clip, whether some generated clip of its class looks like it:
whether it lies within the distance of the reference clip's k-th nearest reference neighbour.  A generator that
draws only some of the performers (or walls) covers only their clips.

k = 5 (the paper's choice): each train video gives four clips, so a clip's three nearest neighbours are its own
video's and the fourth and fifth are usually other videos'; the ball is then "about as close as another recording
of the class".  With k = 3 it was the spread within one video: only a copy of the data came near (real 0.81, a
collapse onto one video per class 0.05, and v6 0.04 and v7 0.07 alike, where the eye sees v7 draw more of the
performers); with k = 5 real reads 1.00, the collapse 0.12, v6 0.17, v7 0.36.

The appearance of a clip is its mean frame over time, averaged over 4x4 pixel blocks (16x16x3 numbers for 64x64
clips): who stands where in front of which wall, with the phase averaged out and blind to blur, noise and lost
detail (``calibrate`` checks all three, and a purpose-made collapse onto one video per class).

Reference: the train videos' second halves; real: their first halves (the same performers and walls at
other moments), so a perfect copy of the data reads about 1.  The held-out performers cannot serve: no model
trained on others draws them.
"""

from __future__ import annotations

import numpy as np
import torch

from ..losses import appearance as appearance_of

K = 5        # the reference ball: the distance to the k-th nearest other reference clip of the class (Naeem et al.)
POOL = 4     # appearance: the mean frame averaged over POOL x POOL blocks


def appearance(videos: np.ndarray, pool: int = POOL) -> np.ndarray:
    """uint8 (N, T, H, W, 3) -> (N, 3 * H/pool * W/pool): each clip's mean frame over time, block-averaged, in [0, 1]."""
    if videos.dtype != np.uint8 or videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"expected uint8 videos shaped (N, T, H, W, 3), got {videos.dtype} {videos.shape}.")
    clips = torch.from_numpy(videos).permute(0, 4, 1, 2, 3).float() / 255             # (N, 3, T, H, W)
    return appearance_of(clips, pool).flatten(1).numpy()


def _class_of(labels, n: int) -> np.ndarray:
    """Labels as an array; None (no classes): every clip in class 0."""
    return np.zeros(n, int) if labels is None else np.asarray(labels)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0))


def covered(reference: np.ndarray, reference_labels, videos: np.ndarray, labels, k: int = K) -> np.ndarray:
    """Whether each ``reference`` clip has a clip of ``videos`` of the same class within reach (at most the distance
    to its k-th nearest other reference clip, appearance space): bool (len(reference),).  Labels None: one class."""
    ref, vid = appearance(reference), appearance(videos)
    ref_labels = _class_of(reference_labels, len(ref))
    vid_labels = _class_of(labels, len(vid))
    out = np.zeros(len(ref), bool)
    for c in np.unique(ref_labels):
        rows = np.flatnonzero(ref_labels == c)
        r, v = ref[rows], vid[vid_labels == c]
        if len(r) <= k:
            raise ValueError(f"class {c} has {len(r)} reference clips; coverage needs more than k = {k}.")
        if not len(v):
            raise ValueError(f"class {c} has no clips to compare with its {len(r)} reference clips.")
        within = _distances(r, r)
        np.fill_diagonal(within, np.inf)
        reach = np.sort(within, axis=1)[:, k - 1]
        out[rows] = _distances(r, v).min(axis=1) <= reach
    return out


def coverage(reference: np.ndarray, reference_labels, videos: np.ndarray, labels, k: int = K) -> tuple[float, dict]:
    """The share of ``reference`` clips that a clip of ``videos`` of the same class lies within reach of (`covered`)
    -> (mean over classes, {class: share}).

    Labels None: one class.  The share grows with the number of videos: give every set as many clips per class
    as the real set it is compared with (``evaluate`` does)."""
    return share_covered(covered(reference, reference_labels, videos, labels, k), reference_labels)


def share_covered(hit: np.ndarray, reference_labels=None) -> tuple[float, dict]:
    """`covered`'s answer -> (the mean over classes of the share of covered reference clips, {class: share})."""
    ref_labels = _class_of(reference_labels, len(hit))
    per_class = {int(c): float(hit[ref_labels == c].mean()) for c in np.unique(ref_labels)}
    return float(np.mean(list(per_class.values()))), per_class


def videos_drawn(hit: np.ndarray, groups, labels=None) -> dict[int, tuple[int, int]]:
    """Per class: (how many reference videos have at least one covered clip, how many videos it has).  ``hit``:
    `covered`'s answer; ``groups``: the video of each reference clip.  A generator that drops performers or walls
    draws fewer of the videos, whatever its share of clips."""
    groups = np.asarray(groups)
    labels = _class_of(labels, len(hit))
    out = {}
    for c in np.unique(labels):
        in_class = labels == c
        videos = np.unique(groups[in_class])
        out[int(c)] = (sum(bool(hit[in_class & (groups == g)].any()) for g in videos), len(videos))
    return out


def first_per_class(videos: np.ndarray, labels, like) -> tuple[np.ndarray, np.ndarray]:
    """A generated set cut to a real set's size, class by class: of each class c, as many of the first clips as
    ``like`` (the real set's labels) has clips of c."""
    labels, like = np.asarray(labels), np.asarray(like)
    classes, counts = np.unique(like, return_counts=True)
    keep = np.concatenate([np.flatnonzero(labels == c)[:n] for c, n in zip(classes, counts)])
    return videos[keep], labels[keep]


def collapsed(videos: np.ndarray, labels, groups) -> np.ndarray:
    """A purpose-made collapse: every clip replaced by a clip of the first group (video) of its class, in turn,
    so that a class shows one performer in front of one wall, at every phase that video has."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    out = videos.copy()
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        first = idx[groups[idx] == groups[idx[0]]]
        out[idx] = videos[first[np.arange(len(idx)) % len(first)]]
    return out
