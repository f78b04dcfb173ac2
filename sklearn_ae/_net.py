"""All skorch glue: the private ``NeuralNet`` subclass the estimators hold as ``net_``.

skorch's default data path builds a ``Dataset`` that fetches rows one at a time
and collates them, which makes small networks several times slower than a plain
PyTorch loop. Here the training data is one tensor; batches are slices of it (in
order) or gathers through a seeded permutation (shuffled), so an epoch costs what
a hand-written loop costs. The validation split is a pair of index tensors into
the same tensor: no copy of the data is made for it. Those rows, blocks and
batches live in ``_data.py``, the losses in ``_losses.py``; this file holds the
net, its monitor callback and the rule that keeps the starting weights.
"""

import copy
import math
import signal
import threading
import time

import numpy as np
import torch
from scipy.stats import ttest_1samp
from skorch import NeuralNet
from skorch.callbacks import Callback, ProgressBar

from ._data import _BatchIterator, _BlockIterator, _Blocks, _Rows, _split_indices
from ._losses import _ReconstructionLoss, elementwise_loss, sparsity_penalty

# Early stopping replaces the starting weights by those of a later epoch only
# when the epoch lowers the mean reconstruction error of the validation rows
# beyond chance: a one-sided paired t-test of the per-row gains at this level.
# On a few dozen validation rows a lower mean loss is often chance, and the
# start (PCA's solution) is then kept. The mean, not the typical row, because
# the mean squared error is what PCA minimises and what the user measures: a
# signed-rank test of the same gains (used before) let most rows improve a
# little while a few heavy-tailed rows got much worse (raw e-mail spam
# features at k=2: held-out error 1.04 to 1.26 times PCA's). A few large
# losses lower the mean gain and widen its spread, so the t-test keeps the
# start there.
_SIGNIFICANCE_LEVEL = 0.01


def _significant(gain):
    """Whether per-row gains ``gain`` (a float64 tensor) have a mean above zero, beyond chance."""
    gain = gain.cpu().numpy()
    if not np.any(gain != 0):
        return False
    if np.ptp(gain) == 0:  # the same gain on every row: no spread to test against
        return bool(gain[0] > 0)
    return bool(ttest_1samp(gain, 0.0, alternative="greater").pvalue < _SIGNIFICANCE_LEVEL)


class _StopTraining(Exception):
    """Raised by the monitor to end training when the loss stops improving."""


class TrainingDivergedError(ValueError):
    """The training loss became non-finite."""


_DIVERGED_FIX = (
    "Lower learning_rate_init, keep standardize on (not False), or scale features with huge "
    "magnitudes."
)


def _fused_adam(device):
    """Whether torch has a fused Adam for ``device`` (CPU since torch 2.4, CUDA).

    The fused kernel updates every parameter in one pass instead of a dozen small
    operations per tensor; on small networks that makes a training step
    noticeably cheaper, with the same updates up to rounding.
    """
    try:
        torch.optim.Adam([torch.zeros(1, device=device, requires_grad=True)], fused=True)
    except (RuntimeError, ValueError):
        return False
    return True


def _import_compiler_modules():
    """Import ``torch._dynamo`` now, holding Ctrl-C back until the import is done.

    torch's optimizers import their compiler's modules (and sympy) when the
    first one is made: about a second that a first fit would otherwise pay.
    Ctrl-C in the middle of that import left sympy half imported, and every
    later fit in the process failed. A Ctrl-C during the import is delivered
    once it completes.
    """
    if threading.current_thread() is not threading.main_thread():
        import torch._dynamo  # noqa: F401  (signals reach the main thread only)

        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        import torch._dynamo  # noqa: F401
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(*caught[0])


_import_compiler_modules()


class _Monitor(Callback):
    """Per-epoch bookkeeping in scikit-learn's ``MLPRegressor`` conventions.

    Tracks the best loss, counts epochs without an improvement of at least
    ``tol`` and asks training to stop after more than ``n_iter_no_change`` of
    them. When a validation loss is recorded (early stopping) it is the one
    watched, and the weights of its best epoch are kept. A non-finite loss raises
    ``TrainingDivergedError``.
    """

    def __init__(self, *, tol, n_iter_no_change, verbose):
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.verbose = verbose

    def initialize(self):
        self.best_ = math.inf
        self.no_improvement_count_ = 0
        self.best_state_ = None
        self.converged_ = False
        return self

    def on_epoch_begin(self, net, **kwargs):
        self._start = time.perf_counter()

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        epoch = len(net.history)
        early_stopping = "valid_loss" in row
        watched = "valid_loss" if early_stopping else "train_loss"
        for key in ("train_loss", watched):
            if not math.isfinite(row[key]):
                raise TrainingDivergedError(
                    f"The {key.replace('_', ' ')} became non-finite ({row[key]}) at "
                    f"epoch {epoch}: training diverged. {_DIVERGED_FIX}"
                )
        net.history.record("dur", time.perf_counter() - self._start)
        value = row[watched]
        if value > self.best_ - self.tol:
            self.no_improvement_count_ += 1
        else:
            self.no_improvement_count_ = 0
        if value < self.best_:
            self.best_ = value
            if early_stopping:
                self.best_state_ = {
                    k: v.detach().clone() for k, v in net.module_.state_dict().items()
                }
        if self.verbose:
            line = f"epoch {epoch:4d}  train_loss {row['train_loss']:.6f}"
            if "valid_loss" in row:
                line += f"  valid_loss {row['valid_loss']:.6f}"
            print(f"{line}  time {row['dur']:.3f}s", flush=True)
        if self.no_improvement_count_ > self.n_iter_no_change:
            self.converged_ = True
            raise _StopTraining


