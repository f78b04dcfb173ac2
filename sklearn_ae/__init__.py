"""Autoencoders as scikit-learn estimators.

``AutoencoderTransformer`` reduces dimensionality like ``PCA``;
``AutoencoderOutlierDetector`` finds anomalies like ``IsolationForest``. Both
train PyTorch modules through skorch.
"""

from ._outlier import AutoencoderOutlierDetector
from ._persistence import VersionMismatchWarning
from ._transformer import AutoencoderTransformer
from .export import to_onnx

__version__ = "0.1.0"

__all__ = [
    "AutoencoderOutlierDetector",
    "AutoencoderTransformer",
    "VersionMismatchWarning",
    "__version__",
    "to_onnx",
]
