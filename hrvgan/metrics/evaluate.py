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
from ..inputs import extend_for
from ..networks import velocity_prior, warp_frame
from ..pipeline import HRVGAN
from ..video import to_float, to_uint8
from .classifier import VideoClassifier, classify
from .coverage import covered, first_per_class, share_covered, videos_drawn
from .drift import clip_drift, index_bias
from .scores import frechet_distance, inception_score, motion
from .swd import MOVING_VIEWS, swd, swd_moving_by_class
from .table import markdown_table

logger = logging.getLogger(__name__)


def spaced_clips(dataset: VideoDataset, per_video: int, starts) -> tuple[np.ndarray, np.ndarray]:
    """`per_video` evenly spaced clips of every video, their starts from ``starts(frames) = (first, last)`` ->
    uint8 (N, T, H, W, 3), labels (N,)."""
    clips, labels = [], []
    for i in range(len(dataset)):
        first, last = starts(dataset.offsets[i + 1] - dataset.offsets[i])
        for start in np.linspace(first, last, per_video).round().astype(int):
            clips.append(dataset.clip(i, start=int(start)))
            labels.append(dataset.labels[i])
    return np.stack(clips), np.asarray(labels)


def real_clips(dataset: VideoDataset, per_video: int) -> tuple[np.ndarray, np.ndarray]:
    """`per_video` evenly spaced clips of every video -> uint8 (N, T, H, W, 3), labels (N,)."""
    return spaced_clips(dataset, per_video, lambda n: (0, n - dataset.span))


