"""What a long video costs in the demo: one video of 16, 64 and 128 frames, 64x64, on CPU.

    python bench/bench_long.py [--model weights] [--threads 2] [--repeats 5]

For each way of making a long video (``extend``: "loop", the generator alone in one pass; "predict", the
generator then the predict/ model continuing it 8 frames at a time) and each length: the median time of
`HRVGAN.sample(num_frames=...)` and of the demo's whole Sample request (`LoadedModel.sample`, which also
encodes the mp4 and the grid PNG), and their multiple of the 16-frame request measured in the same run.
The issue's budget: a 64-frame video in at most 0.5 s on the 2-core machine.
"""

import argparse

import torch
from bench_generator import timed  # bench/ is on the path when this script runs

from hrvgan import demo
from hrvgan.inputs import EXTENDS


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="weights", help="a model folder with a predict/ model beside it")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 128])
    parser.add_argument("--extend", nargs="+", default=list(EXTENDS), choices=EXTENDS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = next(iter(demo.load_models(args.model).values()))
    cls = loaded.model.class_names[0] if loaded.model.class_names else None
    print(f"{args.model}, {args.threads} threads, median of {args.repeats}; one video per request")
    print("| extend | frames | HRVGAN.sample | demo request (+ mp4, png) | request / 16-frame request |")
    print("|---|---|---|---|---|")
    base = None
    for extend in args.extend:
        for n in args.lengths:
            model_s = timed(lambda: loaded.model.sample(cls, seeds=0, num_frames=n, extend=extend), args.repeats)
            request_s = timed(lambda: loaded.sample(cls, 0, 1, 1.0, 8, n, extend=extend), args.repeats)
            base = base or request_s
            print(f"| {extend} | {n} | {1e3 * model_s:.0f} ms | {1e3 * request_s:.0f} ms | {request_s / base:.2f}x |")


if __name__ == "__main__":
    main()
