"""A drop-in for PCA on the user's own X: units, fractions, denoising, curved manifolds."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from sklearn_ae import AutoencoderTransformer
from sklearn_ae._graph import geodesic_codes


def _held_out_mse(model, X_test):
    return np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2)


def _wide_range_data(seed=0):
    """Three latent factors seen through 8 features of very different ranges."""
    rng = np.random.RandomState(seed)
    latent = rng.normal(size=(800, 3))
    X = np.tanh(latent @ rng.normal(size=(3, 8))) + 0.05 * rng.normal(size=(800, 8))
    return X * [300.0, 40.0, 5.0, 1.0, 1.0, 0.2, 0.05, 0.01] + [1e4, 0, 0, 0, 0, 0, 0, 0]


def test_raw_units_never_lose_to_pca_on_wide_range_features():
    X_train, X_test = train_test_split(_wide_range_data(), test_size=0.5, random_state=0)
    pca = _held_out_mse(PCA(2).fit(X_train), X_test)
    ours = AutoencoderTransformer(2, random_state=0).fit(X_train)
    assert _held_out_mse(ours, X_test) <= pca * (1 + 1e-6)
    assert_allclose(ours.scale_, ours.scale_[0])  # one scale: X's proportions kept
    # z-scored features spend the code on the narrow ones, and lose to PCA
    per_feature = AutoencoderTransformer(2, standardize="feature", random_state=0).fit(X_train)
    assert _held_out_mse(per_feature, X_test) > 2 * pca


@pytest.mark.parametrize(("fraction", "size"), [(0.5, 1), (0.9, 2), (0.99, 3)])
def test_a_fraction_counts_variance_as_pca_does(fraction, size):
    X = np.random.RandomState(0).normal(size=(600, 6)) * [8, 4, 2, 0.5, 0.1, 0.02]
    assert PCA(fraction).fit(X).n_components_ == size
    ae = AutoencoderTransformer(fraction, random_state=0).fit(X)
    assert ae.n_components_ == size
    assert ae.retained_variance_ratio_ >= fraction


@pytest.fixture(scope="module")
def noisy_digits():
    """scikit-learn's denoising protocol: digits in [0, 1], Gaussian noise of 0.25."""
    X, y = load_digits(return_X_y=True)
    X = MinMaxScaler().fit_transform(X)
    X_train, X_test = train_test_split(X, stratify=y, random_state=0, train_size=1000)
    rng = np.random.RandomState(0)
    noisy_train = X_train + rng.normal(scale=0.25, size=X_train.shape)
    noisy_test = X_test + rng.normal(scale=0.25, size=X_test.shape)
    return noisy_train, noisy_test, X_test


def _denoising_error(model, noisy_test, clean_test):
    return np.mean((model.inverse_transform(model.transform(noisy_test)) - clean_test) ** 2)


def test_training_noise_learns_a_better_denoiser(noisy_digits):
    noisy_train, noisy_test, clean_test = noisy_digits
    pca = _denoising_error(PCA(16).fit(noisy_train), noisy_test, clean_test)
    plain = AutoencoderTransformer(16, random_state=0).fit(noisy_train)
    denoising = AutoencoderTransformer(16, noise="gaussian", random_state=0).fit(noisy_train)
    assert not np.allclose(plain.transform(noisy_test), denoising.transform(noisy_test))
    plain_error = _denoising_error(plain, noisy_test, clean_test)
    denoising_error = _denoising_error(denoising, noisy_test, clean_test)
    assert denoising_error < 0.99 * plain_error
    assert plain_error < pca and denoising_error < pca


def test_training_moves_away_from_pcas_start(noisy_digits):
    """Early stopping compares epochs with PCA of the rows training sees, not of all rows."""
    noisy_train, noisy_test, _ = noisy_digits
    ae = AutoencoderTransformer(16, random_state=0).fit(noisy_train)
    assert not ae.net_.kept_start_
    assert np.argmax(ae.validation_scores_) > 0  # a later epoch was best
    pca = PCA(16).fit(noisy_train)
    ours = ae.inverse_transform(ae.transform(noisy_test))
    assert not np.allclose(ours, pca.inverse_transform(pca.transform(noisy_test)), atol=1e-3)


