"""The model family: denoising, sparse, variational, convolutional and custom modules.

Each kind is checked on real data (the digits) for doing its job, not just for
running; fits are kept small so the file runs in seconds.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer


@pytest.fixture(scope="module")
def digits():
    """Pixel intensities in [0, 1]: 1000 training and 400 test rows, and their labels."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:1000], X[1000:1400], y[:1000], y[1000:1400]


def reconstruct(model, X):
    return model.inverse_transform(model.transform(X))


def mse(A, B):
    return float(np.mean((A - B) ** 2))


# -- denoising ------------------------------------------------------------------


def test_denoising_beats_plain_model_on_noisy_digits(digits):
    X_train, X_test, _, _ = digits
    params = dict(
        n_components=16, standardize=False, max_iter=30, random_state=0, early_stopping=False
    )
    plain = AutoencoderTransformer(**params).fit(X_train)
    denoising = AutoencoderTransformer(noise="gaussian", noise_level=0.3, **params).fit(X_train)
    rng = np.random.RandomState(1)
    X_noisy = X_test + 0.3 * rng.standard_normal(X_test.shape)
    plain_error = mse(reconstruct(plain, X_noisy), X_test)
    denoising_error = mse(reconstruct(denoising, X_noisy), X_test)
    assert denoising_error < 0.85 * plain_error


@pytest.mark.parametrize("noise", ["gaussian", "mask"])
def test_noise_is_for_training_only_and_seeded(digits, noise):
    X_train, X_test, _, _ = digits
    params = dict(n_components=4, noise=noise, max_iter=3, random_state=0, early_stopping=False)
    model = AutoencoderTransformer(**params).fit(X_train)
    # inference sees clean data: deterministic, row-independent
    np.testing.assert_array_equal(model.transform(X_test), model.transform(X_test))
    np.testing.assert_allclose(model.transform(X_test[:7]), model.transform(X_test)[:7])
    # the noise is seeded: the same random_state gives the same fit, another does not
    again = AutoencoderTransformer(**params).fit(X_train)
    np.testing.assert_array_equal(model.transform(X_test), again.transform(X_test))
    noisier = AutoencoderTransformer(**{**params, "noise_level": 0.6}).fit(X_train)
    assert not np.allclose(model.transform(X_test), noisier.transform(X_test))


# -- sparse ---------------------------------------------------------------------


@pytest.mark.parametrize("sparsity, weight", [("kl", 0.1), ("l1", 0.01)])
def test_sparse_codes_are_much_less_active_at_similar_error(digits, sparsity, weight):
    X_train, X_test, _, _ = digits
    params = dict(
        n_components=8,
        sparsity=sparsity,
        sparsity_target=0.1,
        standardize=False,
        learning_rate_init=3e-3,
        max_iter=100,
        tol=0,
        random_state=0,
        early_stopping=False,
    )
    # the same architecture (sigmoid or ReLU code), without and with the penalty
    plain = AutoencoderTransformer(sparsity_weight=0.0, **params).fit(X_train)
    sparse = AutoencoderTransformer(sparsity_weight=weight, **params).fit(X_train)
    plain_activation = plain.transform(X_test).mean()
    sparse_activation = sparse.transform(X_test).mean()
    assert sparse_activation < 0.4 * plain_activation
    # at most 15 % more test error (scores are negative errors)
    assert sparse.score(X_test) > 1.15 * plain.score(X_test)


def test_kl_sparsity_reaches_its_target_rate(digits):
    X_train, X_test, _, _ = digits
    model = AutoencoderTransformer(
        n_components=16,
        sparsity="kl",
        sparsity_target=0.1,
        sparsity_weight=1.0,
        standardize=False,
        max_iter=30,
        random_state=0,
        early_stopping=False,
    ).fit(X_train)
    codes = model.transform(X_test)
    assert codes.min() >= 0 and codes.max() <= 1
    assert abs(codes.mean() - 0.1) < 0.05


# -- variational ------------------------------------------------------------------


