import os
import sys
from pathlib import Path

# Nothing in the tests may wait on the unreachable internet (the Hub tests use a local server).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

WEIZMANN_FULL = ROOT.parent / "shared" / "data" / "weizmann-actions"
WEIZMANN_MINI = Path(__file__).parent / "data" / "weizmann-mini"  # 24 real clips, 32x32x32 (scripts/make_test_data.py)


@pytest.fixture(scope="session")
def weizmann() -> Path:
    """Real Weizmann clips shipped with the tests: performers 0-1 train (16 clips), 7 test (8 clips)."""
    return WEIZMANN_MINI


@pytest.fixture(scope="session")
def weizmann_full() -> Path:
    """The full data beside the repo, for `-m realdata` measurements only (deselected by default)."""
    if not WEIZMANN_FULL.is_dir():
        pytest.fail(f"-m realdata needs the full data at {WEIZMANN_FULL}")
    return WEIZMANN_FULL


@pytest.fixture
def tiny_model():
    import torch

    from hrvgan import HRVGAN, ModelConfig

    torch.manual_seed(0)
    return HRVGAN(ModelConfig.from_preset("tiny", class_names=["wave", "jack", "bend"]))


@pytest.fixture
def tiny_folder(tiny_model, tmp_path):
    folder = tmp_path / "model"
    tiny_model.save_pretrained(folder)
    return folder
