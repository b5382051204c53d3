"""Publish a training run as the default model: weights/ = the run's EMA generator + a measured model card.

    python scripts/export_weights.py --run runs/weizmann-64 --out weights --data ../shared/data/weizmann-actions

Keeps weights/classifier/ (the evaluation classifier), evaluates the run's model/ with it on the
held-out performers, and writes weights/{model.safetensors, config.json, README.md, sample.gif,
metrics.json, metrics.md}.
"""

import argparse
import json
import shutil
from pathlib import Path

from hrvgan import HRVGAN
from hrvgan.metrics.classifier import VideoClassifier
from hrvgan.metrics.evaluate import evaluate, markdown_table
from hrvgan.training import list_checkpoints

NOTES = """## Evaluation

Measured with `python -m hrvgan evaluate --model weights --data ../shared/data/weizmann-actions --json metrics.json`
on the held-out performers 7-8 (16 videos, 8 clips each; the table above), with the project's own
video classifier (`classifier/`, trained on performers 0-6 only). Fréchet distances use its 64-d
features: real train vs real test is what a perfect generator would reach, an untrained generator
is the ceiling. {targets}

The classifier also ships here; retrain it with
`python -m hrvgan train-classifier --data ../shared/data/weizmann-actions --out weights/classifier`.
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="run folder (its model/ and checkpoints/)")
    parser.add_argument("--out", default="weights")
    parser.add_argument("--data", required=True)
    parser.add_argument("--config", default="configs/weizmann-64.yaml", help="the config the run was trained with")
    parser.add_argument("--num_samples", type=int, default=256)
    parser.add_argument("--note", default="", help="how the run went, for the model card (resumes, changes)")
    args = parser.parse_args()
    run, out = Path(args.run), Path(args.out)
    model = HRVGAN.from_pretrained(run / "model")
    checkpoints = list_checkpoints(run)
    steps = json.loads((checkpoints[-1] / "state.json").read_text())["step"] if checkpoints else None
    classifier = VideoClassifier.load(out / "classifier")
    results = evaluate(model, args.data, classifier, num_samples=args.num_samples)
    table = markdown_table(results)
    print(table)
    targets = (f"Targets: generated class accuracy >= 80% ({'met' if results['class_accuracy_generated'] >= 0.8 else 'not met'}); "
               f"FD <= 2x real train-vs-test ({'met' if results['fd_generated_vs_test'] <= 2 * results['fd_train_vs_test'] else 'not met'}) "
               f"and <= 1/10 of the untrained G's ({'met' if results['fd_generated_vs_test'] <= results['fd_untrained_vs_test'] / 10 else 'not met'}); "
               f"motion within 50% of real ({'met' if 0.5 <= results['motion_ratio'] <= 1.5 else 'not met'}).")
    model.save_pretrained(out, model_card_kwargs={
        "training_data": "Weizmann human actions (bend, jumping jack, one-hand wave, two-hand wave), 64x64, "
                         "performers 0-6 (56 videos); performers 7-8 held out",
        "training_command": f"accelerate launch train.py --config {args.config}",
        "steps": steps, "metrics": results, "sample_gif": "sample.gif",
        "notes": (f"## Training history\n\n{args.note}\n\n" if args.note else "") + NOTES.format(targets=targets)})
    shutil.copy(run / "model" / "sample.gif", out / "sample.gif")
    (out / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "metrics.md").write_text(table + "\n")
    print(f"wrote {out} (step {steps})")


if __name__ == "__main__":
    main()
