"""Training throughput of a config on this machine: videos/s, GFLOP/s, peak memory, data-loading share.

    python bench/bench_training.py [--steps 40] [--mixed_precision bf16] [--width 0.25]
    python bench/bench_training.py --config configs/paper-256.yaml --synthetic --steps 20   # on a GPU

Runs the real Trainer (one process, on the GPU if there is one) for --steps steps on the Weizmann
train split (or, with --synthetic, on moving-texture clips written for the config's preset, so
the paper-256 preset can be timed without UCF101), after a first epoch that fills the clip
cache, and prints the figures.  Videos/s counts every video that went
through D or G (batch * (n_critic + 1) per step).  GFLOP/s: the FLOPs of a few whole steps (forward,
backward and the gradient penalty's double backward, counted by torch.utils.flop_counter) over their
time, beside a bare Conv3d shaped like the costliest layer (forward + backward, same precision),
timed in the same run: the ratio is the figure we track (target >= 0.6).  On a GPU it also measures
the bf16 peak in the same run (an 8192^3 bf16 matrix product) and prints the step's TFLOP/s as a
fraction of it.
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from hrvgan.config import ModelConfig
from hrvgan.training import Trainer, TrainConfig
from hrvgan.video import write_gif


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step(trainer, data) -> None:
    """One step as Trainer.train runs it: D, G, the EMA."""
    trainer.d_step(data)
    trainer.g_step(data)
    trainer.update_ema()
    trainer.step += 1  # the mix of generation and prediction steps follows the step count


def synthetic_dataset(root: Path, preset: str, stride: int, classes: int = 2, per_class: int = 4) -> Path:
    """Class folders of GIFs: a smooth random texture scrolling under a moving square (not zeros, not
    noise), long enough for one clip of the preset at the config's frame stride."""
    mc = ModelConfig.from_preset(preset)
    frames, size = mc.frames * stride + 4, mc.resolution
    rng = np.random.default_rng(0)
    for c in range(classes):
        for v in range(per_class):
            small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
            tex = np.tile(small.repeat(8, 0).repeat(8, 1), (2, 2, 1))
            video = np.empty((frames, size, size, 3), np.uint8)
            for t in range(frames):
                video[t] = tex[t % size: t % size + size, (c + 1) * t % size: (c + 1) * t % size + size]
                x = (t * 3 + 17 * v) % (size - size // 4)
                video[t, size // 3: size // 3 + size // 4, x: x + size // 4] = 255 - 60 * c
            write_gif(video, root / f"class{c}" / f"v{v}.gif")
    return root


def bare_conv3d(trainer, steps: int = 10) -> tuple[float, str]:
    """GFLOP/s of forward + backward of one Conv3d shaped like the costliest layer (G's last stage, first
    conv), batch and precision as trained."""
    cfg, mc = trainer.cfg, trainer.model_config
    cin, c = mc.stage_channels[-2], mc.stage_channels[-1]
    acc = trainer.accelerator
    x = torch.randn(cfg.optim.batch_size, cin, mc.frames, mc.resolution, mc.resolution, requires_grad=True, device=acc.device)
    conv = torch.nn.Conv3d(cin, c, 3, padding=1).to(acc.device)

    def step():
        with trainer.autocast():
            y = conv(x)
        y.float().square().mean().backward()

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    step()
    sync(acc.device)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    sync(acc.device)
    return flops * steps / (time.perf_counter() - t) / 1e9, f"Conv3d {cin}->{c} at {tuple(x.shape[2:])}, batch {cfg.optim.batch_size}"


def matmul_peak(device, n: int = 8192, repeats: int = 10) -> float:
    """TFLOP/s of an n^3 bf16 matrix product on random data: the GPU's practical bf16 peak."""
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    sync(device)
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n ** 3 * repeats / (time.perf_counter() - t) / 1e12


ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "configs" / "weizmann-64.yaml"))
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--mixed_precision", default=None)
    parser.add_argument("--width", type=float, default=None)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "weizmann-actions"))
    parser.add_argument("--synthetic", action="store_true",
                        help="train on moving-texture clips written for the config's preset instead of --data")
    parser.add_argument("--batch_size", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        overrides = {"run.output_dir": out, "data.path": args.data, "run.resume": "none", "run.sample_every": 0,
                     "run.export_every": 0, "run.checkpoint_every": 10**9, "run.log_every": 10**9, "optim.max_steps": 0}
        if args.synthetic:
            base = TrainConfig.from_yaml(args.config)
            overrides.update({"data.path": str(synthetic_dataset(Path(out) / "data", base.model["preset"],
                                                                 base.data.frame_stride)),
                              "data.format": "folder", "data.split": "all", "data.ucf_lists": "", "data.num_workers": 0})
        if args.batch_size:
            overrides["optim.batch_size"] = args.batch_size
        if args.mixed_precision:
            overrides["optim.mixed_precision"] = args.mixed_precision
        if args.width:
            overrides["model.width"] = args.width
        cfg = TrainConfig.from_yaml(args.config, overrides)
        trainer = Trainer(cfg)
        device = trainer.accelerator.device
        data = trainer.batches()
        warmup = len(trainer.loader) + 2  # one epoch: later epochs read only the cache
        for i in range(warmup + args.steps):
            if i == warmup:
                trainer.data_time, t0 = 0.0, time.perf_counter()
            train_step(trainer, data)
        sync(device)
        elapsed = time.perf_counter() - t0
        # GFLOP/s of the steps without the lazy gradient penalty (3 of every 4): FlopCounterMode cannot
        # follow the penalty's autograd.grad, so those steps are counted and timed on their own.
        penalties = cfg.loss.gp_weight, cfg.loss.r1_weight
        cfg.loss.gp_weight = cfg.loss.r1_weight = 0.0  # no penalty in these steps

        def plain_step():
            trainer.d_step(data)
            trainer.g_step(data)
            trainer.step += 1
        with FlopCounterMode(display=False) as counter:
            plain_step()
            plain_step()
        step_flops = counter.get_total_flops() / 2
        sync(device)
        t1 = time.perf_counter()
        for _ in range(args.steps):
            plain_step()
        sync(device)
        plain_time = (time.perf_counter() - t1) / args.steps
        cfg.loss.gp_weight, cfg.loss.r1_weight = penalties
        conv_rate, conv_what = bare_conv3d(trainer)
        peak = matmul_peak(device) if device.type == "cuda" else None
    mc, o = trainer.model_config, cfg.optim
    videos = args.steps * o.batch_size * (o.n_critic + 1)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}, preset {mc.preset}, width {mc.width}, "
          f"{'prediction' if mc.context_frames else 'generation'}, batch {o.batch_size}, "
          f"{trainer.precision}, gp_every {cfg.loss.gp_every}"
          + (" (synthetic clips)" if args.synthetic else ""))
    print(f"steps/s          {args.steps / elapsed:.2f}  ({elapsed / args.steps:.2f} s/step)")
    print(f"videos/s         {videos / elapsed:.1f}")
    if device.type == "cuda":
        print(f"peak memory      {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MB (GPU, allocated)")
    else:
        print(f"peak memory      {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (max RSS)")
    print(f"data loading     {100 * trainer.data_time / elapsed:.2f}% of the time after the first epoch")
    step_rate = step_flops / plain_time / 1e9
    print(f"GFLOP/s          {step_rate:.1f} for steps without the penalty ({step_flops / 1e9:.1f} GFLOP, "
          f"{plain_time:.2f} s each) vs {conv_rate:.1f} for a bare {conv_what}: ratio {step_rate / conv_rate:.2f} "
          "(target >= 0.6)")
    if peak:
        print(f"bf16 peak        {peak:.0f} TFLOP/s (8192^3 bf16 matmul, same run): the step reaches "
              f"{step_rate / 1e3:.1f} TFLOP/s, {100 * step_rate / 1e3 / peak:.1f}% of it")


if __name__ == "__main__":
    main()
