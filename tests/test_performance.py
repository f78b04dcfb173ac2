"""The fast paths give the results of the slow ones; threads stay the user's.

Speed itself is measured by ``benchmarks/bench_speed.py``, never asserted here.
"""

import copy

import numpy as np
import pytest
import torch
from skorch import NeuralNet
from threadpoolctl import threadpool_limits

import sklearn_ae._base
from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer
from sklearn_ae._inference import _module_in
from sklearn_ae._modules import MLPAutoencoder
from sklearn_ae._net import _AutoencoderNet, _Monitor


def _data(n_samples=203, n_features=6, dtype=np.float64, seed=0):
    rng = np.random.RandomState(seed)
    latent = rng.normal(size=(n_samples, 2))
    X = np.hstack([latent, np.sin(latent)]) @ rng.normal(size=(4, n_features))
    return (X + 0.05 * rng.normal(size=X.shape)).astype(dtype)


def test_fast_data_path_matches_skorch_default_loss_curve():
    # Same module, seed, optimizer and batches (203 rows: the last batch is
    # partial): slicing one tensor must train exactly as skorch's default
    # Dataset/DataLoader path does, row by row and collated.
    X = torch.from_numpy(_data(dtype=np.float32))
    torch.manual_seed(0)
    module = MLPAutoencoder(n_features=6, n_components=2, hidden_layer_sizes=(8,))
    seed, epochs, common = 7, 4, dict(optimizer=torch.optim.Adam, lr=1e-2, batch_size=32)

    fast = _AutoencoderNet(
        copy.deepcopy(module),
        seed=seed,
        max_epochs=epochs,
        callbacks=[("monitor", _Monitor(tol=0.0, n_iter_no_change=epochs, verbose=0))],
        **common,
    ).initialize()
    fast.train_epochs(X, epochs)

    class SeededPermutations(torch.utils.data.Sampler):
        """One permutation per epoch from a seeded generator, as the fast path draws."""

        generator = torch.Generator().manual_seed(seed)

        def __len__(self):
            return len(X)

        def __iter__(self):
            return iter(torch.randperm(len(X), generator=self.generator).tolist())

    sampler = SeededPermutations()
    default = NeuralNet(
        copy.deepcopy(module),
        criterion=torch.nn.MSELoss,
        max_epochs=epochs,
        train_split=None,
        iterator_train__sampler=sampler,
        verbose=0,
        **common,
    ).fit(X.numpy(), X.numpy())

    fast_curve = fast.history[:, "train_loss"]
    default_curve = default.history[:, "train_loss"]
    assert len(fast_curve) == epochs
    assert fast_curve[-1] < fast_curve[0]  # it trained
    np.testing.assert_allclose(fast_curve, default_curve, rtol=1e-6)
    fast_state, default_state = fast.module_.state_dict(), default.module_.state_dict()
    for name, value in fast_state.items():
        np.testing.assert_allclose(value, default_state[name], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_inference_equals_single_batch(monkeypatch, dtype):
    X = _data(dtype=dtype)
    est = AutoencoderTransformer(
        n_components=2, hidden_layer_sizes=(8,), max_iter=3, random_state=0
    ).fit(X)
    codes = est.transform(X)

    def outputs():
        return [
            est.transform(X),
            est.inverse_transform(codes),
            est.score_samples(X),
            est.reconstruction_error(X, per_feature=True),
        ]

    monkeypatch.setattr(sklearn_ae._base, "_CHUNK_BYTES", 2**40)  # one chunk
    assert est._chunk_rows(X.shape[1]) > len(X)
    single = outputs()
    monkeypatch.setattr(sklearn_ae._base, "_CHUNK_BYTES", 8 * 6 * 10)  # chunks of 10 rows
    assert est._chunk_rows(X.shape[1]) == 10
    chunked = outputs()

    # float32 products of other shapes round differently, by a few units in the
    # last place of values near 1 (which kernel runs depends on the CPU): a
    # squared error (x - r) ** 2 then moves by 2 |x - r| times that, up to a
    # few 1e-7, and more relative to the error itself when it is small. A row
    # mixed up between chunks would be off by the data's scale, about 1.
    atol = 1e-6 if dtype == np.float32 else 0
    for got, expected in zip(chunked, single, strict=True):
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(
            got, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=atol
        )

    # ... and both equal a hand-written forward pass of the module.
    module = copy.deepcopy(est.net_.module_).to(torch.float64).eval()
    with torch.inference_mode():
        x = torch.from_numpy((X.astype(np.float64) - est.mean_) / est.scale_)
        expected_codes = module.encode(x).numpy()
        expected_errors = ((module(x) - x) ** 2).mean(dim=1).numpy()
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(chunked[0], expected_codes, rtol=tol, atol=tol)
    np.testing.assert_allclose(-chunked[2], expected_errors, rtol=tol, atol=tol)


def test_the_float64_copy_of_the_module_is_kept_until_training_changes_it():
    # float64 rows are scored by a float64 copy of the float32 module, made
    # once (a few ms of Python work per call otherwise, most of the time of
    # scoring a few rows); the next call after training must use the new
    # weights.
    X = _data()
    est = AutoencoderOutlierDetector(
        n_components=2, hidden_layer_sizes=(8,), max_iter=2, random_state=0
    ).fit(X)
    module = est.net_.module_
    assert _module_in(module, torch.float64) is _module_in(module, torch.float64)
    before = est.score_samples(X)
    np.testing.assert_array_equal(est.score_samples(X), before)

    est.partial_fit(X)
    after = est.score_samples(X)
    assert not np.allclose(after, before)  # training moved the scores ...
    # ... to those of a fresh copy of the trained module
    np.testing.assert_array_equal(after, copy.deepcopy(est).score_samples(X))

    # weights loaded into the fitted module in place are seen too
    first, second = (
        AutoencoderTransformer(
            n_components=2,
            hidden_layer_sizes=(8,),
            max_iter=3,
            early_stopping=False,
            random_state=seed,
        ).fit(X)
        for seed in (0, 1)
    )
    codes = first.transform(X)
    first.net_.module_.load_state_dict(second.net_.module_.state_dict())
    assert not np.allclose(second.transform(X), codes)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))


