"""The pixel-level instrument: multi-scale sliced Wasserstein distance, and its calibration on real clips."""

import numpy as np
import pytest
import torch

from hrvgan.data import VideoDataset
from hrvgan.metrics.calibration import DEGRADATIONS, calibrate, degrade, degraded_copies, noise_free
from hrvgan.metrics.evaluate import real_clips
from hrvgan.metrics.swd import laplacian_pyramid, sliced_wasserstein, still_images, swd, swd_moving


def test_laplacian_pyramid_levels_and_reconstruction():
    x = torch.rand(2, 3, 64, 64) * 255
    levels = laplacian_pyramid(x)
    assert [lv.shape[-1] for lv in levels] == [64, 32, 16]                 # finest first, down to 16x16
    assert levels[0].abs().mean() < x.abs().mean()                          # a band-pass: no DC
    flat = torch.full((1, 3, 32, 32), 100.0)
    assert laplacian_pyramid(flat)[0].abs().max() < 1e-3                   # a flat image has no detail band


def test_sliced_wasserstein_is_zero_for_the_same_set_and_grows_with_a_shift():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(2048, 10, generator=gen)
    assert sliced_wasserstein(a, a[torch.randperm(2048, generator=gen)], gen=gen) == pytest.approx(0, abs=1e-6)
    near = sliced_wasserstein(a, a + 0.1, gen=gen)
    far = sliced_wasserstein(a, a + 1.0, gen=gen)
    assert 0 < near < far
    with pytest.raises(ValueError, match="same shape"):
        sliced_wasserstein(a, a[:10])


