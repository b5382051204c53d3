"""Where a training step's time goes: ms/step of the real Trainer, then torch.profiler's tables.

    python bench/profile_training.py [--config configs/weizmann-64.yaml] [--width 1.0] [--steps 20]

Runs --steps steps after 10 warm-up steps (one process, on the GPU if there is one) and prints the
time per step, then profiles 4 more and prints the operators that cost the most device time and the
most host time.  Many kernel launches and a host time above the device time mean the step is
launch-bound (too little work per kernel), not short of arithmetic.  Extra `key=value` arguments
override the config, e.g. `d_motion=true time_padding=replicate`.
"""

import argparse
import tempfile
import time

import torch
import yaml
from torch.profiler import ProfilerActivity, profile

from bench_training import sync, train_step  # bench/ is on the path when this file runs
from hrvgan.training import TrainConfig, Trainer


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/weizmann-64.yaml")
    parser.add_argument("--width", type=float, default=None)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("overrides", nargs="*", help="recipe keys, section.key=value (e.g. optim.batch_size=32)")
    args = parser.parse_args()
    overrides = dict(kv.split("=", 1) for kv in args.overrides)
    overrides = {k: yaml.safe_load(v) for k, v in overrides.items()}
    if args.width:
        overrides["model.width"] = args.width
    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig.from_yaml(args.config, {"run.output_dir": out, "run.resume": "none", "optim.max_steps": 0,
                                                  "run.sample_every": 0, "run.export_every": 0, **overrides})
        trainer = Trainer(cfg)
        device, data = trainer.accelerator.device, trainer.batches()
        cuda = device.type == "cuda"
        for _ in range(10):
            train_step(trainer, data)
        sync(device)
        t = time.perf_counter()
        for _ in range(args.steps):
            train_step(trainer, data)
        sync(device)
        ms = (time.perf_counter() - t) / args.steps * 1e3
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as prof:
            for _ in range(4):
                train_step(trainer, data)
            sync(device)
    where = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    mc, o = trainer.model_config, cfg.optim
    print(f"{where}: preset {mc.preset}, width {mc.width}, batch {o.batch_size}, "
          f"{trainer.precision}: {ms:.0f} ms/step (mean of {args.steps})")
    table = prof.key_averages()
    if cuda:
        print(table.table(sort_by="cuda_time_total", row_limit=12, max_name_column_width=50))
    print(table.table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=50))


if __name__ == "__main__":
    main()
