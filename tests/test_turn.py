"""Prediction by turning (`model.turn`): the futures, the drawn turn, the fitted head and `fit-turn`."""

import json

import numpy as np
import pytest
import torch

from hrvgan import HRVGAN, ModelConfig
from hrvgan.cli import main
from hrvgan.networks import TurnHead, turn_futures, turn_times
from hrvgan.training.turn import fit_turn, turn_scores, turning_model
from hrvgan.video import to_float


def swinging_clips(n_per_class: int = 6, frames: int = 16, m: int = 8, size: int = 32, seed: int = 0):
    """Textured squares on a textured, noisy wall: class 0 moves right through the context and comes back along the
    same path (a turn at the context's end), class 1 keeps moving right.  uint8 (N, frames, size, size, 3), labels."""
    rng = np.random.default_rng(seed)
    wall = rng.integers(60, 120, (size, size, 3))
    clips, labels = [], []
    for label in (0, 1):
        for _ in range(n_per_class):
            patch = rng.integers(150, 255, (8, 8, 3))
            y0 = int(rng.integers(4, size - 12))
            clip = []
            for t in range(frames):
                x = 2 + (t if label == 1 or t < m else 2 * (m - 1) - t)        # class 0: mirror after moment m-1
                frame = wall + rng.integers(-3, 4, wall.shape)                 # the camera's grain
                frame[y0:y0 + 8, x:x + 8] = patch
                clip.append(frame)
            clips.append(np.clip(clip, 0, 255).astype(np.uint8))
            labels.append(label)
    return np.stack(clips), np.array(labels)


def turn_config(**kw) -> ModelConfig:
    return ModelConfig.from_preset("tiny", class_names=["a", "b"], **{"context_frames": 4, "turn": True, **kw})


def test_turn_times_carry_on_then_play_the_context_back():
    assert turn_times(8, 8, 0) == [6, 5, 4, 3, 2, 1, 0, 0]          # back at once, never before the first frame
    assert turn_times(8, 8, 3) == [8, 9, 10, 9, 8, 7, 6, 5]
    assert turn_times(8, 8, 8) == list(range(8, 16))                # constant velocity to the end
    assert turn_times(4, 4, 1) == [4, 3, 2, 1]


def test_turned_futures_are_the_context_itself_after_the_turn():
    clips, _ = swinging_clips(1)
    context = to_float(clips[:, :8])
    back = turn_futures(context, torch.tensor([0, 0]), 8)
    assert torch.equal(back[:, :, :7], context[:, :, [6, 5, 4, 3, 2, 1, 0]])  # played back bit for bit
    on = turn_futures(context, torch.tensor([8, 2]), 8)
    assert torch.equal(on[1, :, 3:], context[1, :, [7, 6, 5, 4, 3]])           # moments 8 9 8 7 6 5 4 3
    assert torch.equal(on[1, :, 0], on[1, :, 2])                              # moment 8, going and coming back
    assert not torch.equal(on[1, :, 0], context[1, :, 7])                     # ... carried on, not the last frame


def test_carried_frames_move_the_square_on_and_keep_the_walls_grain():
    clips, labels = swinging_clips(3)
    clips = clips[labels == 1]                                                 # moving right at 1 pixel a frame
    context = to_float(clips[:, :8])
    future = turn_futures(context, torch.full((len(clips),), 8), 8)
    truth = to_float(clips[:, 8:])
    copy_last = context[:, :, -1:].expand_as(truth)
    moved = (truth[:, :, :2] - copy_last[:, :, :2]).abs().amax(dim=1, keepdim=True) > 0.3   # where the square went
    err = lambda a: (a[:, :, :2] - truth[:, :, :2]).abs().amax(dim=1, keepdim=True)[moved].mean()  # noqa: E731
    assert err(future) < 0.5 * err(copy_last)                                  # the square went on
    # Far from the square (its rows), the wall of future frame k is context frame 6-k's: the grain flickers on.
    rows = np.flatnonzero((clips[0] > 140).any(axis=(0, 2, 3)))               # the square's (the wall is below 124)
    y = [i for i in range(32) if np.abs(rows - i).min() > 9]
    assert y
    assert torch.equal(future[0, :, 0][:, y], context[0, :, 6][:, y])
    assert not torch.equal(future[0, :, 0][:, y], future[0, :, 1][:, y])


def test_a_seed_draws_its_turn_and_truncation_zero_the_likeliest():
    logits = torch.tensor([[0.0, 2.0, 1.0]]).expand(4000, -1)
    z = torch.randn(4000, 16, generator=torch.Generator().manual_seed(0))
    turns = TurnHead.draw(logits, z)
    freq = torch.bincount(turns, minlength=3).float() / len(turns)
    assert torch.allclose(freq, torch.softmax(logits[0], 0), atol=0.03)        # drawn with the head's probabilities
    assert torch.equal(TurnHead.draw(logits[:5], z[:5]), turns[:5])            # the same z, the same turn
    assert (TurnHead.draw(logits, z, truncation=0) == 1).all()
    sharp = torch.bincount(TurnHead.draw(logits, z, truncation=0.3), minlength=3).float() / len(turns)
    assert sharp[1] > freq[1] + 0.2


