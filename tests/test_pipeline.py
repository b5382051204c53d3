import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from hrvgan import HRVGAN, ModelConfig


def test_sample_shape_dtype_and_class_by_name_or_index(tiny_model):
    v = tiny_model.sample(classes="jack", seeds=[0, 1])
    assert v.shape == (2, 8, 32, 32, 3) and v.dtype == np.uint8
    assert np.array_equal(v, tiny_model.sample(classes=1, seeds=[0, 1]))
    assert tiny_model.class_names == ["wave", "jack", "bend"]


def test_same_seed_same_video_whatever_the_batch(tiny_model):
    classes = ["wave", "jack", "bend", "wave", "jack", "bend", "bend"]
    seeds = [5, 6, 7, 8, 9, 10, 11]
    batch = tiny_model.sample(classes=classes, seeds=seeds)
    for i in range(len(seeds)):
        alone = tiny_model.sample(classes=classes[i], seeds=seeds[i])
        assert np.array_equal(batch[i], alone[0]), f"video {i} changed with the batch size"
    assert not np.array_equal(batch[0], batch[3])  # different seeds differ


def test_save_load_round_trip_gives_identical_samples(tiny_model, tiny_folder):
    assert sorted(p.name for p in tiny_folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = HRVGAN.from_pretrained(tiny_folder)
    assert loaded.config == tiny_model.config
    assert np.array_equal(loaded.sample(classes="bend", seeds=[3, 4]), tiny_model.sample(classes="bend", seeds=[3, 4]))
    card = (tiny_folder / "README.md").read_text()
    assert "wave, jack, bend" in card and "`tiny`" in card
    assert loaded.model_card_text == card


def test_model_card_lists_training_data_and_metrics(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path, model_card_kwargs={
        "training_data": "Weizmann actions", "steps": 1234,
        "metrics": {"class_accuracy_generated": 0.875, "fid_golf": 102.584}})
    card = (tmp_path / "README.md").read_text()
    assert "Weizmann actions" in card and "1234" in card
    assert "| Class accuracy, generated (class asked for) | 87.5% |" in card  # evaluate's keys, readable
    assert "| fid_golf | 102.6 |" in card                                  # any other key as it is
    channels = ", ".join(map(str, tiny_model.generator.config.stage_channels))
    assert f"| generator channels, 4x4 input then each stage | {channels} |" in card  # --channels is visible
    assert "| generator padding in time (beyond the first and last frame) | zeros |" in card
    assert "| critic (training only) sees | frames |" in card
    patchy = HRVGAN(ModelConfig.from_preset("tiny", d_motion=True, d_patch=True))
    patchy.save_pretrained(tmp_path / "patchy")
    assert ("| critic (training only) sees | frames, frame differences, every ~14-pixel neighbourhood (patch head) |"
            in (tmp_path / "patchy" / "README.md").read_text())
    assert HRVGAN.from_pretrained(tmp_path / "patchy").config.d_patch     # saved in config.json
    strided = HRVGAN(ModelConfig.from_preset("tiny", d_motion=True, motion_strides=(1, 2, 4)))
    strided.save_pretrained(tmp_path / "strided")
    assert "| critic (training only) sees | frames, frame differences over 1, 2, 4 frames |" in (
        tmp_path / "strided" / "README.md").read_text()


@pytest.mark.parametrize("mode", ["lerp", "slerp"])
def test_interpolation_ends_at_the_two_seeds_and_classes(tiny_model, mode):
    path = tiny_model.interpolate(1, 2, steps=5, class_a="wave", class_b="bend", mode=mode)
    assert path.shape == (5, 8, 32, 32, 3)
    assert np.array_equal(path[0], tiny_model.sample(classes="wave", seeds=1)[0])
    assert np.array_equal(path[-1], tiny_model.sample(classes="bend", seeds=2)[0])
    assert not np.array_equal(path[2], path[0]) and not np.array_equal(path[2], path[-1])


def test_lerp_and_slerp_differ_in_the_middle(tiny_model):
    a = tiny_model.interpolate(1, 2, steps=3, class_a="wave", mode="lerp")
    b = tiny_model.interpolate(1, 2, steps=3, class_a="wave", mode="slerp")
    assert not np.array_equal(a[1], b[1])


def test_truncation_pulls_toward_the_class_mean(tiny_model):
    far = tiny_model.sample(classes="jack", seeds=[1, 2], truncation=1.0).astype(int)
    near = tiny_model.sample(classes="jack", seeds=[1, 2], truncation=1e-6).astype(int)
    assert np.abs(near[0] - near[1]).max() <= 1       # every seed collapses onto the mean video
    assert np.abs(far[0] - far[1]).max() > 1


def test_unconditional_model():
    m = HRVGAN(ModelConfig.from_preset("tiny"))
    assert m.class_names == []
    assert m.sample(seeds=[0, 1]).shape == (2, 8, 32, 32, 3)
    assert m.interpolate(0, 1, steps=3).shape == (3, 8, 32, 32, 3)
    with pytest.raises(ValueError, match="unconditional"):
        m.sample(classes="jack", seeds=0)


@pytest.mark.parametrize("classes,match", [
    ("run", r"unknown class 'run'; this model's classes are \['wave', 'jack', 'bend'\]"),
    (3, "class index 3 is out of range: this model has 3 classes"),
    (-1, "class index -1 is out of range"),
    (None, "class-conditional; sample needs classes="),
    (1.5, "class must be a name or an index"),
])
def test_bad_class_errors(tiny_model, classes, match):
    with pytest.raises(ValueError, match=match):
        tiny_model.sample(classes=classes, seeds=0)


@pytest.mark.parametrize("seed,match", [(-1, "from 0 to 2147483647"), (1.5, "whole number"), ("seven", "whole number"),
                                        (True, "whole number"), (2**31, "from 0 to 2147483647"), (2**64, "from 0 to")])
def test_bad_seed_errors(tiny_model, seed, match):
    with pytest.raises(ValueError, match=match):
        tiny_model.sample(classes="wave", seeds=seed)


def test_mismatched_lists_and_bad_steps(tiny_model):
    with pytest.raises(ValueError, match="2 seeds and 3 classes"):
        tiny_model.sample(classes=["wave", "jack", "bend"], seeds=[1, 2])
    with pytest.raises(ValueError, match="steps must be a whole number from 2 to 64"):
        tiny_model.interpolate(0, 1, steps=1, class_a="wave")
    with pytest.raises(ValueError, match="mode must be"):
        tiny_model.interpolate(0, 1, steps=3, class_a="wave", mode="cubic")


def test_folder_without_config(tiny_folder):
    (tiny_folder / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="has no config.json: it is not an HRVGAN model folder"):
        HRVGAN.from_pretrained(tiny_folder)


def test_missing_folder_is_not_taken_for_a_repo(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        HRVGAN.from_pretrained(str(tmp_path / "nope"))


def test_weights_that_do_not_fit_the_config(tiny_folder):
    config = json.loads((tiny_folder / "config.json").read_text())
    config["width"] = 2.0
    (tiny_folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="do not fit its config.json: .* wrong shape"):
        HRVGAN.from_pretrained(tiny_folder)


def test_weights_with_missing_tensors(tiny_folder):
    state = load_file(tiny_folder / "model.safetensors")
    state.pop("to_rgb.weight")
    save_file(state, tiny_folder / "model.safetensors")
    with pytest.raises(ValueError, match="1 tensors missing \\(to_rgb.weight\\)"):
        HRVGAN.from_pretrained(tiny_folder)


def test_pickle_is_never_loaded(tiny_model, tiny_folder):
    # A pickle renamed to .safetensors is refused, not unpickled.
    torch.save(tiny_model.generator.state_dict(), tiny_folder / "model.safetensors")
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        HRVGAN.from_pretrained(tiny_folder)
    # A folder that only has a pickle says so.
    (tiny_folder / "model.safetensors").rename(tiny_folder / "pytorch_model.bin")
    with pytest.raises(FileNotFoundError, match="pytorch_model.bin: HRVGAN loads safetensors only"):
        HRVGAN.from_pretrained(tiny_folder)


def test_config_json_that_is_not_json(tiny_folder):
    (tiny_folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid HRVGAN config"):
        HRVGAN.from_pretrained(tiny_folder)


@pytest.fixture
def predictor():
    torch.manual_seed(0)
    model = HRVGAN(ModelConfig.from_preset("tiny", class_names=["wave", "jack"], context_frames=3))
    with torch.no_grad():  # a trained encoder: its skips are no longer zero
        for skip in model.generator.encoder.skips:
            skip.weight.normal_(0, 0.5)
    return model


def test_predict_shapes_seeds_and_batch_invariance(predictor):
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (5, 3, 32, 32, 3), dtype=np.uint8)
    assert (predictor.context_frames, predictor.predicted_frames) == (3, 5)
    out = predictor.predict(clips, classes="jack", seeds=[0, 1, 2, 3, 4])
    assert out.shape == (5, 5, 32, 32, 3) and out.dtype == np.uint8
    one = predictor.predict(clips[2], classes="jack", seeds=2)           # (m, H, W, 3): one clip
    assert np.array_equal(one[0], out[2])                                # the same whatever the batch
    assert not np.array_equal(predictor.predict(clips[2], classes="jack", seeds=7)[0], one[0])   # seeds differ
    assert not np.array_equal(predictor.predict(clips[3], classes="jack", seeds=2)[0], one[0])   # context matters


def test_predict_resizes_uses_the_last_frames_and_round_trips(predictor, tmp_path):
    rng = np.random.default_rng(1)
    long_clip = rng.integers(0, 256, (7, 48, 64, 3), dtype=np.uint8)     # 7 frames of 48x64
    out = predictor.predict(long_clip, classes=0)
    assert out.shape == (1, 5, 32, 32, 3)
    from hrvgan.video import resize_video
    assert np.array_equal(out, predictor.predict(resize_video(long_clip[-3:], 32), classes=0))
    predictor.save_pretrained(tmp_path / "p")
    loaded = HRVGAN.from_pretrained(tmp_path / "p")
    assert loaded.context_frames == 3 and np.array_equal(loaded.predict(long_clip, classes=0), out)
    assert "video-prediction" in (tmp_path / "p" / "README.md").read_text()


def test_predict_errors(predictor, tiny_model):
    clip = np.zeros((3, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="from 3 context frames; the clip has only 2"):
        predictor.predict(clip[:2], classes=0)
    with pytest.raises(ValueError, match="uint8 frames"):
        predictor.predict(clip.astype(np.float32), classes=0)
    with pytest.raises(ValueError, match="needs classes="):
        predictor.predict(clip)
    with pytest.raises(ValueError, match="2 seeds for 1 clips"):
        predictor.predict(clip, classes=0, seeds=[1, 2])
    with pytest.raises(ValueError, match="only generates"):
        tiny_model.predict(clip, classes=0)
    assert tiny_model.context_frames == 0 and tiny_model.predicted_frames == 0


@pytest.mark.parametrize("background", [False, True])   # with a background stream, its grain is the seed's too
def test_noise_inputs_follow_the_seed_and_hold_still_along_an_interpolation(tmp_path, background):
    torch.manual_seed(0)
    model = HRVGAN(ModelConfig.from_preset("tiny", class_names=["wave", "jack"], g_noise=True, g_background=background))
    with torch.no_grad():
        for stage in model.generator.stages:
            stage.noise_strength.fill_(1.0)
        if background:
            model.generator.background_grain.fill_(1.0)
            model.generator.to_mask.bias.fill_(0.0)                  # half the still frame, grain and all
    batch = model.sample(classes="jack", seeds=[3, 4, 5, 6, 7])
    assert np.array_equal(batch[4], model.sample(classes="jack", seeds=7)[0])    # the seed's grain, any batch
    assert np.array_equal(batch[0], model.sample(classes="jack", seeds=3)[0])
    # the grain is the seed's own: the same z with another video's noise is another video
    z = torch.stack([torch.randn(16, generator=torch.Generator().manual_seed(3))] * 2)
    labels = torch.tensor([1, 1])
    assert not np.array_equal(*model.generate(z, labels, noise_seeds=[3, 4]))
    assert np.array_equal(model.generate(z, labels, noise_seeds=[3, 3])[0], batch[0])
    # a path from a seed to itself: one z, one grain -> the same video at every step
    path = model.interpolate(5, 5, steps=3, class_a="wave")
    assert np.array_equal(path[0], path[1]) and np.array_equal(path[1], path[2])
    model.save_pretrained(tmp_path / "m")
    loaded = HRVGAN.from_pretrained(tmp_path / "m")
    assert loaded.config.g_noise and np.array_equal(loaded.sample(classes="jack", seeds=[3, 4, 5, 6, 7]), batch)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps({**config, "g_noise": False}))
    with pytest.raises(ValueError, match="3 unexpected tensors \\(stages.0.noise_strength"):
        HRVGAN.from_pretrained(tmp_path / "m")              # weights with noise inputs, a config without
    with pytest.raises(ValueError, match="one per video"):
        model.generate(z, labels, noise_seeds=[3])


@pytest.mark.parametrize("damage, match", [
    (lambda t: t.fill_(float("nan")), "holds NaN or inf"),
    (lambda t: t.fill_(float("inf")), "holds NaN or inf"),
    (lambda t: t.to(torch.int32), "not floating point"),
])
def test_damaged_weights_are_refused(tiny_folder, damage, match):
    from safetensors.torch import load_file, save_file
    state = load_file(str(tiny_folder / "model.safetensors"))
    key = next(iter(state))
    state[key] = damage(state[key].clone())
    save_file(state, str(tiny_folder / "model.safetensors"))
    with pytest.raises(ValueError, match=match):
        HRVGAN.from_pretrained(tiny_folder)


@pytest.mark.parametrize("edit, match", [
    (lambda c: c.pop("time_padding"), "lacks time_padding"),       # would silently take another default
    (lambda c: c.pop("class_names"), "lacks class_names"),
    (lambda c: c.update(latent_dim=16.0), "latent_dim: 16.0 is not a whole number"),
    (lambda c: c.update(g_noise="yes please"), "g_noise: 'yes please' is not true or false"),
    (lambda c: c.update(format_version=8), "format_version 8 is not one this hrvgan reads"),
    (lambda c: c.update(format_version=2) or c.pop("time_padding"), "lacks time_padding"),
    (lambda c: c.pop("g_background"), "lacks g_background"),                # a version-5 file needs it
    (lambda c: c.pop("warp_support"), "lacks warp_support"),
    (lambda c: c.pop("warp_prior"), "lacks warp_prior"),
    (lambda c: c.pop("time_crop"), "lacks time_crop"),                      # a version-6 file needs it
    (lambda c: c.pop("turn"), "lacks turn"),                                # a version-7 file needs it
    (lambda c: c.update(format_version=6) or c.pop("time_crop"), "lacks time_crop"),  # version 6 had it
    (lambda c: c.update(format_version=5) or c.pop("warp_prior"), "lacks warp_prior"),  # version 5 had it
    (lambda c: c.update(format_version=4) or c.pop("warp_support"), "lacks warp_support"),  # version 4 had it
    (lambda c: c.update(format_version=3) or c.pop("g_background"), "lacks g_background"),  # and a version-3 one
])
def test_config_json_is_checked_field_by_field(tiny_folder, edit, match):
    import json
    path = tiny_folder / "config.json"
    config = json.loads(path.read_text())
    assert config["format_version"] == 7 and "turn" in config       # written with a version and every field
    edit(config)
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=match):
        HRVGAN.from_pretrained(tiny_folder)


def test_a_model_trained_on_windows_of_its_loop_samples_the_window_its_seed_draws(tmp_path):
    """time_crop: a video is the window of the looped code that the seed draws (the same in any batch, along an
    interpolation, and at the start of a long video), and seeds draw different windows; a config without the field
    (format 5, v7's) loads as a model read from the code's start."""
    from hrvgan.pipeline import latent, window_start
    from hrvgan.video import to_uint8

    torch.manual_seed(0)
    model = HRVGAN(ModelConfig.from_preset("tiny", class_names=["wave", "jack"], g_noise=True, time_crop=8))
    with torch.no_grad():
        for stage in model.generator.stages:
            stage.noise_strength.fill_(1.0)
    seeds = list(range(12))
    starts = [window_start(s, 8) for s in seeds]
    assert len(set(starts)) > 3 and all(0 <= s <= 8 for s in starts)
    videos = model.sample(classes="jack", seeds=seeds)
    assert videos.shape == (12, 8, 32, 32, 3)
    for i in (0, 5):
        alone = model.sample(classes="jack", seeds=seeds[i])[0]
        assert np.array_equal(videos[i], alone)                                  # any batch
        with torch.no_grad():                                                    # the window of a 16-frame render
            long = model.generator(latent(seeds[i], 16)[None], torch.tensor([1]), noise=model._noise([seeds[i]], 16),
                                   frames=16)
        assert np.array_equal(to_uint8(long)[0, starts[i]:starts[i] + 8], videos[i])
    path = model.interpolate(3, 3, steps=2, class_a="jack")
    assert np.array_equal(path[0], videos[3]) and np.array_equal(path[1], videos[3])
    # A long video is a window of a longer render from the same start, with the same grain frame by frame: it begins
    # as the short sample, up to where the short one's 16-frame render ends (replicate padding there reaches 6
    # frames back in this model), and goes on differently from there.
    longer = model.sample(classes="jack", seeds=seeds, num_frames=24)
    assert longer.shape == (12, 24, 32, 32, 3)
    for i, start in enumerate(starts):
        same = min(8, max(0, 16 - 6 - start))
        assert np.abs(longer[i, :same].astype(int) - videos[i, :same]).max() <= 1, (i, start)
    assert any(not np.array_equal(longer[i, :8], videos[i]) for i in range(12))     # ... not all of it
    model.save_pretrained(tmp_path / "m")
    assert np.array_equal(HRVGAN.from_pretrained(tmp_path / "m").sample(classes="jack", seeds=seeds), videos)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config.pop("time_crop")
    config["format_version"] = 5
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    start = HRVGAN.from_pretrained(tmp_path / "m")
    assert start.config.time_crop == 0 and not np.array_equal(start.sample(classes="jack", seeds=seeds), videos)
    with pytest.raises(ValueError, match="time_crop must be a multiple of 2"):
        ModelConfig.from_preset("tiny", time_crop=3)
    with pytest.raises(ValueError, match="a prediction model continues its context"):
        ModelConfig.from_preset("tiny", time_crop=2, context_frames=4)


def test_a_circular_model_samples_a_rolled_loop_and_repeats_it_in_a_long_video(tmp_path):
    """time_padding circular with time_crop: G renders one loop of the model's length, a video is that loop from the
    frame its seed draws (0 .. frames - 1), and a long video is the short one repeated."""
    from hrvgan.pipeline import latent, window_start
    from hrvgan.video import to_uint8

    torch.manual_seed(0)
    model = HRVGAN(ModelConfig.from_preset("tiny", class_names=["wave", "jack"], g_noise=True, time_crop=8,
                                           time_padding="circular"))
    seeds = list(range(12))
    starts = [window_start(s, 7) for s in seeds]
    assert len(set(starts)) > 3 and all(0 <= s <= 7 for s in starts)
    videos = model.sample(classes="jack", seeds=seeds)
    assert videos.shape == (12, 8, 32, 32, 3)
    for i in (0, 5):
        with torch.no_grad():
            loop = to_uint8(model.generator(latent(seeds[i], 16)[None], torch.tensor([1]), noise=model._noise([seeds[i]])))
        # one video alone against it in a batch of 12: bit-equal on one CPU, 1 grey level apart on another (AVX2)
        assert np.abs(np.roll(loop[0], -starts[i], axis=0).astype(int) - videos[i]).max() <= 1
    longer = model.sample(classes="jack", seeds=seeds, num_frames=20)
    assert longer.shape == (12, 20, 32, 32, 3)
    assert np.abs(longer.astype(int) - np.concatenate([videos] * 3, axis=1)[:, :20]).max() <= 1
    model.save_pretrained(tmp_path / "m")
    assert np.array_equal(HRVGAN.from_pretrained(tmp_path / "m").sample(classes="jack", seeds=seeds), videos)


def test_a_version_2_config_without_g_background_loads_as_it_was_built(tiny_folder):
    """Weights saved before the background stream existed (format 2) load as generators without one."""
    import json
    path = tiny_folder / "config.json"
    config = json.loads(path.read_text())
    before = HRVGAN.from_pretrained(tiny_folder).sample(seeds=[3], classes=[0] if config["num_classes"] else None)
    config.pop("g_background")
    config["format_version"] = 2
    path.write_text(json.dumps(config))
    model = HRVGAN.from_pretrained(tiny_folder)
    assert model.config.g_background is False and model.generator.background is None
    after = model.sample(seeds=[3], classes=[0] if config["num_classes"] else None)
    assert torch.equal(torch.as_tensor(before), torch.as_tensor(after))
