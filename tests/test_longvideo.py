"""Videos longer than the model's clips: sampling them, and the window-by-window figures that judge them."""

import numpy as np
import pytest
import torch

from hrvgan import HRVGAN, ModelConfig, demo
from hrvgan.cli import main
from hrvgan.data import VideoDataset
from hrvgan.inputs import InputError
from hrvgan.metrics import longvideo
from hrvgan.metrics.classifier import VideoClassifier
from hrvgan.metrics.evaluate import real_clips
from hrvgan.metrics.scores import motion
from hrvgan.pipeline import step_seed

CLASSES = ["wave", "jack", "bend"]


@pytest.fixture
def folder_with_predictor(tiny_folder):
    """A tiny generator (8 frames) with a tiny predict/ model (4 from 4) beside it, as weights/ ships."""
    torch.manual_seed(1)
    HRVGAN(ModelConfig.from_preset("tiny", class_names=CLASSES, context_frames=4, warp=True)).save_pretrained(
        tiny_folder / "predict")
    return tiny_folder


def test_long_sample_starts_with_the_short_one_and_a_seed_is_one_video(folder_with_predictor):
    model = HRVGAN.from_pretrained(folder_with_predictor)
    seen = []
    long = model.sample("jack", seeds=[3, 4], num_frames=21, progress=lambda done, total: seen.append((done, total)),
                        extend="predict")
    assert long.shape == (2, 21, 32, 32, 3) and long.dtype == np.uint8
    assert np.array_equal(long[:, :8], model.sample("jack", seeds=[3, 4]))      # the first 8 frames: the short sample
    assert seen == [(12, 21), (16, 21), (20, 21), (21, 21)]                      # 4 frames per step, then the end
    again = HRVGAN.from_pretrained(folder_with_predictor).sample("jack", seeds=4, num_frames=21, extend="predict")
    assert np.array_equal(again[0], long[1])                                     # a seed is the same long video
    assert not np.array_equal(long[0, 8:], long[1, 8:])
    # the continuation depends on the class asked for (the predictor is conditional)
    assert not np.array_equal(model.sample("bend", seeds=3, num_frames=12, extend="predict")[0, 8:], long[0, 8:12])
    assert step_seed(3, 1) != step_seed(3, 2) and step_seed(3, 1) != step_seed(4, 1)


