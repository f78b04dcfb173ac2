"""Pure PyTorch autoencoder modules.

Every module here follows the protocol the estimators rely on:

- ``encode(X)`` maps a batch of rows to their codes, deterministically in eval
  mode;
- ``decode(Z)`` maps codes back to rows;
- ``forward(X)`` returns the reconstruction, or a pair
  ``(reconstruction, penalty)`` where ``penalty`` is a scalar tensor added to the
  training loss.

This file imports torch only: no scikit-learn, no skorch.
"""

import torch
from torch import nn

ACTIVATIONS = {
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}


def _mlp(sizes, activation):
    """A stack of linear layers with ``activation`` between them (not after the last)."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        if i:
            layers.append(ACTIVATIONS[activation]())
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class _ResidualMap(nn.Module):
    """``y = linear(x) + mlp(x)``: an affine path plus a non-linear correction.

    The last layer of the non-linear correction starts at zero, so a freshly
    built map is exactly its affine path. Setting the affine path to PCA's
    projection therefore starts training at PCA's solution.
    """

    def __init__(self, n_in, n_out, hidden_layer_sizes, activation):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        if hidden_layer_sizes:
            self.residual = nn.Sequential(
                _mlp((n_in, *hidden_layer_sizes), activation),
                ACTIVATIONS[activation](),
                nn.Linear(hidden_layer_sizes[-1], n_out),
            )
            nn.init.zeros_(self.residual[-1].weight)
            nn.init.zeros_(self.residual[-1].bias)
        else:
            self.residual = None

    def forward(self, x):
        y = self.linear(x)
        if self.residual is not None:
            y = y + self.residual(x)
        return y


class MLPAutoencoder(nn.Module):
    """Fully connected autoencoder with a linear path and a non-linear residual.

    The encoder is ``z = A x + f(x)`` and the decoder ``x_hat = B z + g(z)``,
    where ``A`` and ``B`` are affine maps and ``f``, ``g`` are MLPs whose output
    layers start at zero. With ``A`` and ``B`` set from PCA, the untrained model
    reconstructs exactly as PCA does, and training can only move it to a lower
    loss. With no hidden layers the model is a linear autoencoder.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    n_components : int
        Width of the code.
    hidden_layer_sizes : tuple of int, default=()
        Widths of the encoder's hidden layers; the decoder mirrors them.
    activation : str, default="relu"
        Non-linearity between hidden layers, a key of ``ACTIVATIONS``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._modules import MLPAutoencoder
    >>> module = MLPAutoencoder(n_features=8, n_components=2, hidden_layer_sizes=(16,))
    >>> module.encode(torch.zeros(3, 8)).shape
    torch.Size([3, 2])
    """

    def __init__(self, n_features, n_components, hidden_layer_sizes=(), activation="relu"):
        super().__init__()
        hidden = tuple(hidden_layer_sizes)
        self.encoder = _ResidualMap(n_features, n_components, hidden, activation)
        self.decoder = _ResidualMap(n_components, n_features, hidden[::-1], activation)

    def encode(self, x):
        """Map rows to codes."""
        return self.encoder(x)

    def decode(self, z):
        """Map codes to reconstructed rows."""
        return self.decoder(z)

    def forward(self, x):
        """Reconstruct ``x``."""
        return self.decoder(self.encoder(x))

    @torch.no_grad()
    def init_linear_path(self, components, mean):
        """Set the affine paths to PCA's projection and reconstruction.

        Parameters
        ----------
        components : torch.Tensor of shape (n_components, n_features)
            Orthonormal rows (PCA's ``components_``); rows beyond the data's rank
            may be zero.
        mean : torch.Tensor of shape (n_features,)
            The centre of the projection (PCA's ``mean_``).
        """
        self.encoder.linear.weight.copy_(components)
        self.encoder.linear.bias.copy_(-components @ mean)
        self.decoder.linear.weight.copy_(components.T)
        self.decoder.linear.bias.copy_(mean)
