"""Train HRVGAN.

    accelerate launch train.py --config configs/weizmann-64.yaml
    python train.py --config configs/tiny.yaml --data ../shared/data/weizmann-actions --max_steps 50
    ACCELERATE_USE_CPU=1 accelerate launch --multi_gpu --num_processes 2 train.py --config configs/tiny.yaml ...
    accelerate launch --mixed_precision bf16 train.py --config configs/paper-256.yaml --data UCF-101/ \\
        --push_to_hub --hub_model_id you/hrvgan-ucf101

Every key of the YAML config can be overridden as --key value (see the list below).  The run
folder (--output_dir) holds checkpoints/, logs/ (TensorBoard), samples/ and model/, the exported
EMA generator that `HRVGAN.from_pretrained` loads.  A run resumes from its latest checkpoint by
default; SIGTERM / Ctrl-C saves a checkpoint before exiting.
"""

import argparse
import dataclasses
import logging
import sys

from hrvgan.training import TrainConfig, train


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "y", "on"):
        return True
    if text.lower() in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML file of TrainConfig keys (configs/*.yaml)")
    parser.add_argument("--dry_run", action="store_true", help="print the resolved config and exit")
    group = parser.add_argument_group("config keys (override the YAML file)")
    comments = _field_comments()
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f"{comments.get(f.name, '')} (default: {default!r})".strip()
        if f.type in ("bool", bool):
            group.add_argument(f"--{f.name}", type=_bool, nargs="?", const=True, default=None, help=help_text)
        elif f.type in ("list", list):
            group.add_argument(f"--{f.name}", nargs="+", default=None, help=help_text)
        else:
            kind = {"int": int, "float": float}.get(f.type if isinstance(f.type, str) else f.type.__name__, str)
            group.add_argument(f"--{f.name}", type=kind, default=None, help=help_text)
    return parser


def _field_comments() -> dict:
    """The comment after each field in TrainConfig's source: one place for defaults and their help."""
    import inspect

    comments = {}
    for line in inspect.getsource(TrainConfig).splitlines():
        line = line.strip()
        if ":" in line and "#" in line and not line.startswith("#"):
            comments[line.split(":")[0].strip()] = line.split("#", 1)[1].strip()
    return comments


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if v is not None and k not in ("config", "dry_run")}
    try:
        cfg = TrainConfig.from_yaml(args.config, **overrides) if args.config else TrainConfig(**overrides)
        if not cfg.data:
            raise ValueError("no data: give --data PATH (or `data:` in the config file).")
        if args.dry_run:
            import yaml
            print(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))
            return 0
        trainer = train(cfg)
    except KeyboardInterrupt as e:
        print(f"\n{e}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if trainer.accelerator.is_main_process:
        print(f"model exported to {trainer.out / 'model'}")
    return 1 if trainer.push_ok is False else 0


if __name__ == "__main__":
    sys.exit(main())
