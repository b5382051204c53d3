"""Make tests/data/weizmann-mini: a few real Weizmann clips, small enough to ship with the tests.

    python scripts/make_test_data.py --src ../shared/data/weizmann-actions
    python scripts/make_test_data.py --src ../shared/data/weizmann-actions --out tests/data/weizmann-mini-64 \
        --size 64 --frames 16 --performers 0 1

Per class, the files of the chosen performers (default 0 and 1, train, and 7, test), each with its
mirrored twin, cut to their first frames and shrunk (default 32 frames at 32x32).  The 64x64 set is
for tests that continue training the shipped 64x64 model.  They keep the real data's quirks: PNG content
in a file named .jpg, RGBA, a horizontal strip of square frames, performer = int(stem) // 8.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from hrvgan.data import read_strip

PERFORMERS = (0, 1, 7)
FRAMES, SIZE = 32, 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", default="../shared/data/weizmann-actions", help="the full Weizmann strips")
    parser.add_argument("--out", default="tests/data/weizmann-mini", help="where the small copy goes")
    parser.add_argument("--size", type=int, default=SIZE, help="frame side in pixels")
    parser.add_argument("--frames", type=int, default=FRAMES, help="frames kept from the start of each video")
    parser.add_argument("--performers", type=int, nargs="+", default=list(PERFORMERS), help="performers kept (0-6 train, 7-8 test)")
    args = parser.parse_args()
    src, out = Path(args.src), Path(args.out)
    for cls in sorted(d.name for d in src.iterdir() if d.is_dir()):
        (out / cls).mkdir(parents=True, exist_ok=True)
        for path in sorted((src / cls).iterdir()):
            if int(path.stem) // 8 not in args.performers:
                continue
            frames = read_strip(path, axis=1)[:args.frames]
            small = [Image.fromarray(f).resize((args.size, args.size), Image.BOX) for f in frames]
            strip = np.concatenate([np.asarray(im) for im in small], axis=1)
            rgba = np.concatenate([strip, np.full(strip.shape[:2] + (1,), 255, np.uint8)], axis=2)
            Image.fromarray(rgba).save(out / cls / path.name, format="PNG", optimize=True)
    print(f"wrote {sum(1 for _ in out.rglob('*.jpg'))} clips to {out}")


if __name__ == "__main__":
    main()
