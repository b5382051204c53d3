"""Model configuration: one dataclass, saved as ``config.json`` beside the weights.

The presets follow the paper's Table 1.  A generator starts from a 4x4x4 volume
and every stage doubles height and width; time doubles only at the stages whose
``temporal_upsample`` flag is set, exactly as the table does for 256x256x32.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

BASE_SIZE = 4  # the transposed conv turns the latent into a 4x4x4 volume (Table 1, row 2)
FORMAT_VERSION = 7  # config.json's layout: 2 to 7 record every field of their day (and this number); 1 had no version

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


# --- typed, documented fields ---------------------------------------------------------------------

def option(default, help: str, *, choices=None, low=None, high=None, above=None):
    """A dataclass field with its one-line help and its allowed values, declared in one place.

    ``low``/``high`` are inclusive bounds, ``above`` an exclusive lower bound; ``choices`` the allowed values
    (for a list, of each item).  :func:`check_fields` enforces them; ``train.py --help`` shows the help.
    """
    meta = {"help": help, "choices": choices, "low": low, "high": high, "above": above}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


TRUE_WORDS, FALSE_WORDS = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _scalar(kind: str, value, name: str):
    """One value as ``kind`` (int, float, bool, str), or a ValueError that names the key and what is allowed."""
    def bad(what):
        return ValueError(f"{name}: {value!r} is not {what}.")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in TRUE_WORDS + FALSE_WORDS:
            return value.lower() in TRUE_WORDS
        raise bad("true or false")
    if kind == "int":
        if isinstance(value, bool):
            raise bad("a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
        raise bad("a whole number")
    if kind == "float":
        if isinstance(value, bool):
            raise bad("a number")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):       # YAML 1.1 reads 1e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise bad("a number")
    if isinstance(value, (int, float)) and not isinstance(value, bool):   # preset: 64 unquoted
        return str(value)
    if not isinstance(value, str):
        raise bad("a string")
    return value


def coerce(f: dataclasses.Field, value, where: str = ""):
    """``value`` read from YAML, JSON or the command line, as field ``f``'s declared type, checked."""
    name = f"{where}{f.name}"
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    meta = f.metadata
    if kind.startswith(("tuple[", "list")):
        item = kind[kind.index("[") + 1:].split(",")[0].strip(" ]") if "[" in kind else "str"
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split()]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name}: {value!r} is not a list.")
        out = [_scalar(item, v, f"{name}[{i}]") for i, v in enumerate(value)]
        items = out
        out = tuple(out) if kind.startswith("tuple") else list(out)
    else:
        out = _scalar(kind, value, name)
        items = [out]
    for v in items:
        allowed = meta.get("choices")
        if allowed is not None and v not in allowed:
            raise ValueError(f"{name}: {v!r} is not allowed; choose one of {', '.join(map(str, allowed))}.")
        if meta.get("low") is not None and v < meta["low"]:
            raise ValueError(f"{name}: {v!r} is too small; it must be at least {meta['low']}.")
        if meta.get("high") is not None and v > meta["high"]:
            raise ValueError(f"{name}: {v!r} is too large; it must be at most {meta['high']}.")
        if meta.get("above") is not None and not v > meta["above"]:
            raise ValueError(f"{name}: {v!r} must be greater than {meta['above']}.")
    return out


def check_fields(obj, where: str = "") -> None:
    """Coerce and check every field of a dataclass instance in place (see :func:`option`)."""
    for f in dataclasses.fields(obj):
        setattr(obj, f.name, coerce(f, getattr(obj, f.name), where))


def from_mapping(cls, values, where: str = ""):
    """A dataclass from a mapping (a YAML section, config.json): unknown keys are an error that lists the known."""
    if not isinstance(values, dict):
        raise ValueError(f"{where.rstrip('.') or cls.__name__} must be a mapping of keys to values, "
                         f"got {type(values).__name__}: {values!r}.")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(where + k for k in unknown)}; known keys are {sorted(known)}.")
    return cls(**values)


