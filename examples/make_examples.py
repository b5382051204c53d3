"""Make the sample outputs in examples/ from the shipped weights (used by the README).

    python examples/make_examples.py [--model weights] [--out examples]

Per class: a GIF of four seeds side by side and a frame grid (a row per seed, a column per frame,
like the paper's Fig. 4); plus an interpolation grid between two classes (rows = steps, Figs. 2-3)
and its GIF.
"""

import argparse
from pathlib import Path

import numpy as np

from hrvgan import HRVGAN
from hrvgan.demo import slug
from hrvgan.video import write_gif, write_grid_png

HERE = Path(__file__).resolve().parent


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(HERE.parent / "weights"))
    parser.add_argument("--out", default=str(HERE))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
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


if __name__ == "__main__":
    main()
