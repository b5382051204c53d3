"""Publish a training run as the default model: weights/ = the run's EMA generator + a measured model card.

    python scripts/export_weights.py --run runs/weizmann-64 --out weights --data ../shared/data/weizmann-actions

Keeps weights/classifier/ (the evaluation classifier), evaluates the run's model/ with it on the
held-out performers, and writes weights/{model.safetensors, config.json, README.md, sample.gif,
metrics.json, metrics.md} and, from the run's checkpoint, weights/training/ (the raw generator and the
critic, for `train.py --init_from weights`).
"""

import argparse
import json
from pathlib import Path

import numpy as np
from safetensors.torch import load_file

from hrvgan import HRVGAN
from hrvgan.metrics.classifier import VideoClassifier
from hrvgan.metrics.evaluate import evaluate, markdown_table
from hrvgan.training import list_checkpoints
from hrvgan.training.checkpoint import TRAINING_FOLDER
from hrvgan.video import write_gif

NOTES = """## Evaluation

Measured with `python -m hrvgan evaluate --model weights --data ../shared/data/weizmann-actions --json metrics.json`
on the held-out performers 7-8 (16 videos, 8 clips each; the table above), with the project's own
video classifier (`classifier/`, trained on performers 0-6 only). Fréchet distances use its 64-d
features: real train vs real test is what a perfect generator would reach, an untrained generator
is the ceiling. SWD (x10^3, finest level) looks at pixels: blur, colour fringes, texture; on frames
and on frame differences. Per-level and per-frame values are in `metrics.json`.

{targets}

The classifier also ships here; retrain it with
`python -m hrvgan train-classifier --data ../shared/data/weizmann-actions --out weights/classifier`.
"""