def test_fitting_learns_which_clips_turn():
    clips, labels = swinging_clips(8)
    torch.manual_seed(0)
    model = HRVGAN(ModelConfig.from_preset("tiny", resolution=32, frames=16, temporal_upsample=(True, True, False),
                                           class_names=["turns", "goes on"], context_frames=8, turn=True))
    scores = turn_scores(clips, 8)
    assert (scores[labels == 0].argmax(1) == 0).all() and (scores[labels == 1].argmax(1) == 8).all()
    fit = fit_turn(model, clips, labels, steps=300)
    assert fit["psnr_chosen_turn"] > max(fit["psnr_fixed_turn"]) + 1.0
    context = to_float(clips[:, :8])
    logits = model.generator.to_turn(context, torch.as_tensor(labels))
    assert (logits.argmax(1) == torch.where(torch.as_tensor(labels) == 0, 0, 8)).all()
    futures = model.predict(clips[:, :8], classes=labels.tolist(), seeds=list(range(len(clips))), truncation=0)
    assert np.array_equal(futures[labels == 0][:, :7], clips[labels == 0][:, [6, 5, 4, 3, 2, 1, 0]])


def test_turning_model_samples_as_its_generator_and_round_trips(tmp_path, tiny_model):
    gen = HRVGAN(ModelConfig.from_preset("tiny", class_names=["a", "b"]))
    turning = turning_model(gen, 4)
    assert turning.config.turn and turning.context_frames == 4 and turning.predicted_frames == 4
    assert np.array_equal(turning.sample(classes="a", seeds=[0, 1]), gen.sample(classes="a", seeds=[0, 1]))
    with torch.no_grad():
        turning.generator.to_turn.linear.bias.copy_(torch.tensor([0.0, 1.0, 2.0, 0.5, 0.0]))
    turning.save_pretrained(tmp_path / "t")
    config = json.loads((tmp_path / "t" / "config.json").read_text())
    assert config["turn"] is True
    again = HRVGAN.from_pretrained(tmp_path / "t")
    clips, _ = swinging_clips(1, frames=8, m=4)
    seeds = list(range(8))
    a = turning.predict(np.repeat(clips[:1, :4], 8, 0), classes="a", seeds=seeds)
    assert np.array_equal(a, again.predict(np.repeat(clips[:1, :4], 8, 0), classes="a", seeds=seeds))
    assert len({f.tobytes() for f in a}) > 1                                   # seeds pick different futures
    assert np.array_equal(a[3], turning.predict(clips[0, :4], classes="a", seeds=3)[0])   # in any batch
    with pytest.raises(ValueError, match="context must be shaped"):
        turning.generator(torch.zeros(2, 16), torch.tensor([0, 1]), context=torch.zeros(2, 3, 3, 32, 32))
    with pytest.raises(ValueError, match="turns must be one r in 0..4"):
        turn_futures(torch.zeros(2, 3, 4, 32, 32), torch.tensor([0, 5]), 4)
    with pytest.raises(ValueError, match="time_crop"):
        turning_model(HRVGAN(ModelConfig.from_preset("tiny", class_names=["a"], time_crop=2)), 4)


def test_turning_predictions_draw_no_noise_but_samples_do(monkeypatch):
    turning = turning_model(HRVGAN(ModelConfig.from_preset("tiny", class_names=["a", "b"], g_noise=True)), 4)
    drawn = []
    make_noise = turning.generator.make_noise
    monkeypatch.setattr(turning.generator, "make_noise", lambda *a, **kw: drawn.append(1) or make_noise(*a, **kw))
    clips, _ = swinging_clips(1, frames=8, m=4)
    turning.predict(clips[:, :4], classes="a", seeds=[0, 1])
    assert not drawn                                            # a turn moves the context's pixels: no grain
    turning.sample(classes="a", seeds=[0, 1])
    assert drawn                                                # its generator's samples still have their grain


def test_turn_config_checks_and_older_configs_load_without_it():
    with pytest.raises(ValueError, match="warp: false"):
        turn_config(warp=True)
    with pytest.raises(ValueError, match="context_frames >= 2"):
        turn_config(context_frames=1)
    old = {k: v for k, v in turn_config(turn=False).to_dict().items() if k != "turn"}
    assert ModelConfig.from_dict({**old, "format_version": 6}).turn is False
    with pytest.raises(ValueError, match="turn"):
        ModelConfig.from_dict({**old, "format_version": 7})


def test_fit_turn_cli_makes_a_prediction_model(tmp_path, weizmann, capsys):
    torch.manual_seed(0)
    gen = HRVGAN(ModelConfig.from_preset("tiny", class_names=["bend", "jack", "wave1", "wave2"]))
    gen.save_pretrained(tmp_path / "gen")
    out = tmp_path / "predict"
    assert main(["fit-turn", "--model", str(tmp_path / "gen"), "--data", str(weizmann), "--out", str(out),
                 "--context_frames", "4", "--clips_per_video", "2", "--steps", "50"]) == 0
    assert "PSNR" in capsys.readouterr().out
    model = HRVGAN.from_pretrained(out)
    assert model.config.turn and model.context_frames == 4
    assert model.generator.to_turn.linear.weight.abs().sum() > 0              # fitted, not the uniform start
    assert "by turning" in (out / "README.md").read_text()                    # the card says how it predicts
    three = HRVGAN(ModelConfig.from_preset("tiny", class_names=["a", "b", "c"]))
    three.save_pretrained(tmp_path / "three")
    assert main(["fit-turn", "--model", str(tmp_path / "three"), "--data", str(weizmann), "--out",
                 str(tmp_path / "x"), "--context_frames", "4"]) == 2
    assert "3 classes" in capsys.readouterr().err and not (tmp_path / "x").exists()
