"""The demo's request handling, without a server."""

import av
import numpy as np
import pytest
from PIL import Image

from hrvgan import HRVGAN, ModelConfig, demo


@pytest.fixture
def models(tiny_folder, tmp_path):
    uncond = tmp_path / "golf"
    HRVGAN(ModelConfig.from_preset("tiny")).save_pretrained(uncond)
    return demo.load_models(f"{tiny_folder},{uncond}")


def test_load_models_names_and_about(models):
    assert list(models) == ["model", "golf"]
    assert "wave, jack, bend" in models["model"].about and not models["model"].about.startswith("---")


def test_sample_returns_playable_files(models):
    mp4, grid, files = demo.sample(models, "model", "jack", 5, 3, 1.0, 8)
    with av.open(mp4) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.pix_fmt) == ("h264", "yuv420p")
        assert s.frames == 8 and s.width == 3 * 32 * demo.DISPLAY_SCALE  # 3 videos side by side
    with Image.open(grid) as im:
        assert im.format == "PNG" and im.size[1] > 3 * 32  # three rows
    assert [f.rsplit(".", 1)[1] for f in files] == ["mp4", "gif", "png"]


def test_interpolate_returns_all_steps(models):
    walk, grid, html, steps = demo.interpolate(models, "model", 1, 2, "wave", "bend", 5, "lerp", 8)
    assert steps == 5 and html.count('class="interp-step"') == 5 and html.count("display:none") == 4
    with av.open(walk) as c:
        assert c.streams.video[0].frames == 5 * 8


def test_unconditional_model_ignores_classes(models):
    mp4, _, _ = demo.sample(models, "golf", None, 0, 1, 1.0, 8)
    assert mp4.endswith(".mp4")
    assert demo.interpolate(models, "golf", 0, 1, None, None, 3, "slerp", 8)[3] == 3


@pytest.mark.parametrize("args,match", [
    (("model", "run", 0, 1, 1.0, 8), "Unknown class 'run'"),
    (("model", "jack", -3, 1, 1.0, 8), "Seed must be a whole number"),
    (("model", "jack", 2.5, 1, 1.0, 8), "Seed must be a whole number"),
    (("model", "jack", 2**40, 1, 1.0, 8), "Seed must be a whole number"),
    (("model", "jack", 0, 9, 1.0, 8), "Number of videos must be a whole number from 1 to 8"),
    (("model", "jack", 0, 0, 1.0, 8), "Number of videos"),
    (("model", "jack", 0, 1, 0.0, 8), "Truncation must be between"),
    (("model", "jack", 0, 1, 1.0, 0), "Frames per second"),
])
def test_bad_requests_get_a_message(models, args, match):
    with pytest.raises(demo.DemoError, match=match):
        demo.sample(models, *args)


def test_same_request_same_videos(models):
    a = models["model"].model.sample(classes="jack", seeds=[3, 4])
    b = models["model"].model.sample(classes="jack", seeds=[3, 4])
    assert np.array_equal(a, b)
