"""scikit-learn's estimator checks, strict: no expected failures."""

import pytest
import torch
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_estimator,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer

pytest.importorskip("pandas")  # without pandas some checks would pass vacuously


class TiedAutoencoder(torch.nn.Module):
    """A user's module: a linear autoencoder whose decoder is the encoder's transpose."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.weight = torch.nn.Parameter(0.1 * torch.randn(n_components, n_features))
        self.bias = torch.nn.Parameter(torch.zeros(n_features))

    def encode(self, x):
        return (x - self.bias) @ self.weight.T

    def decode(self, z):
        return z @ self.weight + self.bias

    def forward(self, x):
        return self.decode(self.encode(x))


# Fast parameters: each check fits in well under a second.
FAST = dict(hidden_layer_sizes=(8,), max_iter=5, batch_size=32)
ESTIMATORS = [
    AutoencoderTransformer(**FAST),
    AutoencoderOutlierDetector(**FAST),
    AutoencoderTransformer(n_components=1, early_stopping=True, **FAST),
    AutoencoderOutlierDetector(n_components=1, contamination=0.1, hidden_layer_sizes=()),
    # The model family, one fast configuration each.
    AutoencoderTransformer(noise="gaussian", loss="absolute_error", **FAST),
    AutoencoderOutlierDetector(sparsity="kl", noise="mask", **FAST),
    AutoencoderOutlierDetector(variational=True, anomaly_score="elbo", **FAST),
    AutoencoderTransformer(image_shape=(1, -1), module_params={"channels": (4,)}, **FAST),
    AutoencoderTransformer(module=TiedAutoencoder, **FAST),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: {})
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


EXTRA_CHECKS = [
    check_dataframe_column_names_consistency,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
]


@pytest.mark.parametrize("estimator", ESTIMATORS[:2], ids=lambda est: type(est).__name__)
@pytest.mark.parametrize("check", EXTRA_CHECKS, ids=lambda check: check.__name__)
def test_extra_public_checks(estimator, check):
    check(type(estimator).__name__, estimator)


@pytest.mark.slow
@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_check_estimator_default_parameters(Estimator):
    check_estimator(Estimator())
