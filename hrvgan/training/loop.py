"""The training loop (paper Algorithm 1) on Accelerate: one process or many, CPU or GPU.

    accelerate launch train.py --config configs/weizmann-64.yaml --data ../shared/data/weizmann-actions

A run folder holds ``config.yaml`` (the resolved recipe), ``checkpoints/step-XXXXXXXX/`` (checkpoint.py),
``logs/`` (TensorBoard), ``samples/`` and ``model/`` (export.py).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .. import augment
from ..config import ModelConfig
from ..data import EpochSampler, VideoDataset
from ..networks import Discriminator
from ..pipeline import HRVGAN
from . import checkpoint as ckpt
from .config import TrainConfig
from .export import export_model, keep_copy, push_folder, write_samples
from .loss import GANLoss, pair_up
from .warmstart import warm_start

logger = logging.getLogger("hrvgan.training")


class Trainer:
    def __init__(self, cfg: TrainConfig, accelerator: Accelerator | None = None):
        self.cfg, self.out = cfg, Path(cfg.run.output_dir)
        self.accelerator = acc = accelerator or Accelerator(
            mixed_precision=cfg.optim.mixed_precision or None,
            gradient_accumulation_steps=cfg.optim.gradient_accumulation_steps,
            dataloader_config=DataLoaderConfiguration(non_blocking=True),   # pinned batches, copied without waiting
            log_with="tensorboard",
            project_config=ProjectConfiguration(project_dir=str(self.out), logging_dir=str(self.out / "logs")))
        self.autocast, self.precision = acc.autocast, {"no": "fp32"}.get(acc.mixed_precision, acc.mixed_precision)
        if acc.device.type == "cpu" and acc.mixed_precision == "bf16" and not cpu_has_bf16():
            if acc.is_main_process:
                logger.warning("mixed_precision bf16 asked for, but this CPU has no bf16 instructions (AVX-512 BF16 or AMX): "
                               "PyTorch would emulate them, 28-56x slower than fp32 (bench/bench_bf16.py). Training "
                               "in fp32; HRVGAN_CPU_BF16=1 forces bf16.")
            self.autocast, self.precision = contextlib.nullcontext, "fp32"
        if not cfg.data.path:
            raise ValueError("no data: give --data PATH (or data.path in the recipe).")
        preset = ModelConfig.from_preset(cfg.model["preset"])
        with acc.main_process_first():  # rank 0 decodes and caches; the others then read its cache
            self.dataset = VideoDataset(cfg.data.path, frames=preset.frames, resolution=preset.resolution,
                                        data_format=cfg.data.format, split=cfg.data.split,
                                        frame_stride=cfg.data.frame_stride, flip=cfg.data.flip,
                                        cache_dir=cfg.data.cache_dir or None, ucf_lists=cfg.data.ucf_lists or None,
                                        seed=cfg.optim.seed, progress=acc.is_local_main_process,
                                        drop_empty_classes=cfg.data.drop_empty_classes)
        self.model_config = mc = cfg.model_config(self.dataset.class_names)
        set_seed(cfg.optim.seed)  # the same initial weights on every rank
        self.pipeline = HRVGAN(mc)                                        # holds the EMA generator: what is exported
        self.ema = self.pipeline.generator
        self.G, self.D = copy.deepcopy(self.ema), Discriminator(mc)
        self.has_critic = True
        if cfg.run.init_from:
            widen = "channels" in cfg.model
            self.has_critic = warm_start(cfg.run.init_from, self.G, self.ema, self.D, widen,
                                          change_time_padding=cfg.run.change_time_padding)
        # The mask is held only in a run from scratch.  A warm start is past that stage: from a model without the
        # stream its mask starts released (0.95); from one with a trained stream, a hold or release would erase it.
        self.background_start = 0 if cfg.run.init_from else cfg.loss.background_start
        if mc.turn:
            raise ValueError("model.turn predicts by turning, with nothing to train adversarially: train a generator "
                             "(model.turn false, context_frames 0), then make the turning model from it with `python -m "
                             "hrvgan fit-turn --model <its model/ folder> --data ...`.")
        if cfg.loss.warp_weight and not (mc.warp and mc.context_frames):
            raise ValueError("loss.warp_weight compares a predictor's moved layer with the truth: it needs model.warp "
                             "true and model.context_frames > 0 (or set it to 0).")
        if cfg.loss.adv_weight == 0 and not (mc.context_frames and cfg.loss.generation_prob == 0):
            raise ValueError("loss.adv_weight 0 leaves G only the pixel losses of prediction steps: it needs a prediction "
                             "model (model.context_frames > 0) trained on prediction alone (loss.generation_prob 0).")
        if cfg.loss.background_start:
            if not mc.g_background:
                raise ValueError("loss.background_start holds the background stream's mask: it needs model.g_background true.")
            if cfg.run.init_from:
                self.log("loss.background_start %d is for runs from scratch: --init_from %s starts with the mask "
                         "as that model has it (0.95 where it has no background stream)",
                         cfg.loss.background_start, cfg.run.init_from)
            else:
                for g in (self.G, self.ema):   # a resumed run's checkpoint then brings the mask as it was
                    g.hold_mask(True)
        self.G.train().requires_grad_(True)
        self.D.train()
        self.ema.requires_grad_(False)
        for m in (self.G, self.D, self.ema):
            m.to(acc.device)
        set_seed(cfg.optim.seed, device_specific=True)  # from here on each rank draws its own random numbers
        o = cfg.optim
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2))
        if len(self.dataset) < o.batch_size:
            raise ValueError(f"the training split has {len(self.dataset)} videos, fewer than batch_size {o.batch_size}.")
        self.sampler = EpochSampler(len(self.dataset), o.seed)
        # Its own generator: making a loader's iterator would otherwise draw from the global RNG (a resumed run,
        # which makes one more, would then draw other noise than an uninterrupted one).
        loader = DataLoader(self.dataset, batch_size=o.batch_size, sampler=self.sampler, drop_last=True,
                            generator=torch.Generator().manual_seed(o.seed),
                            num_workers=cfg.data.num_workers, pin_memory=acc.device.type == "cuda",
                            persistent_workers=cfg.data.num_workers > 0)
        # G and D are not wrapped in DDP: the gradient penalty needs a double backward through D, which DDP's
        # reducer does not support; gradients are averaged across ranks explicitly (all_reduce_grads), once per
        # update, so Accelerate's `accumulate` (whose job is to skip DDP syncs) has nothing to do: the
        # micro-batches are summed by `accelerator.backward`, which scales each loss.
        self.opt_g, self.opt_d, self.loader = acc.prepare(self.opt_g, self.opt_d, loader)
        self.loss = GANLoss(self.G, self.D, cfg.loss)
        self.z_gen = torch.Generator(device=acc.device).manual_seed(o.seed * 7919 + acc.process_index)
        self.step = self.d_steps = self.epoch = self.batch_in_epoch = self.data_time = 0
        self.data_digest = torch.zeros((), dtype=torch.float64, device=acc.device)  # kept on the device: no sync
        self.push_ok, self.stop_requested = None, None    # push result; the signal that asked the run to stop

    # -- helpers --------------------------------------------------------------------------------------
    def log(self, msg, *args):
        if self.accelerator.is_main_process:
            logger.info(msg, *args)

    def predicting(self) -> bool:
        """Whether this step trains prediction (else generation): the same answer on every rank and on resume."""
        if self.model_config.context_frames == 0:
            return False
        return bool(np.random.default_rng([self.cfg.optim.seed, self.step]).random() >= self.cfg.loss.generation_prob)

    def rollout(self) -> int:
        """How many of its own predictions G continues before this prediction step (0: from real frames)."""
        lc = self.cfg.loss
        if not self.predicting() or lc.rollout_prob == 0:
            return 0
        rng = np.random.default_rng([self.cfg.optim.seed, self.step, 1])
        return int(rng.integers(1, lc.rollout_depth + 1)) if rng.random() < lc.rollout_prob else 0

    def batches(self):
        """(clips, labels) forever, epoch after epoch; after a resume, from the batch where the run stopped."""
        per_batch = self.cfg.optim.batch_size * self.accelerator.num_processes   # keys the ranks take per batch
        while True:
            self.sampler.start(self.epoch, skip=self.batch_in_epoch * per_batch)
            t0 = time.perf_counter()
            for real, labels in self.loader:
                self.data_time += time.perf_counter() - t0
                self.batch_in_epoch += 1
                self.data_digest = (self.data_digest * 31 + real.double().sum()) % 1e9  # what this rank saw
                yield real, labels.to(self.accelerator.device) if self.model_config.conditional else None
                t0 = time.perf_counter()
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0

    def new_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.model_config.latent_dim, generator=self.z_gen, device=self.accelerator.device)

    def update_ema(self) -> None:
        ema_update(self.ema, self.G, ema_decay(self.cfg.optim.ema_decay, self.step, warm=bool(self.cfg.run.init_from)))

    # -- Algorithm 1 ----------------------------------------------------------------------------------
    def d_step(self, data) -> dict:
        acc, policy, predict = self.accelerator, self.cfg.loss.augment, self.predicting()
        for _ in range(acc.gradient_accumulation_steps):
            real, labels = next(data)
            with torch.no_grad(), self.autocast():
                fake = self.loss.fake_clips(real, labels, self.new_z(real.shape[0]), predict, rollout=self.rollout())
            with self.autocast():
                real, fake = augment.augment(real, policy), augment.augment(fake.float(), policy)
                main, logs = self.loss.critic_main(real, fake, labels)
                reg, reg_logs = self.loss.critic_reg(real, fake, labels, self.d_steps)
                loss = main + reg
            acc.backward(loss)
        all_reduce_grads(self.accelerator, self.D)
        self.opt_d.step()
        self.opt_d.zero_grad(set_to_none=True)
        self.d_steps += 1
        return {**logs, **reg_logs, "Loss/D/total": loss.detach()}

    def g_step(self, data) -> dict:
        acc, predict = self.accelerator, self.predicting()
        self.D.requires_grad_(False)
        for _ in range(acc.gradient_accumulation_steps):
            real, labels = next(data)
            z, noise = self.new_z(real.shape[0]), None
            if self.cfg.loss.paired:
                real, labels, noise = pair_up(real, labels, self.G.make_noise(real.shape[0], device=acc.device,
                                                                               frames=None if predict else self.loss.render_frames))
            with self.autocast():
                loss, logs = self.loss.generator_main(real, labels, z, predict, noise, self.rollout())
            acc.backward(loss)
        all_reduce_grads(self.accelerator, self.G)
        self.opt_g.step()
        self.opt_g.zero_grad(set_to_none=True)
        self.D.requires_grad_(True)
        return logs

    # -- checkpoints ----------------------------------------------------------------------------------
    def save_checkpoint(self) -> Path:
        acc = self.accelerator
        ranks = ckpt.rank_report(acc, (self.G, self.D), self.data_digest)
        acc.wait_for_everyone()
        ckpt.write_rng(ckpt.rng_folder(self.out, self.step), acc.process_index, ckpt.capture_rng(self.z_gen))
        acc.wait_for_everyone()
        folder = self.out / "checkpoints" / f"step-{self.step:08d}"
        if acc.is_main_process:
            state = {"d_steps": self.d_steps, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                     "num_processes": acc.num_processes, "ranks": ranks}
            optimizers = {"opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                          "scaler": acc.scaler.state_dict() if acc.scaler is not None else {}}
            folder = ckpt.write_checkpoint(self.out, self.step, {"generator": self.G, "discriminator": self.D, "ema": self.ema},
                                           optimizers, state, self.cfg.to_yaml(), self.cfg.run.checkpoints_total_limit)
            logger.info("checkpoint %s", folder)
        acc.wait_for_everyone()
        return folder

    def load_checkpoint(self, folder: Path) -> None:
        acc = self.accelerator
        saved = ckpt.read_checkpoint(folder, acc.process_index, acc.device)
        ckpt.load_modules(folder, saved, {"generator": self.G, "discriminator": self.D, "ema": self.ema})
        ckpt.restore_optimizers(saved["optimizers"], self.opt_g, self.opt_d, self.cfg.optim, acc.scaler)
        state, rng = saved["state"], saved["rng"]
        if rng is not None and state.get("num_processes") == acc.num_processes:
            ckpt.restore_rng(rng, self.z_gen)
            self.epoch, self.batch_in_epoch = state.get("epoch", 0), state.get("batch_in_epoch", 0)
        else:
            self.log("RNG state of %s was saved with another process count: continuing with fresh seeds", folder)
        self.step, self.d_steps = state["step"], state.get("d_steps", state["step"] * self.cfg.optim.n_critic)
        self.log("resumed from %s at step %d", folder, self.step)

    # -- samples and export ---------------------------------------------------------------------------
    def fixed_samples(self) -> np.ndarray:
        """What samples/ and the exported sample.gif show: fixed-seed videos, two per class; a run that trains
        prediction shows instead its futures of 8 fixed training clips, each after its real context."""
        mc = self.model_config
        if mc.context_frames:   # generation_prob < 1 always (at most 0.999): every such run trains prediction
            picks = np.linspace(0, len(self.dataset) - 1, 8).round().astype(int)
            clips = np.stack([self.dataset.clip(int(i), start=0) for i in picks])
            context = clips[:, :mc.context_frames]
            future = self.pipeline.predict(context, classes=[int(self.dataset.labels[i]) for i in picks]
                                           if mc.conditional else None, seeds=list(range(len(picks))))
            return np.concatenate([context, future], axis=1)
        classes = [c for c in range(mc.num_classes) for _ in range(2)] if mc.conditional else None
        return self.pipeline.sample(classes=classes, seeds=list(range(len(classes) if classes else 8)))

    def write_samples(self) -> None:
        if self.accelerator.is_main_process:
            write_samples(self.out / "samples", self.step, self.fixed_samples(), self.accelerator.get_tracker("tensorboard", unwrap=True))

    def export(self, folder: Path | None = None, metrics: dict | None = None) -> Path:
        folder = folder or self.out / "model"
        if self.accelerator.is_main_process:
            d = self.cfg.data
            card = {"training_data": f"{d.path} ({self.dataset.format}, split={d.split}, {len(self.dataset)} videos)",
                    "training_command": "accelerate launch train.py " + " ".join(sys.argv[1:]) if sys.argv[1:] else None,
                    "steps": self.step, "metrics": metrics}
            export_model(folder, self.pipeline, self.G, self.D, self.fixed_samples(), card, self.cfg.to_yaml())
            if self.cfg.run.keep_exports and folder == self.out / "model":
                keep_copy(folder, self.out / "exports" / f"step-{self.step}")
        self.accelerator.wait_for_everyone()
        return folder

    # -- the loop -------------------------------------------------------------------------------------
    def _request_stop(self, signum, frame):
        self.stop_requested = signal.Signals(signum).name

    def train(self) -> Path:
        cfg, acc, o, r = self.cfg, self.accelerator, self.cfg.optim, self.cfg.run
        if acc.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.yaml").write_text(cfg.to_yaml())
        if (resume := ckpt.resolve_resume(r.resume, self.out)) is not None:
            self.load_checkpoint(resume)
        acc.init_trackers("hrvgan")
        self.log("training %s on %d videos (%s) with %d process(es), batch %d/process, %s, %d classes: %s",
                 self.model_config.preset, len(self.dataset), self.dataset.format, acc.num_processes, o.batch_size,
                 self.precision, self.model_config.num_classes, self.model_config.class_names)
        old_handlers = {s: signal.signal(s, self._request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
        data = self.batches()
        bar = tqdm(total=o.max_steps, initial=self.step, disable=not acc.is_main_process, desc="train", unit="step")
        t_start, step_start, last_good = time.perf_counter(), self.step, None
        critic_steps = o.n_critic if cfg.loss.adv_weight > 0 else 0    # adv_weight 0: nothing reads the critic
        try:
            while self.step < o.max_steps:
                if self.step == self.background_start > 0:
                    self.log("step %d: the background stream's mask is released (from 1 to 0.95)", self.step)
                    for g in (self.G, self.ema):
                        g.hold_mask(False)
                logs = {}
                for _ in range(critic_steps):
                    logs.update(self.d_step(data))
                if self.step >= o.d_warmup_steps:  # a fresh critic's first gradients would only damage a trained G
                    logs.update(self.g_step(data))
                    self.update_ema()
                self.step += 1
                values = finite({k: float(v) for k, v in logs.items()}, self.step,
                                lambda: last_good or ckpt.resolve_resume("latest", self.out))
                elapsed = max(time.perf_counter() - t_start, 1e-9)
                vps = ((self.step - step_start) * o.batch_size * (critic_steps + 1) * acc.gradient_accumulation_steps
                       * acc.num_processes / elapsed)
                if self.step % r.log_every == 0 or self.step == o.max_steps:
                    acc.log({**values, "Perf/videos_per_s": vps, "Perf/data_share": self.data_time / elapsed}, step=self.step)
                shown = {"d": "Loss/D/total", "g": "Loss/G/adv", "mse": "Loss/G/mse"}   # adv_weight 0: no d, no g
                bar.set_postfix({k: f"{values[v]:.3f}" for k, v in shown.items() if v in values} | {"vps": f"{vps:.1f}"})
                bar.update(1)
                if self.step % r.checkpoint_every == 0:
                    last_good = self.save_checkpoint()
                if r.sample_every and self.step % r.sample_every == 0:
                    self.write_samples()
                if r.export_every and self.step % r.export_every == 0:
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
        self.save_checkpoint()
        folder = self.export()
        if cfg.hub.push_to_hub and acc.is_main_process:
            self.push_ok = push_folder(folder, cfg.hub, f"HRVGAN weights at step {self.step}")
        acc.end_training()
        return folder


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX-512 BF16 or AMX), where bf16 autocast is about 2x faster
    than fp32; on one without (an AVX2 EPYC), PyTorch emulates it: a Conv3d's forward and backward 28-56x slower
    (bench/bench_bf16.py).  HRVGAN_CPU_BF16=1 or 0 overrides the answer."""
    forced = os.environ.get("HRVGAN_CPU_BF16", "")
    if forced not in ("", "0", "1"):
        raise ValueError(f"HRVGAN_CPU_BF16={forced!r}: set it to 1 (bf16 autocast on this CPU), 0 (fp32) or unset it "
                         "(bf16 where the CPU has bf16 instructions).")
    if forced:
        return forced == "1"
    return any(getattr(torch.cpu, name, lambda: False)() for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))


