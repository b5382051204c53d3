"""What the Gradio demo does, apart from its layout: load models once, turn requests into files.

`app.py` lays out the UI and calls these functions; they take plain values and return paths,
so they are tested without a browser.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .pipeline import HRVGAN, MAX_SEED
from .video import read_video, write_grid_png, write_mp4

# Files are encoded at the model's own resolution (a 64x64 video is 16x fewer pixels than the same
# video enlarged 4x); the browser enlarges them with `image-rendering: pixelated`, which keeps
# every pixel crisp.  DISPLAY_SCALE is how much larger the page shows them.
DISPLAY_SCALE = 4
PNG_LEVEL = 1              # zlib level of the PNGs: level 1 is several times faster than 6, a little larger
GRID_FRAMES = 8            # frames per row of a sample grid (as the paper's Fig. 4)
MAX_VIDEOS = 8
MAX_STEPS = 16
SEED_LIMIT = 2**31 - 1     # what a browser number box holds exactly; still a valid HRVGAN seed
MAX_UPLOAD_FRAMES = 2000   # an upload is read whole; longer ones are refused
NO_CLASS = "(no classes)"  # the class inputs' value for an unconditional model (every API input has a default)

# The encoders (libx264, zlib) release the GIL: a response's files are written side by side.
_ENCODERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hrvgan-encode")


class DemoError(ValueError):
    """A bad request, with a message for the person who made it."""


@dataclass
class LoadedModel:
    name: str
    model: HRVGAN
    predictor: HRVGAN | None = None  # the model itself if it predicts, else its predict/ companion, if any

    @property
    def about(self) -> str:
        """The model card without its YAML front matter, for the About tab."""
        text = self.model.model_card_text or "No model card."
        text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
        # Images with paths relative to the model folder do not resolve inside the app.
        return re.sub(r"!\[[^\]]*\]\((?!https?://)[^)]*\)\n?", "", text).strip()


def load_models(spec: str | None = None, default: str = "weights") -> dict[str, LoadedModel]:
    """HRVGAN_MODEL: one folder / repo id, or several separated by commas (then a dropdown)."""
    spec = spec if spec is not None else os.environ.get("HRVGAN_MODEL", "")
    refs = [r.strip() for r in spec.split(",") if r.strip()] or [default]
    models = {}
    for ref in refs:
        model = HRVGAN.from_pretrained(ref)
        name = ref.rstrip("/").split("/")[-1] if Path(ref).exists() else ref
        if name in models:
            name = ref
        models[name] = LoadedModel(name, model, model if model.context_frames else HRVGAN.companion_predictor(ref))
    return models


def slug(name: str) -> str:
    """A class name as a file name: "jumping jack" -> "jumping-jack"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _out_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / "hrvgan-demo" / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_seed(seed) -> int:
    if seed is None or (isinstance(seed, float) and not float(seed).is_integer()):
        raise DemoError(f"Seed must be a whole number from 0 to {SEED_LIMIT}, got {seed!r}.")
    seed = int(seed)
    if not 0 <= seed <= min(SEED_LIMIT, MAX_SEED):
        raise DemoError(f"Seed must be a whole number from 0 to {SEED_LIMIT}, got {seed}.")
    return seed


def check_class(model: HRVGAN, name, model_name: str = "this model"):
    names = model.class_names
    if not names:
        return None                      # unconditional: whatever the class input holds is ignored
    if name in (None, "", NO_CLASS):
        return names[0]
    if name not in names:
        raise DemoError(f"Unknown class {name!r}: {model_name} knows {', '.join(names)}.")
    return name


def check_int(value, low: int, high: int, what: str) -> int:
    if value is None or float(value) != int(float(value)) or not low <= int(value) <= high:
        raise DemoError(f"{what} must be a whole number from {low} to {high}, got {value!r}.")
    return int(value)


def check_fps(fps) -> float:
    if fps is None or not 1 <= float(fps) <= 60:
        raise DemoError(f"Frames per second must be between 1 and 60, got {fps!r}.")
    return float(fps)


