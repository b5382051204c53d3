"""Video datasets: MoCoGAN strips, VGAN strips, UCF101 and plain folders of videos.

Every format is read once into a uint8 memory-mapped cache at the model's resolution
(frames concatenated, one offset table), so epochs after the first never decode video again.
A file that cannot be used (corrupt, empty, truncated, too short) is skipped with one warning
line and counted; a dataset with no usable file stops with an error that says what was found.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler
from tqdm.auto import tqdm

from .video import read_video, resize_video, to_float

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".gif")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
FORMATS = ("auto", "strips", "vgan", "ucf101", "folder")
SPLITS = ("train", "test", "all")


@dataclass
class VideoItem:
    path: Path
    label: int  # -1 for unconditional data


# --- readers: one file -> uint8 (T, H, W, 3) ----------------------------------------------------

def read_strip(path, axis: int) -> np.ndarray:
    """An image holding square frames side by side (axis=1, MoCoGAN) or stacked (axis=0, VGAN).

    PIL reads by content, not extension (Weizmann's ".jpg" files are PNGs) and RGBA becomes RGB.
    """
    with Image.open(path) as im:
        im.load()
        rgb = np.asarray(im.convert("RGB"))
    h, w, _ = rgb.shape
    size = h if axis == 1 else w
    n = (w if axis == 1 else h) // size
    if n == 0:
        raise ValueError(f"image {w}x{h} holds no square frame")
    rgb = rgb[:, : n * size] if axis == 1 else rgb[: n * size]
    frames = np.split(rgb, n, axis=axis)
    return np.stack(frames)


# --- listing: a dataset folder -> items + class names ---------------------------------------------

def detect_format(root: Path) -> str:
    if root.is_file():  # a list file of VGAN strips
        return "vgan"
    if find_ucf_lists(root) is not None:
        return "ucf101"
    files = [p for p in root.rglob("*") if p.is_file()]
    if any(p.suffix.lower() in VIDEO_EXTENSIONS for p in files):
        return "folder"
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    if not images:
        raise ValueError(f"{root} holds no videos ({', '.join(VIDEO_EXTENSIONS)}) and no strip images; "
                         "point --data at a dataset folder.")
    with Image.open(images[0]) as im:
        w, h = im.size
    return "strips" if w >= h else "vgan"


def _entries(folder: Path) -> list[Path]:
    """A folder's entries; an unreadable folder is one warning and no entries, never a traceback."""
    try:
        return sorted(folder.iterdir())
    except PermissionError:
        logger.warning("skipping %s: permission denied (make it readable: chmod -R a+rX %s)", folder, folder)
        return []


def _class_folders(root: Path, keep) -> tuple[list[VideoItem], list[str]]:
    folders = [d for d in _entries(root) if d.is_dir()]
    listed = {d.name: [p for p in _entries(d) if keep(p)] for d in folders}
    classes = [name for name, files in listed.items() if files]
    if classes:
        return [VideoItem(p, i) for i, c in enumerate(classes) for p in listed[c]], classes
    return [VideoItem(p, -1) for p in _entries(root) if keep(p)], []  # flat folder: unconditional


def _hash_split(items: list[VideoItem], split: str, root: Path) -> list[VideoItem]:
    """Deterministic 90/10 split by file name, for data that ships no split of its own."""
    if split == "all":
        return items
    test = lambda it: int(hashlib.md5(str(it.path.relative_to(root)).encode()).hexdigest(), 16) % 10 == 0  # noqa: E731
    return [it for it in items if test(it) == (split == "test")]


def list_strips(root: Path, split: str, test_performers=(7, 8)) -> tuple[list[VideoItem], list[str]]:
    items, classes = _class_folders(root, lambda p: p.suffix.lower() in IMAGE_EXTENSIONS)
    if split == "all":
        return items, classes
    numeric = [it for it in items if it.path.stem.isdigit()]
    if len(numeric) == len(items):  # MoCoGAN/Weizmann naming: performer = int(stem) // 8, split by performer
        is_test = lambda it: int(it.path.stem) // 8 in test_performers  # noqa: E731
        return [it for it in items if is_test(it) == (split == "test")], classes
    return _hash_split(items, split, root), classes


def list_vgan(root: Path, split: str) -> tuple[list[VideoItem], list[str]]:
    if root.is_file():  # a list file, one path per line, relative to the list's folder
        base = root.parent
        try:
            text = root.read_text()
        except UnicodeDecodeError:
            raise ValueError(f"{root} is a file, not a dataset folder (nor a VGAN list file of paths); point --data "
                             "at the folder that holds the videos.") from None
        paths = [base / line.strip() for line in text.splitlines() if line.strip()]
        return [VideoItem(p, -1) for p in paths], []
    items, classes = _class_folders(root, lambda p: p.suffix.lower() in IMAGE_EXTENSIONS)
    return _hash_split(items, split, root), classes


def list_folder(root: Path, split: str) -> tuple[list[VideoItem], list[str]]:
    items, classes = _class_folders(root, lambda p: p.suffix.lower() in VIDEO_EXTENSIONS)
    return _hash_split(items, split, root), classes


def find_ucf_lists(root: Path) -> Path | None:
    """The folder of UCF101's split lists (classInd.txt, trainlist0N.txt, testlist0N.txt), if any.

    The official archives extract to UCF-101/ and ucfTrainTestlist/ side by side, so the lists may
    be in root, in a subfolder of root (root = their parent), or beside root (root = UCF-101/).
    """
    if (root / "classInd.txt").exists():
        return root
    for candidate in sorted(root.glob("*/classInd.txt")):
        return candidate.parent
    if root.is_dir() and (root.parent / "ucfTrainTestlist" / "classInd.txt").exists():
        return root.parent / "ucfTrainTestlist"
    return None


def _ucf_video_root(root: Path, lists: Path, first: str) -> Path:
    """Where the lists' relative paths (Class/v_Class_gXX_cYY.avi) resolve: root, or a folder in it (UCF-101/)."""
    candidates = [root, *sorted(d for d in root.iterdir() if d.is_dir() and d != lists)]
    for folder in candidates:
        if (folder / first).exists():
            return folder
    raise FileNotFoundError(
        f"UCF101 lists in {lists} name {first!r}, but no such video under {root} or its subfolders "
        f"({', '.join(d.name for d in candidates[1:]) or 'none'}). Point --data at UCF-101/ (the videos) or "
        "at the folder holding UCF-101/ and ucfTrainTestlist/; --ucf_lists DIR names the lists' folder.")


def list_ucf101(root: Path, split: str, fold: int = 1, lists: Path | None = None) -> tuple[list[VideoItem], list[str]]:
    """UCF101 with the official lists: classInd.txt, trainlist0N.txt, testlist0N.txt.

    `root` is UCF-101/ (the class folders of .avi files) or the folder that holds it; the lists are
    found in, under or beside root (see find_ucf_lists) unless `lists` names their folder.
    """
    lists = Path(lists) if lists else find_ucf_lists(root)
    if lists is None or not (lists / "classInd.txt").exists():
        raise FileNotFoundError(f"no UCF101 split lists (classInd.txt) in, under or beside {root}"
                                f"{f' nor in {lists}' if lists else ''}: download ucfTrainTestlist and extract it beside "
                                "UCF-101/, or pass --ucf_lists DIR.")
    classes = []
    for line in (lists / "classInd.txt").read_text().splitlines():
        if line.strip():
            idx, name = line.split()
            classes.append((int(idx), name))
    names = [n for _, n in sorted(classes)]
    index = {n: i for i, n in enumerate(names)}
    wanted = ["train", "test"] if split == "all" else [split]
    entries = []
    for part in wanted:
        list_file = lists / f"{part}list0{fold}.txt"
        if not list_file.exists():
            raise FileNotFoundError(f"{list_file} not found: UCF101 needs the official split lists "
                                    "(ucfTrainTestlist: classInd.txt, trainlist0N.txt, testlist0N.txt).")
        for line in list_file.read_text().splitlines():
            if not line.strip():
                continue
            rel = line.split()[0]
            cls = rel.split("/")[0]
            if cls not in index:
                raise ValueError(f"{list_file}: class {cls!r} is not in classInd.txt.")
            entries.append((rel, index[cls]))
    if not entries:
        return [], names
    videos = _ucf_video_root(root, lists, entries[0][0])
    return [VideoItem(videos / rel, label) for rel, label in entries], names


def list_dataset(root, data_format: str = "auto", split: str = "train",
                 ucf_lists=None) -> tuple[list[VideoItem], list[str], str]:
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"data not found: {root}")
    if data_format not in FORMATS:
        raise ValueError(f"data_format must be one of {FORMATS}, got {data_format!r}.")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    fmt = ("ucf101" if ucf_lists else detect_format(root)) if data_format == "auto" else data_format
    if fmt == "ucf101":
        items, classes = list_ucf101(root, split, lists=ucf_lists)
    else:
        lister = {"strips": list_strips, "vgan": list_vgan, "folder": list_folder}[fmt]
        items, classes = lister(root, split)
    return items, classes, fmt


