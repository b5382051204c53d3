"""Video files: mp4 (H.264, yuv420p, plays in every browser), gif and frame-grid PNG.

Frames are numpy uint8 arrays shaped (T, H, W, 3); several videos are (N, T, H, W, 3).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


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


def write_mp4(frames: np.ndarray, path, fps: float = 8, scale: int = 1, crf: int = 18) -> Path:
    """H.264 mp4 in yuv420p (which needs even sizes: odd ones are padded by one pixel)."""
    frames = upscale(_check_video(frames), scale)
    t, h, w, _ = frames.shape
    frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    path = Path(path)
    tmp = _atomic_path(path)
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    os.replace(tmp, path)
    return path


def write_gif(frames: np.ndarray, path, fps: float = 8, scale: int = 1) -> Path:
    """Looping GIF."""
    frames = upscale(_check_video(frames), scale)
    images = [Image.fromarray(f) for f in frames]
    path = Path(path)
    tmp = _atomic_path(path)
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(round(1000 / fps)), loop=0, optimize=False)
    os.replace(tmp, path)
    return path


def frame_grid(videos: np.ndarray, max_frames: int | None = None, padding: int = 2, scale: int = 1) -> np.ndarray:
    """(N, T, H, W, 3) -> one image with a row per video and a column per frame (paper Fig. 4)."""
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


def write_grid_png(videos: np.ndarray, path, max_frames: int | None = None, scale: int = 1) -> Path:
    path = Path(path)
    tmp = _atomic_path(path)
    Image.fromarray(frame_grid(videos, max_frames=max_frames, scale=scale)).save(tmp, format="PNG")
    os.replace(tmp, path)
    return path


def read_video(path) -> np.ndarray:
    """Decode every frame of a video file to uint8 (T, H, W, 3)."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if not frames:
        raise ValueError(f"{path} has no video frames.")
    return np.stack(frames)


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
