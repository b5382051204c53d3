"""`python -m hrvgan sample|predict|evaluate|calibrate|train-classifier|fit-turn`: the command line.

Examples:
  python -m hrvgan sample --model weights --class "jumping jack" --seed 0 --out jack.mp4
  python -m hrvgan sample --model weights --class "one-hand wave" --seed 0 1 2 3 --grid wave.png --gif wave.gif
  python -m hrvgan predict --model weights --input examples/clips/jumping-jack-performer7.mp4 --class "jumping jack" --out next.mp4
  python -m hrvgan sample --model weights --class "two-hand wave" --seed 3 --num_frames 128 --out long.mp4
  python -m hrvgan evaluate --model weights --data ../shared/data/weizmann-actions --json metrics.json
  python -m hrvgan evaluate --model weights --data ../shared/data/weizmann-actions --num_frames 64 --num_samples 32
  python -m hrvgan train-classifier --data ../shared/data/weizmann-actions --out my-classifier --steps 50
  python -m hrvgan fit-turn --model weights --data ../shared/data/weizmann-actions --out my-predictor --steps 200
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .inputs import EXTENDS, extend_for


def _sample(args) -> int:
    from .pipeline import HRVGAN
    from .video import write_gif, write_grid_png, write_mp4

    if not (args.out or args.grid or args.gif):
        raise SystemExit("sample: nothing to write; give --out x.mp4, --grid x.png and/or --gif x.gif.")
    model = HRVGAN.from_pretrained(args.model, revision=args.revision, device=args.device)
    classes = args.class_ if model.config.conditional else None
    if model.config.conditional and classes is None:
        raise SystemExit(f"sample: this model is class-conditional; pass --class with one of {model.class_names}.")
    if classes is not None and len(classes) == 1:
        classes = classes[0]
    if not model.config.conditional and args.class_:
        raise SystemExit("sample: this model is unconditional; drop --class.")
    extend = extend_for(args.extend, args.extender)
    if args.extender:
        model.extender = HRVGAN.from_pretrained(args.extender, device=args.device)
    from tqdm.auto import tqdm
    long = bool(args.num_frames and args.num_frames > model.config.frames)   # a bar while the videos are continued
    with tqdm(total=args.num_frames, desc="frames", unit="frame", disable=not long) as bar:
        videos = model.sample(classes=classes, seeds=args.seed, truncation=args.truncation, num_frames=args.num_frames,
                              progress=lambda done, total: bar.update(done - bar.n), extend=extend)
    stem_many = len(videos) > 1
    for flag, writer in ((args.out, write_mp4), (args.gif, write_gif)):
        if flag:
            for i, video in enumerate(videos):
                path = Path(flag)
                if stem_many:  # one file per video: x_0.mp4, x_1.mp4, ...
                    path = path.with_name(f"{path.stem}_{i}{path.suffix}")
                writer(video, path, fps=args.fps, scale=args.scale)
                print(path)
    if args.grid:
        print(write_grid_png(videos, args.grid, scale=args.scale))
    return 0


def _predict(args) -> int:
    import numpy as np

    from .pipeline import HRVGAN
    from .video import read_video, write_grid_png, write_video

    if not (args.out or args.grid):
        raise SystemExit("predict: nothing to write; give --out next.mp4 (or .gif) and/or --grid next.png.")
    model = HRVGAN.from_pretrained(args.model, revision=args.revision, device=args.device)
    if model.context_frames == 0:  # a generator may ship its prediction model in predict/ (as weights/ does)
        model = HRVGAN.companion_predictor(args.model, revision=args.revision, device=args.device)
        if model is None:
            raise ValueError(f"{args.model} is a generation-only model (context_frames = 0) with no predict/ "
                             "prediction model beside it; it cannot predict.")
    if not Path(args.input).is_file():
        raise FileNotFoundError(f"--input {args.input}: no such file.")
    frames = read_video(args.input)
    start = args.start if args.start is not None else max(0, len(frames) - model.context_frames)
    context = frames[start:start + model.context_frames]
    if len(context) < model.context_frames:
        raise ValueError(f"{args.input} has {len(frames)} frames; from frame {start} there are {len(context)}, and this "
                         f"model needs {model.context_frames} context frames.")
    if model.config.conditional and args.class_ is None:
        raise ValueError(f"this model is class-conditional; pass --class with one of {model.class_names}.")
    predicted = model.predict(context, classes=args.class_, seeds=args.seed, truncation=args.truncation)[0]
    from .video import resize_video
    context = resize_video(context, model.config.resolution)
    whole = np.concatenate([context, predicted]) if args.with_context else predicted
    if args.out:
        print(write_video(whole, args.out, fps=args.fps, scale=args.scale))
    if args.grid:  # a row for the context, a row for the prediction
        print(write_grid_png([context, predicted], args.grid, scale=args.scale))
    return 0


def _evaluate(args) -> int:
    from .metrics.evaluate import evaluate_cli
    return evaluate_cli(args)


def _calibrate(args) -> int:
    import json
    import time

    from .data import VideoDataset
    from .metrics.calibration import calibrate, calibrate_coverage, degraded_copies
    from .metrics.drift import FRAMES, calibrate_drift
    from .metrics.evaluate import reference_clips

    common = dict(frames=args.frames, resolution=args.resolution, data_format=args.data_format, progress=False)
    train_set = VideoDataset(args.data, split="train", **common)
    refs = reference_clips(VideoDataset(args.data, split="test", **common), train_set)
    (test, test_labels), (train, train_labels) = refs["test"], refs["train"]
    if args.num_frames:
        return _calibrate_long(args, train_set, train, test)
    start = time.perf_counter()
    early, early_labels = refs["early"]
    split = (degraded_copies(early), early_labels, *refs["late"])          # degraded once, read by two tables
    copies = degraded_copies(train)                                         # ... and these by two more
    table = calibrate(copies, test, train_labels=train_labels, test_labels=test_labels, split=split)
    seconds = time.perf_counter() - start
    keys = ("frames", "motion", "moving_frames", "moving_motion", "moving_still", "moving_frames_late",
            "moving_motion_late", "moving_still_late")
    print(f"SWD x10^3 against {len(test)} real test clips, finest level first ({len(train)} train clips; "
          f"{seconds:.1f} s for {len(keys) * len(table)} distance lists); the last three columns: the train videos' "
          "first halves against their second halves")
    print("| train clips | frames | frame differences | moving regions: frames | moving regions: differences "
          "| moving regions: still images | moving, vs second halves: frames | moving, vs second halves: differences "
          "| moving, vs second halves: still images |")
    print("|---" * (len(keys) + 1) + "|")
    for name, row in table.items():
        cells = [" / ".join(f"{v:.1f}" for v in row[k]) for k in keys]
        print(f"| {name} | {' | '.join(cells)} |")
    cover = calibrate_coverage(*split, refs["early_videos"])
    print("\nCoverage of the train videos' second halves (who is drawn, in front of which wall; evaluate's "
          "coverage_*) by their first halves and by copies of those:")
    print("| first halves | coverage |\n|---|---|")
    for name, value in cover.items():
        print(f"| {name} | {value:.2f} |")
    drift = calibrate_drift(copies, train_labels, refs["train_videos"])
    print(f"\nA class's first {FRAMES} frames against its last {FRAMES}, pooled over its {len(train)} train clips: "
          "the colour drift within clips (evaluate's clip_drift_*) and the index bias (index_bias_*, grey levels); "
          "copies of flawed frames, then clips spoiled over time on purpose:")
    print("| train clips | drift within clips | index bias |\n|---|---|---|")
    for name, row in drift.items():
        print(f"| {name} | {row['clip_drift']:.4f} | {row['index_bias']:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({**table, "coverage_late": cover, "over_time": drift}, indent=2) + "\n")
    return 0


def _calibrate_long(args, train_set, train, test) -> int:
    import json

    from .metrics.classifier import VideoClassifier
    from .metrics.longvideo import calibrate_long, real_long_videos
    from .metrics.scores import motion

    classifier = VideoClassifier.load(args.classifier) if args.classifier else None
    real, labels = real_long_videos([train_set], args.num_frames)   # train videos: the test clips are the reference
    table = calibrate_long(real, labels, classifier, test, motion(train))
    print(f"{len(real)} real train videos of {args.num_frames}+ frames and spoiled copies, window by window "
          f"(16 frames); SWD x10^3 at the finest level against {len(test)} real test clips")
    print("| videos | class accuracy | motion / real train | SWD frames | SWD differences | colour drift |")
    print("|---|---|---|---|---|---|")
    for name, r in table.items():
        acc = "-" if r["window_class_accuracy"] is None else " / ".join(f"{a:.0%}" for a in r["window_class_accuracy"])
        cells = [" / ".join(fmt.format(v) for v in r[k]) for k, fmt in (
            ("window_motion_ratio_train", "{:.2f}"), ("window_swd_frames_vs_test", "{:.0f}"), ("window_swd_motion_vs_test", "{:.0f}"))]
        print(f"| {name} | {acc} | {' | '.join(cells)} | {r['colour_drift']:.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2) + "\n")
    return 0


def _train_classifier(args) -> int:
    from .metrics.evaluate import train_classifier_cli
    return train_classifier_cli(args)


def _fit_turn(args) -> int:
    from .training.turn import fit_turn_cli
    return fit_turn_cli(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hrvgan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sample", help="generate videos from a trained model",
                       description="Generate videos by class and seed; write mp4, gif and/or a frame grid.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    s.add_argument("--model", default="weights", help="model folder (save_pretrained layout) or Hub repo id")
    s.add_argument("--revision", default=None, help="Hub revision (branch, tag or commit) when --model is a repo id")
    s.add_argument("--class", dest="class_", nargs="+", default=None,
                   help="class name(s) or index(es); required for conditional models; one per seed, or one for all")
    s.add_argument("--seed", type=int, nargs="+", default=[0], help="seed(s): a seed always gives the same video")
    s.add_argument("--truncation", type=float, default=1.0, help="pull latents toward the class mean (<1 = safer, less varied)")
    s.add_argument("--num_frames", type=int, default=None,
                   help="video length, from the model's own (16) to 1024; longer videos are made by --extend")
    s.add_argument("--extend", choices=EXTENDS, default=None,
                   help="longer videos: loop = the generator alone, its 16-frame motion repeated and joined by "
                        "its own convolutions (the same performer and wall for any length); predict = the model's "
                        "prediction model (its predict/ folder) continues them 8 frames at a time "
                        "(default: loop, predict with --extender)")
    s.add_argument("--extender", default=None, help="with --num_frames: continue with this prediction model instead")
    s.add_argument("--out", default=None, help="mp4 path (H.264); with several videos, _0, _1, ... are added")
    s.add_argument("--gif", default=None, help="gif path; with several videos, _0, _1, ... are added")
    s.add_argument("--grid", default=None, help="PNG frame grid: one row per video, one column per frame")
    s.add_argument("--fps", type=float, default=8, help="frames per second of the mp4 / gif")
    s.add_argument("--scale", type=int, default=1, help="nearest-neighbour enlargement of the written frames")
    s.add_argument("--device", default=None, help="torch device, e.g. cuda (default: cpu)")
    s.set_defaults(func=_sample)

    p = sub.add_parser("predict", help="predict the frames that follow a video clip (X -> Y)",
                       description="Read a video, take context_frames of it (by default its last ones) and write the "
                                   "frames a prediction model expects next.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default="weights", help="prediction model folder or Hub repo id")
    p.add_argument("--revision", default=None, help="Hub revision when --model is a repo id")
    p.add_argument("--input", required=True, help="a video file (mp4, avi, webm, mkv, mov, gif); other sizes are resized")
    p.add_argument("--start", type=int, default=None, help="first context frame (default: the last context_frames frames)")
    p.add_argument("--class", dest="class_", default=None, help="class name or index (conditional models)")
    p.add_argument("--seed", type=int, default=0, help="a seed picks one of the plausible continuations")
    p.add_argument("--truncation", type=float, default=1.0, help="pull the latent toward the class mean")
    p.add_argument("--out", default=None, help="mp4 / gif of the predicted frames")
    p.add_argument("--with_context", action="store_true", help="--out holds the context followed by the prediction")
    p.add_argument("--grid", default=None, help="PNG: a row of context frames above a row of predicted frames")
    p.add_argument("--fps", type=float, default=8, help="frames per second of --out")
    p.add_argument("--scale", type=int, default=1, help="nearest-neighbour enlargement of the written frames")
    p.add_argument("--device", default=None, help="torch device (default: cpu)")
    p.set_defaults(func=_predict)

    e = sub.add_parser("evaluate", help="measure a model against real videos (class accuracy, IS, FD, motion)",
                       description="Evaluate a model on the held-out split of a dataset; writes a markdown table "
                                   "and, with --json, the metrics as JSON.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    e.add_argument("--model", default="weights", help="model folder or Hub repo id")
    e.add_argument("--data", required=True, help="dataset folder (e.g. ../shared/data/weizmann-actions)")
    e.add_argument("--data_format", default="auto", help="auto|strips|vgan|ucf101|folder")
    e.add_argument("--classifier", default=None,
                   help="feature/classifier model (safetensors folder); default: <model>/classifier")
    e.add_argument("--num_samples", type=int, default=256, help="generated videos per evaluation")
    e.add_argument("--seed", type=int, default=0, help="first seed of the generated videos")
    e.add_argument("--truncation", type=float, default=1.0,
                   help="sample as the demo's truncation slider does (<1 = closer to the class average, less varied)")
    e.add_argument("--num_frames", type=int, default=None,
                   help="instead: sample videos this long and report class accuracy, motion and SWD for every "
                        "16-frame window, and the colour drift over the whole video")
    e.add_argument("--extend", choices=EXTENDS, default=None,
                   help="with --num_frames: how the videos are made longer, as sample --extend (default: loop, "
                        "predict with --extender)")
    e.add_argument("--extender", default=None, help="with --num_frames: continue with this prediction model "
                                                    "instead of the model's predict/ folder")
    e.add_argument("--json", default=None, help="write the metrics as JSON here")
    e.add_argument("--markdown", default=None, help="write the metrics table as markdown here")
    e.add_argument("--i3d", default=None, help="also FVD: path or URL of the I3D TorchScript model (i3d_torchscript.pt)")
    e.add_argument("--c3d", default=None, help="also the UCF101 Inception Score (10 splits): path or URL of a C3D "
                                              "TorchScript model fine-tuned on UCF101")
    e.add_argument("--device", default=None, help="torch device (default: cpu)")
    e.set_defaults(func=_evaluate)

    k = sub.add_parser("calibrate", help="check the pixel metric (SWD) on real clips degraded on purpose",
                       description="Multi-scale SWD of real train clips, and of copies blurred (sigma 1), with colour "
                                   "fringes (red and blue one pixel apart) and at half resolution, against the real "
                                   "test clips: each degraded copy must read clearly worse than real. A noise-free "
                                   "copy (the camera's noise held still) shows what frame differences also measure. "
                                   "Then the coverage of the train videos: a collapse onto one video per class must "
                                   "read clearly lower than real, blur and lost detail as real. Last, the colour "
                                   "drift within clips: clips whose moving parts change colour over the clip, and "
                                   "clips cross-faded into another recording, must read clearly more than real.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    k.add_argument("--data", required=True, help="dataset folder with a train and a test split")
    k.add_argument("--data_format", default="auto", help="auto|strips|vgan|ucf101|folder")
    k.add_argument("--frames", type=int, default=16, help="clip length")
    k.add_argument("--resolution", type=int, default=64, help="clip size")
    k.add_argument("--num_frames", type=int, default=None,
                   help="instead: the long-video figures (evaluate --num_frames) of real train videos this long and of "
                        "copies frozen after 16 frames, drifting in colour and gaining noise")
    k.add_argument("--classifier", default="weights/classifier", help="with --num_frames: the classifier of the "
                                                                       "per-window class accuracy ('' = none)")
    k.add_argument("--json", default=None, help="write the table as JSON here")
    k.set_defaults(func=_calibrate)

    c = sub.add_parser("train-classifier", help="train the small video classifier that evaluate uses",
                       description="Train the evaluation classifier on a dataset's train split and report its "
                                   "accuracy on the held-out split.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    c.add_argument("--data", required=True, help="dataset folder")
    c.add_argument("--data_format", default="auto", help="auto|strips|vgan|ucf101|folder")
    c.add_argument("--out", default="weights/classifier", help="folder for model.safetensors + config.json")
    c.add_argument("--frames", type=int, default=16, help="clip length (the model's frames)")
    c.add_argument("--resolution", type=int, default=64, help="clip size (the model's resolution)")
    c.add_argument("--steps", type=int, default=1500, help="optimisation steps")
    c.add_argument("--batch_size", type=int, default=16, help="clips per step")
    c.add_argument("--seed", type=int, default=0, help="random seed")
    c.set_defaults(func=_train_classifier)

    t = sub.add_parser("fit-turn", help="make a prediction model that turns: a generator plus a fitted turn head",
                       description="A prediction model from a generator: its futures carry the context's last motion "
                                   "on for r frames, then play the context back (waves, jumping jacks and bends swing "
                                   "back and forth). Fits, on the data's train split, a distribution over r from the "
                                   "context's motion and class; a seed draws r from it. The generator is kept as it "
                                   "is, so the new model also samples as the given one.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--model", default="weights", help="the generator (folder or Hub repo id)")
    t.add_argument("--data", required=True, help="dataset folder (its train split)")
    t.add_argument("--data_format", default="auto", help="auto|strips|vgan|ucf101|folder")
    t.add_argument("--out", default="weights/predict", help="folder for the prediction model")
    t.add_argument("--context_frames", type=int, default=8, help="frames given; the model predicts the rest of its length")
    t.add_argument("--clips_per_video", type=int, default=8, help="evenly spaced train clips per video")
    t.add_argument("--steps", type=int, default=2000, help="optimisation steps (full batch)")
    t.add_argument("--temperature", type=float, default=0.5,
                   help="dB: how sharply the target favours the best turns (lower = fewer, surer futures)")
    t.add_argument("--seed", type=int, default=0, help="random seed")
    t.set_defaults(func=_fit_turn)
    return parser


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, NotADirectoryError, ConnectionError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
