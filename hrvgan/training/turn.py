"""A turning prediction model (`networks.TurnHead`, ``model.turn``): fit when the motion turns.

    python -m hrvgan fit-turn --model weights --data ../shared/data/weizmann-actions --out weights/predict

The new model is the given generator (it samples exactly as that one does) with a prediction head: for
``context_frames`` given frames it predicts the rest by turning (see `networks.turn_futures`).  Fitting: every train
clip's future is made with each turn r = 0..n and scored against the real continuation (PSNR); the head learns a
distribution over r from the context's motion profile and class whose target is softmax(PSNR / temperature): the
turns that fit best, and others in proportion, so that seeds draw different plausible futures.  A few hundred clips,
full batch: seconds on a CPU.  The generator's own weights are not changed.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from ..config import ModelConfig
from ..networks import turn_pick, turn_timeline
from ..pipeline import HRVGAN
from ..video import to_float

log = logging.getLogger(__name__)


def turning_model(model: HRVGAN, context_frames: int) -> HRVGAN:
    """``model``'s generator, weights and all, with an unfitted turn head for ``context_frames`` given frames."""
    if model.config.time_crop:
        raise ValueError("fit-turn keeps the generator as it is, and a time-cropped one (model.time_crop) samples windows "
                         "of its loop, which a prediction model's config cannot hold: give a generator without time_crop.")
    config = ModelConfig.from_dict({**model.config.to_dict(), "context_frames": context_frames, "turn": True,
                                    "warp": False, "warp_support": 0, "warp_prior": False, "time_crop": 0})
    out = HRVGAN(config)
    state = {k: v for k, v in model.generator.state_dict().items()
             if not k.startswith(("encoder.", "to_alpha.", "to_flow.", "prior_steps", "to_turn."))}
    missing, unexpected = out.generator.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("to_turn.") for k in missing):
        raise ValueError(f"{model.config} does not fit a turning model: missing {missing}, unexpected {unexpected}.")
    return out


@torch.no_grad()
def turn_scores(clips: np.ndarray, context_frames: int, batch: int = 64) -> torch.Tensor:
    """uint8 clips (N, T, H, W, 3) -> (N, n + 1): the PSNR (dB) of each turn r = 0..n's future against the clip's
    real continuation (n = T - context_frames), mean over the future frames."""
    m, n = context_frames, clips.shape[1] - context_frames
    out = []
    for i in range(0, len(clips), batch):
        video = to_float(clips[i:i + batch])                                   # (B, 3, T, H, W) in [-1, 1]
        context, truth = video[:, :, :m], video[:, :, m:]
        timeline, rows = turn_timeline(context, n), []                         # the carry is the same for every r
        for r in range(n + 1):
            future = turn_pick(timeline, torch.full((len(video),), r), m, n)
            mse = ((future - truth) * 127.5).pow(2).mean(dim=(1, 3, 4))        # (B, n) in grey levels^2
            rows.append((10 * torch.log10(255.0**2 / mse.clamp_min(1e-10))).mean(dim=1))
        out.append(torch.stack(rows, dim=1))
    return torch.cat(out)


def fit_turn(model: HRVGAN, clips: np.ndarray, labels: np.ndarray | None, steps: int = 2000, temperature: float = 0.5,
             lr: float = 1e-2, weight_decay: float = 1e-4, seed: int = 0) -> dict:
    """Fit ``model``'s turn head on uint8 train clips (N, T, H, W, 3) of the model's length and their class labels.
    Returns figures of the fit: the mean PSNR of every fixed turn, of the best turn per clip, and of the head's
    most likely turn (on these clips)."""
    G, c = model.generator, model.config
    if G.to_turn is None:
        raise ValueError("this model does not predict by turning (model.turn false): make one with turning_model().")
    if clips.shape[1] != c.frames:
        raise ValueError(f"clips must have the model's {c.frames} frames, got {clips.shape[1]}.")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 (dB), got {temperature}.")
    torch.manual_seed(seed)
    scores = turn_scores(clips, c.context_frames)
    context = torch.cat([to_float(clips[i:i + 256, :c.context_frames]) for i in range(0, len(clips), 256)])
    lab = None if labels is None or not c.conditional else torch.as_tensor(labels, dtype=torch.long)
    head = G.to_turn.to("cpu").float()
    features = head.features(context, lab)
    target = torch.softmax(scores / temperature, dim=1)
    opt = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        loss = -(target * torch.log_softmax(head.linear(features), dim=1)).sum(dim=1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        chosen = head.linear(features).argmax(dim=1)
    G.to(model.device)
    fit = {"clips": len(clips), "loss": loss.item(), "psnr_fixed_turn": scores.mean(dim=0).tolist(),
           "psnr_best_turn": float(scores.max(dim=1).values.mean()),
           "psnr_chosen_turn": float(scores[torch.arange(len(clips)), chosen].mean())}
    log.info("turn head: %d clips, PSNR %.2f dB at its most likely turn (best fixed turn %.2f, best per clip %.2f)",
             len(clips), fit["psnr_chosen_turn"], max(fit["psnr_fixed_turn"]), fit["psnr_best_turn"])
    return fit


def fit_turn_cli(args) -> int:
    from ..data import VideoDataset
    from ..metrics.evaluate import real_clips

    model = HRVGAN.from_pretrained(args.model)
    turning = turning_model(model, args.context_frames)
    c = turning.config
    train = VideoDataset(args.data, split="train", frames=c.frames, resolution=c.resolution,
                         data_format=args.data_format, progress=False)
    if c.conditional and train.num_classes != c.num_classes:   # in the same order: the folders' names may differ
        raise ValueError(f"the model has {c.num_classes} classes ({list(c.class_names)}), the data "
                         f"{train.num_classes} ({train.class_names}).")
    clips, labels = real_clips(train, args.clips_per_video)
    fit = fit_turn(turning, clips, labels, steps=args.steps, temperature=args.temperature, seed=args.seed)
    turning.save_pretrained(args.out)
    print(f"fitted on {fit['clips']} train clips: PSNR {fit['psnr_chosen_turn']:.2f} dB at the most likely turn "
          f"(fixed turns {' / '.join(f'{p:.2f}' for p in fit['psnr_fixed_turn'])}; best per clip "
          f"{fit['psnr_best_turn']:.2f}); saved {args.out}")
    return 0
