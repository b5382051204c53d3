"""The trainer end to end, as users run it: subprocesses of train.py / accelerate launch."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from hrvgan import HRVGAN, ModelConfig
from hrvgan.networks import Generator, time_window
from hrvgan.training import TrainConfig, Trainer, list_checkpoints
from hrvgan.training.warmstart import widen_state

ROOT = Path(__file__).resolve().parents[1]


def run_train(tmp_path, weizmann, *args, env=None, launcher=None, wait=True):
    cmd = (launcher or [sys.executable]) + [str(ROOT / "train.py"), "--config", str(ROOT / "configs/tiny.yaml"),
                                            "--data", str(weizmann), "--cache_dir", str(tmp_path / "cache"), *args]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    if not wait:
        return subprocess.Popen(cmd, cwd=tmp_path, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(cmd, cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=300)


def tiny(tmp_path, weizmann, out="run", **changes) -> TrainConfig:
    """configs/tiny.yaml on the shipped clips, in tmp_path, with ``{"section.key": value}`` changes."""
    return TrainConfig.from_yaml(ROOT / "configs/tiny.yaml", {
        "data.path": str(weizmann), "run.output_dir": str(tmp_path / out), "data.cache_dir": str(tmp_path / "cache"),
        **{k.replace("__", "."): v for k, v in changes.items()}})


def steps(out: Path) -> list[int]:
    return [int(p.name.split("-")[1]) for p in list_checkpoints(out)]


def test_train_writes_the_run_folder_and_a_loadable_model(tmp_path, weizmann):
    out = tmp_path / "run"
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "6", "--checkpoint_every", "2",
                     "--checkpoints_total_limit", "2", "--sample_every", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert steps(out) == [4, 6]                                   # last K kept
    ckpt = list_checkpoints(out)[-1]
    assert sorted(p.name for p in ckpt.iterdir()) == sorted(
        ["config.yaml", "discriminator.safetensors", "ema.safetensors", "generator.safetensors",
         "optimizers.pt", "rng_0.pt", "state.json"])
    assert (out / "samples" / "step-00000003.png").exists() and (out / "samples" / "step-00000003.gif").exists()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "logs" / "hrvgan"))
    events.Reload()
    assert {"Loss/D/adv", "Loss/D/gp", "Loss/G/adv", "Perf/videos_per_s"} <= set(events.Tags()["scalars"])
    assert sorted(events.Tags()["images"]) == ["Samples/ema", "Samples/video"]
    video = events.Images("Samples/video")[0]        # add_video: an animated GIF made by moviepy
    assert video.encoded_image_string[:6] == b"GIF89a" and video.width > video.height
    model = HRVGAN.from_pretrained(out / "model")
    assert model.class_names == ["bend", "jack", "wave1", "wave2"] and model.config.preset == "tiny"
    assert model.sample(classes="jack", seeds=0).shape == (1, 8, 32, 32, 3)
    card = (out / "model" / "README.md").read_text()
    assert "weizmann-mini" in card and "| training steps | 6 |" in card and (out / "model" / "sample.gif").exists()
    # what a fine-tune needs beside the EMA generator: the raw generator and the critic of the last step
    last = list_checkpoints(out)[-1]
    for name in ("generator", "discriminator"):
        assert (out / "model" / "training" / f"{name}.safetensors").read_bytes() == (last / f"{name}.safetensors").read_bytes()


def test_keep_exports_keeps_every_export_of_a_run_loadable_by_its_step(tmp_path, weizmann):
    """run.keep_exports: each export also stays as exports/step-N/ (model/ is only the last), so a run's
    exports can be compared afterwards and the best one shipped or continued (it carries training/)."""
    out = tmp_path / "run"
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "4", "--export_every", "2",
                     "--keep_exports", "true", "--sample_every", "0", "--checkpoint_every", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in (out / "exports").iterdir()) == ["step-2", "step-4"]    # no .tmp left behind
    weights = {}
    for step in (2, 4):
        kept = out / "exports" / f"step-{step}"
        assert f"| training steps | {step} |" in (kept / "README.md").read_text()
        assert (kept / "training" / "discriminator.safetensors").exists()
        assert HRVGAN.from_pretrained(kept).sample(classes="jack", seeds=0).shape == (1, 8, 32, 32, 3)
        weights[step] = (kept / "model.safetensors").read_bytes()
    assert weights[4] == (out / "model" / "model.safetensors").read_bytes() and weights[2] != weights[4]
    # without it, a run keeps only model/
    proc = run_train(tmp_path, weizmann, "--output_dir", str(tmp_path / "plain"), "--max_steps", "2",
                     "--export_every", "1", "--sample_every", "0", "--checkpoint_every", "2")
    assert proc.returncode == 0 and not (tmp_path / "plain" / "exports").exists()


def test_resume_continues_from_the_saved_step(tmp_path, weizmann):
    out = tmp_path / "run"
    assert run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "4", "--checkpoint_every", "2").returncode == 0
    ema_before = (list_checkpoints(out)[-1] / "ema.safetensors").read_bytes()
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "8", "--checkpoint_every", "2")
    assert proc.returncode == 0, proc.stderr
    assert "resumed from" in proc.stderr and "step-00000004 at step 4" in proc.stderr
    assert steps(out)[-1] == 8
    assert (list_checkpoints(out)[-1] / "ema.safetensors").read_bytes() != ema_before
    # --resume none starts over (and says nothing about resuming).
    fresh = run_train(tmp_path, weizmann, "--output_dir", str(tmp_path / "other"), "--max_steps", "2", "--resume", "none")
    assert fresh.returncode == 0 and "resumed from" not in fresh.stderr


def wait_for_checkpoint(out: Path, proc, at_least: int, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if steps(out) and steps(out)[-1] >= at_least:
            return steps(out)[-1]
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    raise TimeoutError("no checkpoint appeared")


def test_sigkill_then_resume(tmp_path, weizmann):
    out = tmp_path / "run"
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "100000", "--checkpoint_every", "3", wait=False)
    saved = wait_for_checkpoint(out, proc, 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert all(not p.name.endswith(".tmp") or True for p in (out / "checkpoints").iterdir())
    last = steps(out)[-1]
    assert last >= saved
    resumed = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", str(last + 2), "--checkpoint_every", "100")
    assert resumed.returncode == 0, resumed.stderr
    assert f"at step {last}" in resumed.stderr
    assert steps(out)[-1] == last + 2


def test_sigterm_writes_a_checkpoint_before_exit(tmp_path, weizmann):
    out = tmp_path / "run"
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "100000", "--checkpoint_every", "1000", "--log_every", "1", wait=False)
    deadline = time.time() + 120
    while not (out / "logs").exists() and time.time() < deadline:  # training has started
        time.sleep(0.2)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert "SIGTERM received: saving a checkpoint" in output
    assert steps(out) and steps(out)[-1] > 0 and steps(out)[-1] % 1000 != 0


def test_two_processes_on_cpu_stay_in_sync(tmp_path, weizmann):
    out = tmp_path / "run"
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", "0"]
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "4", "--checkpoint_every", "2",
                     launcher=launcher, env={"ACCELERATE_USE_CPU": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    state = json.loads((list_checkpoints(out)[-1] / "state.json").read_text())
    assert state["num_processes"] == 2
    ranks = state["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1]                                     # two ranks ran
    assert ranks[0]["weights_checksum"] == pytest.approx(ranks[1]["weights_checksum"], rel=1e-9)  # one model
    assert ranks[0]["data_digest"] != ranks[1]["data_digest"]                         # each its own shard
    assert (list_checkpoints(out)[-1] / "rng_1.pt").exists()
    assert HRVGAN.from_pretrained(out / "model").sample(classes=0, seeds=1).shape == (1, 8, 32, 32, 3)


def test_bf16_and_gradient_accumulation(tmp_path, weizmann):
    out = tmp_path / "run"
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "2", "--mixed_precision", "bf16",
                     "--gradient_accumulation_steps", "2", "--loss", "bce", "--mse_weight", "0.5", "--adv_weight", "0.5",
                     "--diversity_weight", "1.0", "--log_every", "1",
                     "--context_frames", "4", "--generation_prob", "0",   # eq. 10 applies to prediction steps only
                     env={"HRVGAN_CPU_BF16": "1"})                        # bf16 on any CPU (emulated: slow, but tiny)
    assert proc.returncode == 0, proc.stderr
    assert "/process, bf16," in proc.stderr and "no bf16 instructions" not in proc.stderr
    assert steps(out) == [2]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "logs" / "hrvgan"))
    events.Reload()
    assert {"Loss/G/mse", "Loss/G/diversity", "Loss/D/adv"} <= set(events.Tags()["scalars"])


def test_bf16_on_a_cpu_without_bf16_instructions_trains_in_fp32_and_says_so(tmp_path, weizmann):
    # Emulated bf16 made the recipe's first step take over 9 minutes on an AVX2 EPYC (fp32: seconds).
    out = tmp_path / "run"
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "1", "--mixed_precision", "bf16",
                     env={"HRVGAN_CPU_BF16": "0"})
    assert proc.returncode == 0, proc.stderr
    assert "this CPU has no bf16 instructions" in proc.stderr and "/process, fp32," in proc.stderr
    assert steps(out) == [1]
    proc = run_train(tmp_path, weizmann, "--output_dir", str(tmp_path / "bad"), "--max_steps", "1",
                     "--mixed_precision", "bf16", env={"HRVGAN_CPU_BF16": "yes"})
    assert proc.returncode == 2 and "HRVGAN_CPU_BF16='yes'" in proc.stderr, proc.stderr


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, weizmann):
    out = tmp_path / "run"
    assert run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "2", "--checkpoint_every", "2").returncode == 0
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "50", "--lr_d", "3e38", "--lr_g", "3e38",
                     "--checkpoint_every", "100")
    assert proc.returncode == 2
    assert "became nan" in proc.stderr.lower() or "became inf" in proc.stderr.lower()
    assert "step-00000002" in proc.stderr
    assert steps(out) == [2]


def test_config_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="loss.kind: 'lsgan' is not allowed; choose one of"):
        TrainConfig(loss={"kind": "lsgan"})
    with pytest.raises(ValueError, match="hub.push_to_hub needs hub.model_id"):
        TrainConfig(hub={"push_to_hub": True})
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim:\n  lerning_rate: 1\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) optim.lerning_rate"):
        TrainConfig.from_yaml(bad)
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--config", str(ROOT / "configs/tiny.yaml"),
                           "--data", str(tmp_path / "nowhere")], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "data not found" in proc.stderr and "Traceback" not in proc.stderr


# Values as people write them in YAML: each is read as what it means, or refused with the key, the value and
# what is allowed -- never a crash deep in training, never silently something else.
@pytest.mark.parametrize("text, expect", [
    ("optim:\n  lr_g: 1e-4\n", ("optim", "lr_g", 1e-4)),               # PyYAML reads 1e-4 as a string
    ("data:\n  conditional: 'false'\n", ("data", "conditional", False)),
    ("data:\n  flip: 'no'\n", ("data", "flip", False)),
    ("model:\n  preset: 64\n", ("model", "preset", "64")),
    ("optim:\n  batch_size: four\n", "optim.batch_size: 'four' is not a whole number"),
    ("optim:\n  max_steps: 2.5\n", "optim.max_steps: 2.5 is not a whole number"),
    ("run:\n  log_every: 0\n", "run.log_every: 0 is too small; it must be at least 1"),
    ("loss:\n  gp_every: 0\n", "loss.gp_every: 0 is too small"),
    ("optim:\n  gradient_accumulation_steps: 0\n", "optim.gradient_accumulation_steps: 0 is too small"),
    ("data:\n  frame_stride: -1\n", "data.frame_stride: -1 is too small"),
    ("data:\n  flip: maybe\n", "data.flip: 'maybe' is not true or false"),
    ("model:\n  latent_dim: 16.0\n", "model.latent_dim: 16.0 is not a whole number"),
    ("model:\n  channels: [16, wide, 16]\n", r"model.channels\[1\]: 'wide' is not a whole number"),
    ("optim: [1, 2]\n", "optim must be a mapping"),
    ("- data\n- model\n", "must hold a mapping of sections"),
    ("optim:\n  lr_g: [\n", "is not valid YAML"),
])
def test_recipe_values_are_typed_and_checked(tmp_path, text, expect):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    if isinstance(expect, str):
        with pytest.raises(ValueError, match=expect):
            TrainConfig.from_yaml(path)
    else:
        section, key, value = expect
        cfg = TrainConfig.from_yaml(path)
        got = cfg.model[key] if section == "model" else getattr(getattr(cfg, section), key)
        assert got == value and type(got) is type(value)


def test_the_command_line_is_checked_like_the_file(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--config", str(ROOT / "configs/tiny.yaml"),
                           "--max_steps", "2.5", "--dry_run"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "optim.max_steps: '2.5' is not a whole number" in proc.stderr
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--config", str(ROOT / "configs/tiny.yaml"),
                           "--lr_g", "1e-4", "--optim.batch_size", "2", "--conditional", "no", "--dry_run"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    import yaml
    resolved = yaml.safe_load(proc.stdout)
    assert resolved["optim"]["lr_g"] == 1e-4 and resolved["optim"]["batch_size"] == 2
    assert resolved["data"]["conditional"] is False and resolved["model"]["preset"] == "tiny"


def test_every_preset_config_parses():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        cfg = TrainConfig.from_yaml(path)
        assert cfg.model_config(["a", "b", "c", "d"][: len(cfg.model.get("class_names", ())) or 4]).frames > 0, path


def test_help_is_grouped_by_section_and_every_option_explains_itself():
    text = subprocess.run([sys.executable, str(ROOT / "train.py"), "--help"], capture_output=True, text=True).stdout
    for key in ("--data ", "--data_format", "--output_dir", "--max_steps", "--batch_size", "--checkpoint_every",
                "--resume", "--seed", "--push_to_hub", "--hub_model_id", "--mixed_precision", "--init_from",
                "--config", "accelerate launch"):
        assert key in text, key
    headings = [line for line in text.splitlines() if line and not line.startswith(" ") and line.endswith(":")]
    assert [h.split(":")[0] for h in headings[-6:]] == ["data", "model", "loss", "optim", "run", "hub"]
    from hrvgan.training.config import build_parser

    for action in build_parser()._actions:
        assert action.help and len(action.help.split("(default")[0].strip()) > 5, action.option_strings


def _hub_env(url: str) -> dict:
    return {"HF_ENDPOINT": url, "HF_HUB_OFFLINE": "0", "HF_TOKEN": "dummy-token", "HF_HUB_ETAG_TIMEOUT": "2",
            "HF_HUB_DOWNLOAD_TIMEOUT": "2"}


def test_push_to_hub_at_the_end(tmp_path, weizmann):
    from hub_server import HubServer

    out = tmp_path / "run"
    with HubServer() as hub:
        proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "2", "--push_to_hub",
                         "--hub_model_id", "alice/weizmann-tiny", env=_hub_env(hub.url))
        assert proc.returncode == 0, proc.stderr
        files = hub.store.files_at("alice/weizmann-tiny", "main")[1]
        assert {"config.json", "model.safetensors", "README.md", "sample.gif",
                "training/generator.safetensors", "training/discriminator.safetensors"} <= set(files)
        assert files["model.safetensors"] == (out / "model" / "model.safetensors").read_bytes()
        # Sampling from the repo never downloads training/; a warm start from it gets the critic.
        cache = tmp_path / "hub-cache"
        script = ("from hrvgan import HRVGAN; from hrvgan.training.warmstart import training_sources\n"
                  "HRVGAN.from_pretrained('alice/weizmann-tiny').sample(classes=0, seeds=0)\n"
                  "import pathlib, sys; cache = pathlib.Path(sys.argv[1])\n"
                  "print('after sampling', sorted(p.name for p in cache.rglob('*.safetensors')))\n"
                  "print('critic', 'critic' in training_sources('alice/weizmann-tiny'))\n")
        proc = subprocess.run([sys.executable, "-c", script, str(cache)], capture_output=True, text=True, timeout=120,
                              env={**os.environ, **_hub_env(hub.url), "HF_HUB_CACHE": str(cache)})
        assert proc.returncode == 0, proc.stderr
        assert "after sampling ['model.safetensors']" in proc.stdout and "critic True" in proc.stdout


def test_failed_push_is_reported_and_the_model_kept(tmp_path, weizmann):
    from hub_server import BAD_TOKEN, HubServer, free_port

    out = tmp_path / "run"
    with HubServer() as hub:  # a bad token
        proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "2", "--push_to_hub",
                         "--hub_model_id", "alice/x", env={**_hub_env(hub.url), "HF_TOKEN": BAD_TOKEN})
    assert proc.returncode == 1
    assert "push to the Hub failed" in proc.stderr and "the model is kept in" in proc.stderr
    assert HRVGAN.from_pretrained(out / "model").config.preset == "tiny"
    # An unreachable Hub: same, and the run's checkpoints are intact.
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "3", "--push_to_hub",
                     "--hub_model_id", "alice/x", env=_hub_env(f"http://127.0.0.1:{free_port()}"))
    assert proc.returncode == 1 and "push to the Hub failed" in proc.stderr
    assert steps(out)[-1] == 3 and (out / "model" / "model.safetensors").exists()


def test_gradient_accumulation_updates_both_networks(tmp_path, weizmann):
    import torch

    from hrvgan.training import Trainer

    trainer = Trainer(tiny(tmp_path, weizmann, optim__gradient_accumulation_steps=2, run__resume="none"))
    assert trainer.accelerator.gradient_accumulation_steps == 2
    # Label embeddings only move for the classes a batch holds: leave them out.
    params = lambda m: [p for n, p in m.named_parameters() if "embed" not in n]  # noqa: E731
    before = {n: [p.detach().clone() for p in params(m)] for n, m in (("G", trainer.G), ("D", trainer.D))}
    seen = []
    data = trainer.batches()
    counted = (seen.append(1) or b for b in data)
    trainer.d_step(counted)
    trainer.g_step(counted)
    assert len(seen) == 4                                  # two micro-batches for each update
    for name, module in (("G", trainer.G), ("D", trainer.D)):
        changed = [not torch.equal(a, b) for a, b in zip(before[name], params(module))]
        assert all(changed), f"{name}: {changed.count(False)} tensors did not move"


def test_prediction_task_trains_one_network_for_both(tmp_path, weizmann):
    out = tmp_path / "run"
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "6",
                     "--context_frames", "3", "--mse_weight", "50", "--augment", "color,translation,cutout",
                     "--diversity_weight", "0.1", "--log_every", "1", "--warp", "true", "--ssim_weight", "10")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out / "logs" / "hrvgan"))
    events.Reload()
    assert "Loss/G/mse" in events.Tags()["scalars"]                         # eq. 10 on prediction steps
    mse_steps = {e.step for e in events.Scalars("Loss/G/mse")}
    assert 0 < len(mse_steps) < 6                                           # and generation on the others
    assert {e.step for e in events.Scalars("Loss/G/ssim")} == mse_steps     # the SSIM term on the same steps
    assert 0 < events.Scalars("Loss/G/ssim")[0].value <= 2
    model = HRVGAN.from_pretrained(out / "model")
    assert (model.context_frames, model.predicted_frames) == (3, 5) and model.config.warp
    clip = np.zeros((3, 32, 32, 3), np.uint8)
    assert model.predict(clip, classes="jack").shape == (1, 5, 32, 32, 3)
    assert model.sample(classes="jack", seeds=0).shape == (1, 8, 32, 32, 3)   # it still generates
    bad = run_train(tmp_path, weizmann, "--output_dir", str(tmp_path / "bad"), "--context_frames", "8")
    assert bad.returncode == 2 and "context_frames must be in [0, frames) = [0, 8)" in bad.stderr


def test_a_dry_run_refuses_an_init_from_that_the_run_would_change(tmp_path):
    """--dry_run checks --init_from against the recipe before any data is read: the shipped model (replicate
    padding) cannot start the recipe's circular run as it is, and can with either option the error names."""
    command = [sys.executable, str(ROOT / "train.py"), "--config", str(ROOT / "configs/weizmann-64.yaml"), "--data",
               str(tmp_path / "no-data-needed"), "--init_from", str(ROOT / "weights"), "--dry_run"]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "pass --time_padding replicate" in proc.stderr, proc.stderr
    proc = subprocess.run(command + ["--time_padding", "replicate"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and "time_padding: replicate" in proc.stdout, proc.stderr
    proc = subprocess.run(command + ["--change_time_padding"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and "time_padding: circular" in proc.stdout, proc.stderr
    assert "retrains it with 'circular'" in proc.stderr


def test_init_from_a_trained_model_copies_what_fits(tmp_path, weizmann):
    src = tmp_path / "src"
    HRVGAN(ModelConfig.from_preset("tiny", class_names=["bend", "jack", "wave1", "wave2"])).save_pretrained(src)
    cfg = tiny(tmp_path, weizmann, model__context_frames=4, run__init_from=str(src))
    trainer = Trainer(cfg)
    source = load_file(str(src / "model.safetensors"))
    state = trainer.G.state_dict()
    assert all(torch.equal(state[k], v) for k, v in source.items())           # generation path copied
    assert any(k.startswith("encoder.") for k in state)                         # the new encoder kept its init
    with pytest.raises(ValueError, match="pass --time_padding zeros, or --change_time_padding"):
        Trainer(cfg.replace(**{"model.time_padding": "replicate"}))
    repadded = Trainer(cfg.replace(**{"model.time_padding": "replicate", "run.change_time_padding": True}))
    assert repadded.G.config.time_padding == "replicate"                      # asked for, and the weights came
    assert all(torch.equal(repadded.G.state_dict()[k], v) for k, v in source.items())
    wrong = tmp_path / "wrong"
    HRVGAN(ModelConfig.from_preset("64", width=0.0625)).save_pretrained(wrong)
    with pytest.raises(ValueError, match="another architecture"):
        Trainer(cfg.replace(**{"run.init_from": str(wrong)}))


def test_init_from_a_checkpoint_takes_g_and_d_and_may_add_the_warp(tmp_path, weizmann):
    cfg = tiny(tmp_path, weizmann, "src", model__context_frames=4)
    source = Trainer(cfg)
    with torch.no_grad():                                   # stand-ins for trained weights
        for p in [*source.G.parameters(), *source.D.parameters(), *source.ema.parameters()]:
            p.add_(torch.randn_like(p))
    folder = source.save_checkpoint()
    trainer = Trainer(cfg.replace(**{"run.output_dir": str(tmp_path / "run"), "run.init_from": str(folder), "model.warp": True}))
    ema = trainer.ema.state_dict()
    assert all(torch.equal(ema[k], v) for k, v in source.ema.state_dict().items() if not k.startswith("to_alpha."))
    g, d = trainer.G.state_dict(), trainer.D.state_dict()
    copied = {k: v for k, v in source.G.state_dict().items() if not k.startswith("to_alpha.")}
    assert copied and all(torch.equal(g[k], v) for k, v in copied.items())        # the raw G, not the EMA
    assert g["to_alpha.weight"].shape[0] == 3 and not g["to_alpha.weight"].any()  # the 3-layer mix starts fresh
    assert all(torch.equal(d[k], v) for k, v in source.D.state_dict().items())     # and its critic
    assert not g["to_flow.weight"].any() and trainer.model_config.warp              # the new part starts still


# A critic that gains a part (frame-difference inputs, d_motion; a patch head, d_patch) starts from a plain
# checkpoint's critic scoring every clip as before, and the new part's weights (zero at first) learn.
@pytest.mark.parametrize("before, after, new_weights", [
    ({}, {"model.d_motion": True}, lambda D: D.from_rgb.weight[:, 3:]),
    ({}, {"model.d_patch": True}, lambda D: D.patch_head.weight),
    ({"model.d_motion": True}, {"model.d_motion": True, "model.motion_strides": [1, 2, 4]}, lambda D: D.from_rgb.weight[:, 6:]),
])
def test_init_from_a_checkpoint_with_a_grown_critic_keeps_its_scores(tmp_path, weizmann, before, after, new_weights):
    cfg = tiny(tmp_path, weizmann, "src").replace(**before)
    source = Trainer(cfg)
    folder = source.save_checkpoint()
    grown = cfg.replace(**{"run.output_dir": str(tmp_path / "run"), **after})
    trainer = Trainer(grown.replace(**{"run.init_from": str(folder)}))
    assert new_weights(trainer.D).numel() and not new_weights(trainer.D).any()
    clips, labels = torch.stack([trainer.dataset[i][0] for i in range(4)]), torch.arange(4)
    with torch.no_grad():
        assert torch.allclose(trainer.D(clips, labels), source.D(clips, labels), atol=1e-5)
    trainer.d_step(iter([(clips, labels)] * 4))        # one update: the new part starts to look
    assert new_weights(trainer.D).abs().sum() > 0
    resumed = Trainer(grown)
    resumed.load_checkpoint(trainer.save_checkpoint())                            # saved and restored with the rest
    assert torch.equal(new_weights(resumed.D), new_weights(trainer.D))


def widening(tmp_path, weizmann, channels, **model):
    """A tiny generator with stand-ins for trained weights (noise strengths included), saved, and a trainer
    whose G starts from it with other stage ``channels``."""
    torch.manual_seed(0)
    trained = HRVGAN(ModelConfig.from_preset("tiny", class_names=["bend", "jack", "wave1", "wave2"], **model))
    with torch.no_grad():
        for p in trained.generator.parameters():
            p.add_(0.3 * torch.randn_like(p))
    trained.save_pretrained(tmp_path / "src")
    cfg = tiny(tmp_path, weizmann, run__init_from=str(tmp_path / "src"), model__channels=channels,
               **{f"model__{k}": v for k, v in model.items()})
    return trained, Trainer(cfg)


def test_init_from_a_narrower_generator_widens_it_and_keeps_its_videos(tmp_path, weizmann):
    trained, trainer = widening(tmp_path, weizmann, [16, 8, 16])
    names = trained.class_names
    assert trainer.model_config.stage_channels[-1] == 2 * trained.config.stage_channels[-1]
    wide = trainer.G.eval()
    assert wide.to_rgb.weight[:, 8:].abs().sum() > 0        # the new channels are not dead: they can learn
    z, labels = torch.randn(4, trained.config.latent_dim), torch.arange(4)
    with torch.no_grad():
        before, after = trained.generator.eval()(z, labels), wide(z, labels)
    assert torch.allclose(after, before, atol=1e-3), (after - before).abs().max()
    # Without the pixel-norm rescaling the trained channels would come out sqrt(2) too strong.
    naive = dict(wide.state_dict())
    naive["to_rgb.weight"] = naive["to_rgb.weight"] * 2 ** 0.5
    wide.load_state_dict(naive)
    with torch.no_grad():
        assert not torch.allclose(wide(z, labels), before, atol=1e-3)
    with pytest.raises(ValueError, match="must have one entry per generator stage"):
        TrainConfig(model={"preset": "tiny", "channels": [16, 8]}).model_config(names)
    other_latent = Generator(ModelConfig.from_preset("tiny", class_names=names, latent_dim=8, channels=(16, 8, 16)))
    with pytest.raises(ValueError, match="cannot widen"):     # only stage channels may differ
        widen_state(trained.generator.state_dict(), other_latent)
    assert TrainConfig(model={"preset": "tiny", "channels": ["16", "8", "16"]}).model["channels"] == (16, 8, 16)   # as the CLI hands them


def test_widening_a_generator_with_noise_inputs_keeps_its_videos_and_grain(tmp_path, weizmann):
    trained, trainer = widening(tmp_path, weizmann, [32, 8, 16], g_noise=True)   # the grain is on
    wide = trainer.G.eval()
    c_old = trained.generator.stages[0].noise_strength.shape[1]
    assert wide.stages[0].noise_strength.shape[1] == 2 * c_old
    assert not wide.stages[0].noise_strength[:, c_old:].any()   # new channels start without grain
    z, labels = torch.randn(4, trained.config.latent_dim), torch.arange(4)
    noise = trained.generator.make_noise(4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = trained.generator.eval()(z, labels, noise=noise)
        assert torch.allclose(wide(z, labels, noise=noise), before, atol=1e-3)
        assert not torch.allclose(wide(z, labels, noise=[n.roll(1, 0) for n in noise]), before, atol=1e-3)


def test_widening_the_default_kind_of_model_keeps_its_videos_and_its_critics_scores(tmp_path, weizmann):
    """Wider middle stages for a model like the shipped one (still background stream, grain, a critic with frame
    differences and a patch head) carrying its own critic: G draws the same videos, D scores every clip as before."""
    from hrvgan.networks import Discriminator
    from hrvgan.training.checkpoint import save_training_state

    features = dict(g_background=True, g_noise=True, d_motion=True, motion_strides=(1, 2), d_patch=True)
    torch.manual_seed(0)
    trained = HRVGAN(ModelConfig.from_preset("tiny", class_names=["bend", "jack", "wave1", "wave2"], **features))
    critic = Discriminator(trained.config)
    with torch.no_grad():
        for p in [*trained.generator.parameters(), *critic.parameters()]:
            p.add_(0.3 * torch.randn_like(p))                           # stand-ins for trained weights
    trained.save_pretrained(tmp_path / "src")
    save_training_state(tmp_path / "src", trained.generator, critic)
    cfg = tiny(tmp_path, weizmann, run__init_from=str(tmp_path / "src"), model__channels=[32, 16, 8],
               **{f"model__{k}": v for k, v in features.items()})
    trainer = Trainer(cfg)
    assert trainer.model_config.stage_channels[1:3] == (32, 16)       # trained: 16, 8
    assert trainer.G.background.convs[0][0].weight.shape[0] == 32     # the 2-D stream widens with its stage

    z, labels = torch.randn(4, trained.config.latent_dim), torch.arange(4)
    noise = trained.generator.make_noise(4, generator=torch.Generator().manual_seed(1))
    clips = torch.rand(4, 3, 8, 32, 32) * 2 - 1
    with torch.no_grad():
        before = trained.generator.eval()(z, labels, noise=noise)
        assert torch.allclose(trainer.G.eval()(z, labels, noise=noise), before, atol=1e-3)
        assert torch.allclose(trainer.ema(z, labels, noise=noise), before, atol=1e-3)
        scores = critic(clips, labels)
        assert torch.allclose(trainer.D(clips, labels), scores, rtol=1e-4, atol=1e-4)
    wide = trainer.D.stages[2].conv1.weight                             # 16 -> 16 channels before, 32 -> 32 now
    assert wide[16:].abs().sum() > 0                                    # the new units have features at once ...
    assert not wide[:16, 16:].any()                                     # ... which the trained ones do not read yet
    trainer.D.train()
    trainer.d_step(iter([(clips, labels)] * 4))
    assert trainer.D.stages[2].conv1.weight[:16, 16:].abs().sum() > 0   # one update: they start to
    with pytest.raises(ValueError, match="cannot widen the critic"):   # what comes after the last stage stays
        from hrvgan.training.warmstart import widen_critic_state
        widen_critic_state(critic.state_dict(), Discriminator(ModelConfig.from_preset(
            "tiny", class_names=["bend", "jack", "wave1", "wave2"], base_channels=32, **features)))


@pytest.mark.parametrize("where", ["parent", "videos"])
def test_ucf101_official_layout_trains_from_either_folder(tmp_path, where):
    from test_data import make_ucf101

    videos, _ = make_ucf101(tmp_path / "ucf", frames=12)
    data = tmp_path / "ucf" if where == "parent" else videos
    proc = run_train(tmp_path, data, "--output_dir", str(tmp_path / "run"), "--max_steps", "1", "--batch_size", "2",
                     "--data_format", "auto")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "skipping" not in proc.stderr and "(ucf101)" in proc.stderr
    assert HRVGAN.from_pretrained(tmp_path / "run" / "model").class_names == ["ApplyEyeMakeup", "JumpingJack"]


def test_d_warmup_leaves_g_as_it_was(tmp_path, weizmann):
    src = tmp_path / "src"
    torch.manual_seed(3)
    HRVGAN(ModelConfig.from_preset("tiny", class_names=["bend", "jack", "wave1", "wave2"])).save_pretrained(src)
    out = tmp_path / "run"
    proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "3", "--checkpoint_every", "3",
                     "--init_from", str(src), "--d_warmup_steps", "3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ckpt = list_checkpoints(out)[-1]
    source, g = load_file(str(src / "model.safetensors")), load_file(str(ckpt / "generator.safetensors"))
    assert all(torch.equal(g[k], v) for k, v in source.items())            # G untouched while D warms up
    d0 = Trainer(tiny(tmp_path, weizmann, "x")).D.state_dict()
    d = load_file(str(ckpt / "discriminator.safetensors"))
    assert any(not torch.equal(d[k], v) for k, v in d0.items())            # ... and D did train


def test_noise_inputs_start_at_zero_and_diversity_pairs_share_them(tmp_path, weizmann):
    cfg = tiny(tmp_path, weizmann, "src")
    folder = Trainer(cfg).save_checkpoint()
    trainer = Trainer(cfg.replace(**{"run.output_dir": str(tmp_path / "run"), "run.init_from": str(folder),
                                     "model.g_noise": True, "loss.diversity_weight": 0.1}))
    assert all(not s.noise_strength.any() for s in trainer.ema.stages)   # it starts as the checkpoint's generator
    seen = []
    forward = trainer.G.forward
    trainer.G.forward = lambda *a, **k: (seen.append(k.get("noise")), forward(*a, **k))[1]
    clips, labels = torch.stack([trainer.dataset[i][0] for i in range(4)]), torch.arange(4)
    trainer.g_step(iter([(clips, labels)]))
    noise = seen[-1]
    assert noise is not None and len(noise) == len(trainer.G.stages)
    for n in noise:   # batch 4: pairs (0, 2) and (1, 3) differ in z only -- louder grain earns no diversity
        assert torch.equal(n[0], n[2]) and torch.equal(n[1], n[3]) and not torch.equal(n[0], n[1])
    assert all(s.noise_strength.abs().sum() > 0 for s in trainer.G.stages)   # the strengths learn
    noisy = trainer.save_checkpoint()
    with pytest.raises(ValueError, match="pass --g_noise"):                 # not silently dropped
        Trainer(cfg.replace(**{"run.output_dir": str(tmp_path / "again"), "run.init_from": str(noisy)}))


@pytest.mark.parametrize("view", ["pixels", "appearance"])
def test_the_diversity_term_compares_what_its_view_says(tmp_path, weizmann, view, monkeypatch):
    """loss.diversity_view: the mode-seeking term compares every pixel (MSGAN) or each clip's appearance (its mean
    frame in 4x4 blocks), and the logged term is exactly that comparison of the step's two halves."""
    from hrvgan import losses

    trainer = Trainer(tiny(tmp_path, weizmann, **{"loss__diversity_weight": 0.1, "loss__diversity_view": view}))
    seen, forward = [], trainer.G.forward
    trainer.G.forward = lambda *a, **k: (lambda out: (seen.append((out[0] if isinstance(out, tuple) else out).detach()),
                                                      out)[1])(forward(*a, **k))
    zs, new_z = [], trainer.new_z
    monkeypatch.setattr(trainer, "new_z", lambda n: (lambda z: (zs.append(z), z)[1])(new_z(n)))
    clips, labels = torch.stack([trainer.dataset[i][0] for i in range(4)]), torch.arange(4)
    logs = trainer.g_step(iter([(clips, labels)]))
    fake, z = seen[-1].float(), zs[-1]
    compared = fake if view == "pixels" else losses.appearance(fake)
    assert compared.shape[2:] == ((8, 32, 32) if view == "pixels" else (8, 8))
    expected = losses.mode_seeking_loss(compared[:2], compared[2:4], z[:2], z[2:4])
    assert float(logs["Loss/G/diversity"]) == pytest.approx(float(expected), rel=1e-3)


@pytest.mark.parametrize("kind, gp, r1", [("wgan-gp", 10.0, 0.0), ("hinge", 10.0, 2.0), ("bce", 0.0, 2.0)])
def test_the_critic_regulariser_is_the_gradient_penalty_or_r1_every_gp_every_steps(tmp_path, weizmann, kind, gp, r1):
    """loss.r1_weight: R1 on the real clips, with any kind; the gradient penalty belongs to wgan-gp alone. Both are
    lazy: every gp_every-th critic step, scaled by gp_every, nothing in between."""
    from hrvgan import losses

    trainer = Trainer(tiny(tmp_path, weizmann, **{"loss__kind": kind, "loss__gp_weight": gp, "loss__r1_weight": r1,
                                                  "loss__gp_every": 2}))
    real = torch.stack([trainer.dataset[i][0] for i in range(4)])
    fake, labels = torch.rand_like(real) * 2 - 1, torch.arange(4)
    torch.manual_seed(0)
    reg, logs = trainer.loss.critic_reg(real, fake, labels, d_step=4)
    torch.manual_seed(0)
    expected = 0.0
    if kind == "wgan-gp":
        expected += gp * 2 * losses.gradient_penalty(trainer.D, real, fake, labels).item()
    if r1:
        expected += r1 / 2 * 2 * losses.r1_penalty(trainer.D, real, labels).item()
    assert sorted(logs) == sorted(["Loss/D/gp"] * (kind == "wgan-gp") + ["Loss/D/r1"] * (r1 > 0))
    assert reg.item() == pytest.approx(expected, rel=1e-4) and reg.item() > 0
    reg.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in trainer.D.parameters())
    off, logs = trainer.loss.critic_reg(real, fake, labels, d_step=5)
    assert off.item() == 0 and logs == {}
    trainer.D.zero_grad(set_to_none=True)
    step_logs = trainer.d_step(iter([(real, labels)]))                                      # a whole step (d_step 0)
    assert ("Loss/D/r1" in step_logs) == (r1 > 0) and ("Loss/D/gp" in step_logs) == (kind == "wgan-gp")
    assert math.isfinite(float(step_logs["Loss/D/total"]))


def test_a_background_stream_joins_a_trained_generator_and_the_mask_term_pulls_its_mask_down(tmp_path, weizmann):
    cfg = tiny(tmp_path, weizmann, "src", model__g_noise=True)
    source = Trainer(cfg)
    folder = source.save_checkpoint()
    z, y = torch.randn(2, 16), torch.tensor([0, 1])
    noise = source.ema.make_noise(2, torch.Generator().manual_seed(0))
    before = source.ema(z, y, noise=noise)
    grown = cfg.replace(**{"run.output_dir": str(tmp_path / "run"), "run.init_from": str(folder),
                           "model.g_background": True, "loss.mask_weight": 10.0})
    trainer = Trainer(grown)
    grain = trainer.ema.make_noise(2, torch.Generator().manual_seed(5))[-1]
    after = trainer.ema(z, y, noise=[*noise, grain])
    # 95% of every pixel is the trained generator's own drawing at first: the run starts where the model was.
    assert (after - before).abs().mean() < 0.1 * before.abs().mean()
    clips, labels = torch.stack([trainer.dataset[i][0] for i in range(4)]), torch.arange(4) % 2
    logs = trainer.g_step(iter([(clips, labels)]))
    assert 0.9 < float(logs["Loss/G/mask"]) < 1.0
    assert float(trainer.G.to_mask.bias.detach()) < 0.3                         # the sparsity term: show the still frame more
    again = Trainer(grown.replace(**{"loss.mask_weight": 0.0, "run.output_dir": str(tmp_path / "zero")}))
    assert "Loss/G/mask" in again.g_step(iter([(clips, labels)]))       # logged even when it weighs nothing
    with pytest.raises(ValueError, match="pass --g_background true"):          # the wall is not silently dropped
        Trainer(cfg.replace(**{"run.output_dir": str(tmp_path / "back"), "run.init_from": str(trainer.save_checkpoint())}))


def test_a_background_stream_held_until_a_step_learns_from_that_step_on_across_a_resume(tmp_path, weizmann):
    """loss.background_start: the run from scratch first learns the video alone (the mask held at exactly 1), then
    the still stream joins at the given step, its mask starting at 0.95, also when the run was stopped before it."""
    out = tmp_path / "run"
    args = ["--output_dir", str(out), "--checkpoint_every", "1", "--g_background", "true", "--mask_weight", "1.0",
            "--background_start", "2", "--checkpoints_total_limit", "4"]
    first = run_train(tmp_path, weizmann, *args, "--max_steps", "2")
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_train(tmp_path, weizmann, *args, "--max_steps", "4")           # resumes at step 2: then released
    assert second.returncode == 0 and "mask is released" in second.stderr, second.stderr
    ckpts = {int(p.name.split("-")[1]): p for p in list_checkpoints(out)}
    g = {k: load_file(str(ckpts[k] / "generator.safetensors")) for k in (1, 2, 3)}
    stream = [k for k in g[1] if k.startswith("background.")]
    assert stream and all(torch.equal(g[1][k], g[2][k]) for k in stream)        # held: nothing reached the still stream
    assert float(g[2]["to_mask.bias"]) == 4.0 and not g[2]["to_mask.weight"].any()
    assert abs(float(g[3]["to_mask.bias"]) - 0.3) < 0.01                       # released at 0.95 (0.3 x gain 10), learning
    assert g[3]["to_mask.weight"].any() and any(not torch.equal(g[2][k], g[3][k]) for k in stream)
    with pytest.raises(ValueError, match="needs model.g_background"):
        Trainer(tiny(tmp_path, weizmann, "plain", loss__background_start=2))


def test_a_warm_start_keeps_a_trained_mask_where_a_run_from_scratch_would_hold_it(tmp_path, weizmann):
    """loss.background_start is for runs from scratch: continuing a model whose stream is trained (the shipped default
    with its config) neither holds its mask at 1 nor resets it to 0.95 at that step."""
    cfg = tiny(tmp_path, weizmann, "src", model__g_background=True, loss__mask_weight=1.0, loss__background_start=1)
    source = Trainer(cfg)
    assert float(source.G.to_mask.bias.detach()) == 4.0                         # from scratch: held
    for g in (source.G, source.ema):
        g.hold_mask(False)
        g.to_mask.bias.data.fill_(-0.2)                                         # a mask that has learned
    folder = source.save_checkpoint()
    warm = cfg.replace(**{"run.output_dir": str(tmp_path / "warm"), "run.init_from": str(folder), "optim.max_steps": 3})
    trainer = Trainer(warm)
    trainer.train()                                                             # passes step 1 without a release
    for g in (trainer.G, trainer.ema):
        assert abs(float(g.to_mask.bias.detach()) + 0.2) < 0.01


def test_every_shipped_config_builds_and_the_predict_recipe_starts_from_the_shipped_weights(tmp_path, weizmann):
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        cfg = TrainConfig.from_yaml(path)
        names = list(cfg.model.get("class_names", ())) or ["a", "b", "c", "d"]
        assert cfg.model_config(names).num_classes == (len(names) if cfg.data.conditional else 0), path
    # weizmann-64-predict.yaml starts from weights/: it must take every tensor of the shipped generator as
    # it is (same channels, time padding, noise inputs); a mismatch is refused or drops tensors.
    cfg = TrainConfig.from_yaml(ROOT / "configs/weizmann-64-predict.yaml", {
        "data.path": str(weizmann), "optim.max_steps": 0,
        "optim.mixed_precision": "",   # one Accelerator state per test process: keep the suite's
        "run.init_from": str(ROOT / "weights"), "run.output_dir": str(tmp_path / "run"),
        "data.cache_dir": str(tmp_path / "cache")})
    shipped = load_file(str(ROOT / "weights" / "model.safetensors"))
    trainer = Trainer(cfg)
    ema = trainer.ema.state_dict()
    assert all(torch.equal(ema[k], v) for k, v in shipped.items())
    # ... and the critic that trained it, every tensor (a critic that sees other inputs would lose its first layer)
    critic = load_file(str(ROOT / "weights" / "training" / "discriminator.safetensors"))
    assert trainer.has_critic and all(torch.equal(trainer.D.state_dict()[k], v) for k, v in critic.items())


# --- exact resume, interrupted saves, warm starts with the model's own critic -----------------------

def _weights(out: Path) -> dict:
    last = list_checkpoints(out)[-1]
    return {name: load_file(str(last / f"{name}.safetensors")) for name in ("generator", "discriminator", "ema")}


def test_a_run_stopped_mid_epoch_and_resumed_ends_bit_identical(tmp_path, weizmann):
    # 16 train clips, batch 4: 4 batches an epoch and 2 per step, so step 3 stops half-way through epoch 1
    # (with a lazy penalty, gp_every 2, whose schedule must carry over too).
    args = ["--checkpoint_every", "3", "--gp_every", "2", "--flip", "true", "--augment", "color,translation"]
    whole = run_train(tmp_path, weizmann, "--output_dir", str(tmp_path / "whole"), "--max_steps", "6", *args)
    assert whole.returncode == 0, whole.stderr
    first = run_train(tmp_path, weizmann, "--output_dir", str(tmp_path / "split"), "--max_steps", "3", *args)
    second = run_train(tmp_path, weizmann, "--output_dir", str(tmp_path / "split"), "--max_steps", "6", *args)
    assert first.returncode == 0 and second.returncode == 0 and "at step 3" in second.stderr
    state = json.loads((tmp_path / "split" / "checkpoints" / "step-00000003" / "state.json").read_text())
    assert (state["epoch"], state["batch_in_epoch"]) == (1, 2)
    a, b = _weights(tmp_path / "whole"), _weights(tmp_path / "split")
    for name in a:
        assert all(torch.equal(a[name][k], b[name][k]) for k in a[name]), name


class Fault(Exception):
    pass


def test_a_kill_at_any_point_of_a_save_leaves_the_run_resumable(tmp_path, weizmann, monkeypatch):
    from hrvgan.training import checkpoint as ckpt

    cfg = tiny(tmp_path, weizmann, run__checkpoints_total_limit=1)
    trainer = Trainer(cfg)
    trainer.step = 1
    trainer.save_checkpoint()                                  # the last complete checkpoint
    writes = ["_save_tensors", "_save_pickle_free", "_write_text", "_rename"]
    originals = {name: getattr(ckpt, name) for name in writes}
    point = 0
    while True:                                                # fail the 1st, 2nd, ... write of the next save
        calls = [0]

        def failing(original):
            def call(*args, **kwargs):
                calls[0] += 1
                if calls[0] == point + 1:
                    raise Fault(f"killed at write {point + 1}")
                return original(*args, **kwargs)
            return call

        for name in writes:
            monkeypatch.setattr(ckpt, name, failing(originals[name]))
        trainer.step = 2
        try:
            trainer.save_checkpoint()
            finished = True
        except Fault:
            finished = False
        for name in writes:
            monkeypatch.setattr(ckpt, name, originals[name])
        resumed = Trainer(cfg)
        resumed.load_checkpoint(ckpt.resolve_resume("latest", tmp_path / "run"))
        if finished:
            assert resumed.step == 2 and steps(tmp_path / "run") == [2]
            break
        assert resumed.step in (1, 2), point                  # the old checkpoint, or the new one once renamed
        point += 1
    assert point >= 6                                          # every file of the save was a fault point
    # A stale half-written folder from a kill never stops a later run (it once did: int('00000003.tmp')).
    (tmp_path / "run" / "checkpoints" / "step-00000009.tmp").mkdir()
    (tmp_path / "run" / "checkpoints" / "step-00000009.tmp" / "state.json").write_text("{}")
    assert steps(tmp_path / "run") == [2]
    proc = run_train(tmp_path, weizmann, "--output_dir", str(tmp_path / "run"), "--max_steps", "3", "--resume", "none")
    assert proc.returncode == 0, proc.stderr


def test_init_from_a_model_folder_continues_with_its_own_critic(tmp_path, weizmann):
    out = tmp_path / "src"
    assert run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "2").returncode == 0
    trainer = Trainer(tiny(tmp_path, weizmann, run__init_from=str(out / "model")))
    saved = {name: load_file(str(out / "model" / "training" / f"{name}.safetensors")) for name in ("generator", "discriminator")}
    ema = load_file(str(out / "model" / "model.safetensors"))
    for module, state in ((trainer.G, saved["generator"]), (trainer.D, saved["discriminator"]), (trainer.ema, ema)):
        assert all(torch.equal(module.state_dict()[k], v) for k, v in state.items())
    assert trainer.has_critic
    # A warm start's EMA is trained already: it moves by (1 - ema_decay) of the way to G from the first step,
    # where a fresh run's EMA warms up (a ramped EMA once took a continuation's class accuracy from 98% to 77%).
    for trained, name in ((trainer, "warm"), (Trainer(tiny(tmp_path, weizmann, "fresh")), "fresh")):
        before = [p.detach().clone() for p in trained.ema.parameters()]
        with torch.no_grad():
            for p in trained.G.parameters():
                p.add_(1.0)
        trained.update_ema()
        # the share of the way from the old EMA to G taken in one step
        share = torch.cat([((e - b) / (g - b)).flatten() for e, b, g in zip(trained.ema.parameters(), before, trained.G.parameters())])
        expected = 1 - trained.cfg.optim.ema_decay if name == "warm" else 1 - 1 / 10
        assert share.median().item() == pytest.approx(expected, rel=1e-2), name
    # Sampling never needs training/: a model folder without it loads and samples the same.
    import shutil
    shutil.rmtree(out / "model" / "training")
    assert HRVGAN.from_pretrained(out / "model").sample(classes=0, seeds=0).shape == (1, 8, 32, 32, 3)
    assert not Trainer(tiny(tmp_path, weizmann, "run2", run__init_from=str(out / "model"))).has_critic


def test_the_shipped_weights_continue_with_their_critic_and_keep_their_classes(tmp_path):
    """weights/ carries training/ (raw G and critic): a short continuation of the GAN from it, on real 64x64
    clips (tests/data/weizmann-mini-64), gives a model whose videos the project's classifier still reads as
    the class asked for."""
    from hrvgan.metrics.classifier import VideoClassifier, classify

    shipped = json.loads((ROOT / "weights" / "config.json").read_text())
    out = tmp_path / "continued"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--config", str(ROOT / "configs/weizmann-64.yaml"),
         "--data", str(ROOT / "tests/data/weizmann-mini-64"), "--cache_dir", str(tmp_path / "cache"),
         "--init_from", str(ROOT / "weights"), "--output_dir", str(out), "--max_steps", "20",
         "--channels", *map(str, shipped["channels"]), "--motion_strides", *map(str, shipped["motion_strides"]),
         "--time_padding", shipped["time_padding"], "--time_crop", str(shipped["time_crop"]), "--sample_every", "1000", "--checkpoint_every", "1000", "--export_every", "1000"],
        cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "2"}, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "initialised" in proc.stderr and "critic tensors" in proc.stderr and "carries no critic" not in proc.stderr
    model = HRVGAN.from_pretrained(out / "model")
    labels = np.repeat(np.arange(4), 16)
    videos = model.sample(classes=labels.tolist(), seeds=list(range(64)))
    probs, _ = classify(VideoClassifier.load(ROOT / "weights" / "classifier"), videos)
    assert (probs.argmax(1) == labels).mean() >= 0.9


def test_a_hub_that_never_answers_times_out_and_says_how_to_push_later(tmp_path, weizmann):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)                       # accepts connections and never answers
    try:
        out = tmp_path / "run"
        start = time.time()
        proc = run_train(tmp_path, weizmann, "--output_dir", str(out), "--max_steps", "2", "--push_to_hub",
                         "--hub_model_id", "alice/x", "--hub.timeout", "1", "--hub.retries", "2",
                         env=_hub_env(f"http://127.0.0.1:{silent.getsockname()[1]}"))
    finally:
        silent.close()
    assert proc.returncode == 1 and time.time() - start < 120
    failed = [line for line in proc.stderr.splitlines() if "push to the Hub failed" in line]
    assert len(failed) == 1 and "after 2 attempt(s)" in failed[0] and f"hf upload alice/x {out / 'model'}" in failed[0]
    assert steps(out) == [2] and HRVGAN.from_pretrained(out / "model").config.preset == "tiny"


