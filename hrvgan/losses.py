"""Losses of HRVGAN as small pure functions.  Scores are raw critic outputs, shaped (B,)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


# --- WGAN with gradient penalty: the k-Lipschitz constraint (eqs. 5-6) --------------------------

def wgan_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    # Eq. 5: the critic maximises E[D(x)] - E[D(G(z))], i.e. minimises the negation.
    return fake_scores.mean() - real_scores.mean()


def wgan_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    # Eq. 5, generator side: maximise E[D(G(z))].
    return -fake_scores.mean()


def drift_penalty(real_scores: torch.Tensor) -> torch.Tensor:
    # ProGAN's epsilon_drift term E[D(x)^2]: keeps critic scores from wandering off to infinity.
    return real_scores.pow(2).mean()


def input_gradient(critic, x: torch.Tensor, labels=None) -> torch.Tensor:
    # d(sum of the critic's scores) / d(its input), kept in the graph: both penalties below train the critic on it.
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x, labels).sum(), x, create_graph=True)
    return grad


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, labels=None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    # Eq. 6: E[(||grad_x D(x_hat)||_2 - 1)^2], x_hat on random lines between real and fake videos.
    b = real.shape[0]
    eps = torch.rand(b, *([1] * (real.ndim - 1)), device=real.device, dtype=real.dtype, generator=generator)
    grad = input_gradient(critic, eps * real + (1 - eps) * fake, labels)   # x_hat, detached there
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def r1_penalty(critic, real: torch.Tensor, labels=None) -> torch.Tensor:
    # R1 (Mescheder et al., 2018): E[||grad_x D(x)||_2^2] on real clips alone. It pushes the critic's gradient to
    # zero on the data, where WGAN-GP's pulls it to 1 on lines between real and fake videos; the small-data choice
    # of StyleGAN2, with the non-saturating (bce) or hinge loss. The caller weighs it by gamma / 2.
    grad = input_gradient(critic, real, labels)
    return grad.flatten(1).float().pow(2).sum(dim=1).mean()


# --- the hinge form (Lim & Ye, 2017; SAGAN, BigGAN): a critic that stops pushing past a margin of 1 ---------

def hinge_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    # E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]: clips already scored beyond the margin teach the critic nothing.
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


# --- the paper's binary cross-entropy form (eqs. 12-14) ------------------------------------------
# The critic's unbounded score s is shifted into a probability by the logistic sigmoid before the
# binary cross-entropy L_bce(Y, Yhat) = -sum Yhat log Y + (1 - Yhat) log(1 - Y) of eq. 12.  Written
# with softplus, which is the same value without overflow: -log sigmoid(s) = softplus(-s).

def bce(scores: torch.Tensor, target: float) -> torch.Tensor:
    # Eq. 12 on sigmoid(scores), averaged over the batch.
    return F.binary_cross_entropy_with_logits(scores, torch.full_like(scores, float(target)))


def bce_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    # Eq. 13: L_bce(D(Y), 1) + L_bce(D(G(z)), 0).
    return bce(real_scores, 1.0) + bce(fake_scores, 0.0)


def bce_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    # Eq. 14: L_bce(D(G(z)), 1), the non-saturating generator loss.
    return bce(fake_scores, 1.0)


# --- pixel loss and the combination ----------------------------------------------------------

def mse_loss(predicted: torch.Tensor, target: torch.Tensor, per_clip: bool = False) -> torch.Tensor:
    # Eq. 10: L_2(X, Y) = ||Y - G(X)||_2^2, averaged over pixels (per_clip: over each clip's pixels, (B,)).
    error = (predicted - target).pow(2)
    return error.flatten(1).mean(dim=1) if per_clip else error.mean()


def photometric_loss(predicted: torch.Tensor, target: torch.Tensor, per_clip: bool = False, eps: float = 0.01) -> torch.Tensor:
    """The Charbonnier distance sqrt(d^2 + eps^2), averaged over pixels (per_clip: each clip's, (B,)): an L1 that
    stays smooth at 0, as optical flow is learnt from photometric error; pixels that appear (no flow can fetch
    them) cost it linearly, not quadratically, so they do not drag the flow of the rest."""
    error = ((predicted - target).pow(2) + eps * eps).sqrt()
    return error.flatten(1).mean(dim=1) if per_clip else error.mean()


def ssim_loss(predicted: torch.Tensor, target: torch.Tensor, per_clip: bool = False) -> torch.Tensor:
    """1 - SSIM of the frames of (B, 3, T, H, W) clips in [-1, 1] (torchmetrics' SSIM, differentiable); per_clip:
    each clip's (B,).  Not in the paper: the MSE of eq. 10 barely notices a background blurred by sub-pixel
    motion, SSIM does."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    frames = lambda x: x.transpose(1, 2).flatten(0, 1)  # noqa: E731  (B*T, 3, H, W)
    ssim = structural_similarity_index_measure(frames(predicted), frames(target), data_range=2.0,
                                               reduction="none" if per_clip else "elementwise_mean")
    return 1 - (ssim.view(predicted.shape[0], -1).mean(dim=1) if per_clip else ssim)


def best_of_pairs(per_clip: torch.Tensor) -> torch.Tensor:
    """(B,) losses of clips whose rows half + i repeat row i's context with another z -> (B - half,): the smaller
    of each pair, then any unpaired rows.  Best-of-many (Bhattacharyya et al., 2018): only the future nearer to
    the real one is pulled towards it, so two seeds may go two ways instead of both to one blurred mean."""
    half = per_clip.shape[0] // 2
    return torch.cat([torch.minimum(per_clip[:half], per_clip[half:2 * half]), per_clip[2 * half:]])


def appearance(video: torch.Tensor, pool: int = 4) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, C, H/pool, W/pool): each clip's mean frame over time, averaged over pool x pool blocks.
    Who stands where in front of which wall: the phase of the action and the grain average out (the descriptor of
    `metrics.coverage`)."""
    return F.avg_pool2d(video.mean(dim=2), pool)


def mode_seeking_loss(fake_a: torch.Tensor, fake_b: torch.Tensor, z_a: torch.Tensor, z_b: torch.Tensor,
                      eps: float = 1e-5) -> torch.Tensor:
    # MSGAN (Mao et al., 2019): 1 / (mean|G(z_a) - G(z_b)| / mean|z_a - z_b|), same class for both; small when
    # different latents give different videos, large when the generator ignores z (mode collapse).
    ratio = (fake_a - fake_b).abs().mean() / (z_a - z_b).abs().mean()
    return 1.0 / (ratio + eps)


D_LOSSES = {"wgan-gp": wgan_d_loss, "bce": bce_d_loss, "hinge": hinge_d_loss}
G_LOSSES = {"wgan-gp": wgan_g_loss, "bce": bce_g_loss, "hinge": wgan_g_loss}   # hinge's G side is WGAN's
