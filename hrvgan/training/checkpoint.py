"""Checkpoints: everything a run needs to go on exactly where it stopped, written so that a kill at any
moment leaves the last complete checkpoint usable.

    checkpoints/step-00001000/
        generator.safetensors  discriminator.safetensors  ema.safetensors    weights (safetensors)
        optimizers.pt          rng_<rank>.pt                                 tensors only: weights_only=True
        config.yaml            state.json                                    state.json is written last

A checkpoint is written into ``step-N.tmp`` and renamed to ``step-N`` once ``state.json`` is in it; only
folders named ``step-<digits>`` that hold a ``state.json`` count, and stale ``.tmp`` folders are swept away
by the next save.  We write these ourselves rather than with ``Accelerator.save_state``: the models are not
prepared by Accelerate (the gradient penalty's double backward does not run under DDP, see loop.py), and
every file must survive a kill mid-write and load without unpickling.

A model folder (``model/``, ``weights/``) carries the same raw generator and critic in ``training/``, so
``run.init_from`` can continue the GAN with its own critic; sampling never reads that folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch
from huggingface_hub import hf_hub_download
from huggingface_hub import errors as hf_errors
from safetensors.torch import load_file, save_file

from ..pipeline import check_state

CHECKPOINT_NAME = re.compile(r"step-(\d+)")
TRAINING_FOLDER = "training"     # inside a model folder: the raw generator and the critic


def is_checkpoint(folder) -> bool:
    """A finished checkpoint folder: state.json is written last."""
    return bool(folder) and (Path(folder) / "state.json").is_file()


def list_checkpoints(output_dir) -> list[Path]:
    """The run's complete checkpoints, oldest first (unfinished ``.tmp`` folders are not among them)."""
    folder = Path(output_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.is_dir() and CHECKPOINT_NAME.fullmatch(p.name) and is_checkpoint(p)]
    return sorted(found, key=lambda p: int(CHECKPOINT_NAME.fullmatch(p.name).group(1)))


def resolve_resume(resume: str, output_dir) -> Path | None:
    if resume in ("", "none", "no", None):
        return None
    if resume == "latest":
        found = list_checkpoints(output_dir)
        return found[-1] if found else None
    if not is_checkpoint(resume):
        raise FileNotFoundError(f"--resume {resume}: not a checkpoint folder (no state.json); "
                                f"use 'latest' or one of {[str(p) for p in list_checkpoints(output_dir)]}.")
    return Path(resume)


# Every write goes through these names, so a test can fail any one of them (tests/test_training.py).
def _save_tensors(state: dict, path: Path) -> None:
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(path))


def _save_pickle_free(obj, path: Path) -> None:
    torch.save(obj, path)      # tensors, numbers and lists only: read back with weights_only=True


def _write_text(path: Path, text: str) -> None:
    path.write_text(text)


def _rename(src: Path, dst: Path) -> None:
    os.replace(src, dst)


