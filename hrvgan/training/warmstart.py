"""Warm starts: a run that begins from trained weights instead of random ones.

``run.init_from`` names a model folder or Hub repo id (its EMA generator; with a ``training/``
subfolder also its raw generator and its critic, so the GAN goes on where it stopped) or a run's
checkpoint folder.  A model may grow on the way (more channels, a critic that sees more), by rules
that keep what it computes: widening a generator (:func:`widen_state`) and its critic
(:func:`widen_critic_state`), growing a critic's inputs or heads (:func:`grow_critic_state`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from ..config import ModelConfig
from ..networks import Discriminator, Generator
from ..pipeline import HRVGAN
from .checkpoint import is_checkpoint, TRAINING_FOLDER, load_tensors

logger = logging.getLogger(__name__)

WIDEN_INIT_SCALE = 0.01  # new channels start at this fraction of their fresh initialisation: nearly silent


def _split_by_fit(source: dict, module: nn.Module) -> tuple[dict, list]:
    """``source``'s tensors that ``module`` has: those of the same shape as they are ({name: tensor}), and the
    others as (name, trained tensor, ``module``'s own freshly initialised one), to be fitted."""
    target = module.state_dict()
    fit, other = {}, []
    for key, value in source.items():
        if key in target:
            if target[key].shape == value.shape:
                fit[key] = value
            else:
                other.append((key, value, target[key]))
    return fit, other


def widen_state(source: dict, generator: Generator) -> dict:
    """A trained generator's state dict, fitted to ``generator`` where that has more channels in some stage.

    Net2Net-style function-preserving widening for a pixel-norm generator: the trained channels keep
    their weights; channels that are new start from ``generator``'s own random initialisation scaled by
    :data:`WIDEN_INIT_SCALE` (biases and noise strengths at zero), so the wider network starts as
    (almost exactly) the trained one and gradient descent grows the new channels.  Pixel norm divides by
    the RMS over channels: with c_new - c_old channels near zero, the trained ones come out
    sqrt(c_new / c_old) times larger, so every weight that reads them is scaled by sqrt(c_old / c_new).
    (The context encoder's convs read LeakyReLU features, not pixel-normed ones: not rescaled.)  Tensors
    whose shapes already fit are returned unchanged; ones that cannot be widened are left out.
    """
    # The background stream's convs are 2-D: its still frame widens with the stage it mirrors.
    convs = {name for name, m in generator.named_modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))}
    out, grown = _split_by_fit(source, generator)
    for key, value, fresh in grown:
        module, _, kind = key.rpartition(".")
        if kind == "noise_strength" and fresh.shape[0] == value.shape[0] and fresh.shape[1] >= value.shape[1]:
            # (2, C): grain added after the pixel norm, whose trained channels now come out sqrt(c_new / c_old)
            # larger; the grain grows with them, so what the next (rescaled) conv reads is unchanged.  New
            # channels start without grain, as a fresh noise stage does.
            new = torch.zeros_like(fresh)
            new[:, :value.shape[1]] = value.to(new.dtype) * (fresh.shape[1] / value.shape[1]) ** 0.5
            out[key] = new
            continue
        if module not in convs:
            raise ValueError(f"cannot widen: {key} is {tuple(value.shape)} in the trained generator but "
                             f"{tuple(fresh.shape)} here; only stage channels may differ (same preset, "
                             "latent size and classes).")
        grown = (fresh.ndim == value.ndim and all(n >= o for n, o in zip(fresh.shape, value.shape))
                 and fresh.shape[2:] == value.shape[2:])
        if not grown:
            continue
        new = fresh.detach().clone() * WIDEN_INIT_SCALE
        if kind == "bias":
            new.zero_()
        old = value.detach().to(new.dtype)
        if kind == "weight" and fresh.shape[1] > value.shape[1] and not module.startswith("encoder."):
            old = old * (value.shape[1] / fresh.shape[1]) ** 0.5       # reads a pixel-normed, wider input
        new[tuple(slice(0, n) for n in value.shape)] = old
        out[key] = new
    return out


def grow_critic_state(source: dict, critic: Discriminator) -> dict:
    """A critic's weights for one that sees more inputs (``d_motion``, more ``motion_strides``): the new input
    channels get zero weights, so it starts out scoring every clip exactly as the trained one did.  (A new
    patch head, ``d_patch``, starts at zero by construction.)"""
    weight = source.get("from_rgb.weight")
    wanted = critic.from_rgb.weight.shape[1]
    if weight is None or weight.shape[1] >= wanted:
        return source
    extra = weight.new_zeros(weight.shape[0], wanted - weight.shape[1], *weight.shape[2:])
    return {**source, "from_rgb.weight": torch.cat([weight, extra], dim=1)}


