"""Generator and Discriminator of HRVGAN (paper Tables 1 and 2), as plain nn.Modules.

Shapes are written (B, C, T, H, W).  Both networks are built in a loop over the
stages of a :class:`~hrvgan.config.ModelConfig`, so every preset is the same code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import BASE_SIZE, ModelConfig


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Eq. 8: divide the feature vector at every (t, y, x) by its RMS over channels (dim 1)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(x)


def generator_norm(kind: str, channels: int) -> nn.Module:
    if kind == "pixel":
        return PixelNorm()
    if kind == "batch":
        return nn.BatchNorm3d(channels)
    return nn.Identity()


def minibatch_stddev(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """Append one channel: the std of each feature across a group of videos, averaged (ProGAN)."""
    b, c, t, h, w = x.shape
    g = min(group_size, b)
    while b % g:  # the largest group size that divides the batch
        g -= 1
    y = x.float().reshape(g, b // g, c, t, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()     # (B/g, C, T, H, W)
    y = y.mean(dim=(1, 2, 3, 4))                          # (B/g,)
    y = y.repeat(g).reshape(b, 1, 1, 1, 1).expand(b, 1, t, h, w).to(x.dtype)
    return torch.cat([x, y], dim=1)


class GeneratorStage(nn.Module):
    """[upsample, 3x3x3 conv, norm, ReLU, 3x3x3 conv, norm, ReLU] (one row group of Table 1)."""

    def __init__(self, in_channels: int, out_channels: int, temporal_upsample: bool, norm: str):
        super().__init__()
        self.scale = (2 if temporal_upsample else 1, 2, 2)
        self.conv1 = nn.Conv3d(in_channels, out_channels, 3, padding=1)
        self.norm1 = generator_norm(norm, out_channels)
        self.conv2 = nn.Conv3d(out_channels, out_channels, 3, padding=1)
        self.norm2 = generator_norm(norm, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        x = F.relu(self.norm1(self.conv1(x)))
        return F.relu(self.norm2(self.conv2(x)))


class DiscriminatorStage(nn.Module):
    """[3x3x3 conv, IN, LeakyReLU, 3x3x3 conv, IN, LeakyReLU, downsample]: the mirror of a G stage."""

    def __init__(self, in_channels: int, out_channels: int, temporal_downsample: bool, norm: str, slope: float):
        super().__init__()
        self.pool = (2 if temporal_downsample else 1, 2, 2)
        self.conv1 = nn.Conv3d(in_channels, in_channels, 3, padding=1)
        self.conv2 = nn.Conv3d(in_channels, out_channels, 3, padding=1)
        # Eq. 9; per-video statistics keep the gradient penalty per-sample (no batch norm in a critic).
        affine = dict(affine=True)
        self.norm1 = nn.InstanceNorm3d(in_channels, **affine) if norm == "instance" else nn.Identity()
        self.norm2 = nn.InstanceNorm3d(out_channels, **affine) if norm == "instance" else nn.Identity()
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.norm1(self.conv1(x)), self.slope)
        x = F.leaky_relu(self.norm2(self.conv2(x)), self.slope)
        return F.avg_pool3d(x, self.pool)


def embed_labels(embedding: nn.Embedding, labels: torch.Tensor) -> torch.Tensor:
    """Class indices (B,) -> embeddings; class weights (B, K) -> the weighted mix (a point between classes)."""
    if labels.dtype.is_floating_point:
        return labels.to(embedding.weight.dtype) @ embedding.weight
    return embedding(labels)


def _check_labels(labels, batch: int, num_classes: int) -> None:
    if num_classes == 0:
        if labels is not None:
            raise ValueError("this model is unconditional (num_classes=0); pass labels=None.")
        return
    if labels is None:
        raise ValueError(f"this model is class-conditional ({num_classes} classes); pass labels of shape (B,).")
    if labels.dtype.is_floating_point:
        if labels.shape != (batch, num_classes):
            raise ValueError(f"soft labels must be (B, num_classes) = ({batch}, {num_classes}), got {tuple(labels.shape)}.")
    elif labels.shape != (batch,):
        raise ValueError(f"labels must be shaped (B,) = ({batch},), got {tuple(labels.shape)}.")


class Generator(nn.Module):
    """(z (B, latent_dim), labels (B,) or None) -> video (B, 3, T, H, W) in [-1, 1]."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        chans = config.stage_channels
        d = config.latent_dim
        # Labels go through an embedding, concatenated to z (cGAN).  Soft (B, K) labels mix embeddings.
        self.embed = nn.Embedding(config.num_classes, d) if config.conditional else None
        self.fc = nn.Linear(2 * d if config.conditional else d, d)                 # Table 1: fully connected
        self.input = nn.ConvTranspose3d(d, chans[0], kernel_size=BASE_SIZE)         # (B, d, 1,1,1) -> 4x4x4
        self.input_norm = generator_norm(config.g_norm, chans[0])
        self.stages = nn.ModuleList(
            GeneratorStage(cin, cout, up_t, config.g_norm)
            for cin, cout, up_t in zip(chans[:-1], chans[1:], config.temporal_upsample)
        )
        self.to_rgb = nn.Conv3d(chans[-1], 3, kernel_size=1)                        # final 1x1x1 conv

    def mapping(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(z, labels) -> the fully connected code w (B, latent_dim)."""
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"z must be shaped (B, {self.config.latent_dim}), got {tuple(z.shape)}.")
        _check_labels(labels, z.shape[0], self.config.num_classes)
        x = pixel_norm(z)
        if self.embed is not None:
            x = torch.cat([x, pixel_norm(embed_labels(self.embed, labels))], dim=1)
        return F.relu(self.fc(x))

    def synthesis(self, w: torch.Tensor) -> torch.Tensor:
        x = self.input(w[:, :, None, None, None])                     # (B, C0, 4, 4, 4)
        x = F.relu(self.input_norm(x))
        for stage in self.stages:
            x = stage(x)                                              # (B, Ci, Ti, Hi, Wi)
        x = self.to_rgb(x)                                            # (B, 3, T, H, W)
        # Table 1 ends in ReLU, which cannot produce the negative half of an RGB range in [-1, 1];
        # tanh bounds the output smoothly and is what the data is scaled to.
        return torch.tanh(x) if self.config.output_activation == "tanh" else x

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation: float = 1.0) -> torch.Tensor:
        w = self.mapping(z, labels)
        if truncation != 1.0:
            # Pull w toward the code of the mean latent (z = 0) of the same class: StyleGAN's truncation
            # trick.  (Scaling z itself would do nothing: pixel norm removes its length.)
            w0 = self.mapping(torch.zeros_like(z), labels)
            w = w0 + truncation * (w - w0)
        return self.synthesis(w)


class Discriminator(nn.Module):
    """(video (B, 3, T, H, W), labels (B,) or None) -> one score per video (B,)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        chans = config.stage_channels
        self.from_rgb = nn.Conv3d(3, chans[-1], kernel_size=1)
        self.stages = nn.ModuleList(
            DiscriminatorStage(cin, cout, down_t, config.d_norm, config.leaky_slope)
            for cin, cout, down_t in reversed(list(zip(chans[1:], chans[:-1], config.temporal_upsample)))
        )
        c0 = chans[0]
        extra = 1 if config.mbstd_group > 0 else 0
        self.final_conv = nn.Conv3d(c0 + extra, c0, 3, padding=1)
        self.fc = nn.Linear(c0 * BASE_SIZE**3, config.d_fc_dim)                  # Table 2: FC 128
        self.out = nn.Linear(config.d_fc_dim, 1)                                   # Table 2: FC 1
        # Projection discriminator: score += <embed(y), features>.
        self.embed = nn.Embedding(config.num_classes, config.d_fc_dim) if config.conditional else None

    def forward(self, video: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        c = self.config
        expected = (3, c.frames, c.resolution, c.resolution)
        if video.ndim != 5 or tuple(video.shape[1:]) != expected:
            raise ValueError(f"video must be shaped (B, {', '.join(map(str, expected))}), got {tuple(video.shape)}.")
        _check_labels(labels, video.shape[0], c.num_classes)
        x = F.leaky_relu(self.from_rgb(video), c.leaky_slope)
        for stage in self.stages:
            x = stage(x)
        if c.mbstd_group > 0:
            x = minibatch_stddev(x, c.mbstd_group)                    # (B, C0 + 1, 4, 4, 4)
        x = F.leaky_relu(self.final_conv(x), c.leaky_slope)
        h = F.leaky_relu(self.fc(x.flatten(1)), c.leaky_slope)       # (B, d_fc_dim)
        score = self.out(h).squeeze(1)
        if self.embed is not None:
            score = score + (embed_labels(self.embed, labels) * h).sum(dim=1)
        return score
