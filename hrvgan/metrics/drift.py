"""Whether a clip keeps its colours from start to end (the drift within clips), and whether the phase of its action
depends on the frame index (the index bias): figures pooled over a class.

A performer who changes clothes halfway through a clip (dark trousers turning into blue speckle, a head
into a blue blob, in the last frames of v7's jumping jacks) changes nothing that a figure over random
frames sees: every frame, alone, looks like some frame of the data.  What is wrong is *when* its
colours appear.  Real clips are cut at random moments of their videos, so the colours of a class's clips
do not depend on the frame index: the clips' first frames, all together, have the same colours as their
last frames.  A generator whose performers drift does not.

The figure: for each class, one RGB histogram (8 x 8 x 8 cells) of the first ``FRAMES`` frames of all
its clips and one of the last ``FRAMES`` frames; 1 - their histogram intersection; the mean over classes.
Pooling over a class's clips averages out where the limbs are at a given moment (every phase comes at
every frame index), so what is left is colour that comes or goes over the clip.  It grows as the sets
shrink (fewer pixels per histogram): compare sets of equal size (``evaluate`` cuts the generated clips
to the real train clips' count per class).

Calibration (``python -m hrvgan calibrate``): real train clips read 0.007 on the full data; blurred,
fringed, at half resolution, with fans or ghosts, or without the camera's noise they read the same;
clips whose moving parts take on a colour cast growing over the clip (clothes that change) and clips
cross-faded into another recording of their class (a performer who becomes someone else) read several
times more.  Whole-clip figures (the frames' SWD, coverage, the spread) read those as real.

The index bias: the same pooling on pixels, not colours.  A class's mean over its clips' first ``FRAMES`` frames
against its mean over their last ``FRAMES`` (mean |difference|, grey levels).  Real clips start at every phase of
the action, so both means are the same blur of every pose (up to sampling noise: compare sets of equal size); a
generator whose jumping jacks all end with the arms up draws arms into the last mean and not into the first.
Calibration: clips of a recording all cut at its first moment (``locked``) read about 5x real; flaws of a frame
about as real (fans, which leave a pale trace where limbs pass, about 1.3x).
"""

from __future__ import annotations

import numpy as np

from .calibration import passing
from .longvideo import colour_histograms

FRAMES = 4           # frames at each end of a clip whose colours are pooled


def _pooled(frames: np.ndarray) -> np.ndarray:
    """uint8 (N, T, H, W, 3) -> one colour histogram of all their pixels."""
    return colour_histograms(frames.reshape(1, -1, frames.shape[-2], 3))[0]


