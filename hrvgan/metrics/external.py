"""The field's standard video networks, loaded from a local file or a URL (never bundled here).

- FVD (StyleGAN-V / DIGAN protocol): the Kinetics-400 I3D as TorchScript, `i3d_torchscript.pt`,
  published with StyleGAN-V.  Called as `detector(x, rescale=False, resize=True, return_features=True)`
  on float (B, 3, 16, H, W) in [-1, 1]; returns (B, 400) features.
- Inception Score on UCF101 (TGAN / TGANv2 protocol): C3D fine-tuned on UCF101, exported by the
  user to TorchScript.  Receives float (B, 3, 16, 112, 112) RGB in [0, 255] and returns (B, 101)
  logits; 10 splits, mean ± std.

Both are TorchScript archives: torch.jit.load runs their scripted graph, so load only files from a
source you trust (the project never downloads one on its own).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..video import to_float
from .scores import frechet_distance, inception_score


def load_torchscript(path_or_url: str, cache_dir=None) -> torch.jit.ScriptModule:
    """A local .pt file, or a URL downloaded once into the cache."""
    if "://" in str(path_or_url):
        cache = Path(cache_dir or os.environ.get("HRVGAN_CACHE", Path.home() / ".cache" / "hrvgan")) / "models"
        cache.mkdir(parents=True, exist_ok=True)
        target = cache / (hashlib.sha1(path_or_url.encode()).hexdigest()[:12] + "-" + Path(path_or_url.split("?")[0]).name)
        if not target.exists():
            try:
                torch.hub.download_url_to_file(path_or_url, str(target), progress=True)
            except Exception as e:
                raise ConnectionError(f"could not download {path_or_url}: {e}. Download it by hand and pass the file.") from e
        path_or_url = target
    path = Path(path_or_url)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        return torch.jit.load(str(path), map_location="cpu").eval()
    except RuntimeError as e:
        raise ValueError(f"{path} is not a TorchScript archive ({str(e).splitlines()[0]}).") from e


def _clips16(videos: np.ndarray) -> np.ndarray:
    """The first 16 consecutive frames of each video (both protocols use 16)."""
    if videos.shape[1] < 16:
        raise ValueError(f"FVD and the UCF101 Inception Score need 16 frames per video, got {videos.shape[1]}.")
    return videos[:, :16]


@torch.inference_mode()
def i3d_features(detector, videos: np.ndarray, batch_size: int = 16) -> np.ndarray:
    out = []
    for i in range(0, len(videos), batch_size):
        x = to_float(_clips16(videos[i:i + batch_size]))                 # (B, 3, 16, H, W) in [-1, 1]
        out.append(detector(x, rescale=False, resize=True, return_features=True).numpy())
    return np.concatenate(out)


def fvd(detector, real: np.ndarray, fake: np.ndarray) -> float:
    """Fréchet Video Distance between uint8 (N, T, H, W, 3) sets (2048 each in the protocol)."""
    return frechet_distance(i3d_features(detector, real), i3d_features(detector, fake))


@torch.inference_mode()
def c3d_inception_score(c3d, videos: np.ndarray, splits: int = 10, batch_size: int = 16) -> tuple[float, float]:
    probs = []
    for i in range(0, len(videos), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(_clips16(videos[i:i + batch_size])))
        x = x.permute(0, 4, 1, 2, 3).float()                             # (B, 3, 16, H, W) in [0, 255]
        b, c, t, h, w = x.shape
        x = F.interpolate(x, size=(t, 112, 112), mode="trilinear", align_corners=False)
        probs.append(c3d(x).softmax(-1).numpy())
    return inception_score(np.concatenate(probs), splits=splits)
