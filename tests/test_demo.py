"""The demo's request handling, without a server."""

import av
import numpy as np
import pytest
import torch
from PIL import Image

from hrvgan import HRVGAN, ModelConfig, demo
from hrvgan.video import write_mp4


@pytest.fixture
def models(tiny_folder, tmp_path):
    uncond = tmp_path / "golf"
    HRVGAN(ModelConfig.from_preset("tiny")).save_pretrained(uncond)
    return demo.load_models(f"{tiny_folder},{uncond}")


def with_clips(models: dict, clips: dict) -> dict:
    for loaded in models.values():
        loaded.clips = clips
    return models


def test_load_models_names_and_about(models):
    assert list(models) == ["model", "golf"]
    assert "wave, jack, bend" in models["model"].about and not models["model"].about.startswith("---")


def test_sample_returns_playable_files_at_the_models_resolution(models):
    mp4, grid, files = models["model"].sample("jack", 5, 3, 1.0, 8)
    with av.open(mp4) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.pix_fmt) == ("h264", "yuv420p")
        assert s.frames == 8 and s.width == 3 * 32 + 2 * 2 and s.height == 32  # 3 videos side by side, 2-px gaps
    with Image.open(grid) as im:
        assert im.format == "PNG" and im.size[1] == 3 * 32 + 4 * 2  # three rows at 1x, the browser enlarges
    assert files == [mp4, grid]                                      # downloads are the files already made


def test_interpolate_serves_one_sprite_sheet_to_the_slider(models):
    walk, grid, html, steps = models["model"].interpolate(1, 2, "wave", "bend", 5, "lerp", 8)
    assert steps == 5 and html.count('class="scrub"') == 1 and "--row: 0" in html
    # The sheet in the page is the grid PNG itself: no per-step re-encoding.
    import base64
    assert base64.b64encode(open(grid, "rb").read()).decode() in html
    assert "image-rendering: pixelated" in html and "steps(8)" in html   # 8 frames per row, crisp pixels
    with av.open(walk) as c:
        assert c.streams.video[0].frames == 5 * 8


def test_unconditional_model_ignores_classes(models):
    mp4, _, _ = models["golf"].sample(None, 0, 1, 1.0, 8)
    assert mp4.endswith(".mp4")
    assert models["golf"].interpolate(0, 1, None, None, 3, "slerp", 8)[3] == 3
    assert models["golf"].interpolate(0, 1, demo.NO_CLASS, demo.NO_CLASS, 3, "slerp", 8)[3] == 3


@pytest.fixture
def predictor(tmp_path):
    folder = tmp_path / "pred"
    torch.manual_seed(0)
    HRVGAN(ModelConfig.from_preset("tiny", class_names=["bend", "jumping jack"], context_frames=3)).save_pretrained(folder)
    return demo.load_models(str(folder))


@pytest.fixture
def clips(tmp_path):
    folder = tmp_path / "clips"
    rng = np.random.default_rng(0)
    write_mp4(rng.integers(0, 255, (12, 48, 48, 3), dtype=np.uint8), folder / "jumping-jack-performer7.mp4")
    write_mp4(rng.integers(0, 255, (2, 48, 48, 3), dtype=np.uint8), folder / "bend-short.mp4")
    return demo.example_clips(folder)


def test_predict_a_shipped_clip_shows_context_prediction_and_real(predictor, clips):
    mp4, grid, files = with_clips(predictor, clips)["pred"].predict("jumping-jack-performer7.mp4", None, None, 0, 8)
    with av.open(mp4) as c:
        s = c.streams.video[0]
        assert s.frames == 8 and s.width == 2 * 32 + 2           # [context + prediction | context + real], 8 frames
    with Image.open(grid) as im:
        assert im.size == (5 * 34 + 2, 3 * 34 + 2)               # rows: context (3), prediction (5), real (5)
    assert files == [mp4, grid]
    assert predictor["pred"].class_of_clip("jumping-jack-performer7.mp4") == "jumping jack"


def test_predict_an_upload_and_seeds_differ(predictor, clips, tmp_path):
    up = clips["jumping-jack-performer7.mp4"]
    a = predictor["pred"].predict(None, str(up), "bend", 0, 8)[1]
    b = predictor["pred"].predict(None, str(up), "bend", 1, 8)[1]
    assert open(a, "rb").read() != open(b, "rb").read()


def test_predict_bad_input_gets_a_message(predictor, clips, tmp_path, models):
    pred = with_clips(predictor, clips)["pred"]
    with pytest.raises(demo.DemoError, match="needs at least 3"):
        pred.predict("bend-short.mp4", None, None, 0, 8)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 40)
    with pytest.raises(demo.DemoError, match="The upload is not a readable video") as error:
        pred.predict(None, str(junk), "bend", 0, 8)
    assert str(tmp_path) not in str(error.value)                 # no server paths in what the visitor reads
    with pytest.raises(demo.DemoError, match="Unknown example clip"):
        pred.predict("nope.mp4", None, "bend", 0, 8)
    with pytest.raises(demo.DemoError, match="only generates"):
        with_clips(models, clips)["model"].predict("jumping-jack-performer7.mp4", None, "jack", 0, 8)