def test_rollout_steps_continue_the_models_own_prediction(tmp_path, weizmann):
    """loss.rollout_prob: some prediction steps start from what G predicted from the real context (as a long
    video feeds it), without gradients through that context and without a pixel loss (nothing real to match)."""
    cfg = tiny(tmp_path, weizmann, model__context_frames=4, model__warp=True, loss__generation_prob=0.0,
               loss__rollout_prob=1.0, loss__rollout_depth=2, loss__mse_weight=50.0, loss__context_noise=0.05,
               optim__mixed_precision="", run__resume="none")
    trainer = Trainer(cfg)
    depths = []
    for trainer.step in range(40):
        depths.append(trainer.rollout())
    assert set(depths) == {1, 2}                                            # 1 to rollout_depth, every step
    trainer.step = 7
    assert trainer.rollout() == depths[7]                                   # the same on every call and on resume
    real, labels = next(trainer.batches())
    torch.manual_seed(0)
    context = trainer.loss.context(real, labels, 2)
    assert context.shape == real[:, :, :4].shape and not context.requires_grad
    assert (context - real[:, :, :4]).abs().mean() > 0.05                   # not the real frames
    torch.manual_seed(0)
    twice = trainer.loss.context(real, labels, 2)
    assert torch.equal(context, twice)
    _, logs = trainer.loss.generator_main(real, labels, trainer.new_z(real.shape[0]), True, None, rollout=1)
    assert "Loss/G/mse" not in logs and "Loss/G/adv" in logs
    _, logs = trainer.loss.generator_main(real, labels, trainer.new_z(real.shape[0]), True, None, rollout=0)
    assert "Loss/G/mse" in logs
    no_rollout = Trainer(cfg.replace(**{"loss.rollout_prob": 0.0, "run.output_dir": str(tmp_path / "b")}))
    assert {no_rollout.rollout() for no_rollout.step in range(20)} == {0}


