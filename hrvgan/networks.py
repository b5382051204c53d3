"""Generator and Discriminator of HRVGAN (paper Tables 1 and 2), as plain nn.Modules.

Shapes are written (B, C, T, H, W).  Both networks are built in a loop over the
stages of a :class:`~hrvgan.config.ModelConfig`, so every preset is the same code.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import BASE_SIZE, ModelConfig

ALPHA_INIT_BIAS = -4.0  # sigmoid(-4) = 0.018: a fresh prediction model nearly copies the last context frame
FLOW_SCALE = 4.0        # pixels per unit of to_flow's output: Adam's fixed step size then moves the flow 4x faster
MASK_INIT_BIAS = 3.0    # sigmoid(3) = 0.95: a generator given a background stream first draws 95% of every pixel itself
MASK_GAIN = 10.0        # the mask's logits are to_mask's output times this: Adam's fixed step then moves them 10x faster
MASK_HELD_LOGIT = 40.0  # sigmoid(40) is 1 in float32 and bf16: a held mask shows the drawn stream alone, and passes no gradient


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
    """[upsample, 3x3x3 conv, norm, ReLU, 3x3x3 conv, norm, ReLU] (one row group of Table 1).

    With ``noise``, each normalised conv output gets a fresh Gaussian image per frame (B, 1, T, H, W) times a
    learned per-channel strength (StyleGAN's noise inputs): a video's sensor grain and flicker are
    random per pixel and frame, which convolutions of a single code cannot draw.  The strengths start
    at zero, so a trained generator given noise inputs first makes exactly the videos it made before.
    """

    def __init__(self, in_channels: int, out_channels: int, temporal_upsample: bool, norm: str,
                 time_padding: str = "zeros", noise: bool = False):
        super().__init__()
        self.scale = (2 if temporal_upsample else 1, 2, 2)
        # "replicate": the convs see the first / last frame continue still beyond the clip, not black;
        # with zeros the end frames are drawn from half their context and flicker.  "circular": the clip is a
        # loop, the frame after the last is the first (a looped code renders its steady state at every frame).
        self.time_pad_mode = None if time_padding == "zeros" else time_padding
        padding = 1 if self.time_pad_mode is None else (0, 1, 1)
        self.conv1 = nn.Conv3d(in_channels, out_channels, 3, padding=padding)
        self.norm1 = generator_norm(norm, out_channels)
        self.conv2 = nn.Conv3d(out_channels, out_channels, 3, padding=padding)
        self.norm2 = generator_norm(norm, out_channels)
        self.noise_strength = nn.Parameter(torch.zeros(2, out_channels)) if noise else None

    def pad_time(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.time_pad_mode is None else F.pad(x, (0, 0, 0, 0, 1, 1), mode=self.time_pad_mode)

    def add_noise(self, x: torch.Tensor, noise: torch.Tensor | None, i: int) -> torch.Tensor:
        if self.noise_strength is None:
            return x
        return x + self.noise_strength[i].view(1, -1, 1, 1, 1).to(x.dtype) * noise[:, i:i + 1].to(x.dtype)

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """``noise`` (B, 2, T, H, W) at this stage's output size, one image per conv; a stage with noise inputs needs
        it (the Generator draws it, in one place: `Generator.make_noise`), a stage without ignores it."""
        if self.noise_strength is not None and noise is None:
            raise ValueError("this stage has noise inputs: pass noise shaped (B, 2, T, H, W), see Generator.make_noise.")
        x = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        # Noise after the norm: pixel norm divides each pixel by its features' RMS, so noise added before it would
        # be loudest where features are weak (a run that did so made whole bodies shimmer); after it, the grain
        # has one strength everywhere, relative to features of RMS 1.
        x = F.relu(self.add_noise(self.norm1(self.conv1(self.pad_time(x))), noise, 0))
        return F.relu(self.add_noise(self.norm2(self.conv2(self.pad_time(x))), noise, 1))


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


class ContextEncoder(nn.Module):
    """Context frames X -> one feature volume per generator stage (a U-Net's contracting path).

    The input is the whole clip with the frames to predict filled with the last context frame (the
    copy-last-frame guess, so that every level, the finest included, carries the scene to every
    future time step) plus a mask channel that says which frames are given: (B, 4, T, H, W).  Each level mirrors a generator stage in reverse
    (3x3x3 conv, LeakyReLU, then the stage's down-sampling), so level k has the shape of generator
    stage k's output, time included; a zero-initialised 1x1x1 conv per level turns it into what is
    added to that stage.  With zero-initialised skips, a generator that was trained for generation
    alone starts out unchanged when the encoder is added.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        chans = config.stage_channels
        self.from_rgb = nn.Conv3d(4, chans[-1], kernel_size=1)
        # Level i (coarse to fine) has chans[i] channels; convs run from the finest level down.
        self.convs = nn.ModuleList(nn.Conv3d(cin, cout, 3, padding=1)
                                   for cin, cout in zip(chans[:0:-1], chans[-2::-1]))
        self.pools = [(2 if t else 1, 2, 2) for t in reversed(config.temporal_upsample)]
        self.skips = nn.ModuleList(nn.Conv3d(c, c, kernel_size=1) for c in chans)
        for skip in self.skips:
            nn.init.zeros_(skip.weight)
            nn.init.zeros_(skip.bias)
        self.slope = config.leaky_slope

    def forward(self, clip: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """clip (B, 3, T, H, W) with filled-in future frames, mask (B, 1, T, 1, 1) -> [level 0 (4x4x4), ..., level N]."""
        x = F.leaky_relu(self.from_rgb(torch.cat([clip, mask.expand_as(clip[:, :1])], dim=1)), self.slope)
        levels = [x]
        for conv, pool in zip(self.convs, self.pools):
            x = F.leaky_relu(conv(F.avg_pool3d(x, pool)), self.slope)
            levels.append(x)
        return [skip(f) for skip, f in zip(self.skips, reversed(levels))]


class BackgroundStream(nn.Module):
    """w (B, latent_dim) -> one still frame (B, 3, 1, H, W) in [-1, 1]: VGAN's background stream.

    The same stages as the generator's, in 2-D (upsample, 3x3 conv, pixel norm, ReLU, twice), so it costs
    about what one frame of the video stream does.  The generator composites its moving stream over this
    frame through a per-pixel, per-frame mask: where no limb is, every frame shows the same wall.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        chans = config.stage_channels
        self.input = nn.ConvTranspose2d(config.latent_dim, chans[0], kernel_size=BASE_SIZE)
        self.convs = nn.ModuleList(nn.ModuleList([nn.Conv2d(cin, cout, 3, padding=1), nn.Conv2d(cout, cout, 3, padding=1)])
                                   for cin, cout in zip(chans[:-1], chans[1:]))
        self.to_rgb = nn.Conv2d(chans[-1], 3, kernel_size=1)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        x = F.relu(pixel_norm(self.input(w[:, :, None, None])))            # (B, C0, 4, 4)
        for conv1, conv2 in self.convs:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = F.relu(pixel_norm(conv1(x)))
            x = F.relu(pixel_norm(conv2(x)))
        return torch.tanh(self.to_rgb(x)).unsqueeze(2)                     # (B, 3, 1, H, W)


def warp_frame(frame: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warping: frame (B, C, 1, H, W), flow (B, 2, T, H, W) in pixels (x, y) -> (B, C, T, H, W),
    where output pixel p of frame t is the frame sampled (bilinearly) at p + flow_t(p); borders repeat."""
    b, c, _, h, w = frame.shape
    t = flow.shape[2]
    flow = flow.float()
    ys = torch.arange(h, device=flow.device, dtype=torch.float32).view(1, 1, h, 1)
    xs = torch.arange(w, device=flow.device, dtype=torch.float32).view(1, 1, 1, w)
    # grid_sample wants (x, y) in [-1, 1] with -1 and 1 at the centres of the corner pixels (align_corners).
    gx = (xs + flow[:, 0]) * (2 / max(w - 1, 1)) - 1                      # (B, T, H, W)
    gy = (ys + flow[:, 1]) * (2 / max(h - 1, 1)) - 1
    grid = torch.stack([gx, gy], dim=-1).reshape(b * t, h, w, 2)
    src = frame[:, :, 0].float().unsqueeze(1).expand(b, t, c, h, w).reshape(b * t, c, h, w)
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.reshape(b, t, c, h, w).transpose(1, 2)


def _box(x: torch.Tensor, k: int) -> torch.Tensor:
    return F.avg_pool2d(F.pad(x, (k // 2,) * 4, mode="replicate"), k, stride=1)


def lucas_kanade(src: torch.Tensor, target: torch.Tensor, levels: int = 3, iterations: int = 5, window: int = 9,
                 eps: float = 1e-2) -> torch.Tensor:
    """Optical flow by iterative, coarse-to-fine Lucas-Kanade: frames (B, C, H, W) in [-1, 1] -> flow (B, 2, H, W)
    in pixels (x, y) such that ``src`` sampled at p + flow(p) looks like ``target`` (the convention of
    `warp_frame`).  Each step solves, over a ``window``-pixel box around every pixel, the 2x2 least-squares system of
    the grey images' linearised difference; ``eps`` keeps flat regions (a wall: no gradient) at no motion.  Three
    levels follow about 8 pixels a frame; no learned weights, no gradients needed."""
    a, b = src.float().mean(1, keepdim=True), target.float().mean(1, keepdim=True)
    pyramid = [(a, b)]
    for _ in range(levels - 1):
        a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        pyramid.append((a, b))
    flow = a.new_zeros(a.shape[0], 2, *a.shape[-2:])
    for a, b in reversed(pyramid):
        if flow.shape[-1] != a.shape[-1]:
            flow = 2 * F.interpolate(flow, size=a.shape[-2:], mode="bilinear", align_corners=False)
        p = F.pad(a, (1, 1, 1, 1), mode="replicate")
        # The image and its gradients are sampled together: differences of the moved image would also see where
        # the flow itself changes from pixel to pixel, and the iterations would drift.
        layers = torch.cat([a, (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) / 2, (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) / 2], 1)
        for _ in range(iterations):
            moved, gx, gy = warp_frame(layers[:, :, None], flow[:, :, None])[:, :, 0].split(1, dim=1)
            r = moved - b
            sxx, syy, sxy = _box(gx * gx, window) + eps, _box(gy * gy, window) + eps, _box(gx * gy, window)
            sxr, syr = _box(gx * r, window), _box(gy * r, window)
            det = sxx * syy - sxy * sxy
            step = torch.cat([sxy * syr - syy * sxr, sxy * sxr - sxx * syr], dim=1) / det
            flow = _box(flow + step.clamp(-2, 2), 3)      # a linearisation is good for a pixel or two at a time
    return flow


def velocity_prior(context: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """Context (B, 3, m, H, W) -> flow (B, 2, T, H, W) in pixels for `warp_frame` on its last frame: the motion from
    frame m-2 to m-1 (Lucas-Kanade) carried on, ``steps[t]`` frames' worth at frame t (T = len(steps))."""
    with torch.no_grad():
        back = lucas_kanade(context[:, :, -1], context[:, :, -2])     # last frame sampled at p + back(p) ~ the one before
    return -back[:, :, None] * steps.view(1, 1, -1, 1, 1).to(back.dtype)


SUPPORT_RAMP = (0.04, 0.08)  # a 3x3-smoothed change between context frames below 0.04 (5 grey levels) is noise; 0.08 moves


def motion_support(context: torch.Tensor, radius: int) -> torch.Tensor:
    """Context (B, 3, m, H, W) in [-1, 1] -> (B, 1, 1, H, W) in [0, 1]: 1 within ``radius`` pixels of where any
    context frame changed from the one before, 0 where the whole context is still (a wall).  On the held-out
    Weizmann clips a radius of 6 covers 38% of the frame and 97% of the pixels whose next 8 frames change."""
    smooth = F.avg_pool3d(context.float(), (1, 3, 3), stride=1, padding=(0, 1, 1), count_include_pad=False)
    change = (smooth[:, :, 1:] - smooth[:, :, :-1]).abs().amax(dim=(1, 2), keepdim=True)  # (B, 1, 1, H, W)
    low, high = SUPPORT_RAMP
    moving = ((change - low) / (high - low)).clamp(0, 1)
    k = 2 * radius + 1
    return F.max_pool3d(moving, (1, k, k), stride=1, padding=(0, radius, radius))


# --- prediction by turning ----------------------------------------------------------------------------------------
# The actions people film most (waves, jumping jacks, bends) swing back and forth: a limb that rises slows, turns
# and comes down along the poses it rose through.  A turning prediction carries the context's last motion on for r
# frames (the last frame moved by `velocity_prior`, only near where the context moved, so a still wall is not bent;
# the wall itself from the context frames played backwards, with the camera's own grain), then plays the context
# back from there.  Every future frame is then the performer's own pixels: a limb keeps its shape, where a drawn or
# freely warped one melts.  What is learned is when the motion turns: `TurnHead` reads a distribution over r from
# the context's motion profile and the class, and a seed draws r from it (different seeds, different futures).
TURN_SUPPORT = 6  # pixels around where the context moved that the carried motion may move (see `motion_support`)


def turn_times(m: int, n: int, r: int) -> list[int]:
    """The moment each of ``n`` future frames shows, for ``m`` context frames (moments 0..m-1) and a turn after ``r``
    future frames: m, m+1, ..., m-1+r (carried on), then back down m-2+r, ..., never before the context's first."""
    return [max(0, m - 1 + min(j, r) - max(0, j - r)) for j in range(1, n + 1)]


def motion_profile(context: torch.Tensor) -> torch.Tensor:
    """Context (B, 3, m, H, W) -> (B, m-1): how much each step changes the frame (mean |difference|), over the
    context's mean: the pace of the motion (slowing down before a turn), not its amount."""
    steps = (context[:, :, 1:] - context[:, :, :-1]).abs().mean(dim=(1, 3, 4)).float()
    return steps / (steps.mean(dim=1, keepdim=True) + 1e-6)


def turn_timeline(context: torch.Tensor, n: int) -> torch.Tensor:
    """Context (B, 3, m, H, W) in [-1, 1] -> float moments 0 .. m-1+n (B, 3, m+n, H, W): the context, then its last
    frame moved on at its last motion (near where it moved; the still wall of moment m-1+k is context frame m-1-k's).
    Every turn's future is drawn from it (`turn_pick`)."""
    m = context.shape[2]
    support = motion_support(context, TURN_SUPPORT)                                  # (B, 1, 1, H, W)
    flow = velocity_prior(context, torch.arange(1, n + 1, dtype=torch.float32, device=context.device)) * support
    wall = context[:, :, [max(0, m - 1 - k) for k in range(1, n + 1)]].float()
    carried = support * warp_frame(context[:, :, -1:], flow) + (1 - support) * wall   # moments m .. m-1+n
    return torch.cat([context.float(), carried], dim=2)


def turn_pick(timeline: torch.Tensor, turns: torch.Tensor, m: int, n: int) -> torch.Tensor:
    """A `turn_timeline` (B, 3, m+n, H, W) and turns (B,) (r of each clip, 0..n) -> each clip's ``n`` future frames."""
    b = timeline.shape[0]
    if turns.shape != (b,) or not 0 <= int(turns.min()) <= int(turns.max()) <= n:
        raise ValueError(f"turns must be one r in 0..{n} per clip ({b}), got {turns.tolist()}.")
    index = torch.tensor([turn_times(m, n, int(r)) for r in turns], device=timeline.device)     # (B, n)
    index = index.view(b, 1, n, 1, 1).expand(-1, 3, -1, *timeline.shape[3:])
    return timeline.gather(2, index)


def turn_futures(context: torch.Tensor, turns: torch.Tensor, n: int) -> torch.Tensor:
    """Context (B, 3, m, H, W) in [-1, 1] and turns (B,) (r of each clip, 0..n) -> the ``n`` future frames
    (B, 3, n, H, W), in the context's dtype: moments of `turn_timeline` by `turn_times`."""
    return turn_pick(turn_timeline(context, n), turns, context.shape[2], n).to(context.dtype)


class TurnHead(nn.Module):
    """(context, labels) -> logits over the turn r = 0..n (see above): a linear map of the context's motion profile
    and its class.  Fitted, not trained adversarially (`hrvgan.training.turn`); it starts uniform."""

    def __init__(self, config):
        super().__init__()
        m, n = config.context_frames, config.frames - config.context_frames
        self.num_classes = config.num_classes
        self.linear = nn.Linear(m - 1 + config.num_classes, n + 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def features(self, context: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        parts = [motion_profile(context)]
        if self.num_classes:
            _check_labels(labels, context.shape[0], self.num_classes)
            onehot = labels.float() if labels.dtype.is_floating_point else F.one_hot(labels, self.num_classes).float()
            parts.append(onehot.to(parts[0].device))
        return torch.cat(parts, dim=1)

    def forward(self, context: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.linear(self.features(context, labels))

    @staticmethod
    def draw(logits: torch.Tensor, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """A turn per clip from its latent: u = Phi(z[:, 0]) (uniform for z ~ N(0, 1)) through the distribution's
        inverse CDF, so a seed always draws the same turn, in any batch.  ``truncation`` sharpens the distribution
        (its temperature); 0 takes the most likely turn, whatever the seed."""
        if truncation <= 0:
            return logits.argmax(dim=1)
        cdf = torch.softmax(logits.float() / truncation, dim=1).cumsum(dim=1)
        u = 0.5 * (1 + torch.erf(z[:, :1].float().to(cdf.device) / math.sqrt(2)))
        return (cdf < u).sum(dim=1).clamp(max=logits.shape[1] - 1)


def context_clip(context: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Context (B, 3, m, H, W) -> the clip with frames m..T-1 set to frame m-1, and its mask (B, 1, T, 1, 1)."""
    b, _, m, h, w = context.shape
    clip = torch.cat([context, context[:, :, -1:].expand(b, 3, frames - m, h, w)], dim=2)
    mask = context.new_zeros(b, 1, frames, 1, 1)
    mask[:, :, :m] = 1
    return clip, mask


class Generator(nn.Module):
    """(z (B, latent_dim), labels (B,) or None[, context]) -> video (B, 3, T, H, W) in [-1, 1].

    A model with ``config.context_frames = m > 0`` also predicts: given ``context`` (B, 3, m, H, W),
    the first m frames of the clip, it makes the whole clip; frames m..T-1 are the prediction (the
    first m are an echo of the context that callers replace by the context itself).  The drawn
    frames are composited over the last context frame through a per-pixel mask (``to_alpha``); with
    ``config.warp`` that frame is first moved along a per-frame flow field (``to_flow``, in pixels):
    pixels that exist in the context are moved, not redrawn, and only what appears (alpha) is drawn.
    Without context it generates from noise as a generation-only model does (the encoder is not run).
    With ``config.turn`` it predicts by turning instead (`turn_futures`, `TurnHead`): no encoder, no drawn frames.

    With ``config.g_background`` the video is composited as VGAN's two streams: the drawn frames over one
    still frame from a 2-D stream of the same code (:class:`BackgroundStream`), through a per-pixel,
    per-frame mask (``to_mask``), plus the camera's grain on the still frame (one noise image per frame,
    a learned strength per colour; the last entry of ``make_noise``).
    """

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
            GeneratorStage(cin, cout, up_t, config.g_norm, config.time_padding, config.g_noise)
            for cin, cout, up_t in zip(chans[:-1], chans[1:], config.temporal_upsample)
        )
        self.to_rgb = nn.Conv3d(chans[-1], 3, kernel_size=1)                        # final 1x1x1 conv
        predicts = config.context_frames and not config.turn                        # by drawing and warping
        self.encoder = ContextEncoder(config) if predicts else None                  # prediction: X -> skips
        self.to_turn = TurnHead(config) if config.turn else None                     # or by turning
        self.background = self.to_mask = self.background_grain = None
        if config.g_background:
            self.background = BackgroundStream(config)
            self.to_mask = nn.Conv3d(chans[-1], 1, kernel_size=1)
            nn.init.zeros_(self.to_mask.weight)
            nn.init.constant_(self.to_mask.bias, MASK_INIT_BIAS / MASK_GAIN)
            self.background_grain = nn.Parameter(torch.zeros(3))
        self.to_flow = None
        if predicts:
            # Prediction: a per-pixel mix over the last context frame.  Without warp, a sigmoid alpha
            # composites drawn pixels over it.  With warp, a softmax mixes three layers per pixel and
            # frame: the last frame as it is (a still background stays sharp: bilinear warping by a
            # fraction of a pixel would blur it), the last frame moved along the flow, and drawn pixels
            # (what appears).  Either starts as copy-last; with ``warp_prior`` the moved layer leads, and a fresh
            # predictor carries the context's last motion on (where nothing moved, that layer is the still one).
            self.to_alpha = nn.Conv3d(chans[-1], 3 if config.warp else 1, kernel_size=1)
            nn.init.zeros_(self.to_alpha.weight)
            bias = [ALPHA_INIT_BIAS]
            if config.warp:
                bias = [ALPHA_INIT_BIAS, 0.0, ALPHA_INIT_BIAS] if config.warp_prior else [0.0, 0.0, ALPHA_INIT_BIAS]
            with torch.no_grad():
                self.to_alpha.bias.copy_(torch.tensor(bias))
            if config.warp:
                # Motion (x, y) is read from the stage before the last (twice the channels, half the size) and
                # enlarged: flow is smooth, and the finest stage's few channels are busy drawing pixels.
                self.to_flow = nn.Conv3d(chans[-2], 2, kernel_size=3, padding=1)
                nn.init.zeros_(self.to_flow.weight)                                # starts still: copy-last
                nn.init.zeros_(self.to_flow.bias)
                if config.warp_prior:
                    # How many frames of the context's last motion each frame carries on: 1, 2, ... after the
                    # context (constant velocity); training learns the pace (real arms slow and turn back).
                    m = config.context_frames
                    self.prior_steps = nn.Parameter(torch.arange(config.frames, dtype=torch.float32).sub(m - 1).clamp(min=0))

    def mapping(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(z, labels) -> the fully connected code w (B, latent_dim)."""
        if z.ndim != 2 or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"z must be shaped (B, {self.config.latent_dim}), got {tuple(z.shape)}.")
        _check_labels(labels, z.shape[0], self.config.num_classes)
        x = pixel_norm(z)
        if self.embed is not None:
            x = torch.cat([x, pixel_norm(embed_labels(self.embed, labels))], dim=1)
        return F.relu(self.fc(x))

    def noise_shapes(self, frames: int | None = None) -> list[tuple[int, ...]]:
        """The (2, T, H, W) noise each stage takes (one image per conv), then with ``g_background`` the
        (1, T, H, W) grain of the still frame; empty without ``g_noise``.  ``frames``: for a longer video
        (see ``forward``), the model's own length by default."""
        c = self.config
        if not c.g_noise:
            return []
        code = self.code_frames(frames)
        shapes = [(2, t * code // BASE_SIZE, h, w) for _, t, h, w in c.stage_shapes()[1:]]
        if c.g_background:
            shapes.append((1, shapes[-1][1], c.resolution, c.resolution))
        return shapes

    def code_frames(self, frames: int | None = None) -> int:
        """How many time steps of the 4x4x4 code make ``frames`` frames (4 for the model's own length)."""
        c = self.config
        if frames is None or frames == c.frames:
            return BASE_SIZE
        per_step = c.frames // BASE_SIZE
        if frames < c.frames or frames % per_step:
            raise ValueError(f"frames must be the model's {c.frames} or more, in steps of {per_step}; got {frames}.")
        if c.time_padding == "circular" and frames % c.frames:
            raise ValueError(f"a generator with circular time padding renders whole loops of its code: frames must be a "
                             f"multiple of {c.frames}, got {frames} (ModelConfig.render_frames rounds up).")
        return frames // per_step

    def hold_mask(self, held: bool) -> None:
        """``held``: the drawn stream's mask is exactly 1 (the video is the drawn frames alone, as without a background
        stream; nothing reaches the still stream or the mask, whose gradient is then 0).  Not held: the mask starts
        again at 0.95 and learns.  A run from scratch can so learn the video first and the wall behind it after."""
        if self.to_mask is None:
            raise ValueError("hold_mask needs a generator with a background stream (model.g_background).")
        with torch.no_grad():
            self.to_mask.weight.zero_()
            self.to_mask.bias.fill_((MASK_HELD_LOGIT if held else MASK_INIT_BIAS) / MASK_GAIN)

    def uses_noise(self, predicting: bool = False) -> bool:
        """Whether `forward` reads noise inputs: a ``g_noise`` model's do, except a turning model's predictions,
        which move the context's own pixels and draw nothing."""
        return self.config.g_noise and not (predicting and self.to_turn is not None)

    def make_noise(self, batch: int, generator: torch.Generator | None = None, device=None,
                   frames: int | None = None) -> list[torch.Tensor] | None:
        """Noise inputs for ``batch`` videos of ``frames`` frames (default: the model's own length), drawn from
        ``generator`` (a seed gives the same grain); None without ``g_noise``."""
        if not self.config.g_noise:
            return None
        return [torch.randn(batch, *shape, generator=generator, device=device) for shape in self.noise_shapes(frames)]

    def synthesis(self, w: torch.Tensor, skips: list[torch.Tensor] | None = None,
                  base: torch.Tensor | None = None, noise: list[torch.Tensor] | None = None,
                  code_frames: int = BASE_SIZE, support: torch.Tensor | None = None,
                  prior: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """-> the video; with ``g_background`` the mask of the drawn stream (B, 1, T, H, W), else None; for a warping
        prediction the moved layer alone (the last context frame carried along the flow, (B, 3, T, H, W)), else None.
        ``code_frames`` > 4: the code is looped to that many steps (`loop_code`), a longer video.
        ``support`` (B, 1, 1, H, W): where a prediction's flow may move pixels (`motion_support`), else anywhere.
        ``prior`` (B, 2, T, H, W): a flow in pixels that the predicted one is added to (`velocity_prior`), or None."""
        mask = moved = None
        x = self.input(w[:, :, None, None, None])                     # (B, C0, 4, 4, 4)
        x = F.relu(self.input_norm(x))
        if code_frames != x.shape[2]:
            x = loop_code(x, code_frames)
        if skips is not None:
            x = x + skips[0]
        for i, stage in enumerate(self.stages, start=1):
            coarse = x
            x = stage(x, None if noise is None else noise[i - 1].to(x.device))  # (B, Ci, Ti, Hi, Wi)
            if skips is not None:
                x = x + skips[i]                                      # what the context says about this level
        features = x
        x = self.to_rgb(x)                                            # (B, 3, T, H, W)
        # Table 1 ends in ReLU, which cannot produce the negative half of an RGB range in [-1, 1];
        # tanh bounds the output smoothly and is what the data is scaled to.
        x = torch.tanh(x) if self.config.output_activation == "tanh" else x
        if self.background is not None:
            backdrop = self.background(w).to(x.dtype)                  # (B, 3, 1, H, W)
            if noise is not None:
                grain = noise[len(self.stages)].to(x.device, x.dtype)  # (B, 1, T, H, W)
                backdrop = backdrop + self.background_grain.view(1, 3, 1, 1, 1).to(x.dtype) * grain
            # (B, 1, T, H, W).  Without the gain a warm-started run moved the logits by 0.02 in 250 steps
            # (Adam at 2e-4): the mask stayed at 0.95 and the wall stayed the drawn one.
            mask = torch.sigmoid(MASK_GAIN * self.to_mask(features))
            x = mask * x + (1 - mask) * backdrop
        if base is not None:
            # Prediction: composite the drawn frames over the last context frame, alpha per pixel and frame.
            # alpha starts near 0 (copy the last frame): G learns where the scene changes, not to redraw it.
            if self.to_flow is None:
                alpha = torch.sigmoid(self.to_alpha(features))
                x = alpha * x + (1 - alpha) * base.to(x.dtype)
            else:
                # Pixel advection (Finn et al. 2016): the last frame's own pixels, moved, generalise to
                # people and clothes never seen in training, where drawn pixels would be guesses.
                flow = FLOW_SCALE * F.interpolate(self.to_flow(coarse), size=features.shape[2:], mode="trilinear")
                if prior is not None:
                    flow = flow + prior.to(flow.dtype)
                if support is not None:
                    flow = flow * support.to(flow.dtype)                  # a still wall is not bent
                moved = warp_frame(base, flow)
                still, move, draw = torch.softmax(self.to_alpha(features).float(), dim=1).split(1, dim=1)
                x = (still * base.float() + move * moved + draw * x.float()).to(x.dtype)
        return x, mask, moved

    def check_context(self, context: torch.Tensor) -> None:
        c = self.config
        expected = (3, c.context_frames, c.resolution, c.resolution)
        if context.ndim != 5 or tuple(context.shape[1:]) != expected:
            raise ValueError(f"context must be shaped (B, {', '.join(map(str, expected))}), got {tuple(context.shape)}.")

    def encode_context(self, context: torch.Tensor) -> list[torch.Tensor]:
        if self.encoder is None:
            raise ValueError("this generator has no context encoder (context_frames=0, or a turning model): it does not "
                             "draw predictions.")
        self.check_context(context)
        return self.encoder(*context_clip(context, self.config.frames))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation: float = 1.0,
                context: torch.Tensor | None = None, noise: list[torch.Tensor] | None = None,
                return_mask: bool = False, frames: int | None = None, return_moved: bool = False):
        """``noise``: a ``g_noise`` model's noise inputs (see `make_noise`); fresh ones are drawn when None.
        ``return_mask``: return (video, mask), the mask of a ``g_background`` model's drawn stream (None without one).
        ``return_moved``: also return a warping prediction's moved layer (see `synthesis`; None without one), last.
        ``frames``: a longer video than the model's own, in one pass: every stage is convolutional in time, so the
        4-step code looped (`loop_code`) renders as one continuous video (generation only)."""
        code = self.code_frames(frames)
        if code != BASE_SIZE and context is not None:
            raise ValueError("frames: a prediction continues its context; longer videos render from the code alone.")
        if context is not None and self.to_turn is not None:
            return self._turn(z, labels, truncation, context, return_mask, return_moved)
        skips = base = support = prior = None
        if context is not None:
            skips = self.encode_context(context)
            base = context[:, :, -1:]                                 # the last context frame, (B, 3, 1, H, W)
            if self.to_flow is not None and self.config.warp_support:
                support = motion_support(context, self.config.warp_support)
            if self.to_flow is not None and self.config.warp_prior:
                prior = velocity_prior(context, self.prior_steps)
        if skips is not None and skips[0].shape[0] != z.shape[0]:
            raise ValueError(f"context has {skips[0].shape[0]} clips but z has {z.shape[0]} rows.")
        w = self.mapping(z, labels)
        if truncation != 1.0:
            # Pull w toward the code of the mean latent (z = 0) of the same class: StyleGAN's truncation
            # trick.  (Scaling z itself would do nothing: pixel norm removes its length.)
            w0 = self.mapping(torch.zeros_like(z), labels)
            w = w0 + truncation * (w - w0)
        if noise is None:
            noise = self.make_noise(z.shape[0], device=z.device, frames=frames)   # None without g_noise
        else:
            shapes = [(z.shape[0], *s) for s in self.noise_shapes(frames)]
            if [tuple(n.shape) for n in noise] != shapes:
                raise ValueError(f"noise must be {len(shapes)} tensors shaped {shapes} (Generator.make_noise), "
                                 f"got {[tuple(n.shape) for n in noise]}.")
        video, mask, moved = self.synthesis(w, skips, base, noise, code_frames=code, support=support, prior=prior)
        out = (video,) + ((mask,) if return_mask else ()) + ((moved,) if return_moved else ())
        return out if len(out) > 1 else video

    def _turn(self, z, labels, truncation, context, return_mask, return_moved):
        """A turning model's prediction (see `turn_futures`): the context, then its future, as `forward` returns it."""
        self.check_context(context)
        if context.shape[0] != z.shape[0]:
            raise ValueError(f"context has {context.shape[0]} clips but z has {z.shape[0]} rows.")
        turns = TurnHead.draw(self.to_turn(context, labels), z, truncation)
        video = torch.cat([context, turn_futures(context, turns, self.config.predicted_frames)], dim=2)
        out = (video,) + ((None,) if return_mask else ()) + ((None,) if return_moved else ())
        return out if len(out) > 1 else video


def loop_code(code: torch.Tensor, steps: int) -> torch.Tensor:
    """(B, C, T, ...) -> (B, C, steps, ...): the code's T steps again and again (0 1 2 3 0 1 ...).  The stages after it
    are convolutions in time, so where the last step meets the first they draw a short blend, and the video loops
    on: the same performer, wall and motion for any length.  (Played forward and back instead, the class
    classifier read the backward windows at 73-80%, forward ones at 96%: motion has a direction.)"""
    return code[:, :, [i % code.shape[2] for i in range(steps)]]


def time_window(video: torch.Tensor, offsets: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, C, T, ...) -> (B, C, frames, ...): frames offsets[i] .. offsets[i] + frames - 1 of each video i, past
    the last frame going on from the first (a circular render is a loop: `ModelConfig.render_frames`)."""
    index = (offsets.view(-1, 1) + torch.arange(frames, device=video.device)) % video.shape[2]   # (B, frames)
    index = index.view(-1, 1, frames, *([1] * (video.ndim - 3))).expand(-1, video.shape[1], -1, *video.shape[3:])
    return video.gather(2, index)


def frame_differences(video: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """(B, C, T, H, W) -> each frame minus the one ``stride`` frames before it; the first ``stride`` are zero."""
    return F.pad(video[:, :, stride:] - video[:, :, :-stride], (0, 0, 0, 0, stride, 0))


def critic_input(video: torch.Tensor, config: ModelConfig) -> torch.Tensor:
    """What D's first layer reads: the frames, and with ``d_motion`` their differences at every motion stride."""
    if not config.d_motion:
        return video
    return torch.cat([video, *(frame_differences(video, s) for s in config.motion_strides)], dim=1)


class Discriminator(nn.Module):
    """(video (B, 3, T, H, W), labels (B,) or None) -> one score per video (B,)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        chans = config.stage_channels
        # With d_motion, each frame's change from the previous frame comes in beside it: flicker and
        # smear are small in a frame but the whole signal of a difference, so a narrow critic sees them.
        # Differences over 2 or 4 frames show a sweeping limb as one large shape, where one frame's change is a thin rim.
        inputs = 3 * (1 + len(config.motion_strides)) if config.d_motion else 3
        self.from_rgb = nn.Conv3d(inputs, chans[-1], kernel_size=1)
        self.stages = nn.ModuleList(
            DiscriminatorStage(cin, cout, down_t, config.d_norm, config.leaky_slope)
            for cin, cout, down_t in reversed(list(zip(chans[1:], chans[:-1], config.temporal_upsample)))
        )
        # With d_patch, a 1x1x1 head after the second stage scores every neighbourhood (about 14 pixels at the
        # first stage's resolution; PatchGAN): the mean of those scores joins the clip's.  A smooth blob where
        # real clips have texture is a small part of a clip but a whole patch.  It starts at zero, so a trained
        # critic given one scores every clip as before.
        self.patch_after = min(1, len(self.stages) - 1)
        self.patch_head = None
        if config.d_patch:
            self.patch_head = nn.Conv3d(self.stages[self.patch_after].conv2.out_channels, 1, kernel_size=1)
            nn.init.zeros_(self.patch_head.weight)
            nn.init.zeros_(self.patch_head.bias)
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
        x = F.leaky_relu(self.from_rgb(critic_input(video, c)), c.leaky_slope)
        patch = 0.0
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if self.patch_head is not None and i == self.patch_after:
                patch = self.patch_head(x).mean(dim=(1, 2, 3, 4))      # (B,): mean over every neighbourhood
        if c.mbstd_group > 0:
            x = minibatch_stddev(x, c.mbstd_group)                    # (B, C0 + 1, 4, 4, 4)
        x = F.leaky_relu(self.final_conv(x), c.leaky_slope)
        h = F.leaky_relu(self.fc(x.flatten(1)), c.leaky_slope)       # (B, d_fc_dim)
        score = self.out(h).squeeze(1) + patch
        if self.embed is not None:
            score = score + (embed_labels(self.embed, labels) * h).sum(dim=1)
        return score