@pytest.fixture(scope="module")
def vae(digits):
    X_train = digits[0]
    return AutoencoderTransformer(
        n_components=8, variational=True, max_iter=40, random_state=0, early_stopping=False
    ).fit(X_train)


def test_vae_samples_match_mean_and_covariance(digits):
    X_train = digits[0]
    vae = AutoencoderTransformer(
        n_components=32, variational=True, max_iter=40, random_state=0, early_stopping=False
    ).fit(X_train)
    samples = vae.sample(2000, random_state=0)
    means = vae.sample(2000, random_state=0, add_noise=False)
    assert samples.shape == (2000, X_train.shape[1]) and samples.dtype == np.float64
    rng = np.random.RandomState(0)
    # noise: uniform pixels; and a strong baseline, independent pixels with the
    # data's own mean and spread (it matches the mean and the variances exactly)
    uniform = rng.uniform(size=samples.shape)
    independent = X_train.mean(0) + X_train.std(0) * rng.standard_normal(samples.shape)

    def distances(Y):
        return (
            np.linalg.norm(Y.mean(0) - X_train.mean(0)),
            np.linalg.norm(np.cov(Y, rowvar=False) - np.cov(X_train, rowvar=False)),
        )

    vae_mean, vae_cov = distances(samples)
    uniform_mean, uniform_cov = distances(uniform)
    independent_cov = distances(independent)[1]
    assert vae_mean < 0.05 * uniform_mean
    # the features co-vary as the data's do: far better than any noise
    assert vae_cov < min(uniform_cov, independent_cov) / 3
    # the decoder's means lack the observation noise, hence the data's variances
    assert distances(means)[1] > 1.2 * vae_cov
    assert vae.noise_variance_.shape == (X_train.shape[1],)
    np.testing.assert_allclose(samples.var(0), X_train.var(0), atol=0.035)


def test_vae_sampling_is_seeded_and_transform_is_the_posterior_mean(digits, vae):
    X_test = digits[1]
    np.testing.assert_array_equal(vae.sample(5, random_state=3), vae.sample(5, random_state=3))
    assert not np.array_equal(vae.sample(5, random_state=3), vae.sample(5, random_state=4))
    # without the noise: the decoder's means of the same prior codes
    codes = np.random.RandomState(3).standard_normal((5, vae.n_components_))
    means = vae.sample(5, random_state=3, add_noise=False)
    np.testing.assert_allclose(means, vae.inverse_transform(codes))
    assert not np.allclose(means, vae.sample(5, random_state=3))
    codes = vae.transform(X_test)
    np.testing.assert_array_equal(codes, vae.transform(X_test))
    np.testing.assert_allclose(vae.transform(X_test[:5]), codes[:5])


def test_beta_changes_the_code_distribution(digits, vae):
    X_train, X_test = digits[:2]
    strong = AutoencoderTransformer(
        n_components=8,
        variational=True,
        beta=20.0,
        max_iter=40,
        random_state=0,
        early_stopping=False,
    ).fit(X_train)
    weak = AutoencoderTransformer(
        n_components=8,
        variational=True,
        beta=0.05,
        max_iter=40,
        random_state=0,
        early_stopping=False,
    ).fit(X_train)

    def mean_kl(model):
        x = torch.as_tensor((X_test - model.mean_) / model.scale_, dtype=torch.float32)
        with torch.no_grad():
            return float(model.net_.module_.kl_divergence(x).mean())

    # a stronger KL term pulls the posteriors towards the prior N(0, I) ...
    assert mean_kl(strong) < 0.5 * mean_kl(vae) < 0.25 * mean_kl(weak)
    # ... and so shrinks the spread of the posterior means
    spreads = [model.transform(X_test).std() for model in (strong, vae, weak)]
    assert spreads[0] < spreads[1] < spreads[2]


def test_sample_needs_a_variational_model(digits):
    model = AutoencoderTransformer(n_components=2, max_iter=1).fit(digits[0])
    with pytest.raises(AttributeError, match="variational=True"):
        model.sample(3)


