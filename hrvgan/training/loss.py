"""The loss phases of one training step (Algorithm 1), as stylegan3's loss module names them:

    Dmain  the critic's adversarial loss on real and generated clips (+ the drift term)
    Dreg   the critic's regularisation: the gradient penalty of eq. 6 and/or R1, every ``gp_every`` critic steps
    Gmain  the generator's adversarial loss (+ eq. 10's pixel loss on predicted frames, SSIM, diversity, mask)

Each phase returns its loss and the scalars it logs, named by path (``Loss/D/gp``).  The terms
themselves are the pure functions of :mod:`hrvgan.losses`.
"""

from __future__ import annotations

import torch

from .. import augment, losses
from ..networks import Discriminator, Generator, time_window
from .config import LossConfig


class GANLoss:
    def __init__(self, G: Generator, D: Discriminator, cfg: LossConfig):
        self.G, self.D, self.cfg = G, D, cfg
        self.context_frames = G.config.context_frames
        # Generation steps render the looped code this long (LongVideoGAN's random temporal crops, on the loop);
        # a window starts at 0 .. slack.
        self.slack = G.config.window_slack
        self.render_frames = G.config.render_frames()

    def context(self, real: torch.Tensor, labels, rollout: int) -> torch.Tensor:
        """The context X of a prediction step: the real clip's first m frames, or (``rollout`` = k > 0) what G
        predicts from them after k steps of continuing its own prediction, as a long video does (no gradients:
        G learns to continue what it makes, not to make it easy to continue); then ``context_noise``."""
        m = self.context_frames
        context = real[:, :, :m]
        with torch.no_grad():
            for _ in range(rollout):
                z = torch.randn(real.shape[0], self.G.config.latent_dim, device=real.device)
                noise = self.G.make_noise(real.shape[0], device=real.device)
                if self.cfg.paired:  # rows half + i repeat rows i (pair_up): the same context
                    _, z, noise = pair_up(real, z, noise)
                out = self.G(z, labels, context=context, noise=noise)
                context = torch.cat([context, out[:, :, m:].to(context.dtype)], dim=2)[:, :, -m:]
        if self.cfg.context_noise > 0:
            context = context + self.cfg.context_noise * torch.randn_like(context)
        return context

    def fake_clips(self, real: torch.Tensor, labels, z: torch.Tensor, predict: bool, noise=None,
                   rollout: int = 0, layers: bool = False):
        """Generated clips; on prediction steps the first m frames are the context X and the rest G's Y-hat.
        ``layers``: (clips, the mask of a ``g_background`` model's drawn stream or None, a warping prediction's
        moved layer for the predicted frames or None)."""
        if not predict:
            out, mask = self.G(z, labels, noise=noise, return_mask=True, frames=self.render_frames)
            if self.slack:
                offsets = torch.randint(0, self.slack + 1, (out.shape[0],), device=out.device)
                if self.cfg.paired:  # a pair differs in z alone: the same window
                    half = out.shape[0] // 2
                    offsets[half:2 * half] = offsets[:half]
                out = time_window(out, offsets, self.G.config.frames)
                mask = None if mask is None else time_window(mask, offsets, self.G.config.frames)
            return (out, mask, None) if layers else out
        m = self.context_frames
        context = self.context(real, labels, rollout)
        out, mask, moved = self.G(z, labels, context=context, noise=noise, return_mask=True, return_moved=True)
        clips = torch.cat([context.to(out.dtype), out[:, :, m:]], dim=2)
        return (clips, mask, None if moved is None else moved[:, :, m:]) if layers else clips

    def critic_main(self, real: torch.Tensor, fake: torch.Tensor, labels) -> tuple[torch.Tensor, dict]:
        """Dmain on clips already augmented (one draw each for real and fake; Dreg sees the same pair)."""
        real_scores, fake_scores = self.D(real, labels).float(), self.D(fake, labels).float()
        loss = losses.D_LOSSES[self.cfg.kind](real_scores, fake_scores)                    # Loss/D/adv: eq. 5 or 13
        logs = {"Loss/D/adv": loss.detach(), "Scores/real": real_scores.detach().mean(),
                "Scores/fake": fake_scores.detach().mean()}
        if self.cfg.kind == "wgan-gp":
            drift = losses.drift_penalty(real_scores)                                        # Loss/D/drift: E[D(x)^2]
            loss = loss + self.cfg.drift_weight * drift
            logs["Loss/D/drift"] = drift.detach()
        return loss, logs

    def critic_reg(self, real: torch.Tensor, fake: torch.Tensor, labels, d_step: int) -> tuple[torch.Tensor, dict]:
        """Dreg: the gradient penalty (eq. 6; wgan-gp) and R1 (any kind), lazily every ``gp_every`` critic steps and
        scaled up to match."""
        cfg = self.cfg
        loss, logs = real.new_zeros((), dtype=torch.float32), {}
        if d_step % cfg.gp_every:
            return loss, logs
        if cfg.kind == "wgan-gp" and cfg.gp_weight > 0:
            gp = losses.gradient_penalty(self.D, real, fake, labels).float()                 # Loss/D/gp
            loss, logs["Loss/D/gp"] = loss + cfg.gp_weight * cfg.gp_every * gp, gp.detach()
        if cfg.r1_weight > 0:
            r1 = losses.r1_penalty(self.D, real, labels).float()                             # Loss/D/r1
            loss, logs["Loss/D/r1"] = loss + cfg.r1_weight / 2 * cfg.gp_every * r1, r1.detach()
        return loss, logs

    def generator_main(self, real: torch.Tensor, labels, z: torch.Tensor, predict: bool, noise,
                       rollout: int = 0) -> tuple[torch.Tensor, dict]:
        """Gmain; with a diversity weight or best_of_pair (``cfg.paired``), videos i and half + i share class,
        context and noise but not z."""
        cfg = self.cfg
        fake, mask, moved = self.fake_clips(real, labels, z, predict, noise, rollout, layers=True)
        adv, logs = fake.new_zeros((), dtype=torch.float32), {}
        if cfg.adv_weight > 0:        # 0: a predictor trained by its pixel losses alone (regression), no critic
            adv = losses.G_LOSSES[cfg.kind](self.D(augment.augment(fake, cfg.augment), labels).float())   # Loss/G/adv
            logs["Loss/G/adv"] = adv.detach()
        if predict and not rollout:
            m = self.context_frames
            predicted, target = fake[:, :, m:].float(), real[:, :, m:].float()
            pixel = losses.mse_loss(predicted, target, per_clip=True)                        # eq. 10: Y-hat vs Y
            per_clip = cfg.mse_weight * pixel
            logs["Loss/G/mse"] = pixel.mean().detach()
            if cfg.ssim_weight > 0:
                structure = losses.ssim_loss(predicted, target, per_clip=True)                # Loss/G/ssim
                per_clip = per_clip + cfg.ssim_weight * structure
                logs["Loss/G/ssim"] = structure.mean().detach()
            if cfg.warp_weight > 0 and moved is not None:
                # The moved layer alone against the truth: the flow learns where the pixels really go from a dense
                # photometric error, not only through the mix (where a wrong flow can hide behind the still layer).
                carried = losses.photometric_loss(moved.float(), target, per_clip=True)       # Loss/G/warp
                per_clip = per_clip + cfg.warp_weight * carried
                logs["Loss/G/warp"] = carried.mean().detach()
            if cfg.best_of_pair:
                per_clip = losses.best_of_pairs(per_clip)
            loss = cfg.adv_weight * adv + per_clip.mean()                                     # eq. 15
        else:
            loss = cfg.adv_weight * adv
        half = real.shape[0] // 2
        if cfg.diversity_weight > 0 and half > 0:
            seen = fake.float() if cfg.diversity_view == "pixels" else losses.appearance(fake.float())
            ms = losses.mode_seeking_loss(seen[:half], seen[half:2 * half], z[:half], z[half:2 * half])  # Loss/G/diversity
            loss = loss + cfg.diversity_weight * ms
            logs["Loss/G/diversity"] = ms.detach()
        if mask is not None:
            drawn = mask.float().mean()                                                       # Loss/G/mask
            loss = loss + cfg.mask_weight * drawn
            logs["Loss/G/mask"] = drawn.detach()
        return loss, logs


def pair_up(real: torch.Tensor, labels, noise: list | None) -> tuple:
    """For the diversity term: rows half + i repeat rows i (class, context, noise inputs), so only z differs.
    (With their own noise the term would pay G for louder grain, not for using z.)"""
    half = real.shape[0] // 2
    twice = lambda x: torch.cat([x[:half], x[:half], x[2 * half:]])  # noqa: E731
    return twice(real), None if labels is None else twice(labels), None if noise is None else [twice(n) for n in noise]
