"""The pixel figures of several models over several draws, side by side: how far apart are they really?

    python bench/bench_draws.py --models weights runs/weizmann-64/model [--draws 4] [--data ../shared/data/weizmann-actions]

`python -m hrvgan evaluate` reads one draw: 256 videos (seeds 0-255) and one draw of SWD descriptors.  The
SWD of frame differences moves between draws by more than the 10% that decides whether a model is as good as
another (one export read 62.9 at seeds 0-255 and 47.8 at seeds 5000-5255; real train<->test moves by ~3
between descriptor draws).  This runs the same measurements (`evaluate`'s functions, the same real clips)
for draw k on seeds 1000k.. with SWD seed 1000k, for every model, and prints mean +- sd over the draws:
class accuracy, SWD of frames and of frame differences at every level against the held-out clips, and the
moving-region SWD (frames, differences, still images) against the train videos' second halves, each beside
real train<->test (or the train videos' first halves) read with the same descriptor draws; the coverage of
the train videos (`metrics.coverage`: who is drawn) and how many of the train videos a model draws at all, beside
their own first halves; and the colour drift within clips and the index bias (`metrics.drift`: whether a performer
keeps its clothes, whether the phase of its action is tied to the frame index), beside the real train clips.
"""

import argparse
import logging

import numpy as np

from hrvgan import HRVGAN
from hrvgan.data import VideoDataset
from hrvgan.metrics.classifier import VideoClassifier, classify
from hrvgan.metrics.coverage import covered, first_per_class, share_covered, videos_drawn
from hrvgan.metrics.drift import clip_drift, index_bias
from hrvgan.metrics.evaluate import reference_clips
from hrvgan.metrics.swd import MOVING_VIEWS, swd, swd_moving_by_class


REAL = "real train (vs test) / first halves (vs second)"
COVERAGE = "coverage of the train videos' second halves %"
DRAWN = "train videos drawn (one clip or more covered): all / each class, of {}"
DRIFT = "colour drift within clips x10³"
BIAS = "index bias (grey levels)"


def figures(whole, moving, moving_labels, test, late, draw_seed):
    """SWD of ``whole`` against the test clips and moving-region SWD of ``moving`` against the train videos'
    second halves, frames and frame differences, every level: a generated set is both, the real row is train
    clips (whole) and the train videos' first halves (moving)."""
    out = {}
    for kind, motion in (("frames", False), ("differences", True)):
        out[f"SWD {kind}"] = swd(whole, test, motion=motion, seed=draw_seed)
    for kind, view in MOVING_VIEWS.items():
        out[f"moving-region SWD {kind} vs train late"] = swd_moving_by_class(
            moving, moving_labels, *late, seed=draw_seed, **view)[0]
    return out


def fmt(values):
    a = np.asarray(values)
    return " / ".join(f"{m:.1f} ± {s:.1f}" for m, s in zip(a.mean(0), a.std(0)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["weights"], help="model folders or Hub repo ids")
    parser.add_argument("--data", default="../shared/data/weizmann-actions", help="the dataset (held-out split)")
    parser.add_argument("--classifier", default="weights/classifier", help="the class-accuracy classifier")
    parser.add_argument("--draws", type=int, default=4, help="draws of --num_samples videos each")
    parser.add_argument("--num_samples", type=int, default=256, help="videos per draw, as evaluate")
    parser.add_argument("--windows", action="store_true",
                        help="read each video of a model without time_crop as a random window of its length within "
                             "its loop (twice its length rendered, `sample(num_frames=...)`), as a model with "
                             "time_crop samples: every phase at every frame index, and the loop's join in most windows")
    parser.add_argument("--truncation", type=float, default=1.0,
                        help="sample every model at this truncation (1 = none; > 1 pushes seeds away from their "
                             "class's mean: are the performers a model misses in the tails of its latent space?)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    models = {name: HRVGAN.from_pretrained(name) for name in args.models}
    mc = next(iter(models.values())).config
    common = dict(frames=mc.frames, resolution=mc.resolution, progress=False)
    test_set, train_set = VideoDataset(args.data, split="test", **common), VideoDataset(args.data, split="train", **common)
    refs = reference_clips(test_set, train_set)
    test, train = refs["test"], refs["train"]
    (early_v, early_l), (late_v, late_l) = refs["early"], refs["late"]
    classifier = VideoClassifier.load(args.classifier)
    rows = {name: {} for name in [REAL, *models]}

    def cover(row: dict, hit: np.ndarray) -> None:
        """Coverage (the mean over classes of the share of covered clips) and how many train videos are drawn."""
        row.setdefault(COVERAGE, []).append([100 * share_covered(hit, late_l)[0]])
        drawn = list(videos_drawn(hit, refs["late_videos"], late_l).values())
        of = " / ".join(str(n) for n in [sum(n for _, n in drawn)] + [n for _, n in drawn])
        row.setdefault(DRAWN.format(of), []).append([sum(k for k, _ in drawn)] + [k for k, _ in drawn])
    for k in range(args.draws):
        seed = 1000 * k
        for name, model in models.items():
            labels = np.arange(args.num_samples) % model.config.num_classes
            seeds = list(range(seed, seed + args.num_samples))
            if args.windows and not model.config.time_crop:   # a time-cropped model samples its own window
                frames = model.config.frames
                long = model.sample(classes=labels.tolist(), seeds=seeds, num_frames=2 * frames,
                                    truncation=args.truncation)
                start = np.random.default_rng(seed).integers(0, frames + 1, len(long))
                videos = np.stack([v[s:s + frames] for v, s in zip(long, start)])
            else:
                videos = model.sample(classes=labels.tolist(), seeds=seeds, truncation=args.truncation)
            rows[name].setdefault("class accuracy %", []).append(
                [100 * float((classify(classifier, videos)[0].argmax(1) == labels).mean())])
            for key, value in figures(videos, videos, labels, test[0], (late_v, late_l), seed).items():
                rows[name].setdefault(key, []).append(value)
            cut, cut_labels = first_per_class(videos, labels, early_l)     # as many per class as the first halves
            cover(rows[name], covered(late_v, late_l, cut, cut_labels))
            cut, cut_labels = first_per_class(videos, labels, train[1])       # as many per class as the train clips
            rows[name].setdefault(DRIFT, []).append([1e3 * clip_drift(cut, cut_labels)[0]])
            rows[name].setdefault(BIAS, []).append([index_bias(cut, cut_labels)[0]])
        for key, value in figures(train[0], early_v, early_l, test[0], (late_v, late_l), seed).items():
            rows[REAL].setdefault(key, []).append(value)
        cover(rows[REAL], covered(late_v, late_l, early_v, early_l))
        rows[REAL].setdefault(DRIFT, []).append([1e3 * clip_drift(*train)[0]])
        rows[REAL].setdefault(BIAS, []).append([index_bias(*train)[0]])
        print(f"draw {k + 1}/{args.draws} done", flush=True)
    keys = list(rows[args.models[0]])
    print(f"\nmean ± sd over {args.draws} draws of {args.num_samples} videos at truncation {args.truncation:g}; "
          "SWD x10³ finest / middle / coarsest level")
    print("| | " + " | ".join(rows) + " |")
    print("|---" * (len(rows) + 1) + "|")
    for key in keys:
        print(f"| {key} | " + " | ".join(fmt(r[key]) if key in r else "" for r in rows.values()) + " |")


if __name__ == "__main__":
    main()