def test_elbo_scoring_finds_other_digits(digits):
    X_train, X_test, y_train, y_test = digits
    from sklearn.metrics import roc_auc_score

    params = dict(
        n_components=4, variational=True, max_iter=40, random_state=0, early_stopping=False
    )
    inliers = X_train[y_train == 0]
    is_outlier = y_test != 0
    for anomaly_score in ("reconstruction", "elbo"):
        detector = AutoencoderOutlierDetector(anomaly_score=anomaly_score, **params).fit(inliers)
        scores = detector.score_samples(X_test)
        assert scores.dtype == np.float64
        assert roc_auc_score(is_outlier, -scores) > 0.95
        np.testing.assert_allclose(detector.decision_function(X_test), scores - detector.offset_)
    with pytest.raises(ValueError, match="variational"):
        AutoencoderOutlierDetector(anomaly_score="elbo").fit(X_train)


# -- convolutional ------------------------------------------------------------------


def test_convolutional_reconstructs_digits_as_well_as_mlp(digits):
    X_train, X_test, _, _ = digits
    params = dict(
        n_components=8,
        standardize=False,
        learning_rate_init=3e-3,
        max_iter=40,
        random_state=0,
        early_stopping=False,
    )
    mlp = AutoencoderTransformer(**params).fit(X_train)
    conv = AutoencoderTransformer(image_shape=(1, 8, 8), **params).fit(X_train)
    # at least as well as the MLP, with no tolerance (scores are negative errors)
    assert conv.score(X_test) >= mlp.score(X_test)


def test_convolutional_in_a_pipeline_with_inferred_shape(digits):
    X_train, X_test, _, _ = digits
    pipe = make_pipeline(
        MinMaxScaler(), AutoencoderTransformer(n_components=4, image_shape=(1, -1, 8), max_iter=2)
    ).fit(X_train)
    assert pipe.transform(X_test).shape == (len(X_test), 4)
    assert pipe[-1].net_.module_.encoder.residual[0].unflattened_size == (1, 8, 8)


@pytest.mark.parametrize("image_shape", [(1, 7, 8), (2, 8, 8), (1, -1, -1), (1, 2, 3, 4), (0, -1)])
def test_image_shape_must_fit_the_rows(digits, image_shape):
    with pytest.raises(ValueError, match="image_shape"):
        AutoencoderTransformer(image_shape=image_shape, max_iter=1).fit(digits[0])


# -- custom modules -------------------------------------------------------------------


class TwoLayerAutoencoder(torch.nn.Module):
    """A user's module, with one hyper-parameter a grid search can tune."""

    def __init__(self, n_features, n_components, width=16):
        super().__init__()
        self.encoder = torch.nn.Sequential(
            torch.nn.Linear(n_features, width),
            torch.nn.Tanh(),
            torch.nn.Linear(width, n_components),
        )
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(n_components, width),
            torch.nn.Tanh(),
            torch.nn.Linear(width, n_features),
        )

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))


def test_custom_module_trains_grid_searches_and_pickles(digits):
    X_train, X_test, _, _ = digits
    model = AutoencoderTransformer(n_components=8, module=TwoLayerAutoencoder, max_iter=20)
    model.set_params(random_state=0, early_stopping=False)
    search = GridSearchCV(model, {"module__width": [2, 64]}, cv=2).fit(X_train)
    assert search.best_params_ == {"module__width": 64}
    best = search.best_estimator_
    assert isinstance(best.net_.module_, TwoLayerAutoencoder)
    assert best.net_.module_.encoder[0].out_features == 64
    assert best.loss_curve_[-1] < 0.7 * best.loss_curve_[0]  # it trained
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.transform(X_test), best.transform(X_test))


