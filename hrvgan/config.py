"""Model configuration: one dataclass, saved as ``config.json`` beside the weights.

The presets follow the paper's Table 1.  A generator starts from a 4x4x4 volume
and every stage doubles height and width; time doubles only at the stages whose
``temporal_upsample`` flag is set, exactly as the table does for 256x256x32.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

BASE_SIZE = 4  # the transposed conv turns the latent into a 4x4x4 volume (Table 1, row 2)

# name -> fields.  Stage lists run from the first stage after the 4x4x4 input to the last.
PRESETS: dict[str, dict] = {
    # Table 1: 128x8x8x8, 128x8x16x16, 64x8x32x32, 32x16x64x64, 16x16x128x128, 8x32x256x256.
    "paper-256": dict(
        resolution=256, frames=32, base_channels=128,
        channels=(128, 128, 64, 32, 16, 8),
        temporal_upsample=(True, False, False, True, False, True),
    ),
    # Golf / Aeroplane: 128x128, 32 frames; Table 1's first five stages, time doubled once more at the end.
    "128": dict(
        resolution=128, frames=32, base_channels=128,
        channels=(128, 128, 64, 32, 16),
        temporal_upsample=(True, False, False, True, True),
    ),
    # 64x64, 16 frames: Table 1's first four stages unchanged.
    "64": dict(
        resolution=64, frames=16, base_channels=128,
        channels=(128, 128, 64, 32),
        temporal_upsample=(True, False, False, True),
    ),
    # A few channels, 8 frames, 32x32: for tests.
    "tiny": dict(
        resolution=32, frames=8, latent_dim=16, base_channels=16,
        channels=(16, 8, 8), temporal_upsample=(True, False, False), d_fc_dim=16,
    ),
}


@dataclass
class ModelConfig:
    """Everything needed to rebuild a Generator / Discriminator pair."""

    preset: str = "64"                      # name of the preset these values came from (informative)
    latent_dim: int = 128                   # size of z; 128 in the paper
    num_classes: int = 0                    # 0 = unconditional (Golf, Aeroplane); K = class-conditional
    class_names: tuple[str, ...] = ()       # one name per class; defaults to "0".."K-1"
    resolution: int = 64                    # output height = width
    frames: int = 16                        # output length T
    base_channels: int = 128                # channels of the 4x4x4 input volume
    channels: tuple[int, ...] = (128, 128, 64, 32)                 # output channels of each G stage
    temporal_upsample: tuple[bool, ...] = (True, False, False, True)  # stage doubles T as well as H, W
    width: float = 1.0                      # multiplier on every channel count (0.25 trains on 2 CPU cores)
    g_norm: str = "pixel"                   # generator normalisation: "pixel" (eq. 8) | "batch" | "none"
    d_norm: str = "instance"                # discriminator normalisation: "instance" (eq. 9) | "none"
    output_activation: str = "tanh"         # "tanh" keeps RGB in [-1, 1]; "linear" is clamped when sampling
    mbstd_group: int = 4                    # minibatch standard deviation group size (0 disables)
    d_fc_dim: int = 128                     # width of D's penultimate fully connected layer (Table 2)
    leaky_slope: float = 0.2                # LeakyReLU slope in D
    context_frames: int = 0                 # m: frames a prediction model is given (0 = generation only)
    warp: bool = False                      # prediction: move the last context frame's pixels along a predicted flow
    time_padding: str = "zeros"             # what G's 3x3x3 convs see before the first / after the last frame: zeros | replicate
    d_motion: bool = False                  # D also sees each frame's change from the previous one (where flicker shows)
    g_noise: bool = False                   # G adds fresh per-pixel noise after each conv, scaled per channel (StyleGAN)
    d_patch: bool = False                   # D also scores every neighbourhood of ~14 pixels (PatchGAN head): local texture

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)
        self.temporal_upsample = tuple(bool(t) for t in self.temporal_upsample)
        self.class_names = tuple(str(n) for n in self.class_names)
        self.warp = bool(self.warp)
        self.d_motion = bool(self.d_motion)
        self.g_noise = bool(self.g_noise)
        self.d_patch = bool(self.d_patch)
        if self.num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {self.num_classes}; use 0 for an unconditional model.")
        if self.num_classes and not self.class_names:
            self.class_names = tuple(str(i) for i in range(self.num_classes))
        if len(self.class_names) != self.num_classes:
            raise ValueError(
                f"class_names has {len(self.class_names)} names but num_classes is {self.num_classes}; "
                "give one name per class (or none to use '0'..'K-1')."
            )
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError(f"class_names must be unique, got {list(self.class_names)}.")
        if len(self.channels) != len(self.temporal_upsample):
            raise ValueError(
                f"channels ({len(self.channels)} stages) and temporal_upsample ({len(self.temporal_upsample)}) "
                "must have one entry per generator stage."
            )
        expected_res = BASE_SIZE * 2 ** len(self.channels)
        if self.resolution != expected_res:
            raise ValueError(
                f"resolution {self.resolution} does not match {len(self.channels)} stages "
                f"(4 * 2**{len(self.channels)} = {expected_res}); add or remove stages in `channels`."
            )
        expected_frames = BASE_SIZE * 2 ** sum(self.temporal_upsample)
        if self.frames != expected_frames:
            raise ValueError(
                f"frames {self.frames} does not match temporal_upsample (4 * 2**{sum(self.temporal_upsample)} "
                f"= {expected_frames}); set a True flag for each doubling of time."
            )
        if not (self.width > 0):
            raise ValueError(f"width must be > 0, got {self.width}.")
        if self.g_norm not in ("pixel", "batch", "none"):
            raise ValueError(f"g_norm must be 'pixel', 'batch' or 'none', got {self.g_norm!r}.")
        if self.time_padding not in ("zeros", "replicate"):
            raise ValueError(f"time_padding must be 'zeros' or 'replicate', got {self.time_padding!r}.")
        if self.d_norm not in ("instance", "none"):
            raise ValueError(f"d_norm must be 'instance' or 'none', got {self.d_norm!r}.")
        if self.output_activation not in ("tanh", "linear"):
            raise ValueError(f"output_activation must be 'tanh' or 'linear', got {self.output_activation!r}.")
        if not 0 <= self.context_frames < self.frames:
            raise ValueError(f"context_frames must be in [0, frames) = [0, {self.frames}), got {self.context_frames}; "
                             "0 makes a generation-only model, m > 0 a model that also predicts frames - m frames.")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}.")

    # -- derived values -------------------------------------------------------------------------
    def scaled(self, c: int) -> int:
        """A channel count after the width multiplier (never below 1)."""
        return max(1, int(round(c * self.width)))

    @property
    def stage_channels(self) -> tuple[int, ...]:
        """(base, stage 1, ..., stage N) channel counts after the width multiplier."""
        return tuple(self.scaled(c) for c in (self.base_channels, *self.channels))

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def predicted_frames(self) -> int:
        """n: frames a prediction model produces after its m context frames (0 for generation only)."""
        return self.frames - self.context_frames if self.context_frames else 0

    @property
    def num_stages(self) -> int:
        return len(self.channels)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["channels"] = list(self.channels)
        d["temporal_upsample"] = list(self.temporal_upsample)
        d["class_names"] = list(self.class_names)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}; known keys are {sorted(known)}.")
        return cls(**d)

    @classmethod
    def from_preset(cls, name: str, num_classes: int = 0, **overrides) -> "ModelConfig":
        """A preset ("paper-256", "128", "64", "tiny") with any field overridden."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}.")
        values = dict(PRESETS[name], preset=name, num_classes=num_classes)
        if "class_names" in overrides and "num_classes" not in overrides and num_classes == 0:
            values["num_classes"] = len(overrides["class_names"])
        values.update(overrides)
        return cls(**values)

    def stage_shapes(self) -> list[tuple[int, int, int, int]]:
        """(C, T, H, W) after the input block and after each generator stage."""
        chans = self.stage_channels
        t, s = BASE_SIZE, BASE_SIZE
        shapes = [(chans[0], t, s, s)]
        for c, up_t in zip(chans[1:], self.temporal_upsample):
            t, s = t * (2 if up_t else 1), s * 2
            shapes.append((c, t, s, s))
        return shapes