def test_a_prediction_run_samples_its_futures_of_real_clips(tmp_path, weizmann):
    """samples/ and the exported sample.gif of a prediction run show what it learns: real contexts and its futures."""
    cfg = tiny(tmp_path, weizmann, model__context_frames=4, model__warp=True, loss__generation_prob=0.0,
               optim__mixed_precision="", run__resume="none")
    trainer = Trainer(cfg)
    shown = trainer.fixed_samples()
    assert shown.shape == (8, 8, 32, 32, 3) and shown.dtype == np.uint8
    firsts = np.stack([trainer.dataset.clip(int(i), start=0) for i in np.linspace(0, len(trainer.dataset) - 1, 8).round()])
    assert np.array_equal(shown[:, :4], firsts[:, :4])                      # the real context, as it was
    assert (np.abs(shown[:, 4:].astype(int) - firsts[:, 3:4]) <= 12).mean() > 0.9  # a fresh predictor: near copy-last
    generating = Trainer(tiny(tmp_path, weizmann, out="b", optim__mixed_precision="", run__resume="none"))
    assert not np.array_equal(generating.fixed_samples()[:, :4], firsts[:, :4])   # a generator's are its own


def test_warp_weight_teaches_the_flow_even_where_the_mix_keeps_the_still_frame(tmp_path, weizmann):
    """loss.warp_weight: the moved layer alone is compared with the real future, so the flow learns where pixels go
    even when the per-pixel mix shows none of it (without the term, a flow behind the still layer learns nothing)."""
    cfg = tiny(tmp_path, weizmann, model__context_frames=4, model__warp=True, loss__generation_prob=0.0,
               loss__mse_weight=1.0, optim__mixed_precision="", run__resume="none")
    grads = {}
    for weight in (0.0, 1.0):
        trainer = Trainer(cfg.replace(**{"loss.warp_weight": weight, "run.output_dir": str(tmp_path / f"w{weight}")}))
        G = trainer.loss.G
        with torch.no_grad():
            G.to_alpha.bias.copy_(torch.tensor([30.0, -30.0, -30.0]))      # the mix: the still frame only
        real, labels = next(trainer.batches())
        G.zero_grad()
        loss, logs = trainer.loss.generator_main(real, labels, trainer.new_z(real.shape[0]), True, None)
        loss.backward()
        grads[weight] = G.to_flow.weight.grad.abs().sum().item()
        assert ("Loss/G/warp" in logs) == (weight > 0)
    assert grads[0.0] < 1e-6 < grads[1.0]
    with pytest.raises(ValueError, match="loss.warp_weight compares a predictor's moved layer"):
        Trainer(tiny(tmp_path, weizmann, out="plain", loss__warp_weight=1.0, optim__mixed_precision="", run__resume="none"))


