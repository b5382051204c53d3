"""How far can moving the last context frame go? Prediction ceilings and baselines on the held-out clips.

    python bench/bench_futures.py [--data ../shared/data/weizmann-actions] [--threads 1] [--paces 1.0 0.9]

On the 128 held-out clips `evaluate` scores predictions on (8 context frames, 8 to predict, 64x64), prints
PSNR, motion over the real continuation's and SWD x10^3 of frame differences (finest level) for:

  copy-last        the last context frame, held
  carry, pace d    the last frame moved on at the context's last motion (`networks.lucas_kanade` between the last
                   two context frames), frame k carrying 1 + d + ... + d^(k-1) frames of it (d = 1: constant velocity,
                   `evaluate`'s carry_motion baseline and a fresh `warp_prior` predictor)
  turn at r        the last motion carried on for r frames, then the context played back (`networks.turn_futures`,
                   what a `model.turn` predictor makes for the turn r it draws)
  best turn        the turn that fits each clip's real future best: what choosing r could reach; not a predictor
  --model M        a prediction model (e.g. weights/predict), seed 0 per clip, at truncation 1 and 0
  oracle flow      a flow fitted to each clip's real future (Adam on a 4-level photometric error, 300 steps): what
                   moving the last frame's pixels could reach if the motion were known; not a predictor (--no_oracle
                   skips it: minutes)

and the time Lucas-Kanade takes per clip.
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from hrvgan.data import VideoDataset
from hrvgan.losses import photometric_loss
from hrvgan.metrics.evaluate import psnr_ssim, real_clips
from hrvgan.metrics.scores import motion
from hrvgan.metrics.swd import swd
from hrvgan import HRVGAN
from hrvgan.networks import lucas_kanade, turn_futures, velocity_prior, warp_frame
from hrvgan.training.turn import turn_scores
from hrvgan.video import to_float, to_uint8


def oracle_flow(frame: torch.Tensor, future: torch.Tensor, steps: int = 300, grid: int = 16) -> torch.Tensor:
    """A smooth flow (a grid x grid field per frame, enlarged) that moves ``frame`` closest to ``future``."""
    b, _, t, h, w = future.shape
    field = torch.zeros(b, 2, t, grid, grid, requires_grad=True)
    opt = torch.optim.Adam([field], lr=0.05)
    for _ in range(steps):
        moved, target, loss = warp_frame(frame, 4 * F.interpolate(field, size=(t, h, w), mode="trilinear")), future, 0
        for _ in range(4):                                            # 64, 32, 16, 8 px: a far move still has a slope
            loss = loss + photometric_loss(moved, target)
            moved, target = F.avg_pool3d(moved, (1, 2, 2)), F.avg_pool3d(target, (1, 2, 2))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return warp_frame(frame, 4 * F.interpolate(field.detach(), size=(t, h, w), mode="trilinear"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/weizmann-actions")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--paces", type=float, nargs="+", default=[1.0, 0.9, 0.8])
    parser.add_argument("--turns", type=int, nargs="+", default=[0, 2, 4, 8])
    parser.add_argument("--model", default=None, help="also a prediction model's futures (seed 0 per clip)")
    parser.add_argument("--no_oracle", action="store_true", help="skip the oracle flow (minutes)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    test = VideoDataset(args.data, split="test", frames=16, resolution=64, progress=False)
    clips, labels = real_clips(test, 8)                              # as evaluate_prediction: (128, 16, 64, 64, 3)
    x, y = clips[:, :8], clips[:, 8:]
    video = to_float(clips)                                          # (N, 3, 16, 64, 64) in [-1, 1]
    last, future = video[:, :, 7:8], video[:, :, 8:]
    seam = lambda f: np.concatenate([x[:, -1:], f], axis=1)          # noqa: E731  as evaluate: the step into Y counts

    def row(name: str, frames: np.ndarray) -> None:
        print(f"| {name} | {psnr_ssim(frames, y)[0].mean():.2f} | {motion(seam(frames)) / motion(seam(y)):.2f} | "
              f"{swd(seam(frames), seam(y), motion=True, seed=0)[0]:.1f} |", flush=True)

    print(f"{len(clips)} held-out clips, 8 -> 8 frames\n\n| future | PSNR | motion / real | SWD x10^3 differences |\n|---|---|---|---|")
    row("copy-last", np.repeat(x[:, -1:], 8, axis=1))
    t0 = time.perf_counter()
    lucas_kanade(video[:, :, 7], video[:, :, 6])
    per_clip = (time.perf_counter() - t0) / len(clips)
    for d in args.paces:
        carried = torch.tensor(np.cumsum(d ** np.arange(8)), dtype=torch.float32)   # frames of motion at each future frame
        row(f"carry the last motion, pace {d}", to_uint8(warp_frame(last, velocity_prior(video[:, :, :8], carried))))
    for r in args.turns:
        row(f"turn at {r}", to_uint8(turn_futures(video[:, :, :8], torch.full((len(clips),), r), 8)))
    best = turn_scores(clips, 8).argmax(dim=1)
    row("best turn per clip (knows the future)", to_uint8(turn_futures(video[:, :, :8], best, 8)))
    if args.model:
        model = HRVGAN.from_pretrained(args.model)
        for t in (1.0, 0.0):
            row(f"{args.model}, truncation {t:g}", model.predict(x, classes=labels.tolist(), seeds=list(range(len(x))),
                                                                truncation=t))
    if not args.no_oracle:
        row("oracle flow (knows the future)", to_uint8(oracle_flow(last, future)))
    print(f"\nLucas-Kanade: {1e3 * per_clip:.1f} ms per clip ({args.threads} thread(s))")


if __name__ == "__main__":
    main()
