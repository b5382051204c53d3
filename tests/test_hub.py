"""Push to and load from a Hub-compatible server on 127.0.0.1 with the real huggingface_hub client."""

import numpy as np
import pytest
from huggingface_hub import HfApi, constants
from hub_server import BAD_TOKEN, HubServer, free_port

from hrvgan import HRVGAN


def use_endpoint(monkeypatch, url: str) -> None:
    """What HF_ENDPOINT=url does, for a huggingface_hub that was imported before the test set it."""
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with HubServer() as server:
        use_endpoint(monkeypatch, server.url)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
        monkeypatch.setenv("HF_TOKEN", "dummy-token")
        yield server


def test_push_then_from_pretrained_gives_the_same_samples(hub, tiny_model, tmp_path):
    url = tiny_model.push_to_hub("alice/hrvgan-tiny", model_card_kwargs={"training_data": "unit test"})
    assert "alice/hrvgan-tiny" in url
    files = sorted(hub.store.files_at("alice/hrvgan-tiny", "main")[1])
    assert files == ["README.md", "config.json", "model.safetensors"]
    loaded = HRVGAN.from_pretrained("alice/hrvgan-tiny", cache_dir=tmp_path / "c1")
    assert np.array_equal(loaded.sample(classes="jack", seeds=[0, 9]), tiny_model.sample(classes="jack", seeds=[0, 9]))
    assert "unit test" in loaded.model_card_text


def test_revisions_are_honoured(hub, tiny_model, tmp_path):
    tiny_model.push_to_hub("alice/rev")
    first = HfApi().model_info("alice/rev").sha
    with __import__("torch").no_grad():
        for p in tiny_model.generator.parameters():
            p.add_(0.5)
    tiny_model.push_to_hub("alice/rev")
    old = HRVGAN.from_pretrained("alice/rev", revision=first, cache_dir=tmp_path / "c")
    new = HRVGAN.from_pretrained("alice/rev", cache_dir=tmp_path / "c")
    assert not np.array_equal(old.sample(classes=0, seeds=1), new.sample(classes=0, seeds=1))
    assert np.array_equal(new.sample(classes=0, seeds=1), tiny_model.sample(classes=0, seeds=1))


def test_missing_repo_and_revision(hub, tmp_path):
    with pytest.raises(FileNotFoundError, match="no Hub repo 'alice/none'"):
        HRVGAN.from_pretrained("alice/none", cache_dir=tmp_path)


def test_bad_token_is_refused(hub, tiny_model, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", BAD_TOKEN)
    with pytest.raises(Exception, match="(?i)credentials|401|unauthorized"):
        tiny_model.push_to_hub("alice/private")
    assert "alice/private" not in hub.store.repos


def test_unreachable_hub_gives_a_clear_error(monkeypatch, tmp_path):
    use_endpoint(monkeypatch, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 2)
    with pytest.raises(ConnectionError, match="could not download 'alice/tiny'"):
        HRVGAN.from_pretrained("alice/tiny", cache_dir=tmp_path)


def test_a_prediction_model_in_a_subfolder_round_trips(hub, tiny_model, tmp_path):
    import torch

    from hrvgan import ModelConfig

    folder = tmp_path / "repo"
    tiny_model.save_pretrained(folder)
    torch.manual_seed(1)
    HRVGAN(ModelConfig.from_preset("tiny", class_names=["wave", "jack", "bend"], context_frames=3)).save_pretrained(
        folder / "predict")
    HfApi().create_repo("alice/both")
    HfApi().upload_folder(repo_id="alice/both", folder_path=str(folder))
    predictor = HRVGAN.from_pretrained("alice/both", subfolder="predict", cache_dir=tmp_path / "c")
    assert predictor.context_frames == 3
    assert HRVGAN.from_pretrained("alice/both", cache_dir=tmp_path / "c").context_frames == 0
