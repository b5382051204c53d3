"""Training HRVGAN: the recipe (config), the loss phases (loss), checkpoints, warm starts, export, the loop."""

from .checkpoint import is_checkpoint, list_checkpoints, resolve_resume
from .config import TrainConfig, build_parser, from_args
from .loop import Trainer, train

__all__ = ["TrainConfig", "Trainer", "train", "build_parser", "from_args", "is_checkpoint", "list_checkpoints",
           "resolve_resume"]