def write_checkpoint(output_dir, step: int, modules: dict, optimizers: dict, state: dict, config_yaml: str,
                     keep: int) -> Path:
    """Main process: weights, optimizers, config and state.json, atomically; older ones beyond ``keep`` removed.
    Per-rank RNG files are written by :func:`write_rng` into the ``.tmp`` folder before this is called."""
    folder = Path(output_dir) / "checkpoints" / f"step-{step:08d}"
    tmp = folder.with_name(folder.name + ".tmp")
    if not is_checkpoint(folder):      # (the same step is the same state: once written, nothing to add)
        tmp.mkdir(parents=True, exist_ok=True)
        for name, module in modules.items():
            _save_tensors(module.state_dict(), tmp / f"{name}.safetensors")
        _save_pickle_free(optimizers, tmp / "optimizers.pt")
        _write_text(tmp / "config.yaml", config_yaml)
        _write_text(tmp / "state.json", json.dumps({"step": step, **state}, indent=1))   # last: marks it complete
        shutil.rmtree(folder, ignore_errors=True)   # an unfinished folder of this name (no state.json)
        _rename(tmp, folder)
    for stale in folder.parent.glob("*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    for old in list_checkpoints(output_dir)[:-keep]:
        trash = old.with_name(old.name + ".old.tmp")   # renamed first: never a half-deleted "complete" checkpoint
        _rename(old, trash)
        shutil.rmtree(trash, ignore_errors=True)
    return folder


def rng_folder(output_dir, step: int) -> Path:
    folder = Path(output_dir) / "checkpoints" / f"step-{step:08d}.tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_rng(folder: Path, rank: int, streams: dict) -> None:
    _save_pickle_free(streams, folder / f"rng_{rank}.pt")


def capture_rng(z_gen: torch.Generator) -> dict:
    """This rank's random streams: torch's global one (CPU and CUDA) and the latent codes' own generator."""
    return {"torch": torch.get_rng_state(), "z": z_gen.get_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def restore_rng(rng: dict, z_gen: torch.Generator) -> None:
    torch.set_rng_state(rng["torch"])
    if rng["cuda"]:
        torch.cuda.set_rng_state_all(rng["cuda"])
    z_gen.set_state(rng["z"])


def load_modules(folder: Path, saved: dict, modules: dict) -> None:
    """Load a checkpoint's weights into the run's modules, or say that the checkpoint is another model's."""
    for name, module in modules.items():
        try:
            module.load_state_dict(saved[name])
        except RuntimeError as e:
            raise ValueError(f"checkpoint {folder} does not fit this config ({name}): {str(e).splitlines()[0]} "
                             "Resume with the recipe the run was started with, or start a new --output_dir.") from e


def read_checkpoint(folder: Path, rank: int, device) -> dict:
    """Everything in a checkpoint: ``state`` (state.json), the weights by name, ``optimizers`` and this rank's ``rng``."""
    folder = Path(folder)
    out = {"state": json.loads((folder / "state.json").read_text())}
    for name in ("generator", "discriminator", "ema"):
        path = folder / f"{name}.safetensors"
        out[name] = check_state(load_file(str(path), device=str(device)), path)
    out["optimizers"] = torch.load(folder / "optimizers.pt", map_location="cpu", weights_only=True)
    rng = folder / f"rng_{rank}.pt"
    out["rng"] = torch.load(rng, weights_only=True) if rng.exists() else None
    return out


def save_training_state(model_folder: Path, generator, critic) -> None:
    """``training/`` of a model folder: the raw generator and the critic (the model's own config.json
    describes both), what ``run.init_from`` needs to continue the GAN."""
    folder = Path(model_folder) / TRAINING_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    _save_tensors(generator.state_dict(), folder / "generator.safetensors")
    _save_tensors(critic.state_dict(), folder / "discriminator.safetensors")
    (folder / "README.md").write_text(
        "The raw generator and the critic at the end of training, for `train.py --run.init_from <this model>`:\n"
        "a fine-tune continues the GAN with its own critic. Sampling (`HRVGAN.from_pretrained`, the demo) never\n"
        "reads this folder. Both are built from the model's config.json.\n")


def load_tensors(ref: str, names, subfolder: str) -> dict | None:
    """``{name: state}`` from ``<ref>/<subfolder>/<name>.safetensors`` for a folder or Hub repo id, or None where
    the model carries no such folder."""
    local = Path(ref).expanduser()
    out = {}
    for name in names:
        filename = f"{name}.safetensors"
        if local.exists():
            path = local / subfolder / filename
            if not path.is_file():
                return None
        else:
            try:
                path = hf_hub_download(ref, filename, subfolder=subfolder)
            except hf_errors.EntryNotFoundError:
                return None
        out[name] = check_state(load_file(str(path)), path)
    return out


def rank_report(accelerator, modules, data_digest) -> list[dict]:
    """Per rank: a checksum of the weights (must agree: the ranks train one model) and of the data seen."""
    checksum = sum(p.detach().double().sum() for m in modules for p in m.parameters())
    mine = torch.tensor([accelerator.process_index, float(checksum), float(data_digest)], dtype=torch.float64,
                        device=accelerator.device)
    report = [{"rank": int(r), "weights_checksum": c, "data_digest": d}
              for r, c, d in accelerator.gather(mine[None]).cpu().tolist()]
    sums = [r["weights_checksum"] for r in report]
    if max(sums) - min(sums) > 1e-6 * max(1.0, abs(sums[0])):
        raise RuntimeError(f"the ranks' weights have drifted apart (checksums {sums}); gradients are not being averaged.")
    return report


def restore_optimizers(saved: dict, opt_g, opt_d, optim, scaler) -> None:
    """Optimizer (and grad-scaler) state from a checkpoint; this run's learning rates and betas win over the saved ones."""
    opt_g.load_state_dict(saved["opt_g"])
    opt_d.load_state_dict(saved["opt_d"])
    for optimizer, lr in ((opt_g, optim.lr_g), (opt_d, optim.lr_d)):
        for group in optimizer.param_groups:
            group["lr"], group["betas"] = lr, (optim.beta1, optim.beta2)
    if scaler is not None and saved["scaler"]:
        scaler.load_state_dict(saved["scaler"])