def test_an_upload_is_bounded_before_it_is_decoded(predictor, tmp_path, monkeypatch):
    # A long, large upload: only the frames a prediction needs are decoded, each resized at once.
    long = tmp_path / "long.mp4"
    write_mp4(np.random.default_rng(0).integers(0, 255, (300, 256, 256, 3), dtype=np.uint8), long)
    decoded = []
    resize = demo.resize_video
    monkeypatch.setattr(demo, "resize_video", lambda f, r: decoded.append(f.shape) or resize(f, r))
    frames = demo.read_upload(long, 8, 32)
    assert frames.shape == (8, 32, 32, 3) and len(decoded) == 8      # 8 of 300 frames decoded
    monkeypatch.setattr(demo, "MAX_UPLOAD_SIDE", 128)
    with pytest.raises(demo.DemoError, match="frames are 256x256; upload frames of at most 128"):
        demo.read_upload(long, 8, 32)
    monkeypatch.setattr(demo, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(demo.DemoError, match="upload at most 0 MB"):
        demo.read_upload(long, 8, 32)


def test_a_broken_predict_companion_is_reported_not_dropped(tiny_folder):
    (tiny_folder / "predict").mkdir()
    (tiny_folder / "predict" / "config.json").write_text("{not json")
    (tiny_folder / "predict" / "model.safetensors").write_bytes(b"junk")
    loaded = demo.load_models(str(tiny_folder))["model"]
    assert loaded.predictor is None and "not a valid HRVGAN config" in loaded.predictor_error
    with pytest.raises(demo.DemoError, match="Its predict/ model could not be loaded"):
        loaded.predict(None, None, None, 0, 8)
    with pytest.raises(ValueError, match="could not be loaded"):
        HRVGAN.companion_predictor(str(tiny_folder))


@pytest.mark.parametrize("args,match", [
    (("run", 0, 1, 1.0, 8), "unknown class 'run'"),
    (("jack", -3, 1, 1.0, 8), "seed must be a whole number from 0 to 2147483647, got -3"),
    (("jack", 2.5, 1, 1.0, 8), "seed must be a whole number"),
    (("jack", 3.7, 1, 1.0, 8), "got 3.7"),                       # never rounded without a word
    (("jack", "abc", 1, 1.0, 8), "got 'abc'"),
    (("jack", None, 1, 1.0, 8), "got None"),
    (("jack", 2**40, 1, 1.0, 8), "seed must be a whole number"),
    (("jack", 0, 9, 1.0, 8), "number of videos must be a whole number from 1 to 8"),
    (("jack", 0, 0, 1.0, 8), "number of videos"),
    (("jack", 0, 1, -0.5, 8), "truncation must be a number from 0 to 2"),
    (("jack", 0, 1, "x", 8), "truncation must be a number"),
    (("jack", 0, 1, 1.0, 0), "frames per second"),
])
def test_bad_requests_get_a_message(models, args, match):
    with pytest.raises(ValueError, match=match):
        models["model"].sample(*args)


def test_the_seed_rule_is_one_rule():
    """The library, the CLI and the demo take the same seeds: a CLI seed can be typed into the demo."""
    from hrvgan import inputs
    from hrvgan.cli import main

    assert demo.SEED_LIMIT == inputs.SEED_RANGE[1]
    with pytest.raises(ValueError, match="from 0 to 2147483647"):
        HRVGAN(ModelConfig.from_preset("tiny")).sample(seeds=99999999999999)
    assert main(["sample", "--model", "nowhere-model-folder/x/y", "--seed", "99999999999999", "--out", "x.mp4"]) != 0


def test_same_request_same_videos(models):
    a = models["model"].model.sample(classes="jack", seeds=[3, 4])
    b = models["model"].model.sample(classes="jack", seeds=[3, 4])
    assert np.array_equal(a, b)


def test_a_generation_model_with_a_predict_folder_predicts_through_it(tiny_folder, tmp_path, clips):
    torch.manual_seed(0)
    HRVGAN(ModelConfig.from_preset("tiny", class_names=["wave", "jack", "bend"], context_frames=3)).save_pretrained(
        tiny_folder / "predict")
    models = demo.load_models(str(tiny_folder))
    loaded = models["model"]
    assert loaded.model.context_frames == 0 and loaded.predictor.context_frames == 3
    mp4, grid, _ = models["model"].predict(None, str(clips["jumping-jack-performer7.mp4"]), "jack", 0, 8)
    with av.open(mp4) as c:
        assert c.streams.video[0].frames == 8
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        HRVGAN.from_pretrained(tmp_path, subfolder="predict")


def test_an_upload_must_come_from_gradios_upload_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    inside = tmp_path / "gradio" / "abc" / "clip.mp4"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(b"x")
    assert demo.upload_path({"path": str(inside), "meta": {"_type": "gradio.FileData"}}) == str(inside)
    assert demo.upload_path(None) is None
    for outside in ("/etc/hostname", str(tmp_path / "gradio" / ".." / "secret.mp4"), 42):
        with pytest.raises(demo.DemoError, match="The upload was not received"):
            demo.upload_path({"path": outside})