def test_a_looped_long_video_is_the_generator_alone_one_seed_one_video_and_periodic(folder_with_predictor):
    """extend='loop': one pass of the generator over its looped code.  The first frames are the short sample's, a seed
    is one video, the interior repeats with the model's own length, and other lengths crop the same video."""
    model = HRVGAN.from_pretrained(folder_with_predictor)
    seen = []
    long = model.sample("jack", seeds=[3, 4], num_frames=64, progress=lambda done, total: seen.append((done, total)))
    short = model.sample("jack", seeds=[3, 4])
    assert long.shape == (2, 64, 32, 32, 3) and seen[-1] == (64, 64)
    assert np.abs(long[:, :2].astype(int) - short[:, :2]).mean() < 0.5        # the same start (same code and grain)
    t = model.config.frames
    gap = np.abs(long[:, 3 * t:4 * t].astype(int) - long[:, 4 * t:5 * t]).mean()  # one period apart, mid-video
    assert gap < 0.5 * np.abs(long[:, 3 * t:4 * t].astype(int) - long[:, 3 * t + t // 2:4 * t + t // 2]).mean()
    assert np.array_equal(HRVGAN.from_pretrained(folder_with_predictor).sample("jack", seeds=4, num_frames=64)[0], long[1])
    assert not np.array_equal(long[0], long[1])
    assert np.array_equal(model.sample("jack", seeds=[3, 4], num_frames=63), long[:, :63])   # rendered to 64, cropped
    g = model.generator
    with pytest.raises(ValueError, match="in steps of 2; got 17"):
        g(torch.randn(1, g.config.latent_dim), torch.tensor([0]), frames=17)
    assert g.code_frames(32) == 16 and g.code_frames(None) == g.code_frames(8) == 4
    from hrvgan.networks import Generator, loop_code
    assert loop_code(torch.arange(4.0).view(1, 1, 4), 10).flatten().tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    grainy = Generator(ModelConfig.from_preset("tiny", class_names=CLASSES, g_noise=True, g_background=True))
    assert [s[1] for s in grainy.noise_shapes(32)] == [4 * s[1] for s in grainy.noise_shapes()]   # every stage, and the wall's grain
    assert grainy(torch.randn(2, 16), torch.tensor([0, 1]), frames=32).shape == (2, 3, 32, 32, 32)


def test_long_sample_refuses_what_it_cannot_make(folder_with_predictor):
    model = HRVGAN.from_pretrained(folder_with_predictor)
    with pytest.raises(InputError, match="num_frames must be a whole number from 8 to 1024, got 4"):
        model.sample("jack", num_frames=4)
    with pytest.raises(InputError, match="from 8 to 1024, got 2000"):
        model.sample("jack", num_frames=2000)
    bare = HRVGAN(ModelConfig.from_preset("tiny", class_names=CLASSES))       # no folder, no predict/ beside it
    assert bare.sample("jack", num_frames=8).shape[1] == 8                     # its own length needs no extender
    with pytest.raises(InputError, match="no prediction model to continue them"):
        bare.sample("jack", num_frames=16, extend="predict")
    assert bare.sample("jack", num_frames=16).shape[1] == 16                   # loop: the generator alone
    with pytest.raises(InputError, match="extend must be one of loop, predict, got 'tile'"):
        bare.sample("jack", num_frames=16, extend="tile")
    assert model.extender.sample("jack", num_frames=16).shape[1] == 16         # a predictor generates, and loops, too
    other = HRVGAN(ModelConfig.from_preset("tiny", class_names=["a", "b", "c"], context_frames=4))
    with pytest.raises(ValueError, match="must agree"):
        bare.extender = other
    with pytest.raises(ValueError, match="must predict"):
        bare.extender = HRVGAN(ModelConfig.from_preset("tiny", class_names=CLASSES))
    bare.extender = model.extender                                            # set by hand: now it can go on
    assert bare.sample("jack", num_frames=16, extend="predict").shape[1] == 16
    assert "extender" not in dict(bare.named_modules()) and len(bare.state_dict()) == len(model.state_dict())


def test_windows_and_colour_drift():
    rng = np.random.default_rng(0)
    videos = rng.integers(0, 256, (2, 40, 16, 16, 3), dtype=np.uint8)
    parts = longvideo.windows(videos, 16)
    assert len(parts) == 2 and all(p.shape == (2, 16, 16, 16, 3) for p in parts)   # frames 32-39 are dropped
    still = np.repeat(videos[:, :1], 40, axis=1)
    assert np.allclose(longvideo.colour_drift(still), 0)                           # the same colours: no drift
    assert (longvideo.colour_drift(longvideo.colour_drifting(still)) > 0.3).all()
    with pytest.raises(ValueError, match="at least 16 frames"):
        longvideo.windows(videos[:, :8], 16)


def test_calibration_spoiled_long_videos_read_clearly_worse(weizmann):
    """On the shipped real clips (32 frames: two windows), each spoiled copy fails a figure that real clips pass."""
    train_set = VideoDataset(weizmann, split="train", frames=8, resolution=32, progress=False)
    test_set = VideoDataset(weizmann, split="test", frames=8, resolution=32, progress=False)
    test, _ = real_clips(test_set, 4)
    train, _ = real_clips(train_set, 4)
    real, labels = longvideo.real_long_videos([train_set], 32)
    table = longvideo.calibrate_long(real, labels, None, test, motion(train))
    get = lambda row, key: table[row][key]  # noqa: E731
    assert all(0.7 <= m <= 1.3 for m in get("real", "window_motion_ratio_train"))
    # Frozen after 16 frames: the second window does not move, and its frame differences are nothing like real ones.
    assert get("frozen", "window_motion_ratio_train")[-1] < 0.05
    assert get("frozen", "window_swd_motion_vs_test")[-1] > 3 * get("real", "window_swd_motion_vs_test")[-1]
    # A colour cast growing over the video: the drift reads far above real videos' own.
    assert get("colour-drift", "colour_drift") > 5 * get("real", "colour_drift")
    # Noise growing over time: the last window's frames, differences and motion read far worse than the first.
    noisy = table["growing-noise"]
    assert noisy["window_swd_frames_vs_test"][-1] > 1.5 * get("real", "window_swd_frames_vs_test")[-1]
    assert noisy["window_motion_ratio_train"][-1] > 1.3 * noisy["window_motion_ratio_train"][0]
    verdict = lambda row: longvideo.long_verdict(table[row], 1.0 * get("real", "window_swd_frames_vs_test")[0],  # noqa: E731
                                                 1.0 * get("real", "window_swd_motion_vs_test")[0])
    assert all(ok in (True, None) for ok in verdict("real").values()), verdict("real")
    for spoiled in longvideo.LONG_DEGRADATIONS:
        assert not all(ok in (True, None) for ok in verdict(spoiled).values()), spoiled


def test_evaluate_and_calibrate_long_from_the_command_line(folder_with_predictor, weizmann, tmp_path, capsys):
    VideoClassifier(longvideo_classifier_config()).save(folder_with_predictor / "classifier")
    out = tmp_path / "long.json"
    assert main(["evaluate", "--model", str(folder_with_predictor), "--data", str(weizmann), "--num_frames", "32",
                 "--num_samples", "6", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| 0-7 |" in printed and "| 24-31 |" in printed and "colour drift" in printed
    import json
    r = json.loads(out.read_text())
    assert r["num_frames"] == 32 and len(r["window_motion_ratio_train"]) == 4 and len(r["window_class_accuracy"]) == 4
    assert main(["calibrate", "--data", str(weizmann), "--frames", "8", "--resolution", "32", "--num_frames", "32",
                 "--classifier", ""]) == 0
    assert "| frozen |" in capsys.readouterr().out
    assert main(["evaluate", "--model", str(folder_with_predictor), "--data", str(weizmann), "--num_frames", "64",
                 "--num_samples", "3"]) == 2                                 # no real video is that long: said so
    assert "no real video has 64 frames" in capsys.readouterr().err


def longvideo_classifier_config():
    from hrvgan.metrics.classifier import ClassifierConfig
    return ClassifierConfig(class_names=["bend", "jack", "wave1", "wave2"], frames=8, resolution=32)


def test_sample_cli_writes_a_long_video(folder_with_predictor, tmp_path):
    from hrvgan.video import read_video
    out = tmp_path / "long.mp4"
    assert main(["sample", "--model", str(folder_with_predictor), "--class", "jack", "--num_frames", "20",
                 "--out", str(out)]) == 0
    assert read_video(out).shape[0] == 20
    alone = tmp_path / "alone"                                              # a generator with no predict/ beside it
    HRVGAN.from_pretrained(folder_with_predictor).save_pretrained(alone)
    assert main(["sample", "--model", str(alone), "--class", "jack", "--num_frames", "20", "--out", str(out)]) == 0
    assert read_video(out).shape[0] == 20                                   # loop: needs no prediction model
    assert main(["sample", "--model", str(alone), "--class", "jack", "--num_frames", "20", "--out", str(out),
                 "--extend", "predict"]) == 2
    assert main(["sample", "--model", str(alone), "--class", "jack", "--num_frames", "20", "--out", str(out),
                 "--extender", str(folder_with_predictor / "predict")]) == 0
    assert read_video(out).shape[0] == 20
    assert main(["sample", "--model", str(alone), "--class", "jack", "--num_frames", "20", "--out", str(out),
                 "--extend", "loop", "--extender", str(folder_with_predictor / "predict")]) == 2


def test_demo_long_videos_with_progress_and_bounded_cost(folder_with_predictor):
    loaded = demo.load_models(str(folder_with_predictor))["model"]
    assert loaded.model.extender is loaded.predictor                        # the predict/ model is loaded once
    seen = []
    mp4, grid, _ = loaded.sample("jack", 0, 2, 1.0, 8, 40, lambda d, t: seen.append(d), "predict")
    from PIL import Image

    from hrvgan.video import read_video
    assert read_video(mp4).shape[0] == 40 and seen[-1] == 40
    with Image.open(grid) as im:                                            # 8 frames spread over the 40
        assert im.size[0] == demo.GRID_FRAMES * 32 + (demo.GRID_FRAMES + 1) * 2
    with pytest.raises(InputError, match="at most 128 here"):
        loaded.sample("jack", 0, 1, 1.0, 8, 136)
    with pytest.raises(InputError, match="too much for one request"):
        loaded.sample("jack", 0, 8, 1.0, 8, 128)