def check_targets(r: dict, generation: bool = True) -> list[tuple[str, str, bool]]:
    """(target, measured value, met?) for the default model's targets (issue #26: class accuracy, SWD at every
    pyramid level, the moving-region SWD; motion and spread against the real train clips, what G learned)."""
    rows = []
    if generation:
        acc = r["class_accuracy_generated"]
        rows += [
            ("generated class accuracy >= 93%", f"{acc:.1%}", acc >= 0.93),
            ("Fréchet distance <= 1.5x real train-vs-test", f"{r['fd_generated_vs_test']:.2f} vs {r['fd_train_vs_test']:.2f}",
             r["fd_generated_vs_test"] <= 1.5 * r["fd_train_vs_test"]),
        ]
        for prefix, what, limit, refs in (
                ("swd", "SWD", 1.25, (("generated_vs_test", "train_vs_test", "real train-vs-test"),)),
                ("swd_moving", "SWD where clips move", 1.3, (
                    ("generated_vs_test", "train_vs_test", "real train-vs-test"),
                    ("generated_vs_train_late", "train_early_vs_train_late",
                     "the train videos' first vs second halves, against their second halves")))):
            for kind, name in (("frames", "frames"), ("motion", "frame differences"), ("still", "still images")):
                for gen, real, ref in refs:
                    if f"{prefix}_{kind}_{gen}" not in r:
                        continue
                    ratios = [g / t for g, t in zip(r[f"{prefix}_{kind}_{gen}"], r[f"{prefix}_{kind}_{real}"])]
                    rows.append((f"{what}, {name}, every level (finest first) <= {limit}x {ref}",
                                 " / ".join(f"{x:.2f}x" for x in ratios), max(ratios) <= limit))
        rows.append(("motion within 20% of real train clips (what G learned; real train / real test reads "
                     f"{r['motion_train_vs_test']:.2f}, generated / real test {r['motion_ratio']:.2f})",
                     f"{r['motion_ratio_train']:.2f}", 0.8 <= r["motion_ratio_train"] <= 1.2))
        spread = r["diversity_generated"] / r["diversity_real_train"]
        rows.append(("no collapse: spread within a class within 20% of the real train clips' (real test: "
                     f"{r['diversity_real_test']:.1f}, 2 performers)",
                     f"{r['diversity_generated']:.1f} vs {r['diversity_real_train']:.1f} ({spread:.2f}x)",
                     0.8 <= spread <= 1.2))
        if "coverage_generated_vs_train_late" in r:   # the spread reads one performer at every phase as spread as the data
            cover, real = r["coverage_generated_vs_train_late"], r["coverage_train_early_vs_train_late"]
            drawn = (f"; draws {r['train_videos_drawn_generated']} of the {r['num_train_videos']} train videos"
                     if "train_videos_drawn_generated" in r else "")
            rows.append(("no collapse: coverage of the train videos (who is drawn, in front of which wall) at least "
                         "0.8x their own first halves'", f"{cover:.2f} vs {real:.2f} ({cover / real:.2f}x{drawn})",
                         cover >= 0.8 * real))
        if "clip_drift_generated" in r:   # no figure over random frames sees when colours come (metrics/drift.py)
            drift, real = r["clip_drift_generated"], r["clip_drift_real_train"]
            rows.append(("colours kept over a clip: colour drift within clips (a class's first 4 frames against its "
                         "last 4) at most 1.5x the real train clips'", f"{drift:.4f} vs {real:.4f} ({drift / real:.2f}x)",
                         drift <= 1.5 * real))
        if "index_bias_generated" in r:   # a phase tied to the frame index (metrics/drift.py)
            bias, real = r["index_bias_generated"], r["index_bias_real_train"]
            rows.append(("actions at every phase at every frame index: index bias (a class's mean first 4 frames "
                         "against its mean last 4) at most 1.5x the real train clips'",
                         f"{bias:.2f} vs {real:.2f} ({bias / real:.2f}x)", bias <= 1.5 * real))
    if "prediction_psnr" in r:   # issue #25: futures that keep their limbs
        gain = r["prediction_psnr"] - r["copy_last_psnr"]
        swd_ratio = r["swd_motion_prediction_vs_real"][0] / r["swd_motion_train_vs_test"][0]
        rows += [
            ("prediction PSNR at least 1 dB above copy-last-frame", f"{r['prediction_psnr']:.2f} vs "
             f"{r['copy_last_psnr']:.2f} dB ({gain:+.2f})", gain >= 1.0),
            ("prediction SSIM above copy-last-frame", f"{r['prediction_ssim']:.3f} vs {r['copy_last_ssim']:.3f}",
             r["prediction_ssim"] > r["copy_last_ssim"]),
            ("prediction motion within 0.8-1.2x the real continuation's", f"{r['prediction_motion_ratio']:.2f}",
             0.8 <= r["prediction_motion_ratio"] <= 1.2),
            ("SWD of predicted frame differences vs the real continuation, finest level, <= 1.5x real train-vs-test",
             f"{r['swd_motion_prediction_vs_real'][0]:.1f} vs {r['swd_motion_train_vs_test'][0]:.1f} ({swd_ratio:.2f}x)",
             swd_ratio <= 1.5),
        ]
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="run folder (its model/ and checkpoints/)")
    source.add_argument("--model", help="a model folder to re-measure as it is (give --steps to keep its card's step count)")
    parser.add_argument("--steps", default=None, help="the training steps to record (default: the run's checkpoint's; "
                        "a run that continued another model records the sum, e.g. '9000 (7000 + 2000)')")
    parser.add_argument("--classifier", default="weights/classifier", help="the evaluation classifier")
    parser.add_argument("--out", default="weights")
    parser.add_argument("--data", required=True)
    parser.add_argument("--config", default="configs/weizmann-64.yaml", help="the config the run was trained with")
    parser.add_argument("--num_samples", type=int, default=256)
    parser.add_argument("--note", default="", help="how the run went, for the model card (resumes, changes); @FILE reads a file")
    parser.add_argument("--checkpoint", default="", help="export this checkpoint's EMA generator (default: the run's model/)")
    parser.add_argument("--prediction_only", action="store_true",
                        help="a model shipped for prediction (weights/predict): its card checks the prediction targets")
    parser.add_argument("--command", default="", help="the command that reproduces the run, for the model card")
    args = parser.parse_args()
    out = Path(args.out)
    if args.note.startswith("@"):
        args.note = Path(args.note[1:]).read_text()
    model = HRVGAN.from_pretrained(Path(args.model or Path(args.run) / "model"))
    checkpoint = None
    if args.run:
        checkpoint = Path(args.checkpoint) if args.checkpoint else (list_checkpoints(Path(args.run)) or [None])[-1]
    steps = args.steps
    if checkpoint is not None:
        steps = args.steps or json.loads((checkpoint / "state.json").read_text())["step"]
        if args.checkpoint:  # the EMA generator of a chosen checkpoint, not the last export
            model.generator.load_state_dict(load_file(str(checkpoint / "ema.safetensors")))
    classifier = VideoClassifier.load(args.classifier)
    results = evaluate(model, args.data, classifier, num_samples=args.num_samples)
    table = markdown_table(results)
    print(table)
    source = ("issue #25; the held-out performers' clips" if args.prediction_only else
              "issue #26; one draw of 256 videos, see bench/bench_draws.py for the spread between draws")
    targets = f"Targets ({source}):\n\n| target | measured | |\n|---|---|---|\n" + "\n".join(
        f"| {what} | {value} | {'met' if ok else '**not met**'} |"
        for what, value, ok in check_targets(results, generation=not args.prediction_only))
    model.save_pretrained(out, model_card_kwargs={
        "training_data": "Weizmann human actions (bend, jumping jack, one-hand wave, two-hand wave), 64x64, "
                         "performers 0-6 (56 videos); performers 7-8 held out",
        "training_command": args.command or f"accelerate launch train.py --config {args.config} --data {args.data}",
        "steps": steps, "metrics": results, "sample_gif": "sample.gif",
        "notes": (f"## Training history\n\n{args.note}\n\n" if args.note else "") + NOTES.format(targets=targets)})
    if args.prediction_only:  # the shipped held-out clips: context then prediction, side by side
        from hrvgan.demo import slug
        from hrvgan.video import read_video
        m, shown = model.context_frames, []
        for name in model.class_names:
            clip = read_video(next(Path("examples/clips").glob(f"{slug(name)}-*.mp4")))
            shown.append(np.concatenate([clip[:m], model.predict(clip[:m], classes=name, seeds=0)[0]]))
        videos = np.stack(shown)
    else:
        videos = model.sample(classes=model.class_names, seeds=0) if model.class_names else model.sample(seeds=[0, 1, 2, 3])
    write_gif(np.concatenate(list(videos), axis=2), out / "sample.gif", scale=2)
    if checkpoint is not None:   # what a fine-tune needs to continue the GAN with its own critic
        import shutil
        (out / TRAINING_FOLDER).mkdir(exist_ok=True)
        for name in ("generator", "discriminator"):
            shutil.copyfile(checkpoint / f"{name}.safetensors", out / TRAINING_FOLDER / f"{name}.safetensors")
        if (Path(args.run) / "model" / TRAINING_FOLDER / "README.md").exists():
            shutil.copyfile(Path(args.run) / "model" / TRAINING_FOLDER / "README.md", out / TRAINING_FOLDER / "README.md")
    (out / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "metrics.md").write_text(table + "\n")
    print(f"wrote {out} (step {steps})")


if __name__ == "__main__":
    main()
