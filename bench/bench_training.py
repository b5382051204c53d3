"""Training throughput at weizmann-64 on this machine: videos/s, GFLOP/s, peak memory, data-loading share.

    python bench/bench_training.py [--steps 40] [--mixed_precision bf16] [--width 0.25]

Runs the real Trainer (one process) for --steps steps on the Weizmann train split, after a first
epoch that fills the clip cache, and prints the figures.  Videos/s counts every video that went
through D or G (batch * (n_critic + 1) per step).  GFLOP/s: the FLOPs of a few whole steps (forward,
backward and the gradient penalty's double backward, counted by torch.utils.flop_counter) over their
time, beside a bare Conv3d shaped like the costliest layer (forward + backward, same precision),
timed in the same run: the ratio is the figure we track (target >= 0.6).
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from hrvgan.training import Trainer, TrainConfig


def bare_conv3d(trainer, steps: int = 10) -> tuple[float, str]:
    """GFLOP/s of forward + backward of one Conv3d shaped like the costliest layer (G's last stage, first
    conv), batch and precision as trained."""
    cfg, mc = trainer.cfg, trainer.model_config
    cin, c = mc.stage_channels[-2], mc.stage_channels[-1]
    x = torch.randn(cfg.batch_size, cin, mc.frames, mc.resolution, mc.resolution, requires_grad=True)
    conv = torch.nn.Conv3d(cin, c, 3, padding=1)
    acc = trainer.accelerator

    def step():
        with acc.autocast():
            y = conv(x)
        y.float().square().mean().backward()

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return flops * steps / (time.perf_counter() - t) / 1e9, f"Conv3d {cin}->{c} at {tuple(x.shape[2:])}, batch {cfg.batch_size}"

ROOT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "configs" / "weizmann-64.yaml"))
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--mixed_precision", default=None)
    parser.add_argument("--width", type=float, default=None)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "weizmann-actions"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        overrides = dict(output_dir=out, data=args.data, resume="none", sample_every=0, export_every=0,
                         checkpoint_every=10**9, log_every=10**9, max_steps=0)
        if args.mixed_precision:
            overrides["mixed_precision"] = args.mixed_precision
        if args.width:
            overrides["width"] = args.width
        cfg = TrainConfig.from_yaml(args.config, **overrides)
        trainer = Trainer(cfg)
        data = trainer.batches()
        warmup = len(trainer.loader) + 2  # one epoch: later epochs read only the cache
        for i in range(warmup + args.steps):
            if i == warmup:
                trainer.data_time, t0 = 0.0, time.perf_counter()
            trainer.d_step(data)
            trainer.g_step(data)
            trainer.update_ema()
            trainer.step += 1  # the mix of generation and prediction steps follows the step count
        elapsed = time.perf_counter() - t0
        # GFLOP/s of the steps without the lazy gradient penalty (3 of every 4): FlopCounterMode cannot
        # follow the penalty's autograd.grad, so those steps are counted and timed on their own.
        def plain_step():
            trainer.d_steps = 1  # 1 % gp_every != 0: no penalty on this D step
            trainer.d_step(data)
            trainer.g_step(data)
            trainer.step += 1
        with FlopCounterMode(display=False) as counter:
            plain_step()
            plain_step()
        step_flops = counter.get_total_flops() / 2
        t1 = time.perf_counter()
        for _ in range(args.steps):
            plain_step()
        plain_time = (time.perf_counter() - t1) / args.steps
        conv_rate, conv_what = bare_conv3d(trainer)
    videos = args.steps * cfg.batch_size * (cfg.n_critic + 1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, preset {cfg.preset}, width {cfg.width}, "
          f"batch {cfg.batch_size}, mixed_precision {cfg.mixed_precision or 'no'}, gp_every {cfg.gp_every}")
    print(f"steps/s          {args.steps / elapsed:.2f}  ({elapsed / args.steps:.2f} s/step)")
    print(f"videos/s         {videos / elapsed:.1f}")
    print(f"peak memory      {peak_mb:.0f} MB (max RSS)")
    print(f"data loading     {100 * trainer.data_time / elapsed:.2f}% of the time after the first epoch")
    step_rate = step_flops / plain_time / 1e9
    print(f"GFLOP/s          {step_rate:.1f} for steps without the penalty ({step_flops / 1e9:.1f} GFLOP, "
          f"{plain_time:.2f} s each) vs {conv_rate:.1f} for a bare {conv_what}: ratio {step_rate / conv_rate:.2f} "
          "(target >= 0.6)")


if __name__ == "__main__":
    main()