def test_inference_does_not_mutate_read_only_input():
    X = _data(dtype=np.float32)
    est = AutoencoderTransformer(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X)
    X_ro = X.copy()
    X_ro.setflags(write=False)
    np.testing.assert_array_equal(est.transform(X_ro), est.transform(X))
    np.testing.assert_array_equal(X_ro, X)


def test_validation_split_shares_the_training_tensor():
    # Early stopping holds rows out by index: no copy of X is made for it.
    X = torch.from_numpy(_data(dtype=np.float32))
    net = _AutoencoderNet(MLPAutoencoder(6, 2), seed=0, validation_fraction=0.25)
    train, valid = net.get_split_datasets(X)
    assert train.data is X and valid.data is X
    assert len(train) + len(valid) == len(X)
    assert set(train.indices.tolist()).isdisjoint(valid.indices.tolist())


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_torch_thread_count_is_left_alone(Estimator):
    X = _data()
    before = torch.get_num_threads()
    est = Estimator(hidden_layer_sizes=(8,), max_iter=2, early_stopping=True, random_state=0)
    est.fit(X)
    est.score_samples(X)
    assert torch.get_num_threads() == before


def test_threadpool_limits_recipe_bounds_threads_per_estimator():
    # The documented recipe: threadpoolctl limits torch's threads for one fit
    # and restores the previous count afterwards.
    X = _data()
    before = torch.get_num_threads()
    seen = []

    class Spy(MLPAutoencoder):
        def forward(self, x):
            seen.append(torch.get_num_threads())
            return super().forward(x)

    est = AutoencoderTransformer(module=Spy, max_iter=1, random_state=0)
    with threadpool_limits(limits=1):
        est.fit(X)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
