"""What the Gradio demo does, apart from its layout: load models once, turn requests into files.

`app.py` lays out the UI and calls the methods of a :class:`LoadedModel`; they take plain values and
return paths, so they are tested without a browser.  Every value is checked by the library's own rules
(:mod:`hrvgan.inputs`, ``HRVGAN.class_index``); the demo adds only what bounds a request's cost.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from .inputs import (SEED_RANGE, InputError, check_count, check_extend, check_fps, check_mode, check_num_frames,
                     check_seed, check_steps, check_truncation)
from .pipeline import HRVGAN
from .video import resize_video, write_grid_png, write_mp4

logger = logging.getLogger(__name__)

# Files are encoded at the model's own resolution (a 64x64 video is 16x fewer pixels than the same
# video enlarged 4x); the browser enlarges them with `image-rendering: pixelated`, which keeps
# every pixel crisp.  DISPLAY_SCALE is how much larger the page shows them.
DISPLAY_SCALE = 4
PNG_LEVEL = 1              # zlib level of the PNGs: level 1 is several times faster than 6, a little larger
GRID_FRAMES = 8            # frames per row of a sample grid (as the paper's Fig. 4)
MAX_VIDEOS = 8             # videos per Sample request (the cost of one request)
MAX_STEPS = 16             # interpolation steps per request (the library allows more)
MAX_DEMO_FRAMES = 128      # video length per Sample request (the library allows more)
MAX_VIDEO_FRAMES = 4 * 128  # videos x frames per Sample request: 8 short videos, or 4 of 128 frames
SEED_LIMIT = SEED_RANGE[1]
# An upload is probed before it is decoded, and only the frames a prediction needs are decoded, one at a time:
MAX_UPLOAD_BYTES = 200 * 2**20
MAX_UPLOAD_SIDE = 4096     # pixels: larger frames are refused before any is decoded
MAX_UPLOAD_SECONDS = 600
NO_CLASS = "(no classes)"  # the class inputs' value for an unconditional model (every API input has a default)

# The encoders (libx264, zlib) release the GIL: a response's files are written side by side.
_ENCODERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hrvgan-encode")


class DemoError(InputError):
    """A bad request, with a message for the person who made it."""


def slug(name: str) -> str:
    """A class name as a file name: "jumping jack" -> "jumping-jack"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _out_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / "hrvgan-demo" / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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


# --- uploads ---------------------------------------------------------------------------------------

