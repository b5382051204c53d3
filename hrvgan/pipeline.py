"""`HRVGAN`: the pipeline users load.  A generator plus its config, saved as safetensors."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from huggingface_hub import ModelCard, ModelHubMixin, constants, hf_hub_download
from huggingface_hub import errors as hf_errors
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .config import BASE_SIZE, ModelConfig
from .inputs import InputError, check_extend, check_mode, check_num_frames, check_seed, check_steps, check_truncation
from .networks import Generator, time_window
from .video import resize_video, to_float, to_uint8

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
PICKLE_NAMES = ("pytorch_model.bin", "model.pt", "model.pth", "model.ckpt")
NOISE_STREAM = 2**63  # a seed's noise inputs come from seed | NOISE_STREAM: never another seed's z
WINDOW_STREAM = 0     # a time-cropped model's window start: SeedSequence([seed, 0]), where step_seed's steps are 1, 2, ...
CHUNK = 4  # videos per generator call; fixed so that output never depends on the batch
# Predictions run in chunks of 2: a long video calls the predictor once per 8 frames, mostly for one video, and
# a chunk of 4 would pay for 3 copies.  Not 1: PyTorch's CPU Conv3d takes a slow path (slow_conv3d, ~4x) at batch 1.
PREDICT_CHUNK = 2


def latent(seed: int, latent_dim: int) -> torch.Tensor:
    """z for one seed: its own generator, so a seed means the same video in any batch."""
    g = torch.Generator().manual_seed(check_seed(seed))
    return torch.randn(latent_dim, generator=g)


def noise_generator(seed: int) -> torch.Generator:
    """The generator of a seed's noise inputs (g_noise models): a stream apart from its z."""
    return torch.Generator().manual_seed(check_seed(seed) | NOISE_STREAM)


def step_seed(seed: int, step: int) -> int:
    """The seed of continuation step ``step`` (1, 2, ...) of a long video made from ``seed``: its own stream."""
    return int(np.random.SeedSequence([check_seed(seed), step]).generate_state(1)[0]) & 0x7FFFFFFF


