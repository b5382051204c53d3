"""What a user may ask for, checked in one place: seeds, truncation, interpolation steps and modes, frame rates.

The library, the CLI and the demo all call these; each limit is defined once, here.  A bad value raises
:class:`InputError` (a ValueError) whose message says what was wrong and what is allowed; the CLI prints it,
the demo shows it.
"""

from __future__ import annotations

import numpy as np

SEED_RANGE = (0, 2**31 - 1)        # what a browser's number box and every torch / numpy seed take exactly
TRUNCATION_RANGE = (0.0, 2.0)      # 0 = the class's average video, 1 = none, > 1 = further from the average
STEPS_RANGE = (2, 64)              # videos along an interpolation path
FPS_RANGE = (1.0, 60.0)            # frames per second of a written video
MAX_FRAMES = 1024                  # frames of one long video (the model's own length is the least)
MODES = ("slerp", "lerp")          # interpolation paths: the latent sphere's great circle, or a straight line
EXTENDS = ("loop", "predict")      # longer videos: the generator's motion looped, or continued by a prediction model


class InputError(ValueError):
    """A value a user gave that cannot be used, with a message for that user."""


def _whole(value, what: str, low: int, high: int) -> int:
    """An integer given as int, a float with no fraction (JSON, number boxes) or digits; within [low, high]."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        number = None
    elif isinstance(value, (int, np.integer)):
        number = int(value)
    elif isinstance(value, (float, np.floating)) and float(value).is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        number = None
    if number is None or not low <= number <= high:
        raise InputError(f"{what} must be a whole number from {low} to {high}, got {value!r}.")
    return number


def _number(value, what: str, low: float, high: float) -> float:
    try:
        number = float(value) if not isinstance(value, (bool, np.bool_)) and value is not None else None
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:   # NaN fails both comparisons
        raise InputError(f"{what} must be a number from {low:g} to {high:g}, got {value!r}.")
    return number


def check_seed(seed, what: str = "seed") -> int:
    return _whole(seed, what, *SEED_RANGE)


def check_truncation(truncation) -> float:
    return _number(truncation, "truncation", *TRUNCATION_RANGE)


def check_steps(steps) -> int:
    return _whole(steps, "steps", *STEPS_RANGE)


def check_fps(fps) -> float:
    return _number(fps, "frames per second", *FPS_RANGE)


def check_mode(mode) -> str:
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}.")
    return mode


def check_extend(extend) -> str:
    if extend not in EXTENDS:
        raise InputError(f"extend must be one of {', '.join(EXTENDS)}, got {extend!r}.")
    return extend


def extend_for(extend: str | None, extender: str | None) -> str:
    """The command line's --extend: loop by default, predict when a prediction model is named (--extender)."""
    if extend is None:
        return "predict" if extender else "loop"
    if extender and extend != "predict":
        raise InputError(f"--extender continues videos with a prediction model: it needs --extend predict, not {extend}.")
    return check_extend(extend)


def check_num_frames(value, minimum: int) -> int:
    """Frames of a video to make: from the model's own length ``minimum`` to MAX_FRAMES."""
    return _whole(value, "num_frames", minimum, MAX_FRAMES)


def check_count(value, what: str, high: int) -> int:
    """How many of something (videos per request, ...): 1 to ``high``."""
    return _whole(value, what, 1, high)
