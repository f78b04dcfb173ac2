"""Progress output: ``verbose=0`` is silent, 1 prints a line per epoch, 2 adds a bar."""

import re
import warnings

import numpy as np
import pytest

from sklearn_ae import AutoencoderOutlierDetector, AutoencoderTransformer

START_REPORT = re.compile(
    r"^(Kept (PCA's start|the graph start|the initial weights|the previous model): no epoch "
    r"lowered the mean validation error beyond chance.*\(improvement_over_start_ = 0\.0\)\.|"
    r"Training lowered the mean validation error by \d+\.\d % from .*"
    r"\(improvement_over_start_ = \d\.\d{4}\)\.)$"
)
EPOCH_LINE = re.compile(
    r"^epoch +(?P<epoch>\d+)  train_loss (?P<train>\d+\.\d{6})"
    r"(  valid_loss (?P<valid>\d+\.\d{6}))?  time \d+\.\d{3}s$"
)
FAST = dict(hidden_layer_sizes=(8,), max_iter=3, batch_size=20, random_state=0)


@pytest.fixture
def X():
    return np.random.RandomState(0).normal(size=(60, 5))


def _fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 3 epochs
        return estimator.fit(X)


def _epoch_lines(text):
    lines = text.splitlines()
    matches = [EPOCH_LINE.match(line) for line in lines]
    assert all(matches), f"unexpected output lines: {lines}"
    return matches


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderOutlierDetector])
def test_verbose_0_prints_nothing(Estimator, X, capsys):
    _fit(Estimator(verbose=0, **FAST), X)
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ""


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_1_prints_one_line_per_epoch(early_stopping, X, capsys):
    ae = _fit(AutoencoderTransformer(verbose=1, early_stopping=early_stopping, **FAST), X)
    out, err = capsys.readouterr()
    assert err == ""  # no progress bar
    if early_stopping:  # then a last line on what training did to its start
        out, _, report = out.rstrip("\n").rpartition("\n")
        assert "improvement_over_start_ = " in report
    lines = _epoch_lines(out)
    assert len(lines) == ae.n_iter_ == 3
    assert [int(m["epoch"]) for m in lines] == [1, 2, 3]
    assert [float(m["train"]) for m in lines] == pytest.approx(ae.loss_curve_, abs=1e-6)
    if early_stopping:
        valid = [float(m["valid"]) for m in lines]
        assert valid == pytest.approx([-s for s in ae.validation_scores_], abs=1e-6)
    else:
        assert all(m["valid"] is None for m in lines)


def test_verbose_2_shows_a_progress_bar_and_the_epoch_lines(X, capsys):
    ae = _fit(AutoencoderTransformer(verbose=2, early_stopping=False, **FAST), X)
    out, err = capsys.readouterr()
    # one bar (tqdm, on stderr) per epoch, over its 3 batches; it is erased when the
    # epoch ends, and redrawn at most every 0.1 s, so fast epochs show only its start
    assert err.count("0/3 [") == ae.n_iter_
    # each epoch line is printed whole, after its bar was closed
    assert len(_epoch_lines(out)) == ae.n_iter_


def test_verbosity_does_not_change_the_fit(X, capsys):
    curves = [_fit(AutoencoderTransformer(verbose=v, **FAST), X).loss_curve_ for v in (0, 1, 2)]
    assert curves[0] == curves[1] == curves[2]


def test_partial_fit_numbers_epochs_on_and_follows_set_params(X, capsys):
    ae = AutoencoderTransformer(verbose=0, **FAST)
    ae.partial_fit(X)
    assert capsys.readouterr().out == ""
    ae.set_params(verbose=1)
    ae.partial_fit(X)
    ae.partial_fit(X)
    lines = _epoch_lines(capsys.readouterr().out)
    assert [int(m["epoch"]) for m in lines] == [2, 3]


def test_verbose_1_says_whether_training_improved_on_the_start(capsys):
    """The last line reads ``improvement_over_start_``: kept PCA's start, or by how much."""
    rng = np.random.RandomState(0)
    noise = rng.normal(size=(60, 5)) * [3.0, 2.0, 1.0, 1.0, 1.0]  # nothing to learn
    ae = _fit(AutoencoderTransformer(2, verbose=1, random_state=0), noise)
    report = capsys.readouterr().out.splitlines()[-1]
    assert START_REPORT.match(report), report
    assert report.startswith("Kept PCA's start") and ae.improvement_over_start_ == 0.0
    curve = np.linspace(-2, 2, 400)[:, None]
    X = np.hstack([curve, curve**2, np.sin(3 * curve)]) + 0.01 * rng.normal(size=(400, 3))
    ae = _fit(AutoencoderTransformer(1, verbose=1, init="pca", random_state=0), X)
    report = capsys.readouterr().out.splitlines()[-1]
    assert START_REPORT.match(report), report
    assert ae.improvement_over_start_ > 0
    assert f"by {100 * ae.improvement_over_start_:.1f} % from PCA's start" in report