@dataclass
class ModelConfig:
    """Everything needed to rebuild a Generator / Discriminator pair."""

    preset: str = option("64", "the preset these values came from (informative)", choices=tuple(PRESETS))
    latent_dim: int = option(128, "size of z; 128 in the paper", low=1)
    num_classes: int = option(0, "0 = unconditional (Golf, Aeroplane); K = class-conditional (training: from the data)", low=0)
    class_names: tuple[str, ...] = option((), "one display name per class (default '0'..'K-1')")
    resolution: int = option(64, "output height = width", low=8)
    frames: int = option(16, "output length T", low=4)
    base_channels: int = option(128, "channels of the 4x4x4 input volume", low=1)
    channels: tuple[int, ...] = option((128, 128, 64, 32), "output channels of each G stage, before width", low=1)
    temporal_upsample: tuple[bool, ...] = option((True, False, False, True), "per stage: it doubles T as well as H, W")
    width: float = option(1.0, "multiplier on every channel count (0.25 trains on 2 CPU cores)", above=0)
    g_norm: str = option("pixel", "generator normalisation: pixel (eq. 8) | batch | none", choices=("pixel", "batch", "none"))
    d_norm: str = option("instance", "critic normalisation: instance (eq. 9) | none", choices=("instance", "none"))
    output_activation: str = option("tanh", "tanh keeps RGB in [-1, 1]; linear is clamped when sampling",
                                    choices=("tanh", "linear"))
    mbstd_group: int = option(4, "minibatch standard deviation group size (0 disables)", low=0)
    d_fc_dim: int = option(128, "width of D's penultimate fully connected layer (Table 2)", low=1)
    leaky_slope: float = option(0.2, "LeakyReLU slope in D", low=0.0, high=1.0)
    context_frames: int = option(0, "m: frames a prediction model is given (0 = generation only)", low=0)
    warp: bool = option(False, "prediction: move the last context frame's pixels along a predicted flow")
    warp_support: int = option(0, "warp: the flow moves pixels only within this many pixels of where the context "
                                  "moved (a still wall stays put); 0 = anywhere", low=0)
    warp_prior: bool = option(False, "warp: the flow starts from the context's own last motion (Lucas-Kanade between its "
                                     "last two frames) carried on at a learned pace per frame; to_flow learns the rest")
    time_padding: str = option("zeros", "what G's 3x3x3 convs see beyond the first / last frame (paper: zeros; "
                                        "replicate: the end frame, still; circular: the other end, the video a loop)",
                               choices=("zeros", "replicate", "circular"))
    d_motion: bool = option(False, "D also sees each frame's change from the ones before it (flicker, smear, sweeps)")
    motion_strides: tuple[int, ...] = option((1,), "d_motion: frame differences over these frame gaps (1 = the previous frame)",
                                             low=1)
    g_noise: bool = option(False, "G adds fresh per-pixel noise after each conv, scaled per channel (StyleGAN)")
    d_patch: bool = option(False, "D also scores every neighbourhood of ~14 pixels (PatchGAN head): local texture")
    g_background: bool = option(False, "G composites its frames over one still frame of a 2-D stream, per-pixel mask (VGAN)")
    time_crop: int = option(0, "G renders its code looped this many frames longer than its length, and a video is a "
                               "window of it: in training a random one (D sees every phase at every frame index, and "
                               "the loop's join), in sampling one drawn from the seed; a multiple of frames / 4 "
                               "(0 = the code's start, every video).  With circular time padding the render is the "
                               "loop itself, one period long, and a window starts anywhere in it", low=0)
    turn: bool = option(False, "prediction by turning: the context's last motion carried on for r frames, then the context "
                               "played back (periodic actions turn); r drawn per seed from a learned distribution "
                               "(`hrvgan fit-turn`); replaces the drawn and warped prediction layers")

    def __post_init__(self):
        check_fields(self)
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
        if not 0 <= self.context_frames < self.frames:
            raise ValueError(f"context_frames must be in [0, frames) = [0, {self.frames}), got {self.context_frames}; "
                             "0 makes a generation-only model, m > 0 a model that also predicts frames - m frames.")
        if not self.motion_strides or max(self.motion_strides) >= self.frames or len(set(self.motion_strides)) != len(self.motion_strides):
            raise ValueError(f"motion_strides must be distinct frame gaps between 1 and {self.frames - 1}, "
                             f"got {list(self.motion_strides)}.")
        if self.warp_support and not (self.warp and self.context_frames):
            raise ValueError(f"warp_support {self.warp_support} limits a predicted flow: it needs warp: true and "
                             "context_frames > 0 (or set it to 0).")
        if self.time_crop % (self.frames // BASE_SIZE):
            raise ValueError(f"time_crop must be a multiple of {self.frames // BASE_SIZE} (the frames one step of the "
                             f"{BASE_SIZE}-step code makes), got {self.time_crop}.")
        if self.time_padding == "circular" and self.context_frames:
            raise ValueError("circular time padding makes every video a loop; a prediction model continues its context "
                             "where it ends: use time_padding replicate (or zeros) with context_frames > 0.")
        if self.time_crop and self.context_frames:
            raise ValueError("time_crop windows a generated video; a prediction model continues its context where it "
                             "ends: set time_crop to 0 or context_frames to 0.")
        if self.turn and (self.context_frames < 2 or self.warp):
            raise ValueError("turn continues the context's own motion: it needs context_frames >= 2 (two frames to see a "
                             "motion in) and warp: false (it replaces the warped layer), or set it to false.")
        if self.warp_prior and not (self.warp and self.context_frames >= 2):
            raise ValueError("warp_prior carries the context's last motion on: it needs warp: true and context_frames >= 2 "
                             "(two frames to see a motion in), or set it to false.")

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

    @property
    def window_slack(self) -> int:
        """The latest frame of G's render that a generated video may start at (``time_crop``; 0: every video starts
        at the code's start).  A circular render is the loop itself, so there a start past its last frame is one
        at its beginning: at most ``frames - 1``."""
        if self.time_padding == "circular":
            return min(self.time_crop, self.frames - 1)
        return self.time_crop

    def render_frames(self, frames: int | None = None) -> int:
        """How many frames G renders for a generated video of ``frames`` (default: the model's own length) that starts
        anywhere up to `window_slack`: ``time_crop`` more, or with circular padding whole loops (periods of the
        model's length), which wrap around (`networks.time_window`)."""
        frames = frames or self.frames
        if self.time_padding == "circular":
            return -(-frames // self.frames) * self.frames
        return frames + self.time_crop

    def to_dict(self) -> dict:
        """config.json: the format version and every field."""
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
        return {"format_version": FORMAT_VERSION, **d}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """Read config.json.  Every field must be there: a missing one would silently take today's default,
        which need not be what the model was trained with (a model without ``time_padding`` makes other
        videos under the wrong one).  Older files (version 1 had no ``format_version``) lack only the fields
        added since (``ADDED_SINCE``), whose defaults are what those models were trained with."""
        if not isinstance(d, dict):
            raise ValueError(f"a model config must be a mapping of keys to values, got {type(d).__name__}.")
        d = dict(d)
        version = d.pop("format_version", 1)
        if version not in ADDED_SINCE and version != FORMAT_VERSION:
            raise ValueError(f"config format_version {version!r} is not one this hrvgan reads (1 to {FORMAT_VERSION}); "
                             "upgrade hrvgan.")
        required = {f.name for f in dataclasses.fields(cls)} - ADDED_SINCE.get(version, set())
        missing = sorted(required - set(d))
        if missing:
            raise ValueError(f"the model config lacks {', '.join(missing)}: every field is needed to rebuild the model "
                             "exactly; add them with the values it was trained with (HRVGAN.save_pretrained writes them all).")
        return from_mapping(cls, d)

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


# Fields that older config.json files may lack, by their format_version: each default is what a model without
# that field was built as.
ADDED_SINCE = {1: {"motion_strides", "g_background", "warp_support", "warp_prior", "time_crop", "turn"},
               2: {"g_background", "warp_support", "warp_prior", "time_crop", "turn"},
               3: {"warp_support", "warp_prior", "time_crop", "turn"}, 4: {"warp_prior", "time_crop", "turn"},
               5: {"time_crop", "turn"}, 6: {"turn"}}