def check_truncation(t) -> float:
    if t is None or not 0.05 <= float(t) <= 2.0:
        raise DemoError(f"Truncation must be between 0.05 and 2, got {t!r}.")
    return float(t)


def _tile(videos: np.ndarray, columns: int, gap: int = 0) -> np.ndarray:
    """(N, T, H, W, 3) -> one video (T, rows*H, columns*W, 3), videos laid out in a grid (white gaps)."""
    n, t, h, w, _ = videos.shape
    rows = -(-n // columns)
    canvas = np.full((t, rows * h + (rows - 1) * gap, columns * w + (columns - 1) * gap, 3), 255, np.uint8)
    for i, v in enumerate(videos):
        r, c = divmod(i, columns)
        canvas[:, r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = v
    return canvas


def _encode(*jobs) -> list[str]:
    """Run writer jobs (fn, *args) side by side; returns their paths as strings, in order."""
    futures = [_ENCODERS.submit(fn, *args) for fn, *args in jobs]
    return [str(f.result()) for f in futures]


def sample(models: dict[str, LoadedModel], model_name: str, class_name, seed, num_videos, truncation, fps):
    """-> (mp4 of all videos side by side, frame-grid PNG, [mp4, png] downloads), at the model's resolution."""
    loaded = models.get(model_name) or next(iter(models.values()))
    cls = check_class(loaded.model, class_name, loaded.name)
    seed = check_seed(seed)
    n = check_int(num_videos, 1, MAX_VIDEOS, "Number of videos")
    fps, truncation = check_fps(fps), check_truncation(truncation)
    seeds = [min(seed + i, SEED_LIMIT) for i in range(n)]
    videos = loaded.model.sample(classes=cls, seeds=seeds, truncation=truncation)  # (N, T, H, W, 3)
    out = _out_dir()
    mp4, grid = _encode((write_mp4, _tile(videos, columns=min(n, 4), gap=2), out / "samples.mp4", fps),
                        (write_grid_png, videos, out / "grid.png", GRID_FRAMES, 1, PNG_LEVEL))
    return mp4, grid, [mp4, grid]


def scrub_view(grid_png: bytes, steps: int, frames: int, size: int, fps: float, padding: int = 2) -> str:
    """The interpolation as a sprite sheet: the grid PNG (a row per step, a column per frame) shown one
    cell at a time, enlarged with crisp pixels.  CSS steps through the columns (the video plays); the
    slider only sets `--row` on the element (in the browser, no server call)."""
    cell = size + padding
    sheet_w, sheet_h = frames * cell + padding, steps * cell + padding
    k = DISPLAY_SCALE
    uri = "data:image/png;base64," + base64.b64encode(grid_png).decode()
    name = f"hrvgan-play-{frames}-{k}"
    return (
        f'<div id="interp-view" data-steps="{steps}">'
        f"<style>@keyframes {name} {{ from {{ background-position-x: {-padding * k}px }} "
        f"to {{ background-position-x: {-(padding + frames * cell) * k}px }} }}</style>"
        f'<div class="scrub" role="img" aria-label="interpolation step" style="--row: 0; '
        f"width: {size * k}px; height: {size * k}px; image-rendering: pixelated; "
        f"background-image: url({uri}); background-size: {sheet_w * k}px {sheet_h * k}px; "
        f"background-position-y: calc((-{padding} - var(--row) * {cell}) * {k}px); "
        f'animation: {name} {frames / fps:.3f}s steps({frames}) infinite;"></div></div>')


def interpolate(models: dict[str, LoadedModel], model_name: str, seed_a, seed_b, class_a, class_b, steps, mode, fps):
    """-> (mp4 walking the path, grid PNG with a row per step, HTML view for the slider, step count)."""
    loaded = models.get(model_name) or next(iter(models.values()))
    ca, cb = check_class(loaded.model, class_a, loaded.name), check_class(loaded.model, class_b, loaded.name)
    seed_a, seed_b = check_seed(seed_a), check_seed(seed_b)
    steps = check_int(steps, 2, MAX_STEPS, "Steps")
    fps = check_fps(fps)
    if mode not in ("slerp", "lerp"):
        raise DemoError(f"Mode must be slerp or lerp, got {mode!r}.")
    videos = loaded.model.interpolate(seed_a, seed_b, steps=steps, class_a=ca, class_b=cb, mode=mode)
    out = _out_dir()
    walk, grid = _encode((write_mp4, np.concatenate(list(videos)), out / "interpolation.mp4", fps),
                         (write_grid_png, videos, out / "interpolation.png", None, 1, PNG_LEVEL))
    t, size = videos.shape[1], videos.shape[2]
    return walk, grid, scrub_view(Path(grid).read_bytes(), steps, t, size, fps), steps


# --- prediction ----------------------------------------------------------------------------------

def example_clips(folder) -> dict[str, Path]:
    """Shipped held-out clips (examples/clips/<class-slug>-*.mp4), by file name."""
    folder = Path(folder)
    return {p.name: p for p in sorted(folder.glob("*.mp4"))} if folder.is_dir() else {}


def class_of_clip(loaded: LoadedModel, name: str):
    """The class a shipped clip shows, from its file name (jumping-jack-p7.mp4 -> 'jumping jack')."""
    model = loaded.predictor or loaded.model
    for c in sorted(model.class_names, key=len, reverse=True):
        if name.startswith(slug(c) + "-"):
            return c
    return None


def read_clip(path) -> np.ndarray:
    try:
        frames = read_video(path)
    except ValueError as e:
        raise DemoError(f"Could not read the video: {e} Upload an mp4, webm, avi, mov, mkv or gif.") from None
    if len(frames) > MAX_UPLOAD_FRAMES:
        raise DemoError(f"The video has {len(frames)} frames; upload at most {MAX_UPLOAD_FRAMES}.")
    return frames


def predict(models: dict[str, LoadedModel], model_name: str, clip_name, upload, class_name, seed, fps,
            clips: dict[str, Path] | None = None):
    """-> (mp4: context then prediction | context then the real frames, grid PNG: a row each, [mp4, png]).

    The context is the first m frames of the clip (a shipped held-out clip, or an upload, which wins);
    when the clip is long enough its real continuation is shown beside the prediction.
    """
    from .data import resize_video

    loaded = models.get(model_name) or next(iter(models.values()))
    model = loaded.predictor
    if model is None:
        raise DemoError(f"{loaded.name} only generates: it was not trained to predict (context_frames = 0) "
                        "and ships no predict/ model.")
    m, n = model.context_frames, model.predicted_frames
    seed, fps = check_seed(seed), check_fps(fps)
    if upload:
        frames = read_clip(upload)
    else:
        clips = clips or {}
        if clip_name not in clips:
            raise DemoError(f"Unknown example clip {clip_name!r}; choose one of {', '.join(clips) or 'none'} or upload a video.")
        frames = read_clip(clips[clip_name])
        if class_name in (None, "", NO_CLASS) and model.class_names:
            class_name = class_of_clip(loaded, clip_name)
    if len(frames) < m:
        raise DemoError(f"The video has {len(frames)} frames; this model needs at least {m} to predict from.")
    cls = check_class(model, class_name, loaded.name)
    frames = resize_video(frames[:m + n], model.config.resolution)
    context, real = frames[:m], frames[m:m + n]
    predicted = model.predict(context, classes=cls, seeds=seed)[0]
    shown = [np.concatenate([context, predicted])]
    rows = [context, predicted]
    if len(real) == n:
        shown.append(np.concatenate([context, real]))
        rows.append(real)
    out = _out_dir()
    mp4, grid = _encode((write_mp4, _tile(np.stack(shown), columns=len(shown), gap=2), out / "prediction.mp4", fps),
                        (write_grid_png, rows, out / "prediction.png", None, 1, PNG_LEVEL))
    return mp4, grid, [mp4, grid]
