"""What the Gradio demo does, apart from its layout: load models once, turn requests into files.

`app.py` lays out the UI and calls these functions; they take plain values and return paths,
so they are tested without a browser.
"""

from __future__ import annotations

import base64
import io
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .pipeline import HRVGAN, MAX_SEED
from .video import upscale, write_gif, write_grid_png, write_mp4

DISPLAY_SCALE = 4          # 64x64 samples are shown 4x larger, nearest-neighbour (crisp pixels)
MAX_VIDEOS = 8
MAX_STEPS = 16
SEED_LIMIT = 2**31 - 1     # what a browser number box holds exactly; still a valid HRVGAN seed


class DemoError(ValueError):
    """A bad request, with a message for the person who made it."""


@dataclass
class LoadedModel:
    name: str
    model: HRVGAN

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
        models[name] = LoadedModel(name, model)
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


def check_class(loaded: LoadedModel, name):
    names = loaded.model.class_names
    if not names:
        return None
    if name in (None, ""):
        return names[0]
    if name not in names:
        raise DemoError(f"Unknown class {name!r}: {loaded.name} knows {', '.join(names)}.")
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


def _tile(videos: np.ndarray, columns: int) -> np.ndarray:
    """(N, T, H, W, 3) -> one video (T, rows*H, columns*W, 3), videos laid out in a grid."""
    n, t, h, w, _ = videos.shape
    rows = -(-n // columns)
    canvas = np.zeros((t, rows * h, columns * w, 3), np.uint8)
    for i, v in enumerate(videos):
        r, c = divmod(i, columns)
        canvas[:, r * h:(r + 1) * h, c * w:(c + 1) * w] = v
    return canvas


def sample(models: dict[str, LoadedModel], model_name: str, class_name, seed, num_videos, truncation, fps):
    """-> (mp4 of all videos side by side, frame-grid PNG, [mp4, gif, png] downloads)."""
    loaded = models.get(model_name) or next(iter(models.values()))
    cls = check_class(loaded, class_name)
    seed = check_seed(seed)
    n = check_int(num_videos, 1, MAX_VIDEOS, "Number of videos")
    fps, truncation = check_fps(fps), check_truncation(truncation)
    seeds = [min(seed + i, SEED_LIMIT) for i in range(n)]
    videos = loaded.model.sample(classes=cls, seeds=seeds, truncation=truncation)  # (N, T, H, W, 3)
    out = _out_dir()
    tiled = _tile(videos, columns=min(n, 4))
    mp4 = write_mp4(tiled, out / "samples.mp4", fps=fps, scale=DISPLAY_SCALE)
    gif = write_gif(tiled, out / "samples.gif", fps=fps, scale=2)
    grid = write_grid_png(videos, out / "grid.png", scale=2)
    return str(mp4), str(grid), [str(mp4), str(gif), str(grid)]


def _gif_data_uri(frames: np.ndarray, fps: float) -> str:
    buffer = io.BytesIO()
    images = [Image.fromarray(f) for f in upscale(frames, DISPLAY_SCALE)]
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    return "data:image/gif;base64," + base64.b64encode(buffer.getvalue()).decode()


def scrub_view(videos: np.ndarray, fps: float) -> str:
    """Every step of a path as an animated GIF in one HTML block; the slider shows one of them in the browser."""
    parts = [f'<div id="interp-view" data-steps="{len(videos)}">']
    for i, video in enumerate(videos):
        hidden = "" if i == 0 else ' style="display:none"'
        parts.append(f'<img class="interp-step" data-step="{i}" alt="step {i + 1} of {len(videos)}"'
                     f' src="{_gif_data_uri(video, fps)}"{hidden}>')
    parts.append("</div>")
    return "".join(parts)


def interpolate(models: dict[str, LoadedModel], model_name: str, seed_a, seed_b, class_a, class_b, steps, mode, fps):
    """-> (mp4 walking the path, grid PNG with a row per step, HTML view for the slider, step count)."""
    loaded = models.get(model_name) or next(iter(models.values()))
    ca, cb = check_class(loaded, class_a), check_class(loaded, class_b)
    seed_a, seed_b = check_seed(seed_a), check_seed(seed_b)
    steps = check_int(steps, 2, MAX_STEPS, "Steps")
    fps = check_fps(fps)
    if mode not in ("slerp", "lerp"):
        raise DemoError(f"Mode must be slerp or lerp, got {mode!r}.")
    videos = loaded.model.interpolate(seed_a, seed_b, steps=steps, class_a=ca, class_b=cb, mode=mode)
    out = _out_dir()
    walk = write_mp4(np.concatenate(list(videos)), out / "interpolation.mp4", fps=fps, scale=DISPLAY_SCALE)
    grid = write_grid_png(videos, out / "interpolation.png", scale=2)
    return str(walk), str(grid), scrub_view(videos, fps), steps
