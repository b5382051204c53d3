"""What each clip leaves behind, for the eye: still images (every pixel's median over the clip) of real train clips
and of models, side by side, per class.  Behind a real sweeping arm a still image shows the wall; a model that
paints a pale fan where arms sweep shows the fan (docs/design.md, "What a clip leaves behind: still images").

    python scripts/still_images.py --data ../shared/data/weizmann-actions --models weights runs/x/model \\
        --classes "jumping jack" bend "one-hand wave" --out docs/images/still-images.jpg

For every class: one row of real train clips (the first 16 frames of the class's first videos, in the
data's order), then one row per model (seeds --seeds, the same for every model).  It prints what each row is.
"""

import argparse
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from hrvgan import HRVGAN
from hrvgan.data import VideoDataset
from hrvgan.metrics.swd import still_images
from hrvgan.video import frame_grid


def real_stills(dataset: VideoDataset, label: int, count: int) -> np.ndarray:
    """Still images of the first ``count`` videos of class ``label`` (their first clip) -> uint8 (count, H, W, 3)."""
    picked = [i for i in range(len(dataset)) if dataset.labels[i] == label][:count]
    if not picked:
        raise SystemExit(f"the data has no train video of class {dataset.class_names[label]!r}.")
    return still_images(np.stack([dataset.clip(i, start=0) for i in picked]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["weights"], help="model folders or Hub repo ids")
    parser.add_argument("--data", default="../shared/data/weizmann-actions", help="the dataset (its train split)")
    parser.add_argument("--classes", nargs="+", default=None, help="class names (default: every class of the first model)")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(6)), help="the seeds of every model row")
    parser.add_argument("--scale", type=int, default=2, help="pixel repeat of the written image")
    parser.add_argument("--out", default="still-images.jpg", help="the image to write (.jpg or .png)")
    args = parser.parse_args()
    models = {name: HRVGAN.from_pretrained(name) for name in args.models}
    mc = next(iter(models.values())).config
    train = VideoDataset(args.data, split="train", frames=mc.frames, resolution=mc.resolution, progress=False)
    classes = args.classes or list(mc.class_names)
    rows, n = [], len(args.seeds)
    for name in classes:
        if name not in mc.class_names:
            raise SystemExit(f"no class {name!r}: the model's classes are {list(mc.class_names)}.")
        real = real_stills(train, mc.class_names.index(name), n)   # the data's folders in the model's class order
        rows.append(real)
        print(f"row {len(rows)}: {name}, real train clips ({len(real)} videos, first 16 frames)")
        for ref, model in models.items():
            rows.append(still_images(model.sample(classes=[name] * n, seeds=args.seeds)))
            print(f"row {len(rows)}: {name}, {ref}, seeds {args.seeds}")
    image = frame_grid(rows, scale=args.scale)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(out, image, **({"quality": 90} if out.suffix.lower() in (".jpg", ".jpeg") else {}))
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]})")


if __name__ == "__main__":
    main()
