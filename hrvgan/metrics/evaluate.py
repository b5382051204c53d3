"""`python -m hrvgan evaluate`: one table in the spirit of the paper's Tables 3-4.

Real clips come from the held-out split (Weizmann: performers 7-8); the classifier was trained
on the train split only.  Fréchet distances use the classifier's features; the distance between
real train and real test clips is the floor a perfect generator would reach, the distance for an
untrained generator the ceiling.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from ..data import VideoDataset
from ..pipeline import HRVGAN
from .classifier import VideoClassifier, classify
from .scores import frechet_distance, inception_score, motion

logger = logging.getLogger(__name__)


def real_clips(dataset: VideoDataset, per_video: int) -> tuple[np.ndarray, np.ndarray]:
    """`per_video` evenly spaced clips of every video -> uint8 (N, T, H, W, 3), labels (N,)."""
    clips, labels = [], []
    for i in range(len(dataset)):
        n = dataset.offsets[i + 1] - dataset.offsets[i]
        for start in np.linspace(0, n - dataset.span, per_video).round().astype(int):
            clips.append(dataset.clip(i, start=int(start)))
            labels.append(dataset.labels[i])
    return np.stack(clips), np.asarray(labels)


def evaluate(model: HRVGAN, data, classifier: VideoClassifier, data_format: str = "auto", num_samples: int = 256,
             seed: int = 0, clips_per_video: int = 8, cache_dir=None, i3d=None, c3d=None) -> dict:
    mc = model.config
    common = dict(frames=mc.frames, resolution=mc.resolution, data_format=data_format, cache_dir=cache_dir, progress=False)
    test = VideoDataset(data, split="test", **common)
    train = VideoDataset(data, split="train", **common)
    if mc.conditional and test.num_classes != mc.num_classes:
        raise ValueError(f"the model has {mc.num_classes} classes, the data {test.num_classes} ({test.class_names}).")
    if len(classifier.config.class_names) != test.num_classes:
        raise ValueError(f"the classifier knows {len(classifier.config.class_names)} classes, the data {test.num_classes}.")

    test_videos, test_labels = real_clips(test, clips_per_video)
    train_videos, _ = real_clips(train, max(1, clips_per_video // 2))
    asked = np.arange(num_samples) % mc.num_classes if mc.conditional else None
    seeds = list(range(seed, seed + num_samples))
    logger.info("generating %d videos", num_samples)
    generated = model.sample(classes=asked.tolist() if asked is not None else None, seeds=seeds)
    torch.manual_seed(seed)
    untrained = HRVGAN(mc).sample(classes=asked.tolist() if asked is not None else None, seeds=seeds)

    p_test, f_test = classify(classifier, test_videos)
    p_train, f_train = classify(classifier, train_videos)
    p_gen, f_gen = classify(classifier, generated)
    _, f_untrained = classify(classifier, untrained)
    is_mean, is_std = inception_score(p_gen, splits=4)
    is_real, _ = inception_score(p_test, splits=1)
    m_real, m_gen = motion(test_videos), motion(generated)
    results = {
        "class_accuracy_real": float((p_test.argmax(1) == test_labels).mean()),
        "class_accuracy_generated": float((p_gen.argmax(1) == asked).mean()) if asked is not None else None,
        "inception_score": is_mean,
        "inception_score_std": is_std,
        "inception_score_real_test": is_real,
        "fd_generated_vs_test": frechet_distance(f_gen, f_test),
        "fd_train_vs_test": frechet_distance(f_train, f_test),
        "fd_untrained_vs_test": frechet_distance(f_untrained, f_test),
        "motion_real": m_real,
        "motion_generated": m_gen,
        "motion_ratio": m_gen / m_real if m_real > 0 else float("nan"),
        "num_generated": num_samples,
        "num_real_test_clips": len(test_videos),
        "num_real_train_clips": len(train_videos),
    }
    if i3d is not None:
        from .external import fvd
        results["fvd_generated_vs_test"] = fvd(i3d, test_videos, generated)
    if c3d is not None:
        from .external import c3d_inception_score
        results["inception_score_c3d"], results["inception_score_c3d_std"] = c3d_inception_score(c3d, generated, splits=10)
    return results


TABLE_ROWS = [
    ("Class accuracy, real test videos", "class_accuracy_real", "{:.1%}"),
    ("Class accuracy, generated (class asked for)", "class_accuracy_generated", "{:.1%}"),
    ("Inception Score (classifier), generated", "inception_score", "{:.2f}"),
    ("Inception Score (classifier), real test", "inception_score_real_test", "{:.2f}"),
    ("Fréchet distance, generated vs real test", "fd_generated_vs_test", "{:.2f}"),
    ("Fréchet distance, real train vs real test", "fd_train_vs_test", "{:.2f}"),
    ("Fréchet distance, untrained G vs real test", "fd_untrained_vs_test", "{:.2f}"),
    ("Motion (mean frame-to-frame change), generated / real", "motion_ratio", "{:.2f}"),
    ("FVD (I3D), generated vs real test", "fvd_generated_vs_test", "{:.1f}"),
    ("Inception Score (C3D, UCF101 protocol), generated", "inception_score_c3d", "{:.2f}"),
]


def markdown_table(results: dict) -> str:
    lines = ["| metric | value |", "|---|---|"]
    for label, key, fmt in TABLE_ROWS:
        if results.get(key) is not None:
            value = fmt.format(results[key])
            if key in ("inception_score", "inception_score_c3d"):
                value += f" ± {results[key + '_std']:.2f}"
            lines.append(f"| {label} | {value} |")
    return "\n".join(lines)


def evaluate_cli(args) -> int:
    model = HRVGAN.from_pretrained(args.model, device=args.device)
    classifier_dir = Path(args.classifier) if args.classifier else Path(args.model) / "classifier"
    classifier = VideoClassifier.load(classifier_dir)
    from .external import load_torchscript
    i3d = load_torchscript(args.i3d) if args.i3d else None
    c3d = load_torchscript(args.c3d) if args.c3d else None
    results = evaluate(model, args.data, classifier, data_format=args.data_format, num_samples=args.num_samples,
                       seed=args.seed, i3d=i3d, c3d=c3d)
    table = markdown_table(results)
    print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    return 0


def train_classifier_cli(args) -> int:
    from .classifier import train_classifier

    ds = VideoDataset(args.data, frames=args.frames, resolution=args.resolution, data_format=args.data_format,
                      split="train")
    model = train_classifier(ds, steps=args.steps, batch_size=args.batch_size, seed=args.seed)
    model.save(args.out)
    test = VideoDataset(args.data, frames=args.frames, resolution=args.resolution, data_format=args.data_format, split="test")
    clips, labels = real_clips(test, 8)
    probs, _ = classify(model, clips)
    print(f"saved {args.out}; accuracy on {len(clips)} held-out clips: {(probs.argmax(1) == labels).mean():.1%}")
    return 0
