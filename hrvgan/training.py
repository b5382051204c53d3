"""The training loop (paper Algorithm 1) on Accelerate: one process or many, CPU or GPU.

    accelerate launch train.py --config configs/weizmann-64.yaml
    python train.py --config configs/tiny.yaml --data PATH --max_steps 100

A run folder holds `config.yaml` (the resolved config), `checkpoints/step-XXXXXXXX/` (the last
`checkpoints_total_limit` of them), `logs/` (TensorBoard), `samples/` and `model/` (the EMA
generator as a `save_pretrained` folder that `HRVGAN.from_pretrained` loads).

Checkpoints keep weights in safetensors and the optimizer / RNG state in files that are loaded
with `torch.load(weights_only=True)`; nothing in them is unpickled as code.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from . import augment, losses
from .config import ModelConfig
from .data import VideoDataset, seed_worker
from .networks import Discriminator, motion_critic_state, widen_state
from .pipeline import HRVGAN
from .video import frame_grid, write_gif, write_grid_png

logger = logging.getLogger("hrvgan.training")


@dataclass
class TrainConfig:
    """Every key can be set in the YAML file and overridden on the command line (--key value)."""

    # data
    data: str = ""                          # dataset folder (or VGAN list file)
    data_format: str = "auto"               # auto | strips | vgan | ucf101 | folder
    ucf_lists: str = ""                     # UCF101's split lists (default: found in, under or beside --data)
    split: str = "train"                    # which split to train on: train | test | all
    frame_stride: int = 1                   # take every n-th frame of the source video
    flip: bool = False                      # random horizontal flips
    cache_dir: str = ""                     # decoded-clip cache (default ~/.cache/hrvgan or $HRVGAN_CACHE)
    num_workers: int = 0                    # DataLoader workers (clips come from a memory map: 0 is fine)
    # model (ModelConfig fields; the class count comes from the data)
    preset: str = "64"                      # paper-256 | 128 | 64 | tiny
    width: float = 1.0                      # channel multiplier
    channels: list = field(default_factory=list)  # per-stage G channels before width (default: the preset's)
    latent_dim: int = 0                     # 0 = the preset's
    g_norm: str = "pixel"                   # pixel (eq. 8) | batch | none
    class_names: list = field(default_factory=list)  # display names for the data's classes (optional)
    conditional: bool = True                # False trains without labels even if the data has classes
    # task: generation from noise, or prediction (X -> Y, paper eqs. 10, 15) by a network that also generates
    task: str = "generation"                # generation | prediction
    context_frames: int = 0                 # m, frames given (prediction); 0 = half the clip
    predicted_frames: int = 0               # n, frames predicted; 0 = the rest of the clip (m + n = frames)
    warp: bool = False                      # prediction: Ŷ moves the last context frame's pixels (flow) + draws what appears
    generation_prob: float = 0.5            # prediction task: share of steps with the context dropped (m = 0: generation)
    init_from: str = ""                     # a model folder (G) or a run's checkpoint folder (G and D) to start from
    time_padding: str = "zeros"             # G's convs beyond the first / last frame: zeros (paper) | replicate
    d_motion: bool = False                  # D also sees frame differences (flicker, smear); see networks.Discriminator
    g_noise: bool = False                   # G gets per-pixel noise inputs (sensor grain); see networks.GeneratorStage
    d_patch: bool = False                   # D also scores local neighbourhoods (smooth blobs where texture belongs); see networks.Discriminator
    d_warmup_steps: int = 0                 # train D alone for the first n steps (a fresh critic for a trained G)
    # optimisation (Algorithm 1)
    max_steps: int = 10000                  # generator steps
    batch_size: int = 8                     # videos per process per step
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.99
    n_critic: int = 1                       # D steps per G step
    loss: str = "wgan-gp"                   # wgan-gp (eqs. 5-6) | bce (eqs. 12-14)
    gp_weight: float = 10.0                 # lambda of the gradient penalty (eq. 6)
    gp_every: int = 1                       # apply the penalty every n D steps (lazy regularisation)
    drift_weight: float = 0.001             # epsilon_drift * E[D(x)^2]
    adv_weight: float = 1.0                 # alpha of eq. 15
    mse_weight: float = 0.0                 # beta of eq. 15: the pixel loss of eq. 10 on predicted frames (prediction steps)
    ssim_weight: float = 0.0                # prediction steps: + weight * (1 - SSIM(Ŷ, Y)) (not in the paper: keeps Ŷ sharp)
    augment: str = ""                       # DiffAugment before D: comma-separated color,translation,cutout ("" = none)
    diversity_weight: float = 0.0           # mode-seeking term (MSGAN): keeps seeds of one class apart
    ema_decay: float = 0.999                # EMA of G's weights (used for samples and export)
    mixed_precision: str = ""               # no | bf16 | fp16; "" = what `accelerate launch` / its config says
    gradient_accumulation_steps: int = 1    # micro-batches summed into each D and G update (Accelerate scales the losses)
    seed: int = 0
    # run folder, logging, checkpoints
    output_dir: str = "runs/hrvgan"
    log_every: int = 10
    sample_every: int = 500                 # sample grid + gif of fixed seeds/classes to samples/ and TensorBoard
    checkpoint_every: int = 500
    checkpoints_total_limit: int = 3
    resume: str = "latest"                  # latest | none | path to a checkpoint folder
    export_every: int = 0                   # also export model/ every n steps (0 = only at the end)
    # hub
    push_to_hub: bool = False
    hub_model_id: str = ""
    hub_private: bool = False
    hub_token: str = ""                     # default: HF_TOKEN / the saved login

    def __post_init__(self):
        checks = [
            (self.loss in losses.D_LOSSES, f"loss must be one of {sorted(losses.D_LOSSES)}, got {self.loss!r}"),
            (self.mixed_precision in ("", "no", "bf16", "fp16"), f"mixed_precision must be no, bf16 or fp16, got {self.mixed_precision!r}"),
            (self.max_steps >= 0, "max_steps must be >= 0"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.n_critic >= 1, "n_critic must be >= 1"),
            (self.checkpoint_every >= 1, "checkpoint_every must be >= 1"),
            (self.checkpoints_total_limit >= 1, "checkpoints_total_limit must be >= 1"),
            (0 <= self.ema_decay < 1, "ema_decay must be in [0, 1)"),
            (not self.push_to_hub or self.hub_model_id, "--push_to_hub needs --hub_model_id user/name"),
            (self.task in ("generation", "prediction"), f"task must be generation or prediction, got {self.task!r}"),
            (0 <= self.generation_prob < 1, "generation_prob must be in [0, 1)"),
            (self.context_frames >= 0 and self.predicted_frames >= 0, "context_frames and predicted_frames must be >= 0"),
            (min(self.adv_weight, self.mse_weight, self.ssim_weight, self.diversity_weight) >= 0,
             "adv_weight, mse_weight, ssim_weight and diversity_weight must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        augment.parse_policy(self.augment)
        try:    # the CLI hands over strings; the saved config.yaml should hold numbers
            self.channels = [int(c) for c in self.channels]
        except (TypeError, ValueError):
            raise ValueError(f"channels must be whole numbers, one per generator stage, got {self.channels!r}.") from None

    @classmethod
    def from_yaml(cls, path, **overrides) -> "TrainConfig":
        values = yaml.safe_load(Path(path).read_text()) or {}
        values.update(overrides)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config keys {unknown} in {path}; see `python train.py --help`.")
        return cls(**values)

    def model_config(self, class_names: list[str]) -> ModelConfig:
        names = list(self.class_names) or class_names
        if self.class_names and len(self.class_names) != len(class_names):
            raise ValueError(f"class_names lists {len(self.class_names)} names but the data has "
                             f"{len(class_names)} classes ({class_names}).")
        overrides = dict(width=self.width, g_norm=self.g_norm, time_padding=self.time_padding, d_motion=self.d_motion,
                         g_noise=self.g_noise, d_patch=self.d_patch)
        frames = ModelConfig.from_preset(self.preset).frames
        if self.task == "prediction":
            m = self.context_frames or (frames - self.predicted_frames if self.predicted_frames else frames // 2)
            n = self.predicted_frames or frames - m
            if m + n != frames or not 0 < m < frames:
                raise ValueError(f"context_frames ({m}) + predicted_frames ({n}) must equal the preset's {frames} frames, "
                                 "each at least 1: the pair (X, Y) is cut from one clip of the model's length.")
            overrides["context_frames"] = m
            overrides["warp"] = self.warp
        elif self.context_frames or self.predicted_frames or self.warp:
            raise ValueError("context_frames / predicted_frames / warp need --task prediction.")
        if self.latent_dim:
            overrides["latent_dim"] = self.latent_dim
        if self.channels:
            stages = len(ModelConfig.from_preset(self.preset).channels)
            if len(self.channels) != stages:
                raise ValueError(f"channels lists {len(self.channels)} stages but preset {self.preset} has {stages}; "
                                 "give one count per generator stage, e.g. --channels 128 128 64 64.")
            overrides["channels"] = tuple(self.channels)
        if not self.conditional:
            names = []
        return ModelConfig.from_preset(self.preset, num_classes=len(names), class_names=tuple(names), **overrides)


# --- checkpoints -------------------------------------------------------------------------------------

def is_checkpoint(folder) -> bool:
    """A finished checkpoint folder: state.json is written last."""
    return (Path(folder) / "state.json").exists()


def list_checkpoints(output_dir) -> list[Path]:
    folder = Path(output_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and p.name.startswith("step-") and is_checkpoint(p)),
                  key=lambda p: int(p.name.split("-")[1]))


def resolve_resume(resume: str, output_dir) -> Path | None:
    if resume in ("", "none", "no", None):
        return None
    if resume == "latest":
        found = list_checkpoints(output_dir)
        return found[-1] if found else None
    path = Path(resume)
    if not is_checkpoint(path):
        raise FileNotFoundError(f"--resume {resume}: not a checkpoint folder (no state.json); "
                                f"use 'latest' or one of {[str(p) for p in list_checkpoints(output_dir)]}.")
    return path


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


class Trainer:
    def __init__(self, cfg: TrainConfig, accelerator: Accelerator | None = None):
        self.cfg = cfg
        self.out = Path(cfg.output_dir)
        self.accelerator = accelerator or Accelerator(
            mixed_precision=cfg.mixed_precision or None,
            gradient_accumulation_steps=cfg.gradient_accumulation_steps,
            # pinned batches copied without blocking: the host does not wait for the GPU's queue at each batch
            dataloader_config=DataLoaderConfiguration(non_blocking=True),
            log_with="tensorboard",
            project_config=ProjectConfiguration(project_dir=str(self.out), logging_dir=str(self.out / "logs")),
        )
        acc = self.accelerator
        preset = ModelConfig.from_preset(cfg.preset)
        with acc.main_process_first():  # rank 0 decodes and caches; the others then read its cache
            self.dataset = VideoDataset(cfg.data, frames=preset.frames, resolution=preset.resolution,
                                        data_format=cfg.data_format, split=cfg.split, frame_stride=cfg.frame_stride,
                                        flip=cfg.flip, cache_dir=cfg.cache_dir or None, ucf_lists=cfg.ucf_lists or None,
                                        seed=cfg.seed * 1000 + acc.process_index, progress=acc.is_local_main_process)
        self.model_config = cfg.model_config(self.dataset.class_names)
        mc = self.model_config
        set_seed(cfg.seed)  # the same initial weights on every rank
        self.pipeline = HRVGAN(mc)                 # holds the EMA generator: what gets exported
        if cfg.init_from:
            self.init_generator(cfg.init_from)
        self.G = copy.deepcopy(self.pipeline.generator).train().requires_grad_(True)
        self.D = Discriminator(mc).train()
        # A run's checkpoint: its critic too (one that gains frame differences, d_motion, or a patch head, d_patch,
        # starts as the trained one: networks.motion_critic_state, a zero head), and the EMA goes on from the
        # checkpoint's average.
        if cfg.init_from and is_checkpoint(cfg.init_from):
            critic = load_file(str(Path(cfg.init_from) / "discriminator.safetensors"))
            self._load_fitting(self.D, motion_critic_state(critic, self.D), cfg.init_from)
            self.init_generator(cfg.init_from, "ema")
        self.ema = self.pipeline.generator.requires_grad_(False)
        for m in (self.G, self.D, self.ema):
            m.to(acc.device)
        set_seed(cfg.seed, device_specific=True)  # from here on each rank draws its own random numbers
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        if len(self.dataset) < cfg.batch_size:
            raise ValueError(f"the training split has {len(self.dataset)} videos, fewer than batch_size {cfg.batch_size}.")
        loader_gen = torch.Generator().manual_seed(cfg.seed)
        self.loader = DataLoader(self.dataset, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                                 num_workers=cfg.num_workers, worker_init_fn=seed_worker, generator=loader_gen,
                                 pin_memory=acc.device.type == "cuda",
                                 persistent_workers=cfg.num_workers > 0)
        # Models are not wrapped in DDP: the gradient penalty needs a double backward through D, which DDP's
        # reducer does not support; gradients are averaged across ranks explicitly (all_reduce_grads).
        self.opt_g, self.opt_d, self.loader = acc.prepare(self.opt_g, self.opt_d, self.loader)
        self.z_gen = torch.Generator(device=acc.device).manual_seed(cfg.seed * 7919 + acc.process_index)
        self.step = 0
        self.d_steps = 0
        self.data_time = 0.0
        self.data_digest = torch.zeros((), dtype=torch.float64, device=acc.device)  # kept on the device: no sync
        self.push_ok: bool | None = None
        self.stop_requested: str | None = None

    # -- helpers --------------------------------------------------------------------------------------
    def init_generator(self, ref: str, weights: str = "generator") -> None:
        """Load a trained generator into the pipeline's (the EMA's) generator: a model folder or Hub id
        (which must share this run's ``time_padding``), or a run's checkpoint folder, whose `weights`
        file ("generator", raw, or "ema") is read; either, if it has noise inputs, needs ``g_noise``.
        Every tensor whose name and shape fit is copied, so a model may gain a part (e.g. ``warp``) that starts at its initial values.  A
        generator with more channels in some stage (``--channels``) starts as the trained one, widened:
        see :func:`~hrvgan.networks.widen_state`."""
        if is_checkpoint(ref):
            source = load_file(str(Path(ref) / f"{weights}.safetensors"))
        else:
            trained = HRVGAN.from_pretrained(ref)
            if trained.config.time_padding != self.model_config.time_padding:
                raise ValueError(f"--init_from {ref} was trained with time_padding {trained.config.time_padding!r}, this "
                                 f"run has {self.model_config.time_padding!r}: its videos would change; pass "
                                 f"--time_padding {trained.config.time_padding}.")
            source = trained.generator.state_dict()
        if any(k.endswith(".noise_strength") for k in source) and not self.model_config.g_noise:
            raise ValueError(f"--init_from {ref} has noise inputs (g_noise) and this run has none: its videos would "
                             "lose their grain; pass --g_noise.")
        generator = self.pipeline.generator
        if self.cfg.channels:   # asked for other stage widths: a narrower trained G starts it, widened
            if self.model_config.g_norm != "pixel":
                raise ValueError("--init_from with --channels widens a pixel-norm generator only (g_norm: pixel).")
            source = widen_state(source, generator)
        self._load_fitting(generator, source, ref)

    def _load_fitting(self, module: torch.nn.Module, source: dict, ref: str) -> None:
        target = module.state_dict()
        fit = {k: v for k, v in source.items() if k in target and target[k].shape == v.shape}
        if len(fit) < len(source) / 2:
            raise ValueError(f"--init_from {ref}: only {len(fit)} of its {len(source)} tensors fit this model "
                             f"({self.model_config.preset}, width {self.model_config.width}); it is another architecture "
                             "and cannot start this run.")
        module.load_state_dict(fit, strict=False)
        self.log("initialised %d of %d %s tensors from %s", len(fit), len(target), type(module).__name__.lower(), ref)

    def predicting(self) -> bool:
        """Whether this step trains prediction (else generation): the same answer on every rank and on resume."""
        if self.model_config.context_frames == 0:
            return False
        draw = np.random.default_rng([self.cfg.seed, self.step]).random()
        return bool(draw >= self.cfg.generation_prob)

    def fake_clips(self, real: torch.Tensor, labels, z: torch.Tensor, predict: bool, noise=None) -> torch.Tensor:
        """Generated clips; on prediction steps the first m frames are the real context X and the rest G's Ŷ."""
        if not predict:
            return self.G(z, labels, noise=noise)
        m = self.model_config.context_frames
        context = real[:, :, :m]
        out = self.G(z, labels, context=context, noise=noise)
        return torch.cat([context.to(out.dtype), out[:, :, m:]], dim=2)

    def critic(self, videos: torch.Tensor, labels) -> torch.Tensor:
        return self.D(augment.augment(videos, self.cfg.augment), labels)

    def log(self, msg, *args):
        if self.accelerator.is_main_process:
            logger.info(msg, *args)

    def all_reduce_grads(self, model: torch.nn.Module) -> None:
        if self.accelerator.num_processes == 1:
            return
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        flat = torch.cat([g.reshape(-1) for g in grads])
        flat = self.accelerator.reduce(flat, reduction="mean")
        i = 0
        for g in grads:
            g.copy_(flat[i:i + g.numel()].view_as(g))
            i += g.numel()

    def labels_for(self, labels: torch.Tensor) -> torch.Tensor | None:
        return labels.to(self.accelerator.device) if self.model_config.conditional else None

    def batches(self):
        while True:
            t0 = time.perf_counter()
            for real, labels in self.loader:
                self.data_time += time.perf_counter() - t0
                self.data_digest = (self.data_digest * 31 + real.double().sum()) % 1e9  # what this rank saw
                yield real, labels
                t0 = time.perf_counter()

    def new_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.model_config.latent_dim, generator=self.z_gen, device=self.accelerator.device)

    @torch.no_grad()
    def update_ema(self) -> None:
        decay = min(self.cfg.ema_decay, (1 + self.step) / (10 + self.step))  # warm-up: follow G early on
        for pe, p in zip(self.ema.parameters(), self.G.parameters()):
            pe.lerp_(p.detach(), 1 - decay)
        for be, b in zip(self.ema.buffers(), self.G.buffers()):
            be.copy_(b)

    # -- Algorithm 1 ----------------------------------------------------------------------------------
    def d_step(self, data) -> dict:
        """One D update from gradient_accumulation_steps micro-batches (Accelerate scales each loss)."""
        cfg, acc = self.cfg, self.accelerator
        predict = self.predicting()
        for _ in range(acc.gradient_accumulation_steps):
            real, labels = next(data)
            labels = self.labels_for(labels)
            with torch.no_grad(), acc.autocast():
                fake = self.fake_clips(real, labels, self.new_z(real.shape[0]), predict)
            with acc.autocast():
                # One augmentation draw for real and fake each; the penalty sees the same augmented pair.
                real, fake = augment.augment(real, cfg.augment), augment.augment(fake.float(), cfg.augment)
                real_scores, fake_scores = self.D(real, labels), self.D(fake, labels)
                loss = losses.D_LOSSES[cfg.loss](real_scores.float(), fake_scores.float())        # Loss/D/adv
                logs = {"Loss/D/adv": loss.detach()}
                if cfg.loss == "wgan-gp":
                    drift = losses.drift_penalty(real_scores.float())                                # Loss/D/drift
                    loss = loss + cfg.drift_weight * drift
                    logs["Loss/D/drift"] = drift.detach()
                if cfg.loss == "wgan-gp" and cfg.gp_weight > 0 and self.d_steps % cfg.gp_every == 0:
                    gp = losses.gradient_penalty(self.D, real, fake, labels).float()                  # Loss/D/gp
                    loss = loss + cfg.gp_weight * cfg.gp_every * gp
                    logs["Loss/D/gp"] = gp.detach()
            acc.backward(loss)
        self.all_reduce_grads(self.D)
        self.opt_d.step()
        self.opt_d.zero_grad(set_to_none=True)
        self.d_steps += 1
        logs["Loss/D/total"] = loss.detach()
        logs["Scores/real"], logs["Scores/fake"] = real_scores.detach().float().mean(), fake_scores.detach().float().mean()
        return logs

    def g_step(self, data) -> dict:
        cfg, acc = self.cfg, self.accelerator
        predict = self.predicting()
        self.D.requires_grad_(False)
        for _ in range(acc.gradient_accumulation_steps):
            real, labels = next(data)
            labels = self.labels_for(labels)
            z, half = self.new_z(real.shape[0]), real.shape[0] // 2
            noise = None
            if cfg.diversity_weight > 0:  # pairs (i, half + i) share class, context and noise inputs, not z
                real = torch.cat([real[:half], real[:half], real[2 * half:]])
                if labels is not None:
                    labels = torch.cat([labels[:half], labels[:half], labels[2 * half:]])
                noise = self.G.make_noise(real.shape[0], device=acc.device)
                if noise is not None:  # else the diversity term would pay G for louder grain, not for using z
                    noise = [torch.cat([n[:half], n[:half], n[2 * half:]]) for n in noise]
            with acc.autocast():
                fake = self.fake_clips(real, labels, z, predict, noise)
                adv = losses.G_LOSSES[cfg.loss](self.critic(fake, labels).float())                  # Loss/G/adv
                logs = {"Loss/G/adv": adv.detach()}
                if predict:
                    m = self.model_config.context_frames
                    pixel = losses.mse_loss(fake[:, :, m:].float(), real[:, :, m:].float())         # eq. 10: Ŷ vs Y
                    loss = losses.combined_loss(adv, pixel, cfg.adv_weight, cfg.mse_weight)          # eq. 15
                    logs["Loss/G/mse"] = pixel.detach()
                    if cfg.ssim_weight > 0:
                        structure = losses.ssim_loss(fake[:, :, m:].float(), real[:, :, m:].float())  # Loss/G/ssim
                        loss = loss + cfg.ssim_weight * structure
                        logs["Loss/G/ssim"] = structure.detach()
                else:
                    loss = cfg.adv_weight * adv
                if cfg.diversity_weight > 0 and half > 0:
                    ms = losses.mode_seeking_loss(fake[:half].float(), fake[half:2 * half].float(),
                                                  z[:half], z[half:2 * half])                         # Loss/G/diversity
                    loss = loss + cfg.diversity_weight * ms
                    logs["Loss/G/diversity"] = ms.detach()
            acc.backward(loss)
        self.all_reduce_grads(self.G)
        self.opt_g.step()
        self.opt_g.zero_grad(set_to_none=True)
        self.D.requires_grad_(True)
        return logs

    # -- checkpoints ----------------------------------------------------------------------------------
    def rank_report(self) -> list[dict]:
        """Per rank: a checksum of G and D (must agree: the ranks train one model) and of the data seen."""
        acc = self.accelerator
        checksum = sum(p.detach().double().sum() for m in (self.G, self.D) for p in m.parameters())
        mine = torch.tensor([acc.process_index, float(checksum), float(self.data_digest)], dtype=torch.float64, device=acc.device)
        rows = acc.gather(mine[None]).cpu().tolist()
        report = [{"rank": int(r), "weights_checksum": c, "data_digest": d} for r, c, d in rows]
        spread = max(r["weights_checksum"] for r in report) - min(r["weights_checksum"] for r in report)
        if spread > 1e-6 * max(1.0, abs(report[0]["weights_checksum"])):
            raise RuntimeError(f"the ranks' weights have drifted apart (checksums {[r['weights_checksum'] for r in report]}); "
                               "gradients are not being averaged across processes.")
        return report

    def save_checkpoint(self) -> Path:
        acc = self.accelerator
        folder = self.out / "checkpoints" / f"step-{self.step:08d}"
        tmp = folder.with_name(folder.name + ".tmp")
        ranks = self.rank_report()
        acc.wait_for_everyone()
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for name, module in (("generator", self.G), ("discriminator", self.D), ("ema", self.ema)):
                save_file({k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()},
                          str(tmp / f"{name}.safetensors"))
            torch.save({"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                        "scaler": acc.scaler.state_dict() if acc.scaler is not None else {}},
                       tmp / "optimizers.pt")
        acc.wait_for_everyone()
        # Every rank saves its own RNG streams (torch, CUDA, the latent generator, the clip sampler).
        loader_gen = self.loader_generator()
        rng = {**_rng_state(), "z": self.z_gen.get_state(),
               "loader": loader_gen.get_state() if loader_gen is not None else torch.empty(0, dtype=torch.uint8)}
        torch.save(rng, tmp / f"rng_{acc.process_index}.pt")
        np_state = self.dataset.rng.bit_generator.state
        (tmp / f"clips_rng_{acc.process_index}.json").write_text(json.dumps(np_state))
        acc.wait_for_everyone()
        if acc.is_main_process:
            (tmp / "config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(self.cfg), sort_keys=False))
            # state.json is written last: a folder without it is an unfinished checkpoint.
            (tmp / "state.json").write_text(json.dumps(
                {"step": self.step, "num_processes": acc.num_processes, "ranks": ranks}, indent=1))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
            for old in list_checkpoints(self.out)[:-self.cfg.checkpoints_total_limit]:
                shutil.rmtree(old, ignore_errors=True)
            logger.info("saved checkpoint %s", folder)
        acc.wait_for_everyone()
        return folder

    def loader_generator(self) -> torch.Generator | None:
        """The shuffling generator of the (Accelerate-wrapped) DataLoader."""
        return getattr(getattr(self.loader, "base_dataloader", self.loader), "generator", None)

    def load_checkpoint(self, folder: Path) -> None:
        acc = self.accelerator
        state = json.loads((folder / "state.json").read_text())
        for name, module in (("generator", self.G), ("discriminator", self.D), ("ema", self.ema)):
            try:
                module.load_state_dict(load_file(str(folder / f"{name}.safetensors"), device=str(acc.device)))
            except RuntimeError as e:
                raise ValueError(f"checkpoint {folder} does not fit this config ({name}): {str(e).splitlines()[0]} "
                                 "Resume with the config the run was started with, or start a new --output_dir.") from e
        opt = torch.load(folder / "optimizers.pt", map_location="cpu", weights_only=True)
        self.opt_g.load_state_dict(opt["opt_g"])
        self.opt_d.load_state_dict(opt["opt_d"])
        # The optimizer state carries the old hyper-parameters; the config of this run wins.
        for optimizer, lr in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in optimizer.param_groups:
                group["lr"], group["betas"] = lr, (self.cfg.beta1, self.cfg.beta2)
        if acc.scaler is not None and opt["scaler"]:
            acc.scaler.load_state_dict(opt["scaler"])
        rng_file = folder / f"rng_{acc.process_index}.pt"
        if rng_file.exists() and state.get("num_processes") == acc.num_processes:
            rng = torch.load(rng_file, weights_only=True)
            torch.set_rng_state(rng["torch"])
            if rng["cuda"]:
                torch.cuda.set_rng_state_all(rng["cuda"])
            self.z_gen.set_state(rng["z"])
            gen = self.loader_generator()
            if gen is not None and rng["loader"].numel():
                gen.set_state(rng["loader"])
            clip_state = folder / f"clips_rng_{acc.process_index}.json"
            if clip_state.exists():
                self.dataset.rng.bit_generator.state = json.loads(clip_state.read_text())
        else:
            self.log("RNG state of %s was saved with another process count: continuing with fresh seeds", folder)
        self.step = state["step"]
        self.log("resumed from %s at step %d", folder, self.step)

    # -- samples and export ---------------------------------------------------------------------------
    def sample_seeds(self) -> tuple[list, list[int]]:
        mc = self.model_config
        if mc.conditional:
            classes = [c for c in range(mc.num_classes) for _ in range(2)]
            return classes, list(range(len(classes)))
        return None, list(range(8))

    def write_samples(self) -> None:
        if not self.accelerator.is_main_process:
            return
        classes, seeds = self.sample_seeds()
        videos = self.pipeline.sample(classes=classes, seeds=seeds)
        folder = self.out / "samples"
        write_grid_png(videos, folder / f"step-{self.step:08d}.png")
        write_gif(np.concatenate(list(videos), axis=2), folder / f"step-{self.step:08d}.gif")
        tracker = self.accelerator.get_tracker("tensorboard", unwrap=True)
        if tracker is not None and hasattr(tracker, "add_image"):  # the grid: a row per sample, a column per frame
            tracker.add_image("Samples/ema", frame_grid(videos, max_frames=8), self.step, dataformats="HWC")
            # The same samples as playing videos (TensorBoard's add_video encodes them with moviepy).
            tracker.add_video("Samples/video", torch.from_numpy(videos).permute(0, 1, 4, 2, 3), self.step, fps=8)

    def export(self, folder: Path | None = None, metrics: dict | None = None) -> Path:
        """Write the EMA generator as a save_pretrained folder (model/) with a model card and sample GIF."""
        folder = folder or self.out / "model"
        if self.accelerator.is_main_process:
            tmp = folder.with_name(folder.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            classes, seeds = self.sample_seeds()
            videos = self.pipeline.sample(classes=classes, seeds=seeds)
            write_gif(np.concatenate(list(videos[: min(4, len(videos))]), axis=2), tmp / "sample.gif", scale=2)
            cfg = self.cfg
            command = "accelerate launch train.py " + " ".join(a for a in sys.argv[1:]) if sys.argv[1:] else None
            self.pipeline.save_pretrained(tmp, model_card_kwargs={
                "training_data": f"{cfg.data} ({self.dataset.format}, split={cfg.split}, {len(self.dataset)} videos)",
                "training_command": command, "steps": self.step, "metrics": metrics, "sample_gif": "sample.gif"})
            (tmp / "training_config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
            logger.info("exported the EMA generator to %s", folder)
        self.accelerator.wait_for_everyone()
        return folder

    def push(self, folder: Path) -> bool:
        """Upload model/ to the Hub; a failure is reported and the local folder kept."""
        if not self.accelerator.is_main_process:
            return True
        from huggingface_hub import HfApi
        try:
            api = HfApi(token=self.cfg.hub_token or None)
            repo = api.create_repo(self.cfg.hub_model_id, private=self.cfg.hub_private, exist_ok=True)
            api.upload_folder(repo_id=repo.repo_id, folder_path=str(folder),
                              commit_message=f"HRVGAN weights at step {self.step}")
        except Exception as e:  # noqa: BLE001 - any Hub failure leaves the local model as it is
            logger.error("push to the Hub failed (%s: %s); the model is kept in %s — push it later with "
                         "`hf upload %s %s`", type(e).__name__, str(e).splitlines()[0] if str(e) else "", folder,
                         self.cfg.hub_model_id, folder)
            return False
        logger.info("pushed %s to %s", folder, self.cfg.hub_model_id)
        return True

    # -- the loop -------------------------------------------------------------------------------------
    def _request_stop(self, signum, frame):
        self.stop_requested = signal.Signals(signum).name

    def train(self) -> Path:
        cfg, acc = self.cfg, self.accelerator
        if acc.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.yaml").write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
        resume = resolve_resume(cfg.resume, self.out)
        if resume is not None:
            self.load_checkpoint(resume)
        acc.init_trackers("hrvgan")
        self.log("training %s on %d videos (%s) with %d process(es), batch %d/process, %d classes: %s",
                 self.model_config.preset, len(self.dataset), self.dataset.format, acc.num_processes,
                 cfg.batch_size, self.model_config.num_classes, self.model_config.class_names)
        old_handlers = {s: signal.signal(s, self._request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
        data = self.batches()
        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not acc.is_main_process, desc="train", unit="step")
        t_start, step_start, last_good = time.perf_counter(), self.step, None
        try:
            while self.step < cfg.max_steps:
                logs = {}
                for _ in range(cfg.n_critic):
                    logs.update(self.d_step(data))
                if self.step >= cfg.d_warmup_steps:  # a fresh critic's first gradients would only damage a trained G
                    logs.update(self.g_step(data))
                    self.update_ema()
                self.step += 1
                values = {k: float(v) for k, v in logs.items()}
                bad = [k for k, v in values.items() if not math.isfinite(v)]
                if bad:
                    raise FloatingPointError(
                        f"{', '.join(bad)} became {values[bad[0]]} at step {self.step}; stopping. The last good "
                        f"checkpoint is {last_good or resolve_resume('latest', self.out) or 'none'}: lower the "
                        "learning rates or use mixed_precision=no, and resume from it.")
                elapsed = time.perf_counter() - t_start
                vps = ((self.step - step_start) * cfg.batch_size * (cfg.n_critic + 1) * acc.gradient_accumulation_steps
                       * acc.num_processes / max(elapsed, 1e-9))
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    acc.log({**values, "Perf/videos_per_s": vps,
                             "Perf/data_share": self.data_time / max(elapsed, 1e-9)}, step=self.step)
                bar.set_postfix(d=f"{values['Loss/D/total']:.3f}", g=f"{values.get('Loss/G/adv', float('nan')):.3f}",
                                vps=f"{vps:.1f}")
                bar.update(1)
                if self.step % cfg.checkpoint_every == 0:
                    last_good = self.save_checkpoint()
                if cfg.sample_every and self.step % cfg.sample_every == 0:
                    self.write_samples()
                if cfg.export_every and self.step % cfg.export_every == 0:
                    self.export()
                if self.stop_requested:
                    break
        finally:
            bar.close()
            for s, h in old_handlers.items():
                signal.signal(s, h)
        if self.stop_requested:
            self.log("%s received: saving a checkpoint at step %d before exiting", self.stop_requested, self.step)
            self.save_checkpoint()
            acc.end_training()
            raise KeyboardInterrupt(f"stopped by {self.stop_requested}; resume with --resume latest")
        saved = list_checkpoints(self.out)
        if not saved or saved[-1].name != f"step-{self.step:08d}":
            self.save_checkpoint()
        folder = self.export()
        if cfg.push_to_hub:
            self.push_ok = self.push(folder)
        acc.end_training()
        return folder


def train(cfg: TrainConfig) -> Trainer:
    trainer = Trainer(cfg)
    trainer.train()
    return trainer
