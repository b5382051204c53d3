"""What each critic regulariser costs: WGAN-GP's gradient penalty against R1 (with hinge and bce), side by side.

    python bench/bench_losses.py [--config configs/weizmann-64.yaml] [--repeats 3]

Builds the recipe's Trainer once per loss (fp32 unless the recipe's precision runs here) and times its critic
step, Algorithm 1's D update, on the same real batch: once on a step that applies the lazy penalty (every
`gp_every`-th) and once on one that does not, interleaved over --repeats rounds so that the machine's noise hits
every loss alike. Prints the median of each and the critic's share per training step, amortised over gp_every.
Both penalties take one double backward through D: WGAN-GP on lines between real and generated clips, R1 on the
real clips alone.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from hrvgan.training import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]
LOSSES = {"wgan-gp (gp 10)": {"loss.kind": "wgan-gp", "loss.gp_weight": 10.0, "loss.r1_weight": 0.0},
          "hinge + r1 (1)": {"loss.kind": "hinge", "loss.r1_weight": 1.0},
          "bce + r1 (1)": {"loss.kind": "bce", "loss.r1_weight": 1.0}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "configs" / "weizmann-64.yaml"))
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "weizmann-actions"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        trainers = {}
        for name, changes in LOSSES.items():
            torch.manual_seed(0)
            cfg = TrainConfig.from_yaml(args.config, {"run.output_dir": str(Path(out) / name.split()[0]),
                                                      "data.path": args.data, "run.resume": "none",
                                                      "optim.max_steps": 0, **changes})
            trainers[name] = Trainer(cfg)
        first = next(iter(trainers.values()))
        batch = next(first.batches())
        every = first.cfg.loss.gp_every
        times = {name: {"penalty": [], "plain": []} for name in trainers}
        for _ in range(args.repeats + 1):                       # the first round warms up and is dropped
            for name, trainer in trainers.items():
                for kind, d_steps in (("penalty", 0), ("plain", 1 if every > 1 else 0)):
                    trainer.d_steps = d_steps
                    t = time.perf_counter()
                    trainer.d_step(iter([batch]))
                    times[name][kind].append(time.perf_counter() - t)
    print(f"torch {torch.__version__}, CPU {torch.get_num_threads()} threads, {first.precision}, "
          f"batch {batch[0].shape[0]}, gp_every {every}; median of {args.repeats} interleaved rounds")
    base = None
    for name, t in times.items():
        penalty, plain = statistics.median(t["penalty"][1:]), statistics.median(t["plain"][1:])
        amortised = (penalty + (every - 1) * plain) / every
        base = base or amortised
        print(f"{name:16s} critic step with the penalty {penalty * 1e3:7.0f} ms, without {plain * 1e3:7.0f} ms; "
              f"per training step {amortised * 1e3:7.0f} ms ({amortised / base:.2f}x wgan-gp)")


if __name__ == "__main__":
    main()