def widen_critic_state(source: dict, critic: Discriminator) -> dict:
    """A trained critic's state dict, fitted to ``critic`` where that has more channels in some stage (the critic's
    stages mirror the generator's, so widening G widens D).

    Function-preserving: every trained unit keeps its weights and reads none of the new channels (its weights
    on them are zero), so the wider critic scores every clip exactly as the trained one did; the new units start
    from ``critic``'s own random initialisation, so they have features to learn from at once, and the next layer
    starts to read them as soon as gradient descent finds them useful.  (Instance norm is per channel: the new
    channels do not change how the trained ones are normalised.)  The minibatch-std channel and the layers after
    the last stage are not widened: ``base_channels`` must stay as trained.
    """
    out, grown = _split_by_fit(source, critic)
    for key, value, fresh in grown:
        if (key.startswith(("final_conv.", "fc.")) or fresh.ndim != value.ndim or fresh.shape[2:] != value.shape[2:]
                or any(n < o for n, o in zip(fresh.shape, value.shape))):
            raise ValueError(f"cannot widen the critic: {key} is {tuple(value.shape)} in the trained critic but "
                             f"{tuple(fresh.shape)} here; only stage channels may grow (same base_channels, "
                             "inputs and classes).")
        new = fresh.detach().clone()
        old = value.detach().to(new.dtype)
        if new.ndim > 1:
            new[:old.shape[0]] = 0                                    # trained units read no new channel
        new[tuple(slice(0, n) for n in old.shape)] = old
        out[key] = new
    return out


def load_fitting(module: nn.Module, source: dict, ref: str, what: str) -> None:
    """Copy every tensor of ``source`` whose name and shape fit ``module``; refuse another architecture."""
    target = module.state_dict()
    fit = {k: v for k, v in source.items() if k in target and target[k].shape == v.shape}
    if len(fit) < len(source) / 2:
        raise ValueError(f"--init_from {ref}: only {len(fit)} of its {len(source)} {what} tensors fit this model; "
                         "it is another architecture and cannot start this run.")
    module.load_state_dict(fit, strict=False)
    logger.info("initialised %d of %d %s tensors from %s", len(fit), len(target), what, ref)


def training_sources(ref: str) -> dict[str, dict]:
    """The weights a warm start can use, by role: ``ema`` (always), ``generator`` and ``critic`` (when ``ref`` is a
    checkpoint or a model folder / Hub repo that carries its ``training/`` state), and the model's config."""
    if is_checkpoint(ref):
        folder = Path(ref)
        return {"ema": load_file(str(folder / "ema.safetensors")),
                "generator": load_file(str(folder / "generator.safetensors")),
                "critic": load_file(str(folder / "discriminator.safetensors")), "config": None}
    model = HRVGAN.from_pretrained(ref)
    sources = {"ema": model.generator.state_dict(), "config": model.config}
    state = load_tensors(ref, ("generator", "discriminator"), subfolder=TRAINING_FOLDER)
    if state is not None:
        sources["generator"], sources["critic"] = state["generator"], state["discriminator"]
    return sources


def check_warm_start(ref: str, config: ModelConfig, change_time_padding: bool = False) -> dict[str, dict]:
    """Refuse to start a run of ``config`` from ``ref`` where the run would change what ``ref`` draws (time padding,
    unless ``change_time_padding`` says that is the point; grain; the still wall), saying which option to pass;
    -> ``ref``'s `training_sources`.  `train.py --dry_run` runs it too, so a command is checked before hours are
    spent on it."""
    sources = training_sources(ref)
    trained = sources["config"]
    if trained is not None and trained.time_padding != config.time_padding:
        if not change_time_padding:
            raise ValueError(f"--init_from {ref} was trained with time_padding {trained.time_padding!r}, this run has "
                             f"{config.time_padding!r}: its videos would change; pass --time_padding "
                             f"{trained.time_padding}, or --change_time_padding to retrain it with {config.time_padding!r}.")
        logger.warning("--init_from %s was trained with time_padding %r: this run retrains it with %r (--change_time_padding)",
                       ref, trained.time_padding, config.time_padding)
    if any(k.endswith(".noise_strength") for k in sources["ema"]) and not config.g_noise:
        raise ValueError(f"--init_from {ref} has noise inputs (g_noise) and this run has none: its videos would "
                         "lose their grain; pass --g_noise.")
    if any(k.startswith("background.") for k in sources["ema"]) and not config.g_background:
        raise ValueError(f"--init_from {ref} draws its wall with a background stream (g_background) and this run has "
                         "none: its videos would lose their wall; pass --g_background true.")
    return sources


def warm_start(ref: str, generator: Generator, ema: Generator, critic: Discriminator, widen: bool,
               change_time_padding: bool = False) -> bool:
    """Load ``ref`` into a run's raw generator, EMA generator and critic (``widen``: with more stage channels
    than ``ref`` has, by :func:`widen_state` and :func:`widen_critic_state`).  Returns whether the critic came
    with it (else it starts fresh, and ``optim.d_warmup_steps`` lets it learn before G follows it).
    ``change_time_padding``: see `check_warm_start`."""
    config = generator.config
    sources = check_warm_start(ref, config, change_time_padding)
    if widen and config.g_norm != "pixel":
        raise ValueError("--init_from with other model.channels widens a pixel-norm generator only (g_norm: pixel).")
    for module, role in ((ema, "ema"), (generator, "generator")):
        state = sources.get(role, sources["ema"])
        load_fitting(module, widen_state(state, module) if widen else state, ref, f"{role} generator")
    if "critic" not in sources:
        logger.warning("--init_from %s carries no critic (no %s/ folder): a fresh one starts; give it "
                       "optim.d_warmup_steps to learn before the generator follows it.", ref, TRAINING_FOLDER)
        return False
    state = grow_critic_state(sources["critic"], critic)
    load_fitting(critic, widen_critic_state(state, critic) if widen else state, ref, "critic")
    return True
