"""A small video classifier for data without a public one (the Weizmann actions).

It gives class probabilities (for class accuracy and Inception Score) and a 64-d feature vector
(for Fréchet distances).  Trained by the project on the train performers only; saved as
safetensors + config.json beside the weights it judges (weights/classifier/).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from ..video import to_float

logger = logging.getLogger(__name__)


@dataclass
class ClassifierConfig:
    class_names: list = field(default_factory=list)  # the classes it tells apart
    frames: int = 16                                 # clip length it takes
    resolution: int = 64                             # clip size it takes
    channels: tuple = (16, 32, 64, 64)               # per 3D-conv stage, each halving T/H/W
    feature_dim: int = 64                            # the features Fréchet distances use


class VideoClassifier(nn.Module):
    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        layers, cin, t = [], 3, config.frames
        for c in config.channels:
            pool_t = 2 if t >= 2 else 1  # short clips stop pooling time once it reaches one frame
            layers += [nn.Conv3d(cin, c, 3, padding=1), nn.GroupNorm(4, c), nn.SiLU(), nn.MaxPool3d((pool_t, 2, 2))]
            cin, t = c, t // pool_t
        self.body = nn.Sequential(*layers)
        self.proj = nn.Linear(cin, config.feature_dim)
        self.head = nn.Linear(config.feature_dim, len(config.class_names))

    def features(self, video: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) in [-1, 1] -> (B, feature_dim)."""
        c = self.config
        if tuple(video.shape[1:]) != (3, c.frames, c.resolution, c.resolution):
            raise ValueError(f"the classifier takes (B, 3, {c.frames}, {c.resolution}, {c.resolution}), got {tuple(video.shape)}.")
        x = self.body(video).mean(dim=(2, 3, 4))
        return F.silu(self.proj(x))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(video))

    def save(self, folder) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(folder / "model.safetensors"))
        (folder / "config.json").write_text(json.dumps(asdict(self.config), indent=2))

    @classmethod
    def load(cls, folder) -> "VideoClassifier":
        folder = Path(folder)
        if not (folder / "config.json").exists():
            raise FileNotFoundError(f"no classifier in {folder} (config.json missing); train one with "
                                    "`python -m hrvgan train-classifier --data ... --out {folder}`.")
        cfg = json.loads((folder / "config.json").read_text())
        model = cls(ClassifierConfig(**{**cfg, "channels": tuple(cfg["channels"])}))
        model.load_state_dict(load_file(str(folder / "model.safetensors")))
        return model.eval()


@torch.inference_mode()
def classify(model: VideoClassifier, videos: np.ndarray, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """uint8 videos -> (probabilities (N, K), features (N, D))."""
    probs, feats = [], []
    for i in range(0, len(videos), batch_size):
        f = model.features(to_float(videos[i:i + batch_size]))
        feats.append(f.numpy())
        probs.append(model.head(f).softmax(-1).numpy())
    return np.concatenate(probs), np.concatenate(feats)


def train_classifier(dataset, steps: int = 1500, batch_size: int = 16, lr: float = 2e-3, seed: int = 0,
                     progress: bool = True) -> VideoClassifier:
    """Fit on random clips of a VideoDataset (random temporal crops and flips of every video)."""
    torch.manual_seed(seed)
    model = VideoClassifier(ClassifierConfig(class_names=list(dataset.class_names), frames=dataset.frames,
                                             resolution=dataset.resolution))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    rng = np.random.default_rng(seed)
    labels = np.asarray(dataset.labels)
    bar = tqdm(range(steps), desc="classifier", disable=not progress)
    for _ in bar:
        idx = rng.integers(0, len(dataset), batch_size)
        clips = np.stack([dataset.clip(i, flip=bool(rng.integers(0, 2))) for i in idx])
        # Brightness / contrast jitter so that the classifier keys on motion and shape, not exact colours.
        x = to_float(clips) * torch.empty(batch_size, 1, 1, 1, 1).uniform_(0.8, 1.2) + torch.empty(batch_size, 1, 1, 1, 1).uniform_(-0.1, 0.1)
        loss = F.cross_entropy(model(x.clamp(-1, 1)), torch.from_numpy(labels[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return model.eval()
