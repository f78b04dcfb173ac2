"""Autoencoders as scikit-learn estimators.

``AutoencoderTransformer`` reduces dimensionality like ``PCA``;
``AutoencoderOutlierDetector`` finds anomalies like ``IsolationForest``. Both
train PyTorch modules through skorch.
"""

from ._outlier import AutoencoderOutlierDetector
from ._transformer import AutoencoderTransformer

__version__ = "0.1.0"

__all__ = ["AutoencoderOutlierDetector", "AutoencoderTransformer", "__version__"]
