"""Make the sample outputs in examples/ from the shipped weights (used by the README).

    python examples/make_examples.py [--model weights] [--out examples] [--data ../shared/data/weizmann-actions]

Per class: a GIF of four seeds side by side and a frame grid (a row per seed, a column per frame,
like the paper's Fig. 4); plus an interpolation grid between two classes (rows = steps, Figs. 2-3)
and its GIF.  Long videos (a model with a prediction model beside it): per class a strip of every 16th
frame over 128 frames, a row per seed: two looped by the generator (frames 8, 24, ...: mid-cycle), then the
same seeds continued by the prediction model (frames 0, 16, ...).  With --data: examples/clips/, one held-out real clip per class (performers 7-8,
the first 16 frames, 64x64 H.264), which the demo's Predict tab offers; and for a prediction model
a grid per clip with a row of context, three rows of prediction (seeds 0, 1, 2: the futures a seed picks) and a
row of the real continuation (the model's own, or that of the prediction model in its predict/ folder).
"""

import argparse
from pathlib import Path

import numpy as np

from hrvgan import HRVGAN
from hrvgan.demo import slug
from hrvgan.video import read_video, write_gif, write_grid_png, write_mp4

HERE = Path(__file__).resolve().parent


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(HERE.parent / "weights"))
    parser.add_argument("--out", default=str(HERE))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--data", default=None, help="the Weizmann strips: (re)make examples/clips/ from performers 7-8")
    args = parser.parse_args()
    model, out = HRVGAN.from_pretrained(args.model), Path(args.out)
    for name in model.class_names or [None]:
        videos = model.sample(classes=name, seeds=args.seeds)
        stem = slug(name) if name else "samples"
        write_gif(np.concatenate(list(videos), axis=2), out / f"{stem}.gif", fps=8)
        write_grid_png(videos, out / f"grid-{stem}.png", max_frames=8)  # rows of 8 frames, as Fig. 4
        print(out / f"{stem}.gif", out / f"grid-{stem}.png")
    names = model.class_names
    path = model.interpolate(0, 1, steps=8, class_a=names[0] if names else None,
                             class_b=names[1] if len(names) > 1 else None, mode="slerp")
    write_grid_png(path, out / "interpolation.png", max_frames=8)
    write_gif(np.concatenate(list(path), axis=2), out / "interpolation.gif", fps=8)
    print(out / "interpolation.png")
    if args.data:
        make_clips(model, Path(args.data), out / "clips")
    # A generator's prediction model ships beside it, in predict/ (as weights/predict).
    predictor = model if model.context_frames else HRVGAN.companion_predictor(args.model)
    if predictor is not None:
        model.extender = predictor
        for name in model.class_names or [None]:   # (a GIF of 128 frames would be ~0.5 MB per video)
            # Two rows looped by the generator, frames 8, 24, ..., 120: mid-cycle, the same pose every 16 frames (it
            # repeats; its join, frames 15-17, is in docs/images/loop-joins.jpg); then the same seeds
            # continued by the prediction model, frames 0, 16, ..., 112 (a future of its own).
            loop = model.sample(classes=name, seeds=args.seeds[:2], num_frames=128, extend="loop")
            future = model.sample(classes=name, seeds=args.seeds[:2], num_frames=128, extend="predict")
            stem = slug(name) if name else "samples"
            write_grid_png(np.concatenate([loop[:, 8::16], future[:, ::16]]), out / f"long-{stem}.png")
            print(out / f"long-{stem}.png")
        for clip in sorted((out / "clips").glob("*.mp4")):
            frames = read_video(clip)
            m, n = predictor.context_frames, predictor.predicted_frames
            name = next(c for c in sorted(names, key=len, reverse=True) if clip.name.startswith(slug(c) + "-"))
            predicted = predictor.predict(np.repeat(frames[None, :m], 3, axis=0), classes=name, seeds=[0, 1, 2])
            write_grid_png([frames[:m], *predicted, frames[m:m + n]], out / f"predict-{clip.stem}.png")
            print(out / f"predict-{clip.stem}.png")


def make_clips(model, data: Path, folder: Path, frames: int = 16) -> None:
    """One held-out clip per class: the first file of performers 7-8, its first `frames` frames."""
    from hrvgan.data import VideoDataset

    test = VideoDataset(data, frames=frames, resolution=model.config.resolution, split="test", progress=False)
    folder.mkdir(parents=True, exist_ok=True)
    for label, name in enumerate(model.class_names):
        i = test.labels.index(label)
        performer = int(Path(test.paths[i]).stem) // 8
        path = write_mp4(test.clip(i, start=0), folder / f"{slug(name)}-performer{performer}.mp4", fps=8)
        print(path)


if __name__ == "__main__":
    main()