def reader_for(fmt: str):
    if fmt == "strips":
        return lambda p: read_strip(p, axis=1)
    if fmt == "vgan":
        return lambda p: read_strip(p, axis=0)
    return read_video


# --- the dataset ---------------------------------------------------------------------------------

class VideoDataset(Dataset):
    """Clips of `frames` frames, `frame_stride` apart, at `resolution`, as float (3, T, H, W) in [-1, 1].

    Each item is one video; every access takes a random temporal crop (and a random horizontal
    flip when `flip`), drawn from the dataset's own numpy generator (see `seed_worker`).
    """

    def __init__(self, root, frames: int, resolution: int, data_format: str = "auto", split: str = "train",
                 frame_stride: int = 1, flip: bool = False, cache_dir=None, seed: int = 0, progress: bool = True,
                 ucf_lists=None, drop_empty_classes: bool = False):
        self.root = Path(root)
        items, self.class_names, self.format = list_dataset(self.root, data_format, split, ucf_lists=ucf_lists)
        self.frames, self.resolution, self.frame_stride, self.flip = frames, resolution, frame_stride, flip
        self.span = (frames - 1) * frame_stride + 1  # frames a clip covers in the source video
        if not items:
            raise ValueError(f"{self.root} ({self.format}, split={split}) lists no video files.")
        cache_dir = Path(cache_dir) if cache_dir else Path(os.environ.get("HRVGAN_CACHE", Path.home() / ".cache" / "hrvgan"))
        self.frames_memmap, self.offsets, self.labels, self.paths = self._load_or_build_cache(items, cache_dir, progress)
        self._check_classes(drop_empty_classes)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def _check_classes(self, drop: bool) -> None:
        """A class whose videos were all skipped would ship in the model untrained: an error, or with ``drop``
        a warning and the class left out (labels renumbered)."""
        used = set(self.labels)
        empty = [c for i, c in enumerate(self.class_names) if i not in used]
        if not empty:
            return
        if not drop:
            raise ValueError(f"class(es) {empty} of {self.root} have no usable video (see the warnings above): "
                             "fix or remove those files, or pass --drop_empty_classes to train without them.")
        logger.warning("dropping class(es) %s: no usable video", empty)
        kept = [i for i in range(len(self.class_names)) if i in used]
        renumber = {old: new for new, old in enumerate(kept)}
        self.labels = [renumber[label] for label in self.labels]
        self.class_names = [self.class_names[i] for i in kept]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def _cache_key(self, items: list[VideoItem]) -> str:
        h = hashlib.sha1()
        h.update(json.dumps([self.format, self.resolution, self.span]).encode())
        for it in items:
            st = it.path.stat() if it.path.exists() else None
            # mode and readability too: a file excluded while unreadable comes back once it is fixed (chmod)
            readable = os.access(it.path, os.R_OK)
            h.update(f"{it.path.resolve()}|{it.label}|{st and st.st_size}|{st and st.st_mtime_ns}|"
                     f"{st and st.st_mode}|{readable}".encode())
        return h.hexdigest()[:16]

    def _load_or_build_cache(self, items, cache_dir: Path, progress: bool):
        key = self._cache_key(items)
        data_path, index_path = cache_dir / f"{key}.u8", cache_dir / f"{key}.json"
        if not index_path.exists():
            self._build_cache(items, data_path, index_path, progress)
        index = json.loads(index_path.read_text())
        if not index["offsets"][:-1]:
            raise ValueError(self._nothing_usable(items, index["skipped"]))
        shape = (index["offsets"][-1], self.resolution, self.resolution, 3)
        frames = np.memmap(data_path, dtype=np.uint8, mode="r", shape=shape)
        return frames, index["offsets"], index["labels"], index["paths"]

    def _nothing_usable(self, items, skipped: int) -> str:
        return (f"no usable video in {self.root}: all {len(items)} files were skipped "
                f"({skipped} unreadable or shorter than {self.span} frames); see the warnings above.")

    def _build_cache(self, items, data_path: Path, index_path: Path, progress: bool) -> None:
        data_path.parent.mkdir(parents=True, exist_ok=True)
        read = reader_for(self.format)
        offsets, labels, paths, skipped = [0], [], [], 0
        tmp = data_path.with_suffix(f".u8.{os.getpid()}.tmp")  # per process: concurrent builders never collide
        with open(tmp, "wb") as out:
            for it in tqdm(items, desc=f"decoding {self.root.name}", unit="video", disable=not progress):
                try:
                    video = read(it.path)
                    if len(video) < self.span:
                        raise ValueError(f"{len(video)} frames, a clip needs {self.span}")
                    video = resize_video(video, self.resolution)
                except Exception as e:  # noqa: BLE001 - any unreadable file is skipped, never fatal
                    logger.warning("skipping %s: %s", it.path, str(e).splitlines()[0] if str(e) else type(e).__name__)
                    skipped += 1
                    continue
                out.write(video.tobytes())
                offsets.append(offsets[-1] + len(video))
                labels.append(it.label)
                paths.append(str(it.path))
        if skipped:
            logger.warning("skipped %d of %d files in %s", skipped, len(items), self.root)
        os.replace(tmp, data_path)
        tmp_index = index_path.with_suffix(f".json.{os.getpid()}.tmp")
        tmp_index.write_text(json.dumps({"offsets": offsets, "labels": labels, "paths": paths, "skipped": skipped}))
        os.replace(tmp_index, index_path)  # written last: a cache without its index is rebuilt

    def __len__(self) -> int:
        return len(self.labels)

    def video(self, i: int) -> np.ndarray:
        """The whole cached video i, uint8 (T, H, W, 3)."""
        return np.asarray(self.frames_memmap[self.offsets[i]:self.offsets[i + 1]])

    def clip(self, i: int, start: int | None = None, flip: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
        n = self.offsets[i + 1] - self.offsets[i]
        if start is None:
            start = int((rng or self.rng).integers(0, n - self.span + 1))
        a = self.offsets[i] + start
        clip = np.asarray(self.frames_memmap[a:a + self.span:self.frame_stride])
        return clip[:, :, ::-1] if flip else clip

    def __getitem__(self, key):
        """``key``: a video index (crop and flip from the dataset's generator), or ``(index, epoch, position)``
        from an :class:`EpochSampler` (drawn from those numbers alone: a resumed run sees the same clips)."""
        if isinstance(key, tuple):
            i, epoch, position = key
            rng = np.random.default_rng([self.seed, epoch, position])
        else:
            i, rng = key, self.rng
        flip = self.flip and bool(rng.integers(0, 2))
        return to_float(self.clip(i, flip=flip, rng=rng)[None])[0], self.labels[i]      # (3, T, H, W) in [-1, 1]


class EpochSampler(Sampler):
    """Every video once per epoch, in an order fixed by (seed, epoch); each key also names its place, so the
    random crop and flip of every clip follow from (seed, epoch, position) and not from what came before.
    ``start(epoch, skip)`` begins an epoch ``skip`` keys in: a run resumed mid-epoch sees exactly the clips
    an uninterrupted run would have seen.  (Not ``set_epoch``: Accelerate's loader calls that with its own
    count of passes, which starts again at 0 in a resumed process.)"""

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.epoch, self.skip = size, seed, 0, 0

    def start(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def __len__(self) -> int:
        return self.size - self.skip

    def __iter__(self):
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
        for position in range(self.skip, self.size):
            yield int(order[position]), self.epoch, position


def seed_worker(worker_id: int) -> None:
    """DataLoader worker_init_fn: each worker gets its own clip generator from torch's per-worker seed."""
    info = torch.utils.data.get_worker_info()
    info.dataset.rng = np.random.default_rng(info.seed % 2**32)
