"""A training recipe: one YAML file, nested by concern, every value typed and checked when read.

    data:  {path: ..., split: train}         # where the clips come from
    model: {preset: "64", width: 0.25, ...}  # ModelConfig fields (hrvgan/config.py), nothing else
    loss:  {kind: wgan-gp, gp_weight: 10}    # what each step minimises
    optim: {max_steps: 10000, lr_g: 2e-4}    # how: steps, batch, learning rates, EMA, precision
    run:   {output_dir: runs/x}              # the run folder: logs, samples, checkpoints, resume
    hub:   {push_to_hub: false}              # where the model goes afterwards

Every field is declared once, with its help and its allowed values (:func:`hrvgan.config.option`);
``train.py --help`` is built from those declarations and every key can be overridden as
``--section.key value`` (or ``--key value`` where the key is unique).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import augment, losses
from ..config import ModelConfig, check_fields, coerce, from_mapping, option

# Flags people already type, kept under their old names.
ALIASES = {"data.path": "data", "data.format": "data_format", "loss.kind": "loss", "hub.model_id": "hub_model_id"}
NOT_SETTABLE = {"num_classes"}  # the class count comes from the data


class Section:
    """A recipe section: its values are typed and range-checked when it is made (named as ``section.key``)."""

    def __post_init__(self):
        check_fields(self, f"{type(self).__name__.removesuffix('Config').lower()}.")


@dataclass
class DataConfig(Section):
    path: str = option("", "dataset folder (or a VGAN list file)")
    format: str = option("auto", "how the videos are stored", choices=("auto", "strips", "vgan", "ucf101", "folder"))
    ucf_lists: str = option("", "UCF101's split lists (default: found in, under or beside the data)")
    split: str = option("train", "which split to train on", choices=("train", "test", "all"))
    frame_stride: int = option(1, "take every n-th frame of the source video", low=1)
    flip: bool = option(False, "random horizontal flips")
    conditional: bool = option(True, "train with the data's classes as labels (false: one unconditional model)")
    drop_empty_classes: bool = option(False, "drop, with a warning, a class with no usable video (else an error)")
    cache_dir: str = option("", "decoded-clip cache (default ~/.cache/hrvgan or $HRVGAN_CACHE)")
    num_workers: int = option(0, "DataLoader workers (clips come from a memory map: 0 is fine)", low=0)


@dataclass
class LossConfig(Section):
    kind: str = option("wgan-gp", "adversarial loss: wgan-gp (eqs. 5-6) | bce (eqs. 12-14) | hinge (SAGAN's; with "
                                  "bce, pair it with r1_weight)", choices=tuple(losses.D_LOSSES))
    gp_weight: float = option(10.0, "lambda of the gradient penalty (eq. 6; kind wgan-gp only)", low=0.0)
    r1_weight: float = option(0.0, "gamma of R1 (Mescheder et al.): + gamma / 2 * E||grad D(x)||^2 on real clips, any "
                                   "kind (StyleGAN2's small-data choice: bce or hinge with 0.1-10)", low=0.0)
    gp_every: int = option(1, "apply the penalties every n critic steps (lazy regularisation)", low=1)
    drift_weight: float = option(0.001, "epsilon_drift * E[D(x)^2]: keeps real scores near 0", low=0.0)
    adv_weight: float = option(1.0, "alpha of eq. 15: weight of G's adversarial loss (0: prediction by its pixel "
                                    "losses alone; the critic is neither trained nor run)", low=0.0)
    mse_weight: float = option(0.0, "beta of eq. 15: the pixel loss of eq. 10 on predicted frames", low=0.0)
    ssim_weight: float = option(0.0, "prediction steps: + weight * (1 - SSIM(Y-hat, Y)) (keeps Y-hat sharp)", low=0.0)
    diversity_weight: float = option(0.0, "mode-seeking term (MSGAN): keeps seeds of one class apart", low=0.0)
    diversity_view: str = option("pixels", "what the mode-seeking term compares: pixels (every pixel of every frame, "
                                 "MSGAN's: the same performer at another phase counts as apart) | appearance (each "
                                 "clip's mean frame, 4x4 blocks: apart means another performer or wall)",
                                 choices=("pixels", "appearance"))
    warp_weight: float = option(0.0, "warping prediction steps: + weight * the photometric error of the moved layer "
                                     "alone (the last frame carried along the flow) against Y: the flow learns where "
                                     "pixels go", low=0.0)
    best_of_pair: bool = option(False, "prediction steps: the pixel losses take the better of two futures of one context "
                                "(best-of-many): seeds pick among futures instead of one blurred mean")
    mask_weight: float = option(0.0, "g_background: + weight * mean of the drawn stream's mask (VGAN's sparsity term)", low=0.0)
    background_start: int = option(0, "g_background: the mask is held at 1 (the plain generator; the still stream idle) "
                                   "until this step, then starts at 0.95: the video first, the wall behind it after (runs from scratch; "
                                   "a warm start, --init_from, is not held)", low=0)
    augment: str = option("", "DiffAugment before D: comma-separated color,translation,cutout ('' = none)")
    generation_prob: float = option(0.5, "prediction models: share of steps with the context dropped", low=0.0, high=0.999)
    rollout_prob: float = option(0.0, "prediction steps: share that continue the model's own prediction, not real frames "
                                      "(what long videos feed it; no pixel loss there: nothing real to compare)", low=0.0, high=1.0)
    rollout_depth: int = option(1, "those steps first predict 1 to n times from the real context, without gradients", low=1)
    context_noise: float = option(0.0, "prediction steps: Gaussian noise (std, in [-1, 1] units) on the context", low=0.0)

    @property
    def paired(self) -> bool:
        """Whether each batch is made of pairs that share class, context and noise inputs and differ in z."""
        return self.diversity_weight > 0 or self.best_of_pair


@dataclass
class OptimConfig(Section):
    max_steps: int = option(10000, "generator steps in all", low=0)
    batch_size: int = option(8, "videos per process per step", low=1)
    lr_g: float = option(1e-4, "generator learning rate (Adam)", above=0.0)
    lr_d: float = option(1e-4, "critic learning rate (Adam)", above=0.0)
    beta1: float = option(0.0, "Adam beta1", low=0.0, high=0.999)
    beta2: float = option(0.99, "Adam beta2", low=0.0, high=0.9999)
    n_critic: int = option(1, "critic steps per generator step (Algorithm 1)", low=1)
    d_warmup_steps: int = option(0, "train the critic alone for the first n steps (a fresh critic for a trained G)", low=0)
    ema_decay: float = option(0.999, "EMA of G's weights (what samples and the exported model use)", low=0.0, high=0.99999)
    gradient_accumulation_steps: int = option(1, "micro-batches summed into each update", low=1)
    mixed_precision: str = option("", "no | bf16 | fp16; '' = what `accelerate launch` says", choices=("", "no", "bf16", "fp16"))
    seed: int = option(0, "seed of weights, latents and data order", low=0)


@dataclass
class RunConfig(Section):
    output_dir: str = option("runs/hrvgan", "the run folder: config.yaml, checkpoints/, logs/, samples/, model/")
    resume: str = option("latest", "latest | none | a checkpoint folder")
    init_from: str = option("", "start from a model folder or Hub id (with its critic if it carries training/) or a checkpoint")
    change_time_padding: bool = option(False, "let --init_from start from a model trained with other time padding (its "
                                       "videos change where the padding acts, at their ends, until the run retrains it)")
    log_every: int = option(10, "log losses to TensorBoard every n steps", low=1)
    sample_every: int = option(500, "fixed-seed sample grid + gif every n steps (0 = never)", low=0)
    checkpoint_every: int = option(500, "write a checkpoint every n steps", low=1)
    checkpoints_total_limit: int = option(3, "keep the last n checkpoints", low=1)
    export_every: int = option(0, "also export model/ every n steps (0 = only at the end)", low=0)
    keep_exports: bool = option(False, "keep each export as exports/step-N/ too (the best may not be the last: "
                                "compare them with bench/bench_draws.py)")


@dataclass
class HubConfig(Section):
    push_to_hub: bool = option(False, "upload model/ to the Hub at the end")
    model_id: str = option("", "user/name of the Hub repo")
    private: bool = option(False, "create the repo private")
    token: str = option("", "Hub token (default: HF_TOKEN / the saved login)")
    timeout: float = option(60.0, "seconds before one Hub request is given up", above=0.0)
    retries: int = option(3, "attempts per Hub call before the push is reported failed", low=1)


def _set_dotted(values: dict, changes: dict) -> dict:
    """``values`` (sections of keys) with ``{"section.key": value}`` changes written in."""
    for key, value in changes.items():
        section, _, name = key.partition(".")
        values.setdefault(section, {})[name] = value
    return values


SECTIONS = {"data": DataConfig, "loss": LossConfig, "optim": OptimConfig, "run": RunConfig, "hub": HubConfig}
TITLES = {"data": "data: where the clips come from", "model": "model: ModelConfig fields (the class count comes from the data)",
          "loss": "loss: what each step minimises", "optim": "optim: steps, batch, learning rates, EMA, precision",
          "run": "run: the run folder, checkpoints, resume, warm start", "hub": "hub: pushing the model"}
MODEL_FIELDS = {f.name: f for f in dataclasses.fields(ModelConfig) if f.name not in NOT_SETTABLE}


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: dict = field(default_factory=dict)     # ModelConfig fields over the preset's (`preset` names it)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)
    hub: HubConfig = field(default_factory=HubConfig)

    def __post_init__(self):
        for name, cls in SECTIONS.items():
            value = getattr(self, name)
            if not isinstance(value, cls):
                setattr(self, name, from_mapping(cls, value or {}, f"{name}."))
        if not isinstance(self.model, dict):
            raise ValueError(f"model must be a mapping of ModelConfig fields, got {self.model!r}.")
        unknown = sorted(set(self.model) - set(MODEL_FIELDS))
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join('model.' + k for k in unknown)}; the model section takes "
                             f"ModelConfig fields: {sorted(MODEL_FIELDS)}.")
        self.model = {k: coerce(MODEL_FIELDS[k], v, "model.") for k, v in self.model.items()}
        self.model.setdefault("preset", "64")
        augment.parse_policy(self.loss.augment)
        if self.hub.push_to_hub and not self.hub.model_id:
            raise ValueError("hub.push_to_hub needs hub.model_id: pass --hub_model_id user/name.")
        self.model_config([])   # the model section itself must build (stages, frames, strides)

    # -- reading and writing ------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path, overrides: dict | None = None) -> "TrainConfig":
        """A recipe file with ``{"section.key": value}`` overrides (values as the CLI gives them: checked the same)."""
        try:
            values = yaml.safe_load(Path(path).read_text()) if path else {}
        except yaml.YAMLError as e:
            raise ValueError(f"{path} is not valid YAML: {e}") from None
        except OSError as e:
            raise ValueError(f"cannot read the config {path}: {e.strerror}.") from None
        values = values or {}
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a mapping of sections (data, model, loss, optim, run, hub), "
                             f"not a {type(values).__name__}.")
        unknown = sorted(set(values) - {"data", "model", *SECTIONS})
        if unknown:
            raise ValueError(f"unknown section(s) {unknown} in {path}; a recipe has data, model, loss, optim, run, hub.")
        values = {k: dict(v or {}) if isinstance(v, dict) or v is None else v for k, v in values.items()}
        return cls(**_set_dotted(values, overrides or {}))

    def to_dict(self) -> dict:
        d = {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}
        d["model"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.model.items()}
        return {k: d[k] for k in ("data", "model", "loss", "optim", "run", "hub")}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with ``{"section.key": value}`` changes (tests, benchmarks)."""
        return TrainConfig(**_set_dotted(self.to_dict(), changes))

    # -- what it builds -----------------------------------------------------------------------------
    @property
    def predicting(self) -> bool:
        return bool(self.model.get("context_frames"))

    def model_config(self, class_names: list[str]) -> ModelConfig:
        """The ModelConfig this recipe trains on data with these classes (``model.class_names`` renames them)."""
        fields = dict(self.model)
        names = list(fields.pop("class_names", ()) or class_names)
        if class_names and len(names) != len(class_names):
            raise ValueError(f"model.class_names lists {len(names)} names but the data has "
                             f"{len(class_names)} classes ({class_names}).")
        if not self.data.conditional or not class_names:
            names = []
        return ModelConfig.from_preset(fields.pop("preset"), num_classes=len(names), class_names=tuple(names), **fields)