def training_callbacks(tol, n_iter_no_change, verbose):
    """The net's callbacks: the ``_Monitor``, and a progress bar when ``verbose >= 2``."""
    callbacks = [
        ("monitor", _Monitor(tol=tol, n_iter_no_change=n_iter_no_change, verbose=verbose))
    ]
    if verbose >= 2:
        # first, so the bar is closed before the monitor prints or stops training
        callbacks.insert(0, ("progress_bar", ProgressBar()))
    return callbacks


class _AutoencoderNet(NeuralNet):
    """skorch net that trains an autoencoder module on a tensor of rows.

    Parameters
    ----------
    module : torch.nn.Module
        An initialised module (see ``_modules``).
    seed : int
        Seed of the shuffling and validation-split generators.
    validation_fraction : float or None
        Fraction of rows held out to watch the validation loss; None for none.
    **kwargs
        Passed to ``skorch.NeuralNet`` (optimizer, lr, batch_size, device, ...).
    """

    def __init__(self, module, *, seed=0, validation_fraction=None, **kwargs):
        super().__init__(module, criterion=_ReconstructionLoss, train_split=None, **kwargs)
        self.seed = seed
        self.validation_fraction = validation_fraction
        # Training-only regularisation, set by the estimator before each training.
        self.noise = self.sparsity = None
        self.noise_level = self.sparsity_weight = self.sparsity_target = 0.0

    def get_default_callbacks(self):
        return []

    def __deepcopy__(self, memo):
        # skorch copies a net through its pickling (a torch.save/torch.load round
        # trip per attribute); copying the attributes directly is several times
        # faster, which matters for partial_fit, which copies the net every call.
        # Rows of finished epochs are never modified, so the copy shares them.
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        history = self.__dict__.get("history")
        if history is not None:
            memo[id(history)] = type(history)(history)
        clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return clone

    # -- data path ------------------------------------------------------------

    def get_split_datasets(self, X, y=None, **fit_params):
        if isinstance(X, _Blocks):
            return X.split(self.validation_fraction, self.seed)
        if not self.validation_fraction:
            return _Rows(X), None
        train, valid = _split_indices(len(X), self.validation_fraction, self.seed)
        return _Rows(X, train), _Rows(X, valid)

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, _Blocks):
            return _BlockIterator(dataset, self.batch_size, self._generator if training else None)
        return _BatchIterator(dataset, self.batch_size, self._generator if training else None)

    # -- steps ------------------------------------------------------------------

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if isinstance(y_pred, tuple):
            reconstruction, penalty = y_pred
            loss = self.criterion_(reconstruction, y_true)
            return loss + penalty if training else loss
        return self.criterion_(y_pred, y_true)

    def train_step(self, batch, **fit_params):
        optimizer = self.optimizer_
        optimizer.zero_grad(set_to_none=True)
        loss = self._training_loss(batch)
        loss.backward()
        optimizer.step()
        return loss.detach()

    def _corrupted(self, batch):
        """``batch`` with the training noise: Gaussian, or masking to zero (the mean)."""
        if self.noise is None:
            return batch
        # Drawn on the CPU from the seeded shuffling generator: the same noise on any device.
        if self.noise == "gaussian":
            noise = torch.randn(batch.shape, generator=self._generator, dtype=batch.dtype)
            return batch + self.noise_level * noise.to(batch.device)
        keep = torch.rand(batch.shape, generator=self._generator) >= self.noise_level
        return batch * keep.to(batch.device, batch.dtype)

    def _objective(self, inputs, targets):
        """Loss of reconstructing ``targets`` from ``inputs``, plus the model's penalties."""
        if self.sparsity is None:
            return self.get_loss(self.module_(inputs), targets, training=True)
        code = self.module_.encode(inputs)
        loss = self.get_loss(self.module_.decode(code), targets, training=True)
        penalty = sparsity_penalty(code, self.sparsity, self.sparsity_target)
        return loss + self.sparsity_weight * penalty

    def _training_loss(self, batch):
        """The objective of reconstructing the clean ``batch`` from its corrupted copy."""
        return self._objective(self._corrupted(batch), batch)

    def validation_step(self, batch, **fit_params):
        # The training objective on clean rows, penalties included: early stopping
        # then keeps the best regularised model (a VAE's best ELBO), not the epoch
        # with the best plain reconstruction.
        return self._objective(batch, batch)

    def on_epoch_end(self, net, **kwargs):
        after_epoch = getattr(self, "_after_epoch", None)  # set by ``train_epochs``
        if after_epoch is not None:
            after_epoch()

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        self._set_training(training)
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        with torch.set_grad_enabled(training):
            for batch in iterator:
                loss = step_fn(batch)
                total += loss * len(batch)
                if self._batch_callbacks:
                    # the progress bar shows the last batch loss, read from history
                    self.history.new_batch()
                    self.history.record_batch(prefix + "_loss", loss.item())
                    self.notify("on_batch_end", batch=batch, training=training)
        self._set_training(False)
        self.history.record(prefix + "_loss", total.item() / len(iterator.rows))

    def _validation_loss(self, X):
        """Loss of the current weights on the validation rows of ``X``."""
        valid = self.get_split_datasets(X)[1]
        self._set_training(False)
        total = 0.0
        with torch.no_grad():
            for batch in self.get_iterator(valid):
                total += self.validation_step(batch).item() * len(batch)
        return total / len(valid)

    def _validation_row_losses(self, X):
        """Reconstruction loss of each validation row of ``X`` (mean over features), float64."""
        valid = self.get_split_datasets(X)[1]
        self._set_training(False)
        losses = []
        with torch.no_grad():
            for batch in self.get_iterator(valid):
                output = self.module_(batch)
                output = output[0] if isinstance(output, tuple) else output
                error = elementwise_loss(self.criterion_.loss, output, batch)
                losses.append(error.mean(dim=1).double())
        return torch.cat(losses)

    # -- training ---------------------------------------------------------------

    def train_epochs(self, X, epochs, *, restart=True, after_epoch=None):
        """Train for up to ``epochs`` epochs on the rows of tensor ``X``.

        ``restart=False`` continues the previous call's bookkeeping of the best
        loss (``partial_fit``); otherwise the patience count starts anew.
        ``after_epoch``, if given, is called with no argument after every epoch.

        Returns
        -------
        status : {"converged", "max_iter", "interrupted"}
            Why training ended. With a validation split, the weights of the best
            validation epoch are restored whatever the reason, unless its
            validation rows are not reconstructed better than by the starting
            weights beyond chance (``_significant``): the starting weights are
            then restored, and ``kept_start_`` is True. ``start_gain_`` is the
            relative decrease of the mean validation error from the start to
            the weights kept (0.0 when the start is kept); None when the start
            was not compared (no validation rows, or ``restart=False``).

        Raises
        ------
        TrainingDivergedError
            If the loss became non-finite.
        """
        monitor = dict(self.callbacks_)["monitor"]
        if restart:
            monitor.initialize()
        monitor.best_state_ = start = None
        if restart and self.validation_fraction:
            # The starting weights compete with every epoch: early stopping never
            # restores a model worse on the validation rows than the one it began
            # with (for the built-in module, PCA's solution).
            monitor.best_ = self._validation_loss(X)
            start = {k: v.detach().clone() for k, v in self.module_.state_dict().items()}
            monitor.best_state_ = start
            start_losses = self._validation_row_losses(X)
        self._batch_callbacks = any(isinstance(cb, ProgressBar) for _, cb in self.callbacks_)
        self._generator = torch.Generator().manual_seed(self.seed + len(self.history))
        self._after_epoch = after_epoch
        status = "max_iter"
        try:
            self.fit_loop(X, epochs=epochs)
        except _StopTraining:
            status = "converged"
        except KeyboardInterrupt:
            status = "interrupted"
            if len(self.history) and "dur" not in self.history[-1]:
                del self.history[-1]  # the epoch under way did not finish
        finally:
            del self._generator, self._after_epoch
            self._set_training(False)
        self.kept_start_ = start is not None and monitor.best_state_ is start
        self.start_gain_ = 0.0 if self.kept_start_ else None
        if monitor.best_state_ is not None:
            self.module_.load_state_dict(monitor.best_state_)
            if start is not None and not self.kept_start_:
                losses = self._validation_row_losses(X)
                if _significant(start_losses - losses):
                    self.start_gain_ = 1.0 - float(losses.mean() / start_losses.mean())
                else:
                    self.module_.load_state_dict(start)
                    self.kept_start_ = True
                    self.start_gain_ = 0.0
        if not all(torch.isfinite(p).all() for p in self.module_.parameters()):
            raise TrainingDivergedError(
                f"The network's weights became non-finite: training diverged. {_DIVERGED_FIX}"
            )
        return status
