"""Reconstruction losses and penalties, in plain PyTorch (no skorch, no scikit-learn).

The estimators measure errors with ``elementwise_loss`` (scores, retained
variance, the decoder's noise) and train with ``_ReconstructionLoss``, its
mean as one fused kernel; ``sparsity_penalty`` is the sparse autoencoder's
penalty on the code. A new loss goes here, beside its mean in ``_MEAN_LOSSES``
and its link in ``output_link``.
"""

import torch


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
