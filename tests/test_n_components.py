"""``n_components`` as a fraction of variance, as PCA users write it."""

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_s_curve, make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer
from sklearn_ae._search import max_search_fits

# A tight fraction on a curved manifold needs training longer than the defaults
# stop at; smaller batches unroll the swiss roll from every seed we tried (0-4),
# where batches of 200 left some seeds just under 0.95.
LONGER = dict(learning_rate_init=3e-3, n_iter_no_change=50, max_iter=1000, batch_size=64)


def _pca_size(X, fraction):
    """PCA's size for ``fraction`` of the variance of the same raw X."""
    return PCA(n_components=fraction).fit(X).n_components_


@pytest.mark.parametrize("make", [make_swiss_roll, make_s_curve])
def test_manifold_keeps_95_percent_in_2_components_where_pca_needs_3(make):
    X = make(n_samples=3000, noise=0.05, random_state=0)[0]
    assert _pca_size(X, 0.95) == 3
    ae = AutoencoderTransformer(n_components=0.95, random_state=0, **LONGER).fit(X)
    assert ae.n_components_ == 2
    assert ae.retained_variance_ratio_ >= 0.95
    assert ae.n_components_scores_[2] == ae.retained_variance_ratio_
    assert ae.n_components_scores_[1] < 0.95
    assert ae.transform(X).shape == (3000, 2)
    assert len(ae.get_feature_names_out()) == 2


def test_digits_size_is_at_most_pcas_and_keeps_the_fraction_on_unseen_rows():
    X, _ = load_digits(return_X_y=True)
    X_fit, X_unseen = train_test_split(X, test_size=0.3, random_state=0)
    fraction = 0.7
    pca_size = _pca_size(X_fit, fraction)
    ae = AutoencoderTransformer(n_components=fraction, random_state=0).fit(X_fit)
    assert ae.n_components_ <= pca_size
    assert ae.n_components_ < pca_size  # the non-linear model needs fewer
    assert ae.retained_variance_ratio_ >= fraction
    # measured on rows used neither for training nor for the choice
    assert ae._retained_variance_ratio(X_unseen) >= fraction - 0.01
    # the search costs about log2(PCA's size) + 1 fits
    assert len(ae.n_components_scores_) <= max_search_fits(pca_size)
    kept = [k for k, score in ae.n_components_scores_.items() if score >= fraction]
    assert min(kept) == ae.n_components_


def test_integer_n_components_reports_the_variance_kept():
    X, _ = load_digits(return_X_y=True)
    ae = AutoencoderTransformer(n_components=8, max_iter=20, random_state=0).fit(X)
    assert ae.n_components_scores_ is None
    pca = PCA(n_components=8).fit(X)  # in X's units, as the default measures it
    assert pca.explained_variance_ratio_.sum() < ae.retained_variance_ratio_ < 1


def test_grid_search_over_fractions_and_the_detector():
    X = make_swiss_roll(n_samples=600, noise=0.05, random_state=0)[0]
    search = GridSearchCV(
        AutoencoderTransformer(max_iter=30, random_state=0),
        {"n_components": [0.5, 0.99]},
        cv=2,
    ).fit(X)
    assert search.best_params_ == {"n_components": 0.99}
    assert search.best_estimator_.n_components_ >= 2

    detector = AutoencoderOutlierDetector(n_components=0.9, max_iter=30, random_state=0).fit(X)
    assert 1 <= detector.n_components_ <= 3
    assert detector.predict(X).shape == (600,)


def test_partial_fit_takes_pcas_size_on_the_first_chunk():
    X, _ = load_digits(return_X_y=True)
    ae = AutoencoderTransformer(n_components=0.8, random_state=0).partial_fit(X[:900])
    assert ae.n_components_ == _pca_size(X[:900], 0.8)


# -- validation, as PCA's -------------------------------------------------------

FAST = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_an_int_above_min_n_samples_n_features_raises_pcas_error(Estimator):
    X = np.random.RandomState(0).normal(size=(3, 5))
    # PCA's form, whose lower bound is 0 or 1 by solver; ours is 1, as sizes start at 1
    pca_form = r"n_components=4 must be between [01] and min\(n_samples, n_features\)=3"
    with pytest.raises(ValueError, match=pca_form):
        PCA(n_components=4).fit(X)
    with pytest.raises(ValueError, match=pca_form.replace("[01]", "1")):
        Estimator(4, early_stopping=False, **FAST).fit(X)
    assert Estimator(3, early_stopping=False, **FAST).fit(X).n_components_ == 3


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_n_components_is_rejected(Estimator, value):
    X = np.random.RandomState(0).normal(size=(20, 4))
    match = rf"'n_components' parameter of {Estimator.__name__} must be an int.*Got {value}"
    with pytest.raises(InvalidParameterError, match=match):
        Estimator(value, **FAST).fit(X)


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
@pytest.mark.parametrize("n_components", ["default", None, 0.5, 2])
def test_one_column_follows_one_rule_in_both_classes(Estimator, n_components):
    """On one feature only n_components=1 fits, whatever the class and its default."""
    X = np.random.RandomState(0).normal(size=(40, 1))
    estimator = Estimator(**FAST) if n_components == "default" else Estimator(n_components, **FAST)
    match = r"single feature \(n_features=1\).*Pass n_components=1"
    with pytest.raises(ValueError, match=match):
        estimator.fit(X)
    with pytest.raises(ValueError, match=match):
        estimator.partial_fit(X)
    assert not hasattr(estimator, "n_features_in_")
    assert estimator.set_params(n_components=1).fit(X).n_components_ == 1


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_partial_fit_first_chunk_needs_n_components_rows_later_chunks_any(Estimator):
    X = np.random.RandomState(0).normal(size=(30, 6))
    estimator = Estimator(4, **FAST)
    with pytest.raises(ValueError, match=r"min\(n_samples, n_features\)=3.*n_samples=3"):
        estimator.partial_fit(X[:3])
    assert not hasattr(estimator, "n_components_")
    estimator.partial_fit(X[:4]).partial_fit(X[4:6]).partial_fit(X[6:7])
    assert estimator.n_components_ == 4 and estimator.n_samples_seen_ == 7


def test_fraction_search_stays_within_the_training_rows():
    X = np.random.RandomState(0).normal(size=(12, 10))  # 9 training rows for the search
    ae = AutoencoderTransformer(0.99, **FAST).fit(X)
    assert max(ae.n_components_scores_) <= 9
    assert 1 <= ae.n_components_ <= 9