def read_upload(path, frames: int, resolution: int) -> np.ndarray:
    """The first ``frames`` frames of an uploaded video at ``resolution``: probed first (size, frame size,
    duration), then decoded one frame at a time and resized at once, so a long 1080p upload costs what
    ``frames`` small frames cost.  Errors name the problem, never the server's paths."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise DemoError("The upload could not be read; upload it again.") from None
    if size > MAX_UPLOAD_BYTES:
        raise DemoError(f"The video is {size / 2**20:.0f} MB; upload at most {MAX_UPLOAD_BYTES // 2**20} MB.")
    plugin = {} if path.suffix.lower() == ".gif" else {"plugin": "pyav"}
    try:
        meta = iio.immeta(path, **plugin) if plugin else {}
        props = iio.improps(path, index=0, **plugin)
    except Exception:  # noqa: BLE001 - whatever the decoder says, the user gets one plain message
        raise DemoError("The upload is not a readable video; upload an mp4, webm, avi, mov, mkv or gif.") from None
    h, w = props.shape[-3:-1] if len(props.shape) >= 3 else (0, 0)
    if max(h, w) > MAX_UPLOAD_SIDE:
        raise DemoError(f"The video's frames are {w}x{h}; upload frames of at most {MAX_UPLOAD_SIDE} pixels a side.")
    duration = float(meta.get("duration") or 0)
    if duration > MAX_UPLOAD_SECONDS:
        raise DemoError(f"The video lasts {duration:.0f} s; upload at most {MAX_UPLOAD_SECONDS} s.")
    out = []
    try:
        for frame in iio.imiter(path, **plugin, **({"format": "rgb24"} if plugin else {})):
            frame = np.asarray(frame)
            frame = frame[..., :3] if frame.ndim == 3 else np.repeat(frame[..., None], 3, -1)
            out.append(resize_video(np.ascontiguousarray(frame)[None], resolution)[0])
            if len(out) == frames:
                break
    except Exception:  # noqa: BLE001
        if not out:
            raise DemoError("The upload is not a readable video; upload an mp4, webm, avi, mov, mkv or gif.") from None
    if not out:
        raise DemoError("The upload has no video frames.")
    return np.stack(out)


def upload_path(payload) -> str | None:
    """The path of a file sent through Gradio's upload (app.py takes raw payloads), only if it lies in Gradio's
    upload cache: a caller cannot make the server read another of its files."""
    if not payload:
        return None
    path = payload.get("path") if isinstance(payload, dict) else payload
    cache = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()
    if not isinstance(path, str) or not Path(path).resolve().is_relative_to(cache):
        raise DemoError("The upload was not received; upload the video again.")
    return path


def example_clips(folder) -> dict[str, Path]:
    """Shipped held-out clips (examples/clips/<class-slug>-*.mp4), by file name."""
    folder = Path(folder)
    return {p.name: p for p in sorted(folder.glob("*.mp4"))} if folder.is_dir() else {}


# --- a served model --------------------------------------------------------------------------------

@dataclass
class LoadedModel:
    """A model the demo serves (and its prediction companion): what each tab asks of it."""

    name: str
    model: HRVGAN
    predictor: HRVGAN | None = None  # the model itself if it predicts, else its predict/ companion, if any
    predictor_error: str | None = None   # why a predict/ companion that exists could not be loaded
    clips: dict = field(default_factory=dict)

    @property
    def about(self) -> str:
        """The model card without its YAML front matter, for the About tab."""
        text = self.model.model_card_text or "No model card."
        text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
        # Images with paths relative to the model folder do not resolve inside the app.
        return re.sub(r"!\[[^\]]*\]\((?!https?://)[^)]*\)\n?", "", text).strip()

    def class_for(self, name, model: HRVGAN | None = None):
        """A class input -> the class (the first one when none is picked; None for an unconditional model)."""
        names = (model or self.model).class_names
        if not names:
            return None
        if name in (None, "", NO_CLASS):
            return names[0]
        (model or self.model).class_index(name)   # the library's rule; its message lists the classes
        return name

    def class_of_clip(self, name: str):
        """The class a shipped clip shows, from its file name (jumping-jack-p7.mp4 -> 'jumping jack')."""
        model = self.predictor or self.model
        for c in sorted(model.class_names, key=len, reverse=True):
            if name.startswith(slug(c) + "-"):
                return c
        return None

    def sample(self, class_name=None, seed=0, num_videos=4, truncation=1.0, fps=8, num_frames=None, progress=None,
               extend="loop"):
        """-> (mp4 of all videos side by side, frame-grid PNG, [mp4, png] downloads), at the model's resolution.

        ``num_frames`` beyond the model's own length makes longer videos by ``extend`` (HRVGAN.sample: "loop" or
        "predict"); ``progress(done, total)`` hears of each step.  The grid shows GRID_FRAMES frames spread over
        the whole video."""
        cls = self.class_for(class_name)
        seed, n = check_seed(seed), check_count(num_videos, "number of videos", MAX_VIDEOS)
        fps, truncation = check_fps(fps), check_truncation(truncation)
        t = self.model.config.frames
        num_frames = t if num_frames in (None, "") else check_num_frames(num_frames, t)
        if num_frames > MAX_DEMO_FRAMES:
            raise InputError(f"num_frames must be at most {MAX_DEMO_FRAMES} here, got {num_frames}.")
        if n * num_frames > MAX_VIDEO_FRAMES:
            raise InputError(f"{n} videos of {num_frames} frames is too much for one request: at most "
                             f"{MAX_VIDEO_FRAMES} frames in all (e.g. {MAX_VIDEO_FRAMES // num_frames} videos of {num_frames}).")
        extend = check_extend(extend or "loop")
        seeds = [min(seed + i, SEED_LIMIT) for i in range(n)]
        videos = self.model.sample(classes=cls, seeds=seeds, truncation=truncation, num_frames=num_frames,
                                   progress=progress, extend=extend)  # (N, T, H, W, 3)
        shown = videos[:, np.linspace(0, num_frames - 1, GRID_FRAMES).round().astype(int)] if num_frames > t else videos
        out = _out_dir()
        mp4, grid = _encode((write_mp4, _tile(videos, columns=min(n, 4), gap=2), out / "samples.mp4", fps),
                            (write_grid_png, shown, out / "grid.png", GRID_FRAMES, 1, PNG_LEVEL))
        return mp4, grid, [mp4, grid]

    def interpolate(self, seed_a=0, seed_b=1, class_a=None, class_b=None, steps=8, mode="slerp", fps=8):
        """-> (mp4 walking the path, grid PNG with a row per step, HTML view for the slider, step count)."""
        ca, cb = self.class_for(class_a), self.class_for(class_b)
        seed_a, seed_b = check_seed(seed_a, "seed A"), check_seed(seed_b, "seed B")
        steps, mode, fps = check_steps(steps), check_mode(mode), check_fps(fps)
        if steps > MAX_STEPS:
            raise InputError(f"steps must be at most {MAX_STEPS} here, got {steps}.")
        videos = self.model.interpolate(seed_a, seed_b, steps=steps, class_a=ca, class_b=cb, mode=mode)
        out = _out_dir()
        walk, grid = _encode((write_mp4, np.concatenate(list(videos)), out / "interpolation.mp4", fps),
                             (write_grid_png, videos, out / "interpolation.png", None, 1, PNG_LEVEL))
        t, size = videos.shape[1], videos.shape[2]
        return walk, grid, scrub_view(Path(grid).read_bytes(), steps, t, size, fps), steps

    def predict(self, clip_name=None, upload=None, class_name=None, seed=0, fps=8):
        """-> (mp4: context then prediction | context then the real frames, grid PNG: a row each, [mp4, png]).

        The context is the first m frames of the clip (a shipped held-out clip, or an upload, which wins);
        when the clip is long enough its real continuation is shown beside the prediction.
        """
        model = self.predictor
        if model is None:
            why = (f" Its predict/ model could not be loaded: {self.predictor_error}" if self.predictor_error
                   else " and ships no predict/ model.")
            raise DemoError(f"{self.name} only generates: it was not trained to predict (context_frames = 0)" + why)
        m, n = model.context_frames, model.predicted_frames
        seed, fps = check_seed(seed), check_fps(fps)
        if upload:
            frames = read_upload(upload, m + n, model.config.resolution)
        else:
            if clip_name in (None, "") and self.clips:
                clip_name = next(iter(self.clips))
            if clip_name not in self.clips:
                raise DemoError(f"Unknown example clip {clip_name!r}; choose one of {', '.join(self.clips) or 'none'} "
                                "or upload a video.")
            frames = read_upload(self.clips[clip_name], m + n, model.config.resolution)
            if class_name in (None, "", NO_CLASS) and model.class_names:
                class_name = self.class_of_clip(clip_name)
        if len(frames) < m:
            raise DemoError(f"The video has {len(frames)} frames; this model needs at least {m} to predict from.")
        cls = self.class_for(class_name, model)
        context, real = frames[:m], frames[m:m + n]
        predicted = model.predict(context, classes=cls, seeds=seed)[0]
        shown, rows = [np.concatenate([context, predicted])], [context, predicted]
        if len(real) == n:
            shown.append(np.concatenate([context, real]))
            rows.append(real)
        out = _out_dir()
        mp4, grid = _encode((write_mp4, _tile(np.stack(shown), columns=len(shown), gap=2), out / "prediction.mp4", fps),
                            (write_grid_png, rows, out / "prediction.png", None, 1, PNG_LEVEL))
        return mp4, grid, [mp4, grid]


def load_models(spec: str | None = None, default: str = "weights", clips: dict | None = None) -> dict[str, LoadedModel]:
    """HRVGAN_MODEL: one folder / repo id, or several separated by commas (then a dropdown).  A model's
    predict/ companion that exists but cannot be loaded is reported (logged, and said on the Predict tab)."""
    spec = spec if spec is not None else os.environ.get("HRVGAN_MODEL", "")
    refs = [r.strip() for r in spec.split(",") if r.strip()] or [default]
    models = {}
    for ref in refs:
        model = HRVGAN.from_pretrained(ref)
        name = ref.rstrip("/").split("/")[-1] if Path(ref).exists() else ref
        if name in models:
            name = ref
        predictor, error = (model, None) if model.context_frames else HRVGAN.companion_predictor_or_error(ref)
        if error:
            logger.warning("%s: its predict/ model could not be loaded: %s", ref, error)
        elif predictor is not None and predictor is not model:
            model.extender = predictor    # long videos: continued by the same predict/ model, loaded once
        models[name] = LoadedModel(name, model, predictor, error, dict(clips or {}))
    return models