def test_adv_weight_0_trains_a_predictor_by_its_pixel_losses_alone(tmp_path, weizmann):
    """Regression only: the critic is neither run nor trained, G still learns; refused where nothing else teaches G."""
    cfg = tiny(tmp_path, weizmann, model__context_frames=4, model__warp=True, loss__generation_prob=0.0,
               loss__mse_weight=1.0, loss__adv_weight=0.0, optim__max_steps=2, optim__mixed_precision="",
               run__resume="none")
    trainer = Trainer(cfg)
    critic = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    generator = {k: v.clone() for k, v in trainer.G.state_dict().items()}
    trainer.train()
    assert trainer.step == 2 and trainer.d_steps == 0
    assert all(torch.equal(v, trainer.D.state_dict()[k]) for k, v in critic.items())
    assert any(not torch.equal(v, trainer.G.state_dict()[k]) for k, v in generator.items())
    real, labels = next(trainer.batches())
    _, logs = trainer.loss.generator_main(real, labels, trainer.new_z(real.shape[0]), True, None)
    assert "Loss/G/adv" not in logs and "Loss/G/mse" in logs
    with pytest.raises(ValueError, match="loss.adv_weight 0 leaves G only the pixel losses of prediction steps"):
        Trainer(tiny(tmp_path, weizmann, out="gen", loss__adv_weight=0.0, optim__mixed_precision="", run__resume="none"))
    with pytest.raises(ValueError, match="fit-turn"):     # a turning model is made from a generator, not trained
        Trainer(tiny(tmp_path, weizmann, out="turn", model__context_frames=4, model__turn=True, run__resume="none"))


