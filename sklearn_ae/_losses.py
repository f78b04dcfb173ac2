"""Reconstruction losses and penalties, in plain PyTorch (no skorch, no scikit-learn).

The estimators measure errors with ``elementwise_loss`` (scores, retained
variance, the decoder's noise) and train with ``_ReconstructionLoss``, its
mean as one fused kernel; ``sparsity_penalty`` is the sparse autoencoder's
penalty on the code. ``retained_variance`` and ``observation_noise`` sum
losses of a fitted module over chunks of standardized rows. A new loss goes
here, beside its mean in ``_MEAN_LOSSES`` and its link in ``output_link``.
"""

import numpy as np
import torch


def reconstruction(module, x):
    """The module's reconstruction of ``x`` (without the penalty a forward may add)."""
    out = module(x)
    return out[0] if isinstance(out, tuple) else out


def elementwise_loss(loss, output, target):
    """Per-element reconstruction loss of the module's ``output`` against ``target``.

    ``loss`` is ``"squared_error"``, ``"absolute_error"`` or
    ``"binary_crossentropy"``; for the latter ``output`` holds logits (see
    ``output_link``).
    """
    if loss == "squared_error":
        return (output - target).square()
    if loss == "absolute_error":
        return (output - target).abs()
    return torch.nn.functional.binary_cross_entropy_with_logits(output, target, reduction="none")


def output_link(loss, output):
    """Map the module's output to the data's units: a sigmoid of logits for cross-entropy."""
    return torch.sigmoid(output) if loss == "binary_crossentropy" else output


# The mean of ``elementwise_loss`` as one fused kernel (forward and backward): on
# small networks the separate difference, square and mean kernels of every
# training step would cost as much as a layer.
_MEAN_LOSSES = {
    "squared_error": torch.nn.functional.mse_loss,
    "absolute_error": torch.nn.functional.l1_loss,
    "binary_crossentropy": torch.nn.functional.binary_cross_entropy_with_logits,
}


class _ReconstructionLoss(torch.nn.Module):
    """Mean of ``elementwise_loss``: the criterion of the net."""

    def __init__(self, loss="squared_error"):
        super().__init__()
        self.loss = loss

    def forward(self, output, target):
        return _MEAN_LOSSES[self.loss](output, target)


def sparsity_penalty(code, sparsity, target):
    """Penalty on a batch of codes: ``"l1"`` or ``"kl"`` (to activation rate ``target``).

    ``"l1"`` is the mean absolute activation. ``"kl"`` is the mean over code
    units of ``KL(target || rate)``, where ``rate`` is a unit's mean activation
    over the batch (activations must lie in [0, 1]).
    """
    if sparsity == "l1":
        return code.abs().mean()
    rate = code.mean(dim=0).clamp(1e-6, 1 - 1e-6)
    kl = target * torch.log(target / rate) + (1 - target) * torch.log((1 - target) / (1 - rate))
    return kl.mean()


def retained_variance(module, loss, chunks, n_features):
    """Fraction of the variance of standardized float32 rows that ``module`` keeps.

    One minus the summed reconstruction ``loss`` over the rows' summed squared
    deviation from their own mean, in scaled units; ``chunks`` yields the rows
    (tensors on the module's device). One float32 forward pass, in eval mode.
    """
    module = getattr(module, "_orig_mod", module).eval()
    # float32 sums within a chunk, float64 across chunks; the variance about the
    # rows' mean by the law of total variance (within and between chunks)
    error = scatter = between = 0.0
    n_rows, mean_sum = 0, np.zeros(n_features)
    with torch.inference_mode():
        for x in chunks:
            error += float(elementwise_loss(loss, reconstruction(module, x), x).sum())
            mean = x.mean(dim=0)
            scatter += float((x - mean).square().sum())
            mean = mean.cpu().numpy().astype(np.float64)
            between += len(x) * float(mean @ mean)
            mean_sum += len(x) * mean
            n_rows += len(x)
    total = scatter + between - float(mean_sum @ mean_sum) / n_rows
    return 1.0 - error / total if total > 0 else 1.0


def observation_noise(module, loss, chunks, n_features):
    """Per-feature variance of a variational decoder's noise, in standardized units.

    The decoder of a VAE models each feature with a likelihood set by
    ``loss``: a Gaussian for the squared error, a Laplace distribution for
    the absolute error, a Bernoulli for the cross-entropy. The noise scale
    that maximises the ELBO is the mean training loss of each feature,
    decoding posterior samples (training mode): the Gaussian's variance,
    the Laplace's scale ``b`` (variance ``2 b**2``). For the Bernoulli the
    variance is the mean of ``p (1 - p)``. Draws the posterior samples from
    the global torch generator: call it under a seeded generator.
    """
    module = getattr(module, "_orig_mod", module).train()
    total, n_rows = np.zeros(n_features), 0
    try:
        with torch.no_grad():
            for x in chunks:
                output = reconstruction(module, x)
                if loss == "binary_crossentropy":
                    p = torch.sigmoid(output)
                    error = p * (1 - p)
                else:
                    error = elementwise_loss(loss, output, x)
                total += error.sum(dim=0).double().cpu().numpy()
                n_rows += len(x)
    finally:
        module.eval()
    mean = total / n_rows
    return 2 * mean**2 if loss == "absolute_error" else mean
