"""HRVGAN: class-conditional spatio-temporal video GAN (Sagar, arXiv 2008.09646)."""

from .config import ModelConfig
from .networks import Discriminator, Generator
from .pipeline import HRVGAN

__all__ = ["HRVGAN", "ModelConfig", "Generator", "Discriminator"]
__version__ = "0.1.0"
