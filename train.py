"""Train HRVGAN from a recipe (configs/*.yaml): one file says how a model is trained.

    accelerate launch train.py --config configs/weizmann-64.yaml --data ../shared/data/weizmann-actions
    python train.py --config configs/tiny.yaml --data tests/data/weizmann-mini --max_steps 50
    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 train.py --config configs/tiny.yaml \\
        --data tests/data/weizmann-mini --output_dir runs/tiny-2
    accelerate launch --mixed_precision bf16 train.py --config configs/paper-256.yaml --data UCF-101/ \\
        --push_to_hub --hub_model_id you/hrvgan-ucf101

Every key of the recipe can be overridden as --section.key value (or --key value where the key is
unique), e.g. --optim.lr_g 2e-4 or --batch_size 16.  The run folder (--output_dir) holds
checkpoints/, logs/ (TensorBoard), samples/ and model/, the exported model that
`HRVGAN.from_pretrained` loads, with model/training/ (raw generator and critic) for --init_from.
A run resumes from its latest checkpoint by default; SIGTERM / Ctrl-C saves a checkpoint first.
"""

import logging
import sys

from hrvgan.training import build_parser, from_args, train
from hrvgan.training.warmstart import check_warm_start


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser(__doc__).parse_args(argv)
    try:
        cfg = from_args(args)
        if args.dry_run:
            if cfg.run.init_from:      # the refusals of a warm start need no data: the classes do not enter them
                check_warm_start(cfg.run.init_from, cfg.model_config([]), cfg.run.change_time_padding)
            print(cfg.to_yaml(), end="")
            return 0
        trainer = train(cfg)
    except KeyboardInterrupt as e:
        print(f"\n{e}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if trainer.accelerator.is_main_process:
        print(f"model exported to {trainer.out / 'model'}")
    return 1 if trainer.push_ok is False else 0


if __name__ == "__main__":
    sys.exit(main())
