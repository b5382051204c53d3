import subprocess
import sys

from hrvgan.cli import build_parser, main
from hrvgan.video import read_video


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


def test_help_explains_every_option():
    sample = build_parser()._subparsers._group_actions[0].choices["sample"]
    text = sample.format_help()
    for action in sample._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{action.option_strings} has no help"
            assert action.option_strings[0] in text


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "hrvgan", "sample", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--truncation" in proc.stdout