# --- the command line ----------------------------------------------------------------------------------

def _fields():
    """(section, field) for every option, model fields included."""
    for section in ("data", "model", "loss", "optim", "run", "hub"):
        fields = MODEL_FIELDS.values() if section == "model" else dataclasses.fields(SECTIONS[section])
        for f in fields:
            yield section, f


def build_parser(description: str = "") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False,
                                     usage="%(prog)s --config RECIPE.yaml [--section.key VALUE ...] (see below)")
    parser.add_argument("--config", help="the recipe: a YAML file of sections (configs/*.yaml)")
    parser.add_argument("--dry_run", action="store_true", help="print the resolved config and exit (after checking that --init_from fits it)")
    names = [f.name for _, f in _fields()]
    groups = {}
    for section, f in _fields():
        group = groups.get(section) or groups.setdefault(section, parser.add_argument_group(TITLES[section]))
        key = f"{section}.{f.name}"
        flags = [f"--{key}"]
        alias = ALIASES.get(key) or (f.name if names.count(f.name) == 1 else None)
        if alias:
            flags.append(f"--{alias}")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if section == "model":
            default = "the preset's" if f.name != "preset" else "64"
        help_text = f"{f.metadata.get('help', '')} (default: {default!r})"
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        kwargs = dict(dest=key, default=None, help=help_text.replace("%", "%%"), metavar=f.name.upper())
        if kind == "bool":
            kwargs.update(nargs="?", const="true", metavar="BOOL")
        elif kind.startswith(("tuple", "list")):
            kwargs.update(nargs="+")
        group.add_argument(*flags, **kwargs)
    return parser


def from_args(args: argparse.Namespace) -> TrainConfig:
    """The recipe named by --config with every flag given on the command line over it."""
    overrides = {k: v for k, v in vars(args).items() if v is not None and "." in k}
    return TrainConfig.from_yaml(args.config, overrides)
