"""Every command the README and the command lines' help show runs as written.

Commands run in a scratch folder that links the repository's weights/, examples/, configs/ and tests/, with the
full data (../shared/data/weizmann-actions, not in a bare clone) replaced by the shipped clips.  A training
command that would train the default for hours runs with --dry_run: its recipe and flags are still parsed.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FULL_DATA = "../shared/data/weizmann-actions"
MINI_DATA = "tests/data/weizmann-mini"


def commands(text: str) -> list[str]:
    """The python / accelerate commands of a text's bash blocks (or indented examples), continuations joined."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S) or [text]
    found = []
    for block in blocks:
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if re.match(r"(OMP_NUM_THREADS=\d+ |ACCELERATE_USE_CPU=1 )?(python|accelerate) ", line):
                found.append(line)
    return found


README = commands((ROOT / "README.md").read_text())
CLI_EXAMPLES = commands(__import__("hrvgan.cli", fromlist=["__doc__"]).__doc__)
TRAIN_EXAMPLES = commands(__import__("train").__doc__)


MINI_FRAMES = 32  # the shipped clips' length: a long evaluation on them cannot ask for more


def runnable(line: str, tmp: Path) -> list[str]:
    argv = shlex.split(line.replace(FULL_DATA, MINI_DATA))
    if MINI_DATA in argv and "--num_frames" in argv:
        i = argv.index("--num_frames") + 1
        argv[i] = str(min(int(argv[i]), MINI_FRAMES))
    env_words = [w for w in argv if re.match(r"[A-Z_]+=", w)]
    argv = argv[len(env_words):]
    if argv[0] == "python":
        argv[0] = sys.executable
    elif argv[:2] == ["accelerate", "launch"]:
        argv = [sys.executable, "-m", "accelerate.commands.launch", "--num_machines", "1", "--mixed_precision", "no",
                "--dynamo_backend", "no", "--main_process_port", "0", *argv[2:]]
        if "--num_processes" not in argv:
            argv[3:3] = ["--num_processes", "1"]
    heavy = ("configs/weizmann-64.yaml" in argv or "configs/paper-256.yaml" in argv) and "train.py" in " ".join(argv)
    if heavy:
        argv.append("--dry_run")      # hours of training: parsed and resolved, not run
    return argv


def fingerprint(folder: Path) -> dict:
    """Every file under a folder -> (size, modification time): what a command that writes there changes."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    for name in ("weights", "examples", "configs", "tests", "train.py"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp


@pytest.mark.parametrize("line", list(dict.fromkeys(README + CLI_EXAMPLES + TRAIN_EXAMPLES)))
def test_documented_command_runs(line, scratch):
    argv = runnable(line, scratch)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1", "HF_HUB_OFFLINE": "1",
           "HRVGAN_CACHE": str(scratch / "cache")}
    shipped = fingerprint(ROOT / "weights")
    proc = subprocess.run(argv, cwd=scratch, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert fingerprint(ROOT / "weights") == shipped, f"{line} wrote into the shipped weights/"


def test_the_readme_is_short_and_shows_the_one_command():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    assert ("accelerate launch train.py --config configs/weizmann-64.yaml --data ../shared/data/weizmann-actions"
            in README)
    assert {"python -m hrvgan sample", "python -m hrvgan predict", "python -m hrvgan evaluate"} <= {
        " ".join(c.split()[:4]) for c in README}
