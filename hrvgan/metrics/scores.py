"""The scores themselves, as pure functions of features / class probabilities."""

from __future__ import annotations

import numpy as np


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of (N, D) features."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need (N >= 2, D) features, got shape {features.shape}.")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """The symmetric square root of a covariance (negative eigenvalues from rounding are clipped to 0)."""
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(s1, s2) -> float:
    """Tr((S1 S2)^(1/2)) for covariances S1, S2.

    S1 S2 is not symmetric, but it is similar to R S2 R with R = S1^(1/2), which is symmetric PSD:
    both have the same eigenvalues, so the trace of the root is the sum of their square roots.
    Two symmetric eigen-decompositions, stable where a general matrix square root is not.
    """
    s1, s2 = np.atleast_2d(s1), np.atleast_2d(s2)
    r = _psd_sqrt(s1)
    m = r @ s2 @ r
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum())


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (or given as (mu, sigma) pairs).

    d^2 = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))   (FID / FVD)
    """
    mu1, s1 = a if isinstance(a, tuple) else gaussian_stats(a)
    mu2, s2 = b if isinstance(b, tuple) else gaussian_stats(b)
    d = float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt_product(s1, s2))
    return max(d, 0.0)


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))), mean and std over `splits` equal parts (Salimans et al.)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f"need (N, K) class probabilities, got shape {probs.shape}.")
    splits = max(1, min(splits, len(probs)))
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.where(part > 0, part * (np.log(np.clip(part, 1e-30, None)) - np.log(np.clip(marginal, 1e-30, None))), 0.0)
        scores.append(float(np.exp(kl.sum(axis=1).mean())))
    return float(np.mean(scores)), float(np.std(scores))


def motion(videos: np.ndarray) -> float:
    """Mean absolute change between consecutive frames of uint8 (N, T, H, W, 3) videos, in [0, 255]."""
    videos = np.asarray(videos)
    return float(np.abs(np.diff(videos.astype(np.int16), axis=1)).mean())