def _ends_by_class(videos: np.ndarray, labels, frames: int, compare) -> tuple[float, dict]:
    """``compare(first, last)`` of each class's clips' first and last ``frames`` frames -> (mean over classes,
    {class: value}).  Labels None: one class."""
    if videos.dtype != np.uint8 or videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"expected uint8 videos shaped (N, T, H, W, 3), got {videos.dtype} {videos.shape}.")
    frames = min(frames, videos.shape[1] // 2)
    if frames < 1:
        raise ValueError(f"these figures compare a clip's first frames with its last: got clips of {videos.shape[1]} frame.")
    labels = np.zeros(len(videos), int) if labels is None else np.asarray(labels)
    per_class = {int(c): float(compare(videos[labels == c, :frames], videos[labels == c, -frames:]))
                 for c in np.unique(labels)}
    return float(np.mean(list(per_class.values()))), per_class


def clip_drift(videos: np.ndarray, labels=None, frames: int = FRAMES) -> tuple[float, dict]:
    """1 - histogram intersection of the pooled colours of every clip's first ``frames`` frames with those of its
    last ``frames``, class by class -> (mean over classes, {class: drift}).  Labels None: one class."""
    return _ends_by_class(videos, labels, frames, lambda a, b: 1.0 - np.minimum(_pooled(a), _pooled(b)).sum())


def index_bias(videos: np.ndarray, labels=None, frames: int = FRAMES) -> tuple[float, dict]:
    """How much a class's clips depend on the frame index: per class, the mean over its clips' first ``frames``
    frames against the mean over their last ``frames``, mean |difference| in grey levels over pixels and channels
    -> (mean over classes, {class: bias}).  Real clips start at every phase, so only sampling noise is left (it
    falls as 1 / sqrt(clips): compare sets of equal size); clips that all end with their arms up read it, whatever
    colour they are.  Labels None: one class."""
    mean = lambda x: x.mean(axis=(0, 1), dtype=np.float64)  # noqa: E731  the class's mean frame over these frames
    return _ends_by_class(videos, labels, frames, lambda a, b: np.abs(mean(a) - mean(b)).mean())


# --- real clips that drift on purpose ------------------------------------------------------------------

def _ramp(t: int) -> np.ndarray:
    """(1, T, 1, 1, 1) weights: 0 over the first quarter of the clip, then growing to 1 at three quarters."""
    return np.clip((np.arange(t) - (t / 4 - 0.5)) / (t / 2), 0, 1).reshape(1, t, 1, 1, 1).astype(np.float32)


def recoloured(videos: np.ndarray, cast=(-20.0, -10.0, 40.0), threshold: float = 30) -> np.ndarray:
    """Clothes that change: where the performer moves at some moment of the clip (a pixel that then differs from
    its median over the clip), a colour cast (blue up, red and green down) that grows from none to ``cast`` over
    the middle half of the clip; the wall and what stays still are left alone."""
    x = videos.astype(np.float32)
    moving = passing(x, threshold).any(axis=1, keepdims=True)
    return (x + moving * _ramp(x.shape[1]) * np.asarray(cast, np.float32)).round().clip(0, 255).astype(np.uint8)


def swapped(videos: np.ndarray, labels, groups) -> np.ndarray:
    """A performer who becomes someone else: every clip cross-faded, over the middle half of the clip, into a clip
    of another recording (``groups``: the video of each clip) of its class, the one of typical colour distance
    (the median over the class's other recordings' clips: usually another performer, not the clip's mirrored twin)."""
    labels, groups = np.asarray(labels), np.asarray(groups)
    hists = colour_histograms(videos[:, 0])
    partner = np.empty(len(videos), int)
    for i in range(len(videos)):
        others = np.flatnonzero((labels == labels[i]) & (groups != groups[i]))
        if not len(others):
            raise ValueError(f"clip {i}'s class has no clip of another video to cross-fade into.")
        distance = 1.0 - np.minimum(hists[others], hists[i]).sum(axis=1)
        partner[i] = others[np.argsort(distance, kind="stable")[len(others) // 2]]
    w = _ramp(videos.shape[1])
    return ((1 - w) * videos + w * videos[partner].astype(np.float32)).round().clip(0, 255).astype(np.uint8)


def locked(videos: np.ndarray, groups) -> np.ndarray:
    """Actions whose phase is tied to the frame index: every clip of a recording (``groups``: the video of each clip)
    replaced by that recording's first clip, so its clips all start at one moment of the action."""
    groups = np.asarray(groups)
    first = {g: int(np.flatnonzero(groups == g)[0]) for g in np.unique(groups)}
    return videos[[first[g] for g in groups]]


def calibrate_drift(copies: dict[str, np.ndarray], labels, groups) -> dict[str, dict[str, float]]:
    """``clip_drift`` and ``index_bias`` of real clips and each copy of them (``copies``, as
    `calibration.degraded_copies` gives them: flaws of a frame, which must read as real) and of clips spoiled on
    purpose over time (which must read clearly more): {row: {"clip_drift": ..., "index_bias": ...}}."""
    real = copies["real"]
    rows = {**copies, "recoloured": recoloured(real), "swapped": swapped(real, labels, groups),
            "locked": locked(real, groups)}
    return {name: {"clip_drift": clip_drift(v, labels)[0], "index_bias": index_bias(v, labels)[0]}
            for name, v in rows.items()}
