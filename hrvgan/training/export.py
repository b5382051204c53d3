"""The end of a run: the model folder (``model/``) and its way to the Hub.

``model/`` is a ``save_pretrained`` folder (the EMA generator, config.json, a model card and a sample
GIF) with ``training/`` beside it (the raw generator and the critic: see checkpoint.py).  A push retries a
bounded number of times with a timeout on every request; when the Hub cannot be reached, the run says so
in one line with the command to push later, and nothing on disk changes.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from ..video import frame_grid, write_gif, write_grid_png
from .checkpoint import save_training_state
from .config import HubConfig

logger = logging.getLogger(__name__)


def export_model(folder: Path, pipeline, generator, critic, videos: np.ndarray, card: dict, recipe_yaml: str) -> Path:
    """Write the model folder atomically: built in ``<folder>.tmp``, then renamed over the old one."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    write_gif(np.concatenate(list(videos[: min(4, len(videos))]), axis=2), tmp / "sample.gif", scale=2)
    pipeline.save_pretrained(tmp, model_card_kwargs={**card, "sample_gif": "sample.gif"})
    (tmp / "training_config.yaml").write_text(recipe_yaml)
    save_training_state(tmp, generator, critic)
    _swap_in(tmp, folder)
    logger.info("exported the EMA generator (and training/: raw generator, critic) to %s", folder)
    return folder


def _swap_in(tmp: Path, folder: Path) -> None:
    """Put the finished folder ``tmp`` in place of ``folder``: the old one moves aside before the new one is renamed in,
    and goes only then."""
    old = folder.with_name(folder.name + ".old.tmp")
    if folder.exists():
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def keep_copy(folder: Path, kept: Path) -> Path:
    """Copy an exported model folder to ``kept`` (``exports/step-N``) atomically: a kill mid-copy leaves
    only a ``.tmp`` folder, never a half model under the kept name."""
    tmp = kept.with_name(kept.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder, tmp)
    _swap_in(tmp, kept)
    logger.info("kept a copy of the export in %s", kept)
    return kept


def hub_timeout(seconds: float) -> None:
    """Give every huggingface_hub request a timeout (its HTTP client has none by default: a Hub that
    accepts the connection and never answers would hang the run forever)."""
    from huggingface_hub import utils as hf_utils
    from huggingface_hub.utils import _http

    def factory():
        client = _http.default_client_factory()
        client.timeout = seconds
        return client

    hf_utils.set_client_factory(factory)


def push_folder(folder: Path, hub: HubConfig, message: str, sleep=time.sleep) -> bool:
    """Upload ``folder`` to ``hub.model_id`` with ``hub.retries`` attempts; False (and one error line) on failure."""
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hf_errors

    hub_timeout(hub.timeout)
    api = HfApi(token=hub.token or None)
    error = None
    for attempt in range(1, hub.retries + 1):
        try:
            repo = api.create_repo(hub.model_id, private=hub.private, exist_ok=True)
            api.upload_folder(repo_id=repo.repo_id, folder_path=str(folder), commit_message=message)
            logger.info("pushed %s to %s", folder, hub.model_id)
            return True
        except hf_errors.HfHubHTTPError as e:   # 401/403/404 will not pass on a retry
            error = e
            status = getattr(getattr(e, "response", None), "status_code", None)
            if status is not None and 400 <= status < 500 and status not in (408, 429):
                break
        except Exception as e:  # noqa: BLE001 - timeouts, refused connections, DNS: worth another try
            error = e
        if attempt < hub.retries:
            sleep(min(2 ** attempt, 30))
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    logger.error("push to the Hub failed after %d attempt(s) (%s: %s); the model is kept in %s — push it later "
                 "with: hf upload %s %s", attempt, type(error).__name__, reason, folder, hub.model_id, folder)
    return False


def write_samples(folder: Path, step: int, videos: np.ndarray, tracker=None) -> None:
    """The fixed-seed samples of a step: a grid PNG and a GIF, and in TensorBoard the grid and the playing videos."""
    import torch

    write_grid_png(videos, folder / f"step-{step:08d}.png")
    write_gif(np.concatenate(list(videos), axis=2), folder / f"step-{step:08d}.gif")
    if tracker is not None and hasattr(tracker, "add_image"):  # the grid: a row per sample, a column per frame
        tracker.add_image("Samples/ema", frame_grid(videos, max_frames=8), step, dataformats="HWC")
        # The same samples as playing videos (TensorBoard's add_video encodes them with moviepy).
        tracker.add_video("Samples/video", torch.from_numpy(videos).permute(0, 1, 4, 2, 3), step, fps=8)