def window_start(seed: int, slack: int) -> int:
    """Where the video of ``seed`` starts within the looped code of a model trained on windows of it
    (``ModelConfig.time_crop`` = ``slack``): 0 to ``slack``, drawn from the seed, apart from its z and noise."""
    return int(np.random.SeedSequence([check_seed(seed), WINDOW_STREAM]).generate_state(1)[0] % (slack + 1))


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (follows the great circle, as Gaussian latents prefer)."""
    cos = (a / a.norm() * b / b.norm()).sum().clamp(-1, 1)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def _listify(x) -> list:
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return [x]


class HRVGAN(
    nn.Module,
    ModelHubMixin,
    library_name="hrvgan",
    tags=["video-generation", "gan", "hrvgan"],
    paper_url="https://arxiv.org/abs/2008.09646",
):
    """A (class-conditional) video generator with sampling, interpolation and Hub I/O."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if isinstance(config, dict):
            config = ModelConfig.from_dict(config)
        self.config = config
        self.generator = Generator(config)
        self.model_card_text: str | None = None  # README.md of the folder it was loaded from
        # Not a submodule (a plain dict): where it was loaded from, and the model that continues its videos.
        self._companions = {"source": None, "extender": None}
        self.eval()

    # -- properties ------------------------------------------------------------------------------
    @property
    def class_names(self) -> list[str]:
        return list(self.config.class_names)

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def class_index(self, cls) -> int:
        """A class given by name or index -> index, with an error that lists the choices (the one place classes
        are checked: the CLI and the demo pass what the user typed)."""
        names = self.class_names
        if not names:
            raise InputError("this model is unconditional: it has no classes; pass classes=None.")
        if isinstance(cls, (bool, np.bool_)):
            raise InputError(f"class must be a name or an index, got {cls!r}.")
        if isinstance(cls, (int, np.integer)):
            if not 0 <= int(cls) < len(names):
                raise InputError(f"class index {cls} is out of range: this model has {len(names)} classes (0-{len(names) - 1}): {names}.")
            return int(cls)
        if isinstance(cls, str):
            if cls in names:
                return names.index(cls)
            if cls.isdigit() and int(cls) < len(names):
                return int(cls)
            raise InputError(f"unknown class {cls!r}; this model's classes are {names}.")
        raise InputError(f"class must be a name or an index, got {cls!r} ({type(cls).__name__}).")

    # -- generation ------------------------------------------------------------------------------
    @property
    def context_frames(self) -> int:
        """m: frames `predict` takes (0: a generation-only model)."""
        return self.config.context_frames

    @property
    def predicted_frames(self) -> int:
        """n: frames `predict` returns (0: a generation-only model)."""
        return self.config.predicted_frames

    @torch.inference_mode()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None, truncation: float = 1.0,
                 context: torch.Tensor | None = None, noise_seeds: Sequence[int] | None = None,
                 chunk: int = CHUNK, frames: int | None = None, progress=None) -> np.ndarray:
        """Latents (N, latent_dim) and labels [and context (N, 3, m, H, W)] -> uint8 videos (N, T, H, W, 3).

        A model with noise inputs (``g_noise``) draws video i's grain from ``noise_seeds[i]``
        (default: seed 0's for every video), so the same call gives the same videos.

        The generator always runs on chunks of exactly ``chunk`` videos (the last one padded): conv
        kernels give bit-different results for different batch sizes, but not for different
        positions in a batch, so a seed gives the same video however many are asked for.

        ``frames``: longer videos rendered in one pass (`Generator.forward`), ``progress(videos_done, n)``
        after each chunk.  A model trained on windows of its loop (``time_crop``) renders ``time_crop`` frames more
        (with circular time padding: whole loops, `ModelConfig.render_frames`) and video i is the window that
        `window_start` draws from ``noise_seeds[i]``.
        """
        truncation = check_truncation(truncation)
        n, out = z.shape[0], []
        noise_seeds = [0] * n if noise_seeds is None else [check_seed(s) for s in noise_seeds]
        if len(noise_seeds) != n:
            raise ValueError(f"got {len(noise_seeds)} noise seeds for {n} latents; give one per video.")
        want = frames or self.config.frames
        slack = self.config.window_slack if context is None else 0
        render = self.config.render_frames(want) if context is None else want
        for i in range(0, n, chunk):
            zc = z[i:i + chunk]
            lab = None if labels is None else labels[i:i + chunk]
            ctx = None if context is None else context[i:i + chunk]
            pad = chunk - zc.shape[0]
            seeds = noise_seeds[i:i + chunk] + noise_seeds[i:i + 1] * pad
            noise = self._noise(seeds, render) if self.generator.uses_noise(ctx is not None) else None
            if pad:
                zc = torch.cat([zc, zc[:1].expand(pad, -1)])
                lab = None if lab is None else torch.cat([lab, lab[:1].expand(pad, *lab.shape[1:])])
                ctx = None if ctx is None else torch.cat([ctx, ctx[:1].expand(pad, *ctx.shape[1:])])
            video = self.generator(zc.to(self.device), None if lab is None else lab.to(self.device), truncation=truncation,
                                   context=None if ctx is None else ctx.to(self.device), noise=noise, frames=render)
            if slack:
                video = time_window(video, torch.tensor([window_start(s, slack) for s in seeds], device=video.device), want)
            out.append(to_uint8(video[:chunk - pad]))
            if progress is not None:
                progress(i + len(out[-1]), n)
        return np.concatenate(out)

    def _noise(self, seeds: list[int], frames: int | None = None) -> list[torch.Tensor] | None:
        """A seed's noise inputs.  A longer video's come in blocks of the model's length: the short sample's own,
        then block k from the seed's stream ``step_seed(seed, k)``, so the grain of a frame does not depend on how
        long the video is."""
        if not self.config.g_noise:
            return None
        g, length = self.generator, self.config.frames

        def one(seed):
            short = g.make_noise(1, noise_generator(seed))
            if frames is None or frames == length:
                return short
            blocks = [short] + [g.make_noise(1, noise_generator(step_seed(seed, k))) for k in range(1, -(-frames // length))]
            return [torch.cat(stage, dim=2)[:, :, :shape[1]] for stage, shape in zip(zip(*blocks), g.noise_shapes(frames))]
        per_video = [one(s) for s in seeds]
        return [torch.cat(stage) for stage in zip(*per_video)]

    def _labels(self, classes, n: int, what: str) -> torch.Tensor | None:
        """Classes (a name/index or a list of them) -> (n,) indices, or None for an unconditional model."""
        if not self.config.conditional:
            if any(c is not None for c in _listify(classes)):
                raise ValueError("this model is unconditional: it has no classes; pass classes=None.")
            return None
        if classes is None:
            raise ValueError(f"this model is class-conditional; {what} needs classes= one of {self.class_names}.")
        cls = [self.class_index(c) for c in _listify(classes)]
        if len(cls) == 1:
            cls = cls * n
        if len(cls) != n:
            raise ValueError(f"got {len(cls)} classes for {n} videos; give one class per video or a single one.")
        return torch.tensor(cls, dtype=torch.long)

    def predict(self, context, classes=None, seeds=None, truncation: float = 1.0) -> np.ndarray:
        """The frames that follow a clip (paper eqs. 10, 15: X -> Y).

        ``context``: uint8 (N, m, H, W, 3) clips or one (m, H, W, 3) clip, m >= ``context_frames``
        (the last ``context_frames`` are used); frames of another size are centre-cropped and resized.
        Returns uint8 (N, n, H, W, 3) with n = ``predicted_frames``, at the model's resolution.
        ``seeds`` (default 0) picks among plausible continuations; ``classes`` as in `sample`.
        """
        m, c = self.context_frames, self.config
        if m == 0:
            raise ValueError("this model only generates (context_frames = 0): load a prediction model, "
                             "e.g. one trained with `--task prediction`.")
        context = np.asarray(context)
        if context.ndim == 4:
            context = context[None]
        if context.dtype != np.uint8 or context.ndim != 5 or context.shape[-1] != 3:
            raise ValueError(f"context must be uint8 frames shaped (N, m, H, W, 3) or (m, H, W, 3), "
                             f"got {context.dtype} {context.shape}.")
        if context.shape[1] < m:
            raise ValueError(f"this model predicts from {m} context frames; the clip has only {context.shape[1]}.")
        context = context[:, -m:]
        if context.shape[2:4] != (c.resolution, c.resolution):
            context = np.stack([resize_video(clip, c.resolution) for clip in context])
        n = len(context)
        seeds = [check_seed(s) for s in _listify(0 if seeds is None else seeds)]
        if len(seeds) == 1:
            seeds = seeds * n
        if len(seeds) != n:
            raise ValueError(f"got {len(seeds)} seeds for {n} clips; give one seed per clip or a single one.")
        z = torch.stack([latent(s, c.latent_dim) for s in seeds])
        labels = self._labels(classes, n, "predict")
        clips = self.generate(z, labels, truncation, context=to_float(context), noise_seeds=seeds, chunk=PREDICT_CHUNK)
        return clips[:, m:]

    def sample(self, classes=None, seeds: int | Sequence[int] = 0, truncation: float = 1.0,
               num_frames: int | None = None, progress=None, extend: str = "loop") -> np.ndarray:
        """Videos for (class, seed) pairs -> uint8 (N, T, H, W, 3).

        ``classes`` and ``seeds`` are single values or lists; a single value is repeated to the
        length of the other list.  Classes are names or indices; None for unconditional models.

        ``num_frames`` (default: the model's own length, 16) up to 1024 makes longer videos, by ``extend``:

        - ``"loop"``: the generator alone renders the whole video in one pass, its 4-step code looped
          (`networks.loop_code`): the performer, the wall and the action stay for any length, and the motion
          repeats every 16 frames, joined by a short blend the generator's convolutions draw (in a fast jumping
          jack a visible 3-4 frame blur).  The first 8 frames equal the short sample of the same seed within a
          grey level; towards frame 16 they differ, as the code goes on where the short sample's ends.
        - ``"predict"``: the first frames are exactly the short sample, then `extender`, a prediction model,
          continues them 8 frames at a time (see `extend`): a future of its own, but today its limbs melt.

        A model trained on windows of its loop (``config.time_crop``) renders that many frames more and shows the
        window its seed draws (`window_start`): a video starts at any phase of the action, as real clips do.  A
        long video is the same window, longer: its first frames are the short sample's, up to a few frames before
        where the short one's render ends.  With circular time padding (``config.time_padding``) the render is an
        exact loop: a long video is the short sample repeated, frame for frame up to the grain.

        ``progress(frames_done, num_frames)`` is called as the work goes (with loop: as each chunk of videos is made).
        """
        seeds = [check_seed(s) for s in _listify(seeds)]
        if not seeds:
            raise ValueError("nothing to sample: pass at least one seed.")
        n_classes = len(_listify(classes)) if self.config.conditional else 1
        n = max(len(seeds), n_classes)
        if len(seeds) == 1:
            seeds = seeds * n
        if len(seeds) != n or n_classes not in (1, n):
            raise ValueError(f"got {len(seeds)} seeds and {n_classes} classes; give equal counts or a single value of one.")
        labels = self._labels(classes, n, "sample")
        c = self.config
        if num_frames is not None:
            num_frames = check_num_frames(num_frames, c.frames)
        extend = check_extend(extend)
        z = torch.stack([latent(s, c.latent_dim) for s in seeds])
        if num_frames is not None and num_frames != c.frames and extend == "loop":
            step = c.frames // BASE_SIZE                                  # frames per step of the code
            frames = -(-num_frames // step) * step
            # Memory grows with the length: the chunk shrinks so that a call holds about CHUNK short videos' worth.
            chunk = max(1, CHUNK * c.frames // frames)
            report = None if progress is None else (lambda done, total: progress(num_frames * done // total, num_frames))
            videos = self.generate(z, labels, truncation, noise_seeds=seeds, chunk=chunk, frames=frames, progress=report)
            return videos[:, :num_frames]
        videos = self.generate(z, labels, truncation, noise_seeds=seeds)
        if num_frames is None or num_frames == c.frames:
            return videos
        return self.extend(videos, None if labels is None else labels.tolist(), seeds, num_frames, truncation, progress)

    # -- long videos -----------------------------------------------------------------------------
    @property
    def extender(self) -> "HRVGAN":
        """The prediction model that continues this model's videos past its own length: the model itself if
        it predicts, else the one set here, else the ``predict/`` model shipped beside it (as ``weights/``
        ships one), loaded from the same folder or Hub repo on first use."""
        if self.context_frames:
            return self
        if self._companions["extender"] is None and self._companions["source"] is not None:
            path, kwargs = self._companions["source"]
            self.extender = self.companion_predictor(path, device=self.device, **kwargs)
            self._companions["source"] = None   # looked once: a folder or repo without predict/ is not asked again
        if self._companions["extender"] is None:
            raise InputError(f"this model makes {self.config.frames}-frame videos and has no prediction model to "
                             "continue them: load one beside it (a predict/ subfolder, as weights/ has) or set "
                             "model.extender = HRVGAN.from_pretrained(..., subfolder='predict').")
        return self._companions["extender"]

    def __setattr__(self, name, value):
        if name == "extender":  # a model, but not a submodule: through the property, not nn.Module's registry
            return object.__setattr__(self, name, value)
        return super().__setattr__(name, value)

    @extender.setter
    def extender(self, model: "HRVGAN | None") -> None:
        if model is not None:
            c, e = self.config, model.config
            if not e.context_frames:
                raise ValueError("an extender must predict (context_frames > 0); this model only generates.")
            if (e.resolution, e.class_names) != (c.resolution, c.class_names):
                raise ValueError(f"the extender makes {e.resolution}x{e.resolution} videos of classes {e.class_names}; "
                                 f"this model {c.resolution}x{c.resolution} of {c.class_names}: they must agree.")
        self._companions["extender"] = model

    def extend(self, videos: np.ndarray, classes, seeds: Sequence[int], num_frames: int, truncation: float = 1.0,
               progress=None) -> np.ndarray:
        """Continue uint8 videos (N, T, H, W, 3) to ``num_frames``: the extender predicts its n frames from the
        last m, again and again (autoregressive).  Step k of video i draws its latent and noise from
        ``step_seed(seeds[i], k)``: a seed gives the same long video, and each step its own future."""
        ext = self.extender
        m, n = ext.context_frames, ext.predicted_frames
        if videos.shape[1] < m:
            raise ValueError(f"the extender continues from {m} frames; the videos have {videos.shape[1]}.")
        parts, done, step = [videos], videos.shape[1], 0
        context = videos[:, -m:]
        while done < num_frames:
            step += 1
            future = ext.predict(context, classes, seeds=[step_seed(s, step) for s in seeds], truncation=truncation)
            parts.append(future)
            context = np.concatenate([context, future], axis=1)[:, -m:]
            done += n
            if progress is not None:
                progress(min(done, num_frames), num_frames)
        return np.concatenate(parts, axis=1)[:, :num_frames]

    def interpolate(self, seed_a: int, seed_b: int, steps: int = 8, class_a=None, class_b=None,
                    mode: str = "slerp", truncation: float = 1.0) -> np.ndarray:
        """Videos along a straight (lerp) or great-circle (slerp) latent path -> uint8 (steps, T, H, W, 3).

        For conditional models the class embedding moves linearly from class_a to class_b
        (class_b defaults to class_a).
        """
        mode, steps = check_mode(mode), check_steps(steps)
        za, zb = latent(seed_a, self.config.latent_dim), latent(seed_b, self.config.latent_dim)
        ts = [i / (steps - 1) for i in range(steps)]
        mix = slerp if mode == "slerp" else (lambda a, b, t: (1 - t) * a + t * b)
        z = torch.stack([mix(za, zb, t) for t in ts])
        labels = None
        if self.config.conditional:
            if class_a is None:
                raise ValueError(f"this model is class-conditional; pass class_a= one of {self.class_names}.")
            ia = self.class_index(class_a)
            ib = ia if class_b is None else self.class_index(class_b)
            eye = torch.eye(self.config.num_classes)
            labels = torch.stack([(1 - t) * eye[ia] + t * eye[ib] for t in ts])
        elif class_a is not None or class_b is not None:
            raise ValueError("this model is unconditional: it has no classes; leave class_a and class_b unset.")
        # One grain along the path (seed_a's): the slider moves the content, not the noise.
        return self.generate(z, labels, truncation, noise_seeds=[seed_a] * steps)

    # -- saving ----------------------------------------------------------------------------------
    def _save_pretrained(self, save_directory: Path) -> None:
        state = {k: v.detach().cpu().contiguous() for k, v in self.generator.state_dict().items()}
        tmp = save_directory / (WEIGHTS_NAME + ".tmp")
        save_file(state, str(tmp), metadata={"format": "pt", "library": "hrvgan"})
        os.replace(tmp, save_directory / WEIGHTS_NAME)
        (save_directory / CONFIG_NAME).write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")

    def save_pretrained(self, save_directory, *, model_card_kwargs: dict | None = None, **kwargs):
        """Write model.safetensors, config.json and a model card (README.md) into a folder."""
        save_directory = Path(save_directory)
        save_directory.mkdir(parents=True, exist_ok=True)
        # Always write a fresh card: a stale one from an earlier save would describe other weights.
        (save_directory / CARD_NAME).unlink(missing_ok=True)
        return super().save_pretrained(save_directory, model_card_kwargs=model_card_kwargs, **kwargs)

    def generate_model_card(self, *args, **kwargs) -> ModelCard:
        from .card import model_card
        return model_card(self.config, **kwargs)

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path_or_repo_id, revision: str | None = None, device=None, *,
                        subfolder: str | None = None, token: str | None = None, cache_dir=None,
                        local_files_only: bool = False, **_ignored) -> "HRVGAN":
        """Load from a local folder or a Hub repo id (safetensors only; never unpickles).

        ``subfolder`` picks a model inside it, e.g. ``subfolder="predict"`` for a prediction model
        shipped beside a generation model.
        """
        files = _resolve_files(str(path_or_repo_id), revision, token, cache_dir, local_files_only, subfolder)
        try:
            config_dict = json.loads(Path(files["config"]).read_text())
            config = ModelConfig.from_dict(config_dict)
        except (json.JSONDecodeError, TypeError, ValueError) as e:
            raise ValueError(f"{files['config']} is not a valid HRVGAN config: {e}") from e
        model = cls(config)
        model.generator.load_state_dict(_load_weights(files["weights"], model.generator))
        if files.get("card"):
            model.model_card_text = Path(files["card"]).read_text(encoding="utf-8")
        if subfolder is None:  # where its predict/ companion is, for long videos (loaded when first needed)
            model._companions["source"] = (path_or_repo_id, dict(revision=revision, token=token, cache_dir=cache_dir,
                                                                 local_files_only=local_files_only))
        return model.to(device or "cpu").eval()

    @classmethod
    def companion_predictor(cls, path_or_repo_id, **kwargs) -> "HRVGAN | None":
        """The prediction model a generation model ships in its ``predict/`` subfolder (as ``weights/``
        does), or None if it has none.  One that is there but broken raises its error: never dropped."""
        predictor, error = cls.companion_predictor_or_error(path_or_repo_id, **kwargs)
        if error:
            raise ValueError(f"the predict/ model of {path_or_repo_id} could not be loaded: {error}")
        return predictor

    @classmethod
    def companion_predictor_or_error(cls, path_or_repo_id, **kwargs) -> "tuple[HRVGAN | None, str | None]":
        """(the ``predict/`` model or None, why one that exists could not be loaded or None)."""
        try:
            return cls.from_pretrained(path_or_repo_id, subfolder="predict", **kwargs), None
        except FileNotFoundError:
            return None, None          # no predict/ folder (or no such file in the Hub repo)
        except (ConnectionError, ValueError, OSError) as e:
            return None, str(e)


def _looks_like_path(s: str) -> bool:
    return s.startswith((".", "/", "~")) or os.sep in s.strip("/").replace("/", "", 1) or s.count("/") > 1


def _resolve_files(ref: str, revision, token, cache_dir, local_files_only, subfolder=None) -> dict:
    """Local folder or Hub repo id -> paths of config.json, model.safetensors and README.md."""
    folder = Path(ref).expanduser()
    if folder.exists() and subfolder:
        folder, ref = folder / subfolder, str(folder / subfolder)
        if not folder.exists():
            raise FileNotFoundError(f"no such model folder: {folder}")
    if folder.exists():
        if not folder.is_dir():
            raise NotADirectoryError(f"{ref} is a file; pass the folder that holds {CONFIG_NAME} and {WEIGHTS_NAME}.")
        files = {"config": folder / CONFIG_NAME, "weights": folder / WEIGHTS_NAME, "card": folder / CARD_NAME}
        if not files["config"].is_file():
            raise FileNotFoundError(f"{folder} has no {CONFIG_NAME}: it is not an HRVGAN model folder "
                                    "(save one with HRVGAN.save_pretrained or train.py).")
        if not files["weights"].is_file():
            pickles = [n for n in PICKLE_NAMES if (folder / n).exists()]
            hint = (f" It holds {pickles[0]}: HRVGAN loads safetensors only and never unpickles weights; "
                    "convert them with safetensors.torch.save_file.") if pickles else ""
            raise FileNotFoundError(f"{folder} has no {WEIGHTS_NAME}.{hint}")
        if not files["card"].is_file():
            files["card"] = None
        return files
    if _looks_like_path(ref):
        raise FileNotFoundError(f"no such model folder: {ref}")
    kw = dict(repo_id=ref, revision=revision, token=token, cache_dir=cache_dir, local_files_only=local_files_only,
              subfolder=subfolder)
    try:
        files = {"config": hf_hub_download(filename=CONFIG_NAME, **kw),
                 "weights": hf_hub_download(filename=WEIGHTS_NAME, **kw)}
    except hf_errors.RepositoryNotFoundError as e:
        raise FileNotFoundError(f"no model folder {ref!r} here and no Hub repo {ref!r} (or it is private: "
                                "log in with `hf auth login` or pass token=).") from e
    except hf_errors.RevisionNotFoundError as e:
        raise FileNotFoundError(f"Hub repo {ref!r} has no revision {revision!r}.") from e
    # LocalEntryNotFoundError (no network, nothing cached) subclasses EntryNotFoundError, and the
    # HTTP errors above subclass OSError: this order matters.
    except (hf_errors.LocalEntryNotFoundError, hf_errors.OfflineModeIsEnabled, OSError) as e:
        endpoint = constants.ENDPOINT
        raise ConnectionError(f"could not download {ref!r} from {endpoint} and no copy is cached: {e}. "
                              "Check the network (or unset HF_HUB_OFFLINE), or pass a local folder.") from e
    except hf_errors.EntryNotFoundError as e:
        raise FileNotFoundError(f"Hub repo {ref!r} has no {CONFIG_NAME} / {WEIGHTS_NAME}: it is not an HRVGAN model.") from e
    try:
        files["card"] = hf_hub_download(filename=CARD_NAME, **kw)
    except Exception:  # a model card is optional
        files["card"] = None
    return files


def check_state(state: dict, path) -> dict:
    """Refuse weights no trained model has: non-float tensors, NaN or inf (they would load and make black or
    noisy videos without a word)."""
    for key, value in state.items():
        if not value.dtype.is_floating_point:
            raise ValueError(f"{path}: tensor {key} is {value.dtype}, not floating point: these are not HRVGAN weights "
                             "(or the file was damaged).")
        if not torch.isfinite(value).all():
            raise ValueError(f"{path}: tensor {key} holds NaN or inf values: the weights are damaged (a diverged run "
                             "or a broken copy); use an earlier checkpoint or download them again.")
    return state


def _load_weights(path, generator: Generator) -> dict:
    """Read a safetensors file and check that every tensor fits the generator built from config.json."""
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"{path} is not a valid safetensors file ({e}). HRVGAN loads safetensors only; "
                         "never rename a pickle (.bin/.pt) to .safetensors.") from e
    check_state(state, path)
    expected = generator.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k}: file {tuple(state[k].shape)} vs config {tuple(v.shape)}"
             for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            parts.append(f"{len(wrong)} tensors have the wrong shape ({'; '.join(wrong[:3])})")
        if missing:
            parts.append(f"{len(missing)} tensors missing ({', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors ({', '.join(unexpected[:3])})")
        raise ValueError(f"the weights in {path} do not fit its config.json: {'; '.join(parts)}. "
                         "Was config.json edited, or copied from another model?")
    return state
