import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from hrvgan.cli import build_parser, main
from hrvgan.video import read_video, write_mp4


def test_sample_writes_mp4_and_grid(tiny_folder, tmp_path):
    out, grid = tmp_path / "x.mp4", tmp_path / "x.png"
    assert main(["sample", "--model", str(tiny_folder), "--class", "jack", "--seed", "3",
                 "--out", str(out), "--grid", str(grid), "--scale", "2"]) == 0
    assert read_video(out).shape == (8, 64, 64, 3)
    assert grid.stat().st_size > 0


def test_several_seeds_write_one_file_each(tiny_folder, tmp_path):
    assert main(["sample", "--model", str(tiny_folder), "--class", "wave", "--seed", "1", "2",
                 "--gif", str(tmp_path / "w.gif")]) == 0
    assert (tmp_path / "w_0.gif").exists() and (tmp_path / "w_1.gif").exists()


def test_errors_are_one_line_not_a_traceback(tiny_folder, tmp_path, capsys):
    assert main(["sample", "--model", str(tiny_folder), "--class", "run", "--out", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err
    assert "unknown class 'run'" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["sample", "predict", "evaluate", "train-classifier", "calibrate", "fit-turn"])
def test_help_explains_every_option(command):
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    text = sub.format_help()
    for action in sub._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{action.option_strings} has no help"
            assert action.option_strings[0] in text


@pytest.fixture
def predictor_folder(tmp_path):
    import torch

    from hrvgan import HRVGAN, ModelConfig

    torch.manual_seed(0)
    HRVGAN(ModelConfig.from_preset("tiny", class_names=["wave", "jack"], context_frames=3)).save_pretrained(tmp_path / "p")
    return tmp_path / "p"


def test_predict_reads_a_clip_and_writes_the_continuation(predictor_folder, tmp_path):
    clip = tmp_path / "clip.mp4"
    write_mp4(np.random.default_rng(0).integers(0, 255, (10, 48, 64, 3), dtype=np.uint8), clip)
    out, grid = tmp_path / "next.mp4", tmp_path / "next.png"
    assert main(["predict", "--model", str(predictor_folder), "--input", str(clip), "--class", "jack",
                 "--out", str(out), "--grid", str(grid)]) == 0
    assert read_video(out).shape == (5, 32, 32, 3)                       # n = 8 - 3 frames at the model's size
    with Image.open(grid) as im:
        assert im.size == (5 * 34 + 2, 2 * 34 + 2)                      # a row of context, a row of prediction
    both = tmp_path / "both.gif"
    assert main(["predict", "--model", str(predictor_folder), "--input", str(clip), "--class", "jack",
                 "--out", str(both), "--with_context", "--start", "2"]) == 0
    assert read_video(both).shape[0] == 8


def test_predict_with_a_generator_uses_its_predict_folder(predictor_folder, tiny_folder, tmp_path):
    import shutil

    generator = tmp_path / "weights"                     # the shipped layout: weights/ + weights/predict/
    shutil.copytree(tiny_folder, generator)
    shutil.copytree(predictor_folder, generator / "predict")
    clip = tmp_path / "clip.mp4"
    write_mp4(np.random.default_rng(1).integers(0, 255, (6, 32, 32, 3), dtype=np.uint8), clip)
    assert main(["predict", "--model", str(generator), "--input", str(clip), "--class", "jack",
                 "--out", str(tmp_path / "next.mp4")]) == 0
    assert read_video(tmp_path / "next.mp4").shape == (5, 32, 32, 3)


def test_predict_errors_are_one_line(predictor_folder, tiny_folder, tmp_path, capsys):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"nope" * 100)
    short = tmp_path / "short.mp4"
    write_mp4(np.zeros((2, 32, 32, 3), np.uint8), short)
    cases = [(["--model", str(predictor_folder), "--input", str(junk), "--class", "jack"], "is not a readable video"),
             (["--model", str(predictor_folder), "--input", str(short), "--class", "jack"], "needs 3 context frames"),
             (["--model", str(predictor_folder), "--input", str(tmp_path / "none.mp4")], "no such file"),
             (["--model", str(tiny_folder), "--input", str(short)], "generation-only model")]
    for args, message in cases:
        assert main(["predict", *args, "--out", str(tmp_path / "o.mp4")]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "hrvgan", "sample", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--truncation" in proc.stdout