def test_no_gain_beyond_chance_keeps_pcas_solution_for_all_rows():
    """On a few dozen noisy rows, no epoch beats the start: the model is then PCA's."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 5)) * [3.0, 2.0, 1.0, 1.0, 1.0]
    ae = AutoencoderTransformer(2, random_state=0).fit(X)
    assert ae.net_.kept_start_
    pca = PCA(2).fit(X)
    assert_allclose(
        ae.inverse_transform(ae.transform(X)), pca.inverse_transform(pca.transform(X)), atol=1e-4
    )


def test_keeping_a_trained_model_asks_whether_the_mean_error_is_lower():
    """Most rows a little better and a few much worse: the mean is worse, so the start stays."""
    from scipy.stats import wilcoxon

    from sklearn_ae._net import _significant

    rng = np.random.RandomState(0)
    gain = np.abs(rng.normal(0.01, 0.005, size=200))
    gain[:6] = -1.0  # a few heavy-tailed rows get much worse
    assert gain.mean() < 0
    assert wilcoxon(gain, alternative="greater").pvalue < 0.01  # the typical row improved
    assert not _significant(torch.from_numpy(gain))
    assert _significant(torch.from_numpy(np.abs(gain)))
    assert not _significant(torch.zeros(10, dtype=torch.float64))
    assert _significant(torch.full((10,), 0.5, dtype=torch.float64))


def test_improvement_over_start_says_what_training_did(noisy_digits):
    noisy_train, _, _ = noisy_digits
    trained = AutoencoderTransformer(16, random_state=0).fit(noisy_train)
    assert not trained.net_.kept_start_
    assert 0 < trained.improvement_over_start_ < 1
    X = np.random.RandomState(0).normal(size=(60, 5)) * [3.0, 2.0, 1.0, 1.0, 1.0]
    kept = AutoencoderTransformer(2, random_state=0).fit(X)
    assert kept.net_.kept_start_ and kept.improvement_over_start_ == 0.0
    unchecked = AutoencoderTransformer(2, early_stopping=False, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        assert unchecked.fit(X).improvement_over_start_ is None
    assert kept.partial_fit(X).improvement_over_start_ is None


def _kept_variance(model, X_test):
    error = model.inverse_transform(model.transform(X_test)) - X_test
    return 1 - np.sum(error**2) / np.sum((X_test - X_test.mean(axis=0)) ** 2)


def test_the_graph_start_unrolls_a_swiss_roll():
    """At k=2 every linear code folds a swiss roll; the default's graph start does not."""
    X = make_swiss_roll(n_samples=1500, noise=0.1, random_state=0)[0]
    X_train, X_test = train_test_split(StandardScaler().fit_transform(X), random_state=0)
    kept = {}
    for init in ("graph", "pca"):
        model = AutoencoderTransformer(2, init=init, random_state=0).fit(X_train)
        kept[init] = _kept_variance(model, X_test)
    assert kept["graph"] >= 0.97
    assert kept["graph"] > kept["pca"] + 0.03


@pytest.mark.parametrize("shape", ["plane", "blob"])
def test_without_a_curved_manifold_the_start_stays_pcas(shape):
    """The graph start is kept only if it beats PCA's start on the validation rows."""
    rng = np.random.RandomState(0)
    if shape == "plane":
        X = rng.normal(size=(600, 2)) @ rng.normal(size=(2, 5)) + 0.1 * rng.normal(size=(600, 5))
    else:
        X = rng.normal(size=(600, 5)) * [3.0, 2.0, 1.0, 1.0, 1.0]
    graph = AutoencoderTransformer(2, random_state=0).fit(X)
    pca = AutoencoderTransformer(2, init="pca", random_state=0).fit(X)
    assert_array_equal(graph.transform(X), pca.transform(X))


def test_geodesic_codes_need_one_connected_graph_and_a_curve():
    """Coordinates only for one connected, curved sheet, placed as the reference codes."""
    X = StandardScaler().fit_transform(make_swiss_roll(n_samples=400, random_state=0)[0])
    reference = PCA(2).fit_transform(X) + 5.0
    codes = geodesic_codes(X, reference)
    assert codes.shape == (400, 2)  # with the reference's centre and spread, rotated onto it
    assert_allclose(codes.mean(axis=0), reference.mean(axis=0))
    assert_allclose(codes.var(axis=0).sum(), reference.var(axis=0).sum())
    assert geodesic_codes(np.vstack([X, X + 100.0]), np.vstack([reference] * 2)) is None
    blob = np.random.RandomState(0).normal(size=(400, 3)) * [3.0, 2.0, 1.0]
    assert geodesic_codes(blob, blob[:, :2]) is None  # flat: PCA's codes do as well
