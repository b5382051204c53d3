"""Video files: mp4 (H.264, yuv420p, plays in every browser), gif and frame-grid PNG.  Read through
imageio's v3 API (its pyav plugin for video, Pillow for GIF), GIF and PNG written through it; mp4 is
written with PyAV directly (see write_mp4).

Frames are numpy uint8 arrays shaped (T, H, W, 3); several videos are (N, T, H, W, 3).  The
networks work on float tensors (B, 3, T, H, W) in [-1, 1]; `to_uint8` / `to_float` convert.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import imageio.v3 as iio
import numpy as np
import torch
from PIL import Image


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """(B, 3, T, H, W) in [-1, 1] -> numpy uint8 (B, T, H, W, 3)."""
    x = ((video.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 4, 1).cpu().numpy()


def to_float(videos: np.ndarray) -> torch.Tensor:
    """numpy uint8 (B, T, H, W, 3) -> float (B, 3, T, H, W) in [-1, 1]: the inverse of to_uint8."""
    videos = np.require(videos, requirements=["C", "W"])  # copies only read-only (memory-mapped) or strided input
    return torch.from_numpy(videos).permute(0, 4, 1, 2, 3).float().div(127.5).sub(1)


def resize_video(frames: np.ndarray, resolution: int) -> np.ndarray:
    """Centre-crop to a square, then resize each frame to resolution x resolution."""
    t, h, w, _ = frames.shape
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    frames = frames[:, y:y + s, x:x + s]
    if s == resolution:
        return np.ascontiguousarray(frames)
    return np.stack([np.asarray(Image.fromarray(f).resize((resolution, resolution), Image.BICUBIC if s < resolution else Image.BOX))
                     for f in frames])


def _check_video(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise ValueError(f"expected uint8 frames shaped (T, H, W, 3), got {frames.dtype} {frames.shape}.")
    return frames


def upscale(frames: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement of (..., H, W, 3): keeps a 64x64 sample crisp on screen."""
    if scale == 1:
        return frames
    return frames.repeat(scale, axis=-3).repeat(scale, axis=-2)


def _atomic_path(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.tmp{path.suffix}")


# x264 at its default preset spends 60-80 ms on a 16-frame 64x256 clip; "ultrafast" with no look-ahead
# takes under 10 ms for the same file, which at these sizes costs a few kB and no visible quality (crf 18).
X264_OPTIONS = {"preset": "ultrafast", "tune": "zerolatency", "crf": "18", "threads": "1"}


def write_mp4(frames: np.ndarray, path, fps: float = 8, scale: int = 1) -> Path:
    """H.264 mp4 in yuv420p (which needs even sizes: odd ones are padded by one pixel).

    Written with PyAV itself rather than imageio's pyav plugin, which cannot pass encoder options
    (X264_OPTIONS: several times faster, the demo's main cost per request otherwise).
    """
    frames = upscale(_check_video(frames), scale)
    t, h, w, _ = frames.shape
    frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    path = Path(path)
    tmp = _atomic_path(path)
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = X264_OPTIONS
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    os.replace(tmp, path)
    return path


def write_gif(frames: np.ndarray, path, fps: float = 8, scale: int = 1) -> Path:
    """Looping GIF."""
    frames = upscale(_check_video(frames), scale)
    path = Path(path)
    tmp = _atomic_path(path)
    iio.imwrite(tmp, frames, extension=".gif", duration=int(round(1000 / fps)), loop=0)
    os.replace(tmp, path)
    return path


def frame_grid(videos: np.ndarray, max_frames: int | None = None, padding: int = 2, scale: int = 1) -> np.ndarray:
    """(N, T, H, W, 3) -> one image with a row per video and a column per frame (paper Fig. 4).

    A list of videos of different lengths is accepted too: short rows end in blank cells.
    """
    if isinstance(videos, (list, tuple)) and len({len(v) for v in videos}) > 1:
        longest = max(len(v) for v in videos)
        videos = [np.concatenate([v, np.full((longest - len(v), *v.shape[1:]), 255, np.uint8)]) for v in videos]
    videos = np.asarray(videos)
    if videos.ndim == 4:
        videos = videos[None]
    if videos.dtype != np.uint8 or videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"expected uint8 videos shaped (N, T, H, W, 3), got {videos.dtype} {videos.shape}.")
    if max_frames is not None and videos.shape[1] > max_frames:  # evenly spaced frames
        idx = np.linspace(0, videos.shape[1] - 1, max_frames).round().astype(int)
        videos = videos[:, idx]
    videos = upscale(videos, scale)
    n, t, h, w, _ = videos.shape
    grid = np.full((n * h + (n + 1) * padding, t * w + (t + 1) * padding, 3), 255, np.uint8)
    for i in range(n):
        for j in range(t):
            y, x = padding + i * (h + padding), padding + j * (w + padding)
            grid[y:y + h, x:x + w] = videos[i, j]
    return grid


def write_grid_png(videos: np.ndarray, path, max_frames: int | None = None, scale: int = 1, compress_level: int = 6) -> Path:
    path = Path(path)
    tmp = _atomic_path(path)
    iio.imwrite(tmp, frame_grid(videos, max_frames=max_frames, scale=scale), extension=".png", compress_level=compress_level)
    os.replace(tmp, path)
    return path


def read_video(path) -> np.ndarray:
    """Decode every frame of a video file (mp4, avi, webm, mkv, mov, gif) to uint8 (T, H, W, 3)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".gif":
            frames = iio.imread(path, index=None, mode="RGB")
        else:
            frames = iio.imread(path, plugin="pyav", format="rgb24")
    except Exception as e:  # noqa: BLE001 - every decoder failure becomes one clear error
        raise ValueError(f"{path} is not a readable video ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}).") from e
    if frames.ndim == 3:  # a single frame (a still image)
        frames = frames[None]
    if frames.ndim != 4 or len(frames) == 0:
        raise ValueError(f"{path} has no video frames.")
    return np.ascontiguousarray(frames[..., :3])


def write_video(frames: np.ndarray, path, fps: float = 8, scale: int = 1) -> Path:
    """Write by extension: .mp4, .gif or .png (a one-row grid)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".mp4":
        return write_mp4(frames, path, fps=fps, scale=scale)
    if suffix == ".gif":
        return write_gif(frames, path, fps=fps, scale=scale)
    if suffix == ".png":
        return write_grid_png(frames, path, scale=scale)
    raise ValueError(f"unsupported video extension {suffix!r} for {path}; use .mp4, .gif or .png.")