def time_split_clips(dataset: VideoDataset, per_half: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`per_half` evenly spaced clips from the first half of every video and as many from its second half ->
    (early clips, their labels, late clips, their labels).  The same performers in front of the same walls on
    both sides: a reference that differs from the data only in the moment, unlike the held-out performers."""
    span = dataset.span
    early = spaced_clips(dataset, per_half, lambda n: (0, max(0, n // 2 - span)))
    late = spaced_clips(dataset, per_half, lambda n: (min(n // 2, n - span), n - span))
    return (*early, *late)


def reference_clips(test: VideoDataset, train: VideoDataset, clips_per_video: int = 8) -> dict[str, tuple]:
    """The real clips every figure is read against, picked one way wherever figures are made (evaluate, long
    videos, bench/): ``clips_per_video`` evenly spaced clips of every held-out video (``test``), half as many of
    every train video (``train``), and as many from the first and the second half of every train video
    (``early``, ``late``; see :func:`time_split_clips`).  Each entry is (uint8 clips (N, T, H, W, 3), labels (N,))."""
    per_train = max(1, clips_per_video // 2)
    early_v, early_l, late_v, late_l = time_split_clips(train, per_train)
    videos = np.repeat(np.arange(len(train)), per_train)         # per_train clips of each train video, in order
    return {"test": real_clips(test, clips_per_video), "train": real_clips(train, per_train),
            "early": (early_v, early_l), "late": (late_v, late_l),
            "train_videos": videos, "early_videos": videos, "late_videos": videos}   # each clip's train video


def evaluate(model: HRVGAN, data, classifier: VideoClassifier, data_format: str = "auto", num_samples: int = 256,
             seed: int = 0, clips_per_video: int = 8, cache_dir=None, i3d=None, c3d=None, truncation: float = 1.0) -> dict:
    """The generated clips are sampled as a user samples them (seeds seed.., the classes in turn, ``truncation``
    as the demo's slider; 1 = none), so a truncated setting can be judged by the same figures."""
    mc = model.config
    common = dict(frames=mc.frames, resolution=mc.resolution, data_format=data_format, cache_dir=cache_dir, progress=False)
    test = VideoDataset(data, split="test", **common)
    train = VideoDataset(data, split="train", **common)
    if mc.conditional and test.num_classes != mc.num_classes:
        raise ValueError(f"the model has {mc.num_classes} classes, the data {test.num_classes} ({test.class_names}).")
    if len(classifier.config.class_names) != test.num_classes:
        raise ValueError(f"the classifier knows {len(classifier.config.class_names)} classes, the data {test.num_classes}.")

    refs = reference_clips(test, train, clips_per_video)
    (test_videos, test_labels), (train_videos, train_labels) = refs["test"], refs["train"]
    (early, early_labels), (late, late_labels) = refs["early"], refs["late"]
    asked = np.arange(num_samples) % mc.num_classes if mc.conditional else None
    seeds = list(range(seed, seed + num_samples))
    logger.info("generating %d videos", num_samples)
    generated = model.sample(classes=asked.tolist() if asked is not None else None, seeds=seeds, truncation=truncation)
    torch.manual_seed(seed)
    untrained = HRVGAN(mc).sample(classes=asked.tolist() if asked is not None else None, seeds=seeds)

    p_test, f_test = classify(classifier, test_videos)
    p_train, f_train = classify(classifier, train_videos)
    p_gen, f_gen = classify(classifier, generated)
    _, f_untrained = classify(classifier, untrained)
    is_mean, is_std = inception_score(p_gen, splits=4)
    is_real, _ = inception_score(p_test, splits=1)
    m_real, m_gen, m_train = motion(test_videos), motion(generated), motion(train_videos)
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
        # The same ratio for the real train clips, what a perfect copy of the training data reads (on Weizmann
        # the 7 train performers move 1.4x as much as the 2 test ones), and generated / real train.
        "motion_real_train": m_train,
        "motion_train_vs_test": m_train / m_real if m_real > 0 else float("nan"),
        "motion_ratio_train": m_gen / m_train if m_train > 0 else float("nan"),
        "num_generated": num_samples,
        "truncation": truncation,
        "num_real_test_clips": len(test_videos),
        "num_real_train_clips": len(train_videos),
    }
    # Pixels: multi-scale SWD (x 10^3, finest level first) on frames and on frame differences.
    for kind, is_motion in (("frames", False), ("motion", True)):
        results[f"swd_{kind}_generated_vs_test"] = swd(generated, test_videos, motion=is_motion, seed=seed)
        results[f"swd_{kind}_train_vs_test"] = swd(train_videos, test_videos, motion=is_motion, seed=seed)
    # The same where the clips move (swd.swd_moving), class by class: fans and ghosts of sweeping limbs, on frames,
    # frame differences and each clip's still image (what a limb leaves behind). Against the held-out test clips,
    # and against the train videos' second halves beside their first halves: the same performers and walls, so a
    # pale oval is not excused by held-out performers who wave in front of pale walls.
    for kind, view in MOVING_VIEWS.items():
        for ref, ref_videos, ref_labels, pairs in (
                ("test", test_videos, test_labels, (("generated", generated, asked), ("train", train_videos, train_labels))),
                ("train_late", late, late_labels, (("generated", generated, asked), ("train_early", early, early_labels)))):
            for who, videos, labels in pairs:
                mean, per_class = swd_moving_by_class(videos, labels if mc.conditional else None, ref_videos,
                                                      ref_labels if mc.conditional else None, seed=seed, **view)
                results[f"swd_moving_{kind}_{who}_vs_{ref}"] = mean
                results[f"swd_moving_{kind}_{who}_vs_{ref}_per_class"] = {mc.class_names[c]: v for c, v in per_class.items()}
    # Which train videos G draws (coverage.py): the spread below reads one performer at every phase as spread as the
    # data. Against the train videos' second halves; real: their first halves, as many clips per class as they have.
    cover_labels = early_labels if mc.conditional else None
    gen, gen_labels = first_per_class(generated, asked, early_labels) if mc.conditional else (generated[:len(early)], None)
    # And how many of the train videos are drawn at all (one of their second halves' clips covered or more).
    ref_labels = late_labels if mc.conditional else None
    results["num_train_videos"] = len(train)
    for who, videos, labels in (("generated", gen, gen_labels), ("train_early", early, cover_labels)):
        hit = covered(late, ref_labels, videos, labels)
        results[f"coverage_{who}_vs_train_late"], per_class = share_covered(hit, ref_labels)
        drawn = videos_drawn(hit, refs["late_videos"], ref_labels)
        results[f"train_videos_drawn_{who}"] = sum(k for k, _ in drawn.values())
        if mc.conditional:
            results[f"coverage_{who}_vs_train_late_per_class"] = {mc.class_names[c]: v for c, v in per_class.items()}
            results[f"train_videos_drawn_{who}_per_class"] = {mc.class_names[c]: k for c, (k, _) in drawn.items()}
    # Whether clips keep their colours from start to end (drift.py): the first frames of a class's clips against
    # their last frames, pooled; the real train clips, cut at random moments, do. Sets of equal size per class.
    gen, gen_labels = first_per_class(generated, asked, train_labels) if mc.conditional else (generated[:len(train_videos)], None)
    results["clip_drift_generated"], per_class = clip_drift(gen, gen_labels)
    results["clip_drift_real_train"] = clip_drift(train_videos, train_labels if mc.conditional else None)[0]
    if mc.conditional:
        results["clip_drift_generated_per_class"] = {mc.class_names[c]: v for c, v in per_class.items()}
    # ... and whether the phase of the action is tied to the frame index: their mean first frames against their
    # mean last frames, the same sets.
    results["index_bias_generated"], per_class = index_bias(gen, gen_labels)
    results["index_bias_real_train"] = index_bias(train_videos, train_labels if mc.conditional else None)[0]
    if mc.conditional:
        results["index_bias_generated_per_class"] = {mc.class_names[c]: v for c, v in per_class.items()}
    # Both real spreads: the test split has 2 performers, the train split (what G learned) 7, so the
    # test clips of a class are less spread out than the distribution G imitates.
    results["diversity_generated"], results["diversity_real_test"], results["diversity_real_train"] = (
        class_spread(generated, asked), class_spread(test_videos, test_labels if mc.conditional else None),
        class_spread(train_videos, train_labels if mc.conditional else None))
    if model.context_frames:
        results.update(evaluate_prediction(model, test_videos, test_labels, classifier, seed=seed))
    if i3d is not None:
        from .external import fvd
        results["fvd_generated_vs_test"] = fvd(i3d, test_videos, generated)
    if c3d is not None:
        from .external import c3d_inception_score
        results["inception_score_c3d"], results["inception_score_c3d_std"] = c3d_inception_score(c3d, generated, splits=10)
    return results


def class_spread(videos: np.ndarray, labels) -> float:
    """How spread out the videos of each class are: mean distance (RMS over pixels, 0-255) of each video
    from its class's mean video, averaged over classes.  A collapsed class reads near 0."""
    x = videos.astype(np.float32)
    groups = [x] if labels is None else [x[np.asarray(labels) == c] for c in np.unique(labels)]
    return float(np.mean([np.sqrt(((g - g.mean(axis=0)) ** 2).mean(axis=(1, 2, 3, 4))).mean() for g in groups if len(g) > 1]))


def psnr_ssim(predicted: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per clip and frame PSNR (dB) and SSIM of uint8 (N, n, H, W, 3) frames -> two (N, n) arrays."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    p = torch.from_numpy(np.ascontiguousarray(predicted)).float()
    t = torch.from_numpy(np.ascontiguousarray(target)).float()
    mse = (p - t).pow(2).mean(dim=(2, 3, 4))
    psnr = 10 * torch.log10(255.0**2 / mse.clamp_min(1e-10))
    n, k = p.shape[:2]
    frames = lambda x: x.flatten(0, 1).permute(0, 3, 1, 2)  # noqa: E731  (N*n, 3, H, W)
    ssim = structural_similarity_index_measure(frames(p), frames(t), data_range=255.0, reduction="none")
    return psnr.numpy(), ssim.reshape(n, k).numpy()


FUTURES = 10  # futures per clip for the best-of-K figures


def carry_motion(context: np.ndarray, n: int, batch: int = 64) -> np.ndarray:
    """A baseline that never learns: the last context frame moved on at the context's last motion (Lucas-Kanade
    between its last two frames, constant velocity), uint8 (N, m, H, W, 3) -> the next ``n`` frames, the same way."""
    steps = torch.arange(1, n + 1, dtype=torch.float32)
    out = []
    for i in range(0, len(context), batch):
        x = to_float(context[i:i + batch])                                              # (B, 3, m, H, W)
        out.append(to_uint8(warp_frame(x[:, :, -1:], velocity_prior(x, steps))))
    return np.concatenate(out)


def evaluate_prediction(model: HRVGAN, clips: np.ndarray, labels: np.ndarray, classifier: VideoClassifier,
                        seed: int = 0) -> dict:
    """Prediction (X -> Y) on held-out clips: PSNR / SSIM per predicted frame beside baselines that never learn
    anything (copy the last context frame; repeat the context; carry its last motion on), motion and class accuracy."""
    m, n = model.context_frames, model.predicted_frames
    x, y = clips[:, :m], clips[:, m:m + n]
    predicted = model.predict(x, classes=labels.tolist() if model.config.conditional else None,
                              seeds=list(range(seed, seed + len(clips))))
    baselines = {"prediction": predicted,
                 "copy_last": np.repeat(x[:, -1:], n, axis=1),
                 "repeat_context": x[:, np.arange(n) % m]}
    if m >= 2:
        baselines["carry_motion"] = carry_motion(x, n)
    out = {}
    for name, frames in baselines.items():
        psnr, ssim = psnr_ssim(frames, y)
        out[f"{name}_psnr"], out[f"{name}_ssim"] = float(psnr.mean()), float(ssim.mean())
        out[f"{name}_psnr_per_frame"] = [float(v) for v in psnr.mean(axis=0)]
        out[f"{name}_ssim_per_frame"] = [float(v) for v in ssim.mean(axis=0)]
    seam = lambda future: np.concatenate([x[:, -1:], future], axis=1)  # noqa: E731  the step from X into Y counts
    for name in ("prediction", "copy_last", "carry_motion"):  # what a viewer sees: texture, and motion (smear, freeze)
        if name in baselines:
            out[f"swd_frames_{name}_vs_real"] = swd(baselines[name], y, seed=seed)
            out[f"swd_motion_{name}_vs_real"] = swd(seam(baselines[name]), seam(y), motion=True, seed=seed)
    for name in ("prediction", "carry_motion"):
        if name in baselines:
            out[f"{name}_motion_ratio"] = motion(seam(baselines[name])) / max(motion(seam(y)), 1e-9)
    # Several futures per clip (seeds): the best of them against the truth (as SVG and MCVD report), and how far
    # apart they are (RMS between two seeds' futures, 0-255; 0 = the seed changes nothing).
    futures = np.stack([predicted] + [model.predict(x, classes=labels.tolist() if model.config.conditional else None,
                                                    seeds=[s * FUTURES + k for s in range(seed, seed + len(clips))])
                                      for k in range(1, FUTURES)])            # (K, N, n, H, W, 3)
    scores = [psnr_ssim(f, y) for f in futures]
    out["prediction_psnr_best_of_k"] = float(np.max([p.mean(axis=1) for p, _ in scores], axis=0).mean())
    out["prediction_ssim_best_of_k"] = float(np.max([q.mean(axis=1) for _, q in scores], axis=0).mean())
    f = futures.astype(np.float32)
    out["prediction_spread"] = float(np.sqrt(((f[1:] - f[:1]) ** 2).mean(axis=(2, 3, 4, 5))).mean())
    out["prediction_futures"] = FUTURES
    probs, _ = classify(classifier, np.concatenate([x, predicted], axis=1))
    out["prediction_class_accuracy"] = float((probs.argmax(1) == labels).mean()) if model.config.conditional else None
    out["num_prediction_clips"] = len(clips)
    return out


def evaluate_long_videos(model: HRVGAN, data, classifier: VideoClassifier | None, num_frames: int,
                         data_format: str = "auto", num_samples: int = 256, seed: int = 0, cache_dir=None,
                         truncation: float = 1.0, progress: bool = True, extend: str = "loop") -> dict:
    """Videos of ``num_frames`` sampled as a user samples them (``extend`` as `HRVGAN.sample`), measured window by
    window (longvideo.py), with real train <-> test SWD at the finest level beside them
    (``swd_{frames,motion}_train_vs_test``)."""
    from tqdm.auto import tqdm

    from .longvideo import evaluate_long, real_long_videos

    mc = model.config
    common = dict(frames=mc.frames, resolution=mc.resolution, data_format=data_format, cache_dir=cache_dir, progress=False)
    test, train = VideoDataset(data, split="test", **common), VideoDataset(data, split="train", **common)
    refs = reference_clips(test, train)
    test_videos, train_videos = refs["test"][0], refs["train"][0]
    real_long, _ = real_long_videos([train, test], num_frames)
    asked = np.arange(num_samples) % mc.num_classes if mc.conditional else None
    videos = []
    with tqdm(total=num_samples, desc=f"{num_frames}-frame videos", unit="video", disable=not progress) as bar:
        for i in range(0, num_samples, 16):
            part = model.sample(classes=None if asked is None else asked[i:i + 16].tolist(),
                                seeds=list(range(seed + i, seed + min(i + 16, num_samples))),
                                truncation=truncation, num_frames=num_frames, extend=extend)
            videos.append(part)
            bar.update(len(part))
    results = evaluate_long(np.concatenate(videos), asked, classifier, test_videos, motion(train_videos), real_long,
                            seed=seed)
    results["truncation"], results["num_generated"], results["extend"] = truncation, num_samples, extend
    results["swd_frames_train_vs_test"] = swd(train_videos, test_videos, seed=seed)[0]
    results["swd_motion_train_vs_test"] = swd(train_videos, test_videos, motion=True, seed=seed)[0]
    return results


def evaluate_cli(args) -> int:
    model = HRVGAN.from_pretrained(args.model, device=args.device)
    classifier_dir = Path(args.classifier) if args.classifier else Path(args.model) / "classifier"
    classifier = VideoClassifier.load(classifier_dir)
    from .external import load_torchscript
    i3d = load_torchscript(args.i3d) if args.i3d else None
    c3d = load_torchscript(args.c3d) if args.c3d else None
    if args.num_frames:
        from .longvideo import window_table
        extend = extend_for(args.extend, args.extender)
        if args.extender:
            model.extender = HRVGAN.from_pretrained(args.extender, device=args.device)
        results = evaluate_long_videos(model, args.data, classifier, args.num_frames, data_format=args.data_format,
                                       num_samples=args.num_samples, seed=args.seed, truncation=args.truncation,
                                       extend=extend)
        table = window_table(results, results["swd_frames_train_vs_test"], results["swd_motion_train_vs_test"])
    else:
        results = evaluate(model, args.data, classifier, data_format=args.data_format, num_samples=args.num_samples,
                           seed=args.seed, i3d=i3d, c3d=c3d, truncation=args.truncation)
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
