"""Training throughput at weizmann-64 on this machine: videos/s, peak memory, data-loading share.

    python bench/bench_training.py [--steps 40] [--mixed_precision bf16] [--width 0.25]

Runs the real Trainer (one process) for --steps steps on the Weizmann train split, after a first
epoch that fills the clip cache, and prints the figures.  Videos/s counts every video that went
through D or G (batch * (n_critic + 1) per step).
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

import torch

from hrvgan.training import Trainer, TrainConfig

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
        elapsed = time.perf_counter() - t0
    videos = args.steps * cfg.batch_size * (cfg.n_critic + 1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, preset {cfg.preset}, width {cfg.width}, "
          f"batch {cfg.batch_size}, mixed_precision {cfg.mixed_precision or 'no'}, gp_every {cfg.gp_every}")
    print(f"steps/s          {args.steps / elapsed:.2f}  ({elapsed / args.steps:.2f} s/step)")
    print(f"videos/s         {videos / elapsed:.1f}")
    print(f"peak memory      {peak_mb:.0f} MB (max RSS)")
    print(f"data loading     {100 * trainer.data_time / elapsed:.2f}% of the time after the first epoch")


if __name__ == "__main__":
    main()
