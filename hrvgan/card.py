"""The model card (README.md) written beside every saved model."""

from __future__ import annotations

import yaml
from huggingface_hub import ModelCard

from .config import ModelConfig
from .metrics.table import known_metric_keys, markdown_table


# How a prediction model makes its futures, for the card's table.
PREDICTION = {"turn": "by turning: the context's last motion carried on, then the context played back; a fitted head "
                      "picks when (`hrvgan fit-turn`)",
              "warp": "drawn, and the last context frame moved along a predicted flow, mixed per pixel",
              "draw": "drawn over the last context frame, mixed per pixel"}


def model_card(config: ModelConfig, *, training_data: str | None = None, training_command: str | None = None,
               steps: int | None = None, metrics: dict | None = None, sample_gif: str | None = None,
               notes: str | None = None, **_unused) -> ModelCard:
    """A card with what a user needs: preset, classes, data, how it was trained, metrics, usage."""
    # No pipeline_tag: the Hub has none for class-conditional (or unconditional) video generation, and
    # "text-to-video" would promise a text prompt this model does not take.
    tags = ["video-generation", "gan", "hrvgan", "class-conditional" if config.conditional else "unconditional"]
    if config.context_frames:
        tags.append("video-prediction")
    meta = {"library_name": "hrvgan", "license": "mit", "tags": tags}
    kind = f"class-conditional over {config.num_classes} classes" if config.conditional else "unconditional"
    lines = [
        "---", yaml.safe_dump(meta, sort_keys=False).strip(), "---", "",
        "# HRVGAN video generator", "",
        f"An [HRVGAN](https://arxiv.org/abs/2008.09646) generator, {kind}: "
        f"{config.frames} frames of {config.resolution}x{config.resolution} RGB per video"
        + (f"; it also predicts the {config.predicted_frames} frames that follow {config.context_frames} given ones."
           if config.context_frames else "."), "",
    ]
    if sample_gif:
        lines += [f"![samples]({sample_gif})", ""]
    strides = tuple(config.motion_strides)
    differences = ", frame differences" + (f" over {', '.join(map(str, strides))} frames" if strides != (1,) else "")
    lines += [
        "| | |", "|---|---|",
        f"| preset | `{config.preset}` (width x{config.width:g}) |",
        f"| generator channels, 4x4 input then each stage | {', '.join(map(str, config.stage_channels))} |",
        f"| generator padding in time (beyond the first and last frame) | {config.time_padding} |",
        f"| generator noise inputs (per-pixel grain, StyleGAN) | {'yes' if config.g_noise else 'no'} |",
        f"| still background stream under the drawn frames (VGAN) | {'yes' if config.g_background else 'no'} |",
        f"| critic (training only) sees | frames{differences if config.d_motion else ''}"
        f"{', every ~14-pixel neighbourhood (patch head)' if config.d_patch else ''} |",
        *([f"| prediction ({config.context_frames} frames given) | " + PREDICTION[
            "turn" if config.turn else "warp" if config.warp else "draw"] + " |"] if config.context_frames else []),
        f"| latent size | {config.latent_dim} |",
        f"| classes | {', '.join(config.class_names) if config.class_names else 'none (unconditional)'} |",
        f"| training data | {training_data or 'not recorded'} |",
        f"| training steps | {steps if steps is not None else 'not recorded'} |",
        "",
    ]
    if training_command:
        lines += ["Trained with:", "", "```bash", training_command, "```", ""]
    lines += ["## Metrics", ""]
    if metrics:

        known = markdown_table(metrics)
        other = {k: v for k, v in metrics.items()
                 if k not in known_metric_keys() and not isinstance(v, (list, dict))}  # per level/class: metrics.json
        lines += [known] if known.count("\n") > 1 else []
        if other:
            lines += ["", "| metric | value |", "|---|---|"]
            lines += [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in other.items()]
    else:
        lines += ["Not measured yet (`python -m hrvgan evaluate` measures them)."]
    first = repr(config.class_names[0]) if config.class_names else "None"
    lines += [
        "", "## Use", "", "```python", "from hrvgan import HRVGAN", "",
        'model = HRVGAN.from_pretrained("PATH_OR_REPO_ID")',
        f"videos = model.sample(classes={first}, seeds=[0, 1, 2])  # uint8 (3, T, H, W, 3)",
        f"long = model.sample(classes={first}, seeds=0, num_frames=64)  # its motion looped; extend='predict': predict/ continues it",
    ]
    if config.context_frames:
        m, n = config.context_frames, config.predicted_frames
        lines += [f"# prediction: the {n} frames that follow {m} context frames (uint8 (N, {m}, H, W, 3) or ({m}, H, W, 3))",
                  f"future = model.predict(clip[:{m}], classes={first}, seeds=0)  # uint8 (1, {n}, H, W, 3)"]
    lines += [
        "```", "",
    ]
    if notes:
        lines += [notes, ""]
    return ModelCard("\n".join(lines))