def test_swd_checks_its_input():
    v = np.zeros((2, 4, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="uint8 videos"):
        swd(v.astype(np.float32), v)
    with pytest.raises(ValueError, match="at least 16x16"):
        swd(v[:, :, :8, :8], v[:, :, :8, :8])
    assert len(swd(v, v)) == 2 and len(swd(v, v, motion=True)) == 2       # levels 32, 16


def sweeping_bar(n=24, seed=0, fan=False):
    """Clips of a textured wall that a dark bar sweeps across (a limb), each frame elsewhere; with ``fan`` the swept
    region is a smooth pale grey wherever the bar is not: the fan a generator leaves."""
    rng = np.random.default_rng(seed)
    videos = np.empty((n, 8, 32, 32, 3), np.uint8)
    for i in range(n):
        wall = np.clip(170 + rng.normal(0, 25, (32, 32, 1)) + rng.normal(0, 5, (1, 1, 3)), 0, 255)
        for t in range(8):
            frame = wall.copy()
            if fan:
                frame[4:12, 4:28] = 235
            x = 4 + 3 * t
            frame[4:12, x:x + 3] = 30
            videos[i, t] = frame.round()
    return videos


def test_still_images_show_what_a_clip_leaves_behind_and_the_still_view_sees_fans():
    real, other = sweeping_bar(seed=0), sweeping_bar(seed=1)
    faned = sweeping_bar(seed=2, fan=True)
    still = still_images(real)
    assert still.shape == (24, 32, 32, 3)
    # the bar covers each pixel of its path in one frame of eight: the still image shows the wall behind it (frame 0
    # shows the wall right of the bar's first place), and a fan's still image is the fan
    assert np.array_equal(still[:, 4:12, 7:28], real[:, 0, 4:12, 7:28])
    assert (still_images(faned)[:, 4:12, 4:28] == 235).all()
    near = swd_moving(other, real, still=True, max_frames=24)
    far = swd_moving(faned, real, still=True, max_frames=24)
    assert far[0] > 2 * near[0], (far, near)
    with pytest.raises(ValueError, match="not both"):
        swd_moving(real, real, motion=True, still=True)


def test_degradations_do_what_they_say():
    rng = np.random.default_rng(0)
    v = rng.integers(0, 256, (1, 2, 16, 16, 3), dtype=np.uint8)
    fr = degrade(v, "fringes")
    assert (fr[..., :-1, 0] == v[..., 1:, 0]).all() and (fr[..., 1:, 2] == v[..., :-1, 2]).all()
    assert (fr[..., 1] == v[..., 1]).all()                                  # green untouched
    assert degrade(v, "blur").std() < v.std() and degrade(v, "half-resolution").std() < v.std()
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(v, "sepia")
    # noise-free: small changes are held (against the held value, so slow drift cannot creep), big ones kept
    clip = np.full((1, 4, 2, 2, 3), 100, dtype=np.uint8)
    clip[0, 1] += 3                                                          # noise
    clip[0, 2] += 5                                                          # still within 6 of the held 100
    clip[0, 3] += 8                                                          # a real change
    held = noise_free(clip)
    assert (held[0, :3] == 100).all() and (held[0, 3] == 108).all()


def check_calibration(root, resolution, cache, full=False):
    common = dict(frames=16, resolution=resolution, cache_dir=cache, progress=False)
    train, train_labels = real_clips(VideoDataset(root, split="train", **common), 4)
    test, test_labels = real_clips(VideoDataset(root, split="test", **common), 8)
    table = calibrate(degraded_copies(train), test, train_labels=train_labels, test_labels=test_labels)
    real = table["real"]["frames"][0]
    for kind in DEGRADATIONS:
        assert table[kind]["frames"][0] > 1.3 * real, (kind, table)
    # Blur and lost resolution also smear the texture of motion (frame differences).
    for kind in ("blur", "half-resolution"):
        assert table[kind]["motion"][0] > 1.2 * table["real"]["motion"][0], (kind, table)
    # The camera's noise held still: frames read as real, while the finest level of frame differences
    # reads it clearly worse -- that level measures camera noise as well as motion texture.
    assert abs(table["noise-free"]["frames"][0] - real) < 0.1 * real, table
    assert table["noise-free"]["motion"][0] > 1.3 * table["real"]["motion"][0], table
    # Where limbs sweep, pale fans read clearly worse in the moving-region SWD at every level of frames, while
    # the whole-frame figure at the finest level (the one the targets used) barely moves.
    ratio = lambda kind, key: [a / b for a, b in zip(table[kind][key], table["real"][key])]  # noqa: E731
    assert min(ratio("fans", "moving_frames")) > (1.4 if full else 1.15), table["fans"]
    assert abs(ratio("fans", "frames")[0] - 1) < 0.15 and abs(ratio("fans", "motion")[0] - 1) < 0.15, table["fans"]
    # Ghosts: clearly worse in frame differences; at 64 px (not at the test clips' 32, where a limb is a pixel or
    # two wide) also in the moving-region differences.
    assert ratio("ghosts", "motion")[0] > 1.4, table["ghosts"]
    if full:
        assert ratio("ghosts", "moving_motion")[0] > 1.8, table["ghosts"]
        assert min(ratio("fans", "moving_motion")) > 1.0 and ratio("fans", "moving_motion")[0] > 1.3, table["fans"]
    # Each clip's still image over its moving region: a fan is what the clip leaves behind, at every level; a ghost
    # lasts a frame or two and is not in it.
    assert min(ratio("fans", "moving_still")) > (1.5 if full else 1.12), table["fans"]
    assert abs(ratio("ghosts", "moving_still")[0] - 1) < 0.2, table["ghosts"]   # full data: 1.16x (fans 1.90x)


def test_real_clips_beat_every_degraded_copy_at_the_finest_level(weizmann, tmp_path):
    """Calibration on real clips: blur, colour fringes and half resolution must each read clearly worse."""
    check_calibration(weizmann, 32, tmp_path)


@pytest.mark.realdata
def test_calibration_on_the_full_data(weizmann_full, tmp_path):
    check_calibration(weizmann_full, 64, tmp_path, full=True)


def test_time_split_reference_sees_fans_against_the_same_performers(weizmann):
    """The train videos' first halves against their second halves: the same people and walls on both sides, so the
    baseline is tight, and pale fans read clearly worse than the real first halves do."""
    from hrvgan.metrics.calibration import fans
    from hrvgan.metrics.evaluate import time_split_clips
    from hrvgan.metrics.swd import swd_moving_by_class

    ds = VideoDataset(weizmann, split="train", frames=8, resolution=32, progress=False)
    early, el, late, ll = time_split_clips(ds, 2)
    assert early.shape == late.shape == (2 * len(ds), 8, 32, 32, 3) and (el == ll).all()
    # clips of the first half end before those of the second half begin (videos here are 32 frames)
    assert np.array_equal(early[0], ds.clip(0, start=0)) and np.array_equal(late[1], ds.clip(0, start=24))
    real = swd_moving_by_class(early, el, late, ll)[0]
    faned = swd_moving_by_class(fans(early), el, late, ll)[0]
    assert min(f / r for f, r in zip(faned, real)) > 1.12, (faned, real)   # 1.22 and 1.16 here (32 px); 64 px: docs


def test_reference_clips_are_picked_one_way_for_every_figure(weizmann):
    """evaluate, the long-video figures, calibrate and bench/ all read against these: 8 clips per held-out video,
    4 per train video, 4 from each half of every train video (the same rule everywhere, from one helper)."""
    from hrvgan.metrics.evaluate import real_clips, reference_clips, time_split_clips

    common = dict(frames=8, resolution=32, progress=False)
    test, train = VideoDataset(weizmann, split="test", **common), VideoDataset(weizmann, split="train", **common)
    refs = reference_clips(test, train)
    assert sorted(refs) == ["early", "early_videos", "late", "late_videos", "test", "train", "train_videos"]
    assert list(refs["early_videos"][:5]) == [0, 0, 0, 0, 1]                   # 4 early clips of each train video
    assert len(refs["late_videos"]) == len(refs["late"][0]) and list(refs["late_videos"][:5]) == [0, 0, 0, 0, 1]
    assert list(refs["train_videos"][:5]) == [0, 0, 0, 0, 1] and len(refs["train_videos"]) == len(refs["train"][0])
    assert len(refs["test"][0]) == 8 * len(test) and len(refs["train"][0]) == 4 * len(train)
    assert np.array_equal(refs["train"][0], real_clips(train, 4)[0]) and np.array_equal(refs["test"][1], real_clips(test, 8)[1])
    early, el, late, ll = time_split_clips(train, 4)
    assert np.array_equal(refs["early"][0], early) and np.array_equal(refs["late"][0], late) and (refs["late"][1] == ll).all()
    assert len(reference_clips(test, train, clips_per_video=2)["train"][0]) == len(train)   # half as many, at least 1
