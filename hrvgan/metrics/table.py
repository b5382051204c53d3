"""The evaluation table: which figures, how they are labelled and printed.  A leaf module (no models, no
data), so the model card and `evaluate` both read it without importing each other."""

from __future__ import annotations

TABLE_ROWS = [
    ("Truncation of the generated samples (1 = none)", "truncation", "{:g}"),
    ("Class accuracy, real test videos", "class_accuracy_real", "{:.1%}"),
    ("Class accuracy, generated (class asked for)", "class_accuracy_generated", "{:.1%}"),
    ("Inception Score (classifier), generated", "inception_score", "{:.2f}"),
    ("Inception Score (classifier), real test", "inception_score_real_test", "{:.2f}"),
    ("Fréchet distance, generated vs real test", "fd_generated_vs_test", "{:.2f}"),
    ("Fréchet distance, real train vs real test", "fd_train_vs_test", "{:.2f}"),
    ("Fréchet distance, untrained G vs real test", "fd_untrained_vs_test", "{:.2f}"),
    ("Motion (mean frame-to-frame change), generated / real", "motion_ratio", "{:.2f}"),
    ("Motion, real train / real test (the training clips themselves)", "motion_train_vs_test", "{:.2f}"),
    ("Motion, generated / real train", "motion_ratio_train", "{:.2f}"),
    ("SWD x10³ frames, finest level, generated vs real test", "swd_frames_generated_vs_test", "{:.1f}"),
    ("SWD x10³ frames, finest level, real train vs real test", "swd_frames_train_vs_test", "{:.1f}"),
    ("SWD x10³ frame differences, finest level, generated vs real test", "swd_motion_generated_vs_test", "{:.1f}"),
    ("SWD x10³ frame differences, finest level, real train vs real test", "swd_motion_train_vs_test", "{:.1f}"),
    ("SWD x10³ where clips move, frames, coarsest level, generated vs real test", "swd_moving_frames_generated_vs_test", "{:.1f}", -1),
    ("SWD x10³ where clips move, frames, coarsest level, real train vs real test", "swd_moving_frames_train_vs_test", "{:.1f}", -1),
    ("SWD x10³ where clips move, differences, coarsest level, generated vs real test", "swd_moving_motion_generated_vs_test", "{:.1f}", -1),
    ("SWD x10³ where clips move, differences, coarsest level, real train vs real test", "swd_moving_motion_train_vs_test", "{:.1f}", -1),
    ("SWD x10³ where clips move, frames, coarsest level, generated vs train videos' second halves", "swd_moving_frames_generated_vs_train_late", "{:.1f}", -1),
    ("SWD x10³ where clips move, frames, coarsest level, train videos' first halves vs their second halves", "swd_moving_frames_train_early_vs_train_late", "{:.1f}", -1),
    ("SWD x10³ where clips move, still images, finest level, generated vs real test", "swd_moving_still_generated_vs_test", "{:.1f}"),
    ("SWD x10³ where clips move, still images, finest level, real train vs real test", "swd_moving_still_train_vs_test", "{:.1f}"),
    ("SWD x10³ where clips move, still images, finest level, generated vs train videos' second halves", "swd_moving_still_generated_vs_train_late", "{:.1f}"),
    ("SWD x10³ where clips move, still images, finest level, train videos' first halves vs their second halves", "swd_moving_still_train_early_vs_train_late", "{:.1f}"),
    ("Spread within a class (RMS from class mean, 0-255), generated", "diversity_generated", "{:.1f}"),
    ("Spread within a class (RMS from class mean, 0-255), real test", "diversity_real_test", "{:.1f}"),
    ("Spread within a class (RMS from class mean, 0-255), real train", "diversity_real_train", "{:.1f}"),
    ("Coverage of the train videos (share of their second halves' clips that a generated clip looks like)",
     "coverage_generated_vs_train_late", "{:.2f}"),
    ("Coverage of the train videos, by their own first halves (the same performers and walls)",
     "coverage_train_early_vs_train_late", "{:.2f}"),
    ("Train videos drawn (one clip of their second halves covered or more), generated", "train_videos_drawn_generated",
     "{:d}"),
    ("Train videos drawn, by their own first halves", "train_videos_drawn_train_early", "{:d}"),
    ("Train videos", "num_train_videos", "{:d}"),
    ("Colour drift within clips (1 - intersection of a class's first 4 frames' colours with its last 4'), generated",
     "clip_drift_generated", "{:.3f}"),
    ("Colour drift within clips, real train clips (cut at random moments: the same colours at both ends)",
     "clip_drift_real_train", "{:.3f}"),
    ("Index bias (a class's mean first 4 frames against its mean last 4, grey levels: a phase tied to the frame "
     "index), generated", "index_bias_generated", "{:.2f}"),
    ("Index bias, real train clips (they start at every phase)", "index_bias_real_train", "{:.2f}"),
    ("Prediction PSNR (dB), mean over predicted frames", "prediction_psnr", "{:.2f}"),
    ("Baseline PSNR: copy the last context frame", "copy_last_psnr", "{:.2f}"),
    ("Baseline PSNR: repeat the context", "repeat_context_psnr", "{:.2f}"),
    ("Baseline PSNR: carry the context's last motion on (Lucas-Kanade, constant velocity)", "carry_motion_psnr", "{:.2f}"),
    ("Prediction SSIM, mean over predicted frames", "prediction_ssim", "{:.3f}"),
    ("Baseline SSIM: copy the last context frame", "copy_last_ssim", "{:.3f}"),
    ("Baseline SSIM: repeat the context", "repeat_context_ssim", "{:.3f}"),
    ("Baseline SSIM: carry the context's last motion on", "carry_motion_ssim", "{:.3f}"),
    ("Prediction PSNR (dB), best of 10 futures per clip", "prediction_psnr_best_of_k", "{:.2f}"),
    ("Prediction SSIM, best of 10 futures per clip", "prediction_ssim_best_of_k", "{:.3f}"),
    ("Spread of the futures (RMS between two seeds' futures, 0-255)", "prediction_spread", "{:.1f}"),
    ("Prediction motion / real continuation's", "prediction_motion_ratio", "{:.2f}"),
    ("Baseline motion / real continuation's: carry the last motion on", "carry_motion_motion_ratio", "{:.2f}"),
    ("SWD x10³ frames, finest level, prediction vs real continuation", "swd_frames_prediction_vs_real", "{:.1f}"),
    ("SWD x10³ frames, finest level, copy-last vs real continuation", "swd_frames_copy_last_vs_real", "{:.1f}"),
    ("SWD x10³ frame differences, finest level, prediction vs real continuation", "swd_motion_prediction_vs_real", "{:.1f}"),
    ("SWD x10³ frame differences, finest level, copy-last vs real continuation", "swd_motion_copy_last_vs_real", "{:.1f}"),
    ("SWD x10³ frame differences, finest level, carry-motion vs real continuation", "swd_motion_carry_motion_vs_real", "{:.1f}"),
    ("Class accuracy of [context, prediction]", "prediction_class_accuracy", "{:.1%}"),
    ("FVD (I3D), generated vs real test", "fvd_generated_vs_test", "{:.1f}"),
    ("Inception Score (C3D, UCF101 protocol), generated", "inception_score_c3d", "{:.2f}"),
]


def markdown_table(results: dict) -> str:
    lines = ["| metric | value |", "|---|---|"]
    for label, key, fmt, *level in TABLE_ROWS:
        if results.get(key) is not None:
            value = results[key]
            value = fmt.format(value[level[0] if level else 0] if isinstance(value, list) else value)  # SWD lists: a level
            if key in ("inception_score", "inception_score_c3d"):
                value += f" ± {results[key + '_std']:.2f}"
            lines.append(f"| {label} | {value} |")
    return "\n".join(lines)


# Keys an evaluation writes beside the table's rows (details the card may carry in metrics.json).
EXTRA_KEYS = {"inception_score_std", "inception_score_c3d_std", "motion_real", "motion_generated", "motion_real_train",
              "num_generated", "num_real_test_clips", "num_real_train_clips", "num_prediction_clips",
              "prediction_futures"}


def known_metric_keys() -> set[str]:
    return {row[1] for row in TABLE_ROWS} | EXTRA_KEYS
