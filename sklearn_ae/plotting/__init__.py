"""Plots of fitted autoencoders, in scikit-learn's Display API.

Each Display is built with ``from_estimator`` (which computes what to draw) or
from precomputed values with its constructor, and draws with ``plot(ax=...)``.
After plotting it holds the matplotlib artists it drew, the axes as ``ax_`` and
the figure as ``figure_``, as ``sklearn.metrics.RocCurveDisplay`` does.

matplotlib is optional: install it with ``pip install sklearn_ae[plot]``.
"""

from ._compression_curve import CompressionCurveDisplay
from ._latent_space import LatentSpaceDisplay
from ._loss_curve import LossCurveDisplay
from ._reconstruction_error import ReconstructionErrorDisplay

__all__ = [
    "CompressionCurveDisplay",
    "LatentSpaceDisplay",
    "LossCurveDisplay",
    "ReconstructionErrorDisplay",
]