def test_custom_module_instance_is_copied_never_changed(digits):
    X_train, X_test, _, _ = digits
    instance = TwoLayerAutoencoder(n_features=64, n_components=4)
    before = {k: v.clone() for k, v in instance.state_dict().items()}
    model = AutoencoderTransformer(
        n_components=4, module=instance, max_iter=5, random_state=0, early_stopping=False
    )
    model.fit(X_train)
    assert model.net_.module_ is not instance
    for key, value in instance.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    # it started from the instance's weights and trained them
    assert not torch.equal(model.net_.module_.encoder[0].weight, before["encoder.0.weight"])
    assert model.transform(X_test).shape == (len(X_test), 4)
    with pytest.raises(ValueError, match="module instance"):
        model.set_params(module__width=8).fit(X_train)


def test_custom_module_penalty_is_added_in_training(digits):
    class Penalised(TwoLayerAutoencoder):
        def forward(self, x):
            code = self.encode(x)
            return self.decode(code), 10.0 * code.square().mean()

    X_train = digits[0]
    params = dict(n_components=4, max_iter=20, random_state=0, early_stopping=False)
    free = AutoencoderTransformer(module=TwoLayerAutoencoder, **params).fit(X_train)
    penalised = AutoencoderTransformer(module=Penalised, **params).fit(X_train)
    penalised_size = np.abs(penalised.transform(X_train)).mean()
    assert penalised_size < 0.5 * np.abs(free.transform(X_train)).mean()


@pytest.mark.parametrize(
    "params",
    [
        dict(variational=True),
        dict(image_shape=(1, 8, 8)),
    ],
)
def test_builtin_choices_do_not_apply_to_custom_modules(digits, params):
    with pytest.raises(ValueError, match="custom module"):
        AutoencoderTransformer(module=TwoLayerAutoencoder, max_iter=1, **params).fit(digits[0])


# -- losses and invalid combinations ------------------------------------------------------


def test_binary_crossentropy_on_intensities(digits):
    X_train, X_test, _, _ = digits
    model = AutoencoderTransformer(
        n_components=8,
        loss="binary_crossentropy",
        standardize=False,
        max_iter=20,
        random_state=0,
        early_stopping=False,
    ).fit(X_train)
    reconstruction = reconstruct(model, X_test)
    assert reconstruction.min() >= 0 and reconstruction.max() <= 1
    assert mse(reconstruction, X_test) < 0.5 * mse(X_test.mean(0), X_test)
    with pytest.raises(ValueError, match="standardize=False"):
        AutoencoderTransformer(loss="binary_crossentropy").fit(X_train)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        AutoencoderTransformer(loss="binary_crossentropy", standardize=False).fit(16 * X_train)


def test_absolute_error_is_used_for_errors(digits):
    X_train, X_test, _, _ = digits
    model = AutoencoderTransformer(
        n_components=4, loss="absolute_error", max_iter=5, random_state=0, early_stopping=False
    ).fit(X_train)
    expected = np.abs((reconstruct(model, X_test) - X_test) / model.scale_).mean(axis=1)
    np.testing.assert_allclose(model.reconstruction_error(X_test), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(noise="mask", noise_level=1.0), "below 1"),
        (dict(variational=True, sparsity="l1"), "cannot be combined"),
        (dict(variational=True, image_shape=(1, 8, 8)), "cannot be combined"),
    ],
)
def test_invalid_combinations(digits, params, match):
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(max_iter=1, **params).fit(digits[0])


@pytest.mark.parametrize(
    "params",
    [
        dict(noise="gaussian"),
        dict(variational=True),
        dict(sparsity="kl"),
        dict(image_shape=(1, 8, 8)),
    ],
)
def test_family_fits_are_bit_identical_and_leave_global_rng_alone(digits, params):
    X_train = digits[0][:200]
    state = torch.get_rng_state()
    fits = [
        AutoencoderTransformer(
            n_components=4, max_iter=3, random_state=0, early_stopping=False, **params
        ).fit(X_train)
        for _ in range(2)
    ]
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(fits[0].transform(X_train), fits[1].transform(X_train))
    assert fits[0].transform(X_train.astype(np.float32)).dtype == np.float32
