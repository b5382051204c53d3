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

WEIZMANN = ROOT.parent / "shared" / "data" / "weizmann-actions"


@pytest.fixture(scope="session")
def weizmann() -> Path:
    if not WEIZMANN.is_dir():
        pytest.skip(f"real data not found at {WEIZMANN} (it sits beside the repo in ../shared on CI)")
    return WEIZMANN


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