def finite(values: dict, step: int, last_good) -> dict:  # last_good: () -> the checkpoint to name
    """The step's logged scalars, or a FloatingPointError that names the loss and the checkpoint to resume from."""
    bad = [k for k, v in values.items() if not math.isfinite(v)]
    if bad:
        raise FloatingPointError(f"{', '.join(bad)} became {values[bad[0]]} at step {step}; stopping. The last good "
                                 f"checkpoint is {last_good() or 'none'}: lower the learning rates or use "
                                 "mixed_precision=no, and resume from it.")
    return values


def all_reduce_grads(accelerator: Accelerator, model: torch.nn.Module) -> None:
    """Average the gradients of an unwrapped model across processes (one flat all-reduce)."""
    if accelerator.num_processes == 1:
        return
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    flat = accelerator.reduce(torch.cat([g.reshape(-1) for g in grads]), reduction="mean")
    i = 0
    for g in grads:
        g.copy_(flat[i:i + g.numel()].view_as(g))
        i += g.numel()


def ema_decay(decay: float, step: int, warm: bool) -> float:
    """The EMA's decay at ``step``: ramped up from 0.1 for a random start (else it would average in random weights
    for thousands of steps); the full decay from step 0 for a warm start, whose EMA is trained already (ramping it
    once replaced a continuation's EMA by its first steps' raw G: class accuracy 98% to 77% in 60 steps)."""
    return decay if warm else min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.lerp_(p.detach(), 1 - decay)
    for be, b in zip(ema.buffers(), model.buffers()):
        be.copy_(b)


def train(cfg: TrainConfig) -> Trainer:
    trainer = Trainer(cfg)
    trainer.train()
    return trainer
