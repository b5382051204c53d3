"""Does a fine-tune from a model folder keep its classes? Its own critic against a fresh one, side by side.

    python bench/bench_continue.py [--model weights] [--data ../shared/data/weizmann-actions] [--steps 100]

Continues the GAN from ``--model`` with the default recipe (configs/weizmann-64.yaml, with the model's own
channels and motion strides, so nothing is widened or grown) for ``--steps`` steps, twice: once with the
critic and raw generator of the model's ``training/`` folder, once from a copy without it (a fresh critic,
no ``d_warmup_steps``, as a fine-tune of a model that carries no critic starts).  Prints the class accuracy,
by the model's classifier, of the raw generator and of the EMA generator (what is exported) before and after.
Raw G is where a critic's first gradients show; the EMA moves 1 - ema_decay of the way to it per step.
"""

import argparse
import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from hrvgan import HRVGAN
from hrvgan.metrics.classifier import VideoClassifier, classify
from hrvgan.training import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]


def accuracy(trainer: Trainer, generator, classifier, per_class: int) -> float:
    model = HRVGAN(trainer.model_config)
    model.generator.load_state_dict(generator.state_dict())
    labels = np.repeat(np.arange(trainer.model_config.num_classes), per_class)
    videos = model.sample(classes=labels.tolist(), seeds=list(range(len(labels))))
    return float((classify(classifier, videos)[0].argmax(1) == labels).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="weights", help="a model folder with training/ (raw G and critic)")
    parser.add_argument("--data", default="../shared/data/weizmann-actions", help="the training data")
    parser.add_argument("--config", default=str(ROOT / "configs/weizmann-64.yaml"), help="the recipe")
    parser.add_argument("--steps", type=int, default=100, help="steps of each continuation")
    parser.add_argument("--per_class", type=int, default=32, help="videos per class for the accuracy")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    shipped = json.loads((Path(args.model) / "config.json").read_text())
    classifier = VideoClassifier.load(Path(args.model) / "classifier")
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "without-critic"
        bare.mkdir()
        for name in ("config.json", "model.safetensors"):
            shutil.copy(Path(args.model) / name, bare / name)
        print(f"{args.model}, {args.steps} steps of {args.config} on {args.data}; class accuracy of "
              f"{shipped['num_classes'] * args.per_class} videos")
        print("| critic | raw G before | raw G after | EMA before | EMA after |")
        print("|---|---|---|---|---|")
        for label, source in (("its own (training/)", args.model), ("fresh", str(bare))):
            torch.manual_seed(0)
            cfg = TrainConfig.from_yaml(args.config, {
                "data.path": args.data, "run.init_from": source, "optim.max_steps": args.steps,
                "model.channels": shipped["channels"], "model.motion_strides": shipped["motion_strides"],
                "run.output_dir": str(Path(tmp) / label.split()[0]), "run.resume": "none",
                "run.checkpoint_every": args.steps + 1, "run.sample_every": 0, "run.export_every": 0})
            trainer = Trainer(cfg)
            before = [accuracy(trainer, g, classifier, args.per_class) for g in (trainer.G, trainer.ema)]
            trainer.train()
            after = [accuracy(trainer, g, classifier, args.per_class) for g in (trainer.G, trainer.ema)]
            print(f"| {label} | {before[0]:.1%} | {after[0]:.1%} | {before[1]:.1%} | {after[1]:.1%} |", flush=True)


if __name__ == "__main__":
    main()
