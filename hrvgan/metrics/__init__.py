"""Metrics: Fréchet distance and Inception Score as functions, plus the models that feed them."""

from .scores import frechet_distance, gaussian_stats, inception_score, motion

__all__ = ["frechet_distance", "gaussian_stats", "inception_score", "motion"]