@pytest.mark.parametrize("padding, crop, render, starts", [("zeros", 4, 12, 5), ("circular", 8, 8, 8)])
def test_time_crop_shows_the_critic_windows_of_a_longer_looped_video(tmp_path, weizmann, padding, crop, render, starts):
    """model.time_crop: G renders its looped code longer (circular: one loop), and D sees each clip's own random
    window of the model's length (circular: the loop from any frame on; a pair of the diversity term shares its
    window: they differ in z alone)."""
    trainer = Trainer(tiny(tmp_path, weizmann, **{"model__time_crop": crop, "loss__diversity_weight": 0.1,
                                                  "model__g_noise": True, "model__time_padding": padding}))
    rendered, judged = [], []
    forward, critic = trainer.G.forward, trainer.D.forward
    trainer.G.forward = lambda *a, **k: (lambda out: (rendered.append(out[0].detach()), out)[1])(forward(*a, **k))
    trainer.D.forward = lambda video, *a, **k: (judged.append(video.detach()), critic(video, *a, **k))[1]
    clips, labels = torch.stack([trainer.dataset[i][0] for i in range(8)]), torch.arange(8) % 4
    for _ in range(3):
        trainer.d_step(iter([(clips[:4], labels[:4])]))
        trainer.g_step(iter([(clips[4:], labels[4:])]))

    def window(long, seen, i):   # where clip i of what D saw lies in its rendered video (past its end: from its start)
        return next((o for o in range(starts) if torch.equal(time_window(long[i:i + 1], torch.tensor([o]), 8)[0],
                                                             seen[i].to(long.dtype))), None)

    offsets = []
    assert len(rendered) == 6 and all(v.shape[2] == render for v in rendered)   # zeros: 8 frames + two code steps
    for long in rendered:   # each batch G made was judged (d_step's fake scores, then G's step), as windows of it
        seen = next(v for v in judged if v.shape[0] == 4 and window(long, v, 0) is not None)
        assert seen.shape[2] == 8
        found = [window(long, seen, i) for i in range(4)]
        assert None not in found and found[:2] == found[2:]               # pairs (0, 2), (1, 3) share their window
        offsets += found
    assert len(set(offsets)) > 1                                            # random windows, not one fixed cut
    with pytest.raises(ValueError, match="multiple of 2"):
        Trainer(tiny(tmp_path, weizmann, "odd", **{"model__time_crop": 3}))
