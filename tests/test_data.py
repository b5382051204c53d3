import logging

import numpy as np
import pytest
from PIL import Image

from hrvgan.data import VideoDataset, detect_format, list_dataset, read_strip
from hrvgan.video import write_gif, write_mp4


def moving_square(frames=20, size=48, color=(255, 0, 0), seed=0):
    v = np.zeros((frames, size, size, 3), np.uint8)
    for t in range(frames):
        x = (seed * 7 + 2 * t) % (size - 8)
        v[t, 10:18, x:x + 8] = color
    return v


def write_avi(frames: np.ndarray, path):
    """A real MPEG-4 .avi, the container and codec family UCF101 uses."""
    import av

    with av.open(str(path), "w", format="avi") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode())


def _check_strips(root, tmp_path, counts, train_performers, test_performers, min_frames, max_frames):
    # PNG content in a .jpg, RGBA, a horizontal strip of square frames.
    path = next((root / "jack").iterdir())
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGBA"
    frames = read_strip(path, axis=1)
    size = frames.shape[1]
    assert frames.shape[1:] == (size, size, 3) and min_frames <= len(frames) <= max_frames

    train = VideoDataset(root, frames=16, resolution=64, split="train", cache_dir=tmp_path, progress=False)
    test = VideoDataset(root, frames=16, resolution=64, split="test", cache_dir=tmp_path, progress=False)
    assert train.format == "strips" and train.class_names == ["bend", "jack", "wave1", "wave2"]
    assert (len(train), len(test)) == counts
    performers = lambda ds: {int(p.split("/")[-1].split(".")[0]) // 8 for p in ds.paths}  # noqa: E731
    assert performers(train) == set(train_performers) and performers(test) == set(test_performers)
    video, label = train[0]
    assert video.shape == (3, 16, 64, 64) and -1 <= video.min() and video.max() <= 1
    assert label in range(4)


def test_weizmann_strips_quirks_and_performer_split(weizmann, tmp_path):
    _check_strips(weizmann, tmp_path, (16, 8), {0, 1}, {7}, 32, 32)


@pytest.mark.realdata
def test_full_weizmann_split(weizmann_full, tmp_path):
    _check_strips(weizmann_full, tmp_path, (56, 16), range(7), {7, 8}, 51, 146)


def test_cache_is_reused_and_clips_are_random_crops(tmp_path):
    root = tmp_path / "data" / "a"
    root.mkdir(parents=True)
    for i in range(2):
        write_gif(moving_square(30, seed=i), root / f"{i}.gif")
    cache = tmp_path / "cache"
    ds = VideoDataset(root.parent, frames=8, resolution=32, cache_dir=cache, split="all", progress=False, seed=1)
    assert len(list(cache.glob("*.u8"))) == 1
    stamp = next(cache.glob("*.u8")).stat().st_mtime_ns
    again = VideoDataset(root.parent, frames=8, resolution=32, cache_dir=cache, split="all", progress=False)
    assert next(cache.glob("*.u8")).stat().st_mtime_ns == stamp and len(again) == 2
    starts = {int(np.argmax(ds.clip(0)[0].sum(axis=(0, 2)))) for _ in range(30)}  # square's column in frame 0
    assert len(starts) > 3
    strided = VideoDataset(root.parent, frames=8, resolution=32, frame_stride=3, cache_dir=cache, split="all", progress=False)
    assert np.array_equal(strided.clip(0, start=0), strided.video(0)[0:22:3])


def test_vgan_vertical_strips(tmp_path):
    folder = tmp_path / "golf"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(moving_square(32, 64, seed=i).reshape(32 * 64, 64, 3)).save(folder / f"{i}.jpg", quality=95)
    assert detect_format(folder) == "vgan"
    ds = VideoDataset(folder, frames=32, resolution=64, split="all", cache_dir=tmp_path / "c", progress=False)
    assert len(ds) == 3 and ds.class_names == [] and ds.labels == [-1, -1, -1]
    assert ds.video(0).shape == (32, 64, 64, 3)
    # A list file of strips, as the VGAN authors ship them.
    (tmp_path / "golf.txt").write_text("golf/0.jpg\ngolf/2.jpg\n")
    items, _, fmt = list_dataset(tmp_path / "golf.txt")
    assert fmt == "vgan" and [p.path.name for p in items] == ["0.jpg", "2.jpg"]


def make_ucf101(parent, frames=24):
    """UCF101 as its two official archives extract: UCF-101/<Class>/v_*.avi beside ucfTrainTestlist/."""
    videos = parent / "UCF-101"
    for c in ("ApplyEyeMakeup", "JumpingJack"):
        (videos / c).mkdir(parents=True)
        for g in (1, 2, 3):
            write_avi(moving_square(frames, 64, seed=g), videos / c / f"v_{c}_g0{g}_c01.avi")
    lists = parent / "ucfTrainTestlist"
    lists.mkdir()
    (lists / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 JumpingJack\n")
    (lists / "trainlist01.txt").write_text("".join(
        f"{c}/v_{c}_g0{g}_c01.avi {i}\n" for i, c in ((1, "ApplyEyeMakeup"), (2, "JumpingJack")) for g in (1, 2)))
    (lists / "testlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g03_c01.avi\nJumpingJack/v_JumpingJack_g03_c01.avi\n")
    return videos, lists


@pytest.mark.parametrize("where", ["parent", "videos"])
def test_ucf101_official_layout_from_either_folder(tmp_path, where):
    videos, _ = make_ucf101(tmp_path / "ucf")
    root = tmp_path / "ucf" if where == "parent" else videos
    assert detect_format(root) == "ucf101"
    ds = VideoDataset(root, frames=16, resolution=32, split="train", cache_dir=tmp_path / "c", progress=False)
    assert ds.format == "ucf101" and ds.class_names == ["ApplyEyeMakeup", "JumpingJack"]
    assert len(ds) == 4 and sorted(ds.labels) == [0, 0, 1, 1]          # every listed file found, none skipped
    assert ds.video(0).shape == (24, 32, 32, 3)
    test = VideoDataset(root, frames=16, resolution=32, split="test", cache_dir=tmp_path / "c", progress=False)
    assert len(test) == 2 and all("_g03_" in p for p in test.paths)


def test_ucf101_lists_elsewhere_need_ucf_lists(tmp_path):
    videos, lists = make_ucf101(tmp_path / "ucf")
    moved = lists.rename(tmp_path / "my-lists")
    with pytest.raises(FileNotFoundError, match="--ucf_lists DIR"):   # the error says how to fix it
        list_dataset(videos, data_format="ucf101")
    ds = VideoDataset(videos, frames=16, resolution=32, ucf_lists=moved, cache_dir=tmp_path / "c", progress=False)
    assert ds.format == "ucf101" and len(ds) == 4
    (moved / "trainlist01.txt").write_text("JumpingJack/v_JumpingJack_g09_c01.avi 2\n")
    with pytest.raises(FileNotFoundError, match="no such video"):
        list_dataset(videos, ucf_lists=moved)


def test_bad_files_are_skipped_with_one_warning_each(tmp_path, caplog):
    root = tmp_path / "videos" / "walk"
    root.mkdir(parents=True)
    write_mp4(moving_square(20, 32), root / "good.mp4")
    write_mp4(moving_square(20, 32), root / "good2.mp4")
    (root / "corrupt.mp4").write_bytes(b"\x00\x01 not a video" * 50)
    (root / "empty.avi").write_bytes(b"")
    data = (root / "good.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(data[: len(data) // 3])
    write_mp4(moving_square(4, 32), root / "short.mp4")
    with caplog.at_level(logging.WARNING, logger="hrvgan.data"):
        ds = VideoDataset(root.parent, frames=8, resolution=32, split="all", cache_dir=tmp_path / "c", progress=False)
    assert len(ds) == 2 and sorted(p.split("/")[-1] for p in ds.paths) == ["good.mp4", "good2.mp4"]
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipping")]
    assert len(skipped) == 4
    assert any("short.mp4" in m and "a clip needs 8" in m for m in skipped)
    assert any("skipped 4 of 6 files" in r.getMessage() for r in caplog.records)


def test_no_usable_file_is_a_clear_error(tmp_path):
    root = tmp_path / "v" / "a"
    root.mkdir(parents=True)
    (root / "x.mp4").write_bytes(b"junk")
    with pytest.raises(ValueError, match="no usable video .* all 1 files were skipped"):
        VideoDataset(root.parent, frames=8, resolution=32, split="all", cache_dir=tmp_path / "c", progress=False)
    with pytest.raises(FileNotFoundError, match="data not found"):
        VideoDataset(tmp_path / "missing", frames=8, resolution=32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no videos"):
        VideoDataset(tmp_path / "empty", frames=8, resolution=32)


def test_resize_and_centre_crop(tmp_path):
    root = tmp_path / "v" / "a"
    root.mkdir(parents=True)
    wide = np.zeros((10, 40, 80, 3), np.uint8)
    wide[:, :, 20:60] = 200  # the centre square is bright, the sides dark
    write_mp4(wide, root / "w.mp4")
    ds = VideoDataset(root.parent, frames=4, resolution=20, split="all", cache_dir=tmp_path / "c", progress=False)
    v = ds.video(0)
    assert v.shape == (10, 20, 20, 3) and v.mean() > 150


def _two_classes(tmp_path, empty_class_files=1):
    root = tmp_path / "videos"
    (root / "walk").mkdir(parents=True)
    (root / "run").mkdir()
    write_mp4(moving_square(20, 32), root / "walk" / "a.mp4")
    write_mp4(moving_square(20, 32), root / "walk" / "b.mp4")
    for i in range(empty_class_files):
        (root / "run" / f"broken{i}.mp4").write_bytes(b"junk" * 20)
    return root


def test_a_class_without_a_usable_video_is_an_error_or_dropped_with_a_flag(tmp_path, caplog):
    root = _two_classes(tmp_path)
    with pytest.raises(ValueError, match=r"class\(es\) \['run'\] .* have no usable video.*--drop_empty_classes"):
        VideoDataset(root, frames=8, resolution=32, split="all", cache_dir=tmp_path / "c", progress=False)
    with caplog.at_level(logging.WARNING, logger="hrvgan.data"):
        ds = VideoDataset(root, frames=8, resolution=32, split="all", cache_dir=tmp_path / "c", progress=False,
                          drop_empty_classes=True)
    assert ds.class_names == ["walk"] and set(ds.labels) == {0} and len(ds) == 2    # never shipped untrained
    assert any("dropping class(es) ['run']" in r.getMessage() for r in caplog.records)


def test_an_unreadable_folder_is_one_warning_not_a_traceback(tmp_path, caplog, monkeypatch):
    from pathlib import Path
    root = _two_classes(tmp_path, empty_class_files=0)
    write_mp4(moving_square(20, 32), root / "run" / "c.mp4")
    locked = root / "run"
    iterdir = Path.iterdir

    def guarded(self):          # as the OS answers a user without read permission (the tests may run as root)
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return iterdir(self)

    monkeypatch.setattr(Path, "iterdir", guarded)
    with caplog.at_level(logging.WARNING, logger="hrvgan.data"):
        ds = VideoDataset(root, frames=8, resolution=32, split="all", cache_dir=tmp_path / "c", progress=False)
    assert ds.class_names == ["walk"]
    assert [r.getMessage() for r in caplog.records if "permission denied" in r.getMessage()] == [
        f"skipping {locked}: permission denied (make it readable: chmod -R a+rX {locked})"]


def test_the_cache_notices_a_file_that_became_readable(tmp_path, monkeypatch):
    import os

    import hrvgan.data as data
    root = _two_classes(tmp_path, empty_class_files=0)
    fixed = root / "run" / "c.mp4"
    write_mp4(moving_square(20, 32), fixed)
    real_reader = data.reader_for

    def reader_for(fmt):        # as the OS reads for a user without permission (the tests may run as root)
        read = real_reader(fmt)

        def guarded(path):
            if not os.stat(path).st_mode & 0o444:
                raise PermissionError(13, "Permission denied", str(path))
            return read(path)
        return guarded

    monkeypatch.setattr(data, "reader_for", reader_for)
    os.chmod(fixed, 0)
    ds = VideoDataset(root, frames=8, resolution=32, split="all", cache_dir=tmp_path / "c", progress=False,
                      drop_empty_classes=True)
    assert ds.class_names == ["walk"]
    os.chmod(fixed, 0o644)      # fixed: the same size and time, another mode
    ds = VideoDataset(root, frames=8, resolution=32, split="all", cache_dir=tmp_path / "c", progress=False)
    assert ds.class_names == ["run", "walk"] and len(ds) == 3


def test_data_that_is_a_file_says_so(tmp_path):
    blob = tmp_path / "model.safetensors"
    blob.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ValueError, match="is a file, not a dataset folder"):
        VideoDataset(blob, frames=8, resolution=32, progress=False)
