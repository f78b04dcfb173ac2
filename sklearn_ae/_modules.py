"""Pure PyTorch autoencoder modules.

Every module here follows the protocol the estimators rely on:

- ``encode(X)`` maps a batch of rows to their codes, deterministically in eval
  mode;
- ``decode(Z)`` maps codes back to rows;
- ``forward(X)`` returns the reconstruction, or a pair
  ``(reconstruction, penalty)`` where ``penalty`` is a scalar tensor added to the
  training loss.

Optional methods the estimators use when present:

- ``init_linear_path(components, mean)`` sets an affine path to PCA's
  projection (``init="pca"``); with the squared error, a method that also
  takes ``explained_variance`` receives PCA's variances too;
- ``kl_divergence(X)`` returns, for each row, the KL divergence of its
  approximate posterior from the prior (variational modules; scoring by the
  ELBO).

This file imports torch only: no scikit-learn, no skorch.
"""

import math

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


def _conv_layers(n_spatial):
    """The convolution and transposed-convolution classes for 1 or 2 spatial axes."""
    if n_spatial == 1:
        return nn.Conv1d, nn.ConvTranspose1d
    return nn.Conv2d, nn.ConvTranspose2d


class ConvAutoencoder(MLPAutoencoder):
    """Convolutional autoencoder of images (or 1-D signals) given as flat rows.

    Each row is reshaped to ``image_shape``. The encoder is the affine path of
    ``MLPAutoencoder`` plus a stack of stride-2 convolutions (each halves every
    spatial size, rounding up) followed by a linear map to the code; the
    decoder mirrors it with transposed convolutions back to the exact input
    size. As in ``MLPAutoencoder``, the last layer of each convolutional branch
    starts at zero, so with the affine path set from PCA training starts at
    PCA's reconstruction.

    Parameters
    ----------
    n_features : int
        Width of the input rows, the product of ``image_shape``.
    n_components : int
        Width of the code.
    image_shape : tuple of int
        ``(channels, height, width)`` for images or ``(channels, length)`` for
        1-D signals.
    channels : tuple of int, default=(64, 128)
        Output channels of the successive stride-2 convolutions.
    activation : str, default="relu"
        Non-linearity after each convolution, a key of ``ACTIVATIONS``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._modules import ConvAutoencoder
    >>> module = ConvAutoencoder(n_features=64, n_components=4, image_shape=(1, 8, 8))
    >>> module.encode(torch.zeros(3, 64)).shape
    torch.Size([3, 4])
    >>> module(torch.zeros(3, 64)).shape
    torch.Size([3, 64])
    """

    def __init__(
        self, n_features, n_components, image_shape, channels=(64, 128), activation="relu"
    ):
        super().__init__(n_features, n_components, (), activation)
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) not in (2, 3) or math.prod(image_shape) != n_features:
            raise ValueError(
                f"image_shape={image_shape} must be (channels, height, width) or "
                f"(channels, length) with a product equal to n_features={n_features}."
            )
        conv, conv_transpose = _conv_layers(len(image_shape) - 1)
        spatial = [image_shape[1:]]
        widths = (image_shape[0], *channels)
        down = [nn.Unflatten(1, image_shape)]
        for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
            down += [conv(n_in, n_out, 3, stride=2, padding=1), ACTIVATIONS[activation]()]
            spatial.append(tuple((s + 1) // 2 for s in spatial[-1]))
        n_flat = widths[-1] * math.prod(spatial[-1])
        down += [nn.Flatten(), nn.Linear(n_flat, n_components)]
        up = [
            nn.Linear(n_components, n_flat),
            ACTIVATIONS[activation](),
            nn.Unflatten(1, (widths[-1], *spatial[-1])),
        ]
        for i in range(len(channels), 0, -1):
            # output_padding makes each transposed convolution restore the exact size
            pairs = zip(spatial[i - 1], spatial[i], strict=True)
            padding = tuple(t - 2 * s + 1 for t, s in pairs)
            up.append(
                conv_transpose(
                    widths[i], widths[i - 1], 3, stride=2, padding=1, output_padding=padding
                )
            )
            if i > 1:
                up.append(ACTIVATIONS[activation]())
        up.append(nn.Flatten())
        self.encoder.residual = nn.Sequential(*down)
        self.decoder.residual = nn.Sequential(*up)
        for last in (down[-1], up[-2]):
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)


def gaussian_kl(mean, log_variance):
    """Per-row ``KL(N(mean, exp(log_variance)) || N(0, I))``."""
    return 0.5 * (mean.square() + log_variance.exp() - 1.0 - log_variance).sum(dim=1)


class VariationalAutoencoder(MLPAutoencoder):
    """Variational autoencoder with a diagonal Gaussian posterior and a N(0, I) prior.

    The posterior mean is ``MLPAutoencoder``'s encoder (affine path plus
    non-linear residual), so ``encode`` returns the posterior mean and is
    deterministic; a separate MLP gives the log-variance (starting at 0). In
    training mode ``forward`` decodes a reparameterised sample of the posterior
    and returns the penalty ``beta * mean KL / n_features``, so that with a
    per-element reconstruction loss the training loss is the negative ELBO per
    feature (for ``beta=1``). In eval mode it decodes the posterior mean.

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
    beta : float, default=1.0
        Weight of the KL term.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._modules import VariationalAutoencoder
    >>> module = VariationalAutoencoder(n_features=8, n_components=2).eval()
    >>> reconstruction, penalty = module(torch.zeros(3, 8))
    >>> reconstruction.shape, module.kl_divergence(torch.zeros(3, 8)).shape
    (torch.Size([3, 8]), torch.Size([3]))
    """

    def __init__(
        self, n_features, n_components, hidden_layer_sizes=(), activation="relu", beta=1.0
    ):
        super().__init__(n_features, n_components, hidden_layer_sizes, activation)
        self.log_variance = _mlp((n_features, *hidden_layer_sizes, n_components), activation)
        nn.init.zeros_(self.log_variance[-1].weight)
        nn.init.zeros_(self.log_variance[-1].bias)
        self.beta = beta

    @torch.no_grad()
    def init_linear_path(self, components, mean, explained_variance=None):
        """Set the affine paths to the optimum of a linear VAE: probabilistic PCA.

        A linear VAE trained with the squared error and this ``beta`` is
        probabilistic PCA with noise variance ``sigma2 = beta / 2`` (the squared
        error is then the Gaussian negative log-likelihood up to a constant),
        and its optimum is known in closed form: the decoder
        ``x = mean + U (L - sigma2) ** 0.5 z``, the posterior mean
        ``L ** -1 (L - sigma2) ** 0.5 U.T (x - mean)`` and the posterior variance
        ``sigma2 / L``, where ``U`` holds the components and ``L`` their
        variances. Components whose variance is below ``sigma2`` start collapsed
        onto the prior. The codes then start distributed as the prior, which is
        where sampling draws them from.

        Parameters
        ----------
        components : torch.Tensor of shape (n_components, n_features)
            Orthonormal rows (PCA's ``components_``); rows beyond the data's rank
            may be zero.
        mean : torch.Tensor of shape (n_features,)
            The centre of the projection (PCA's ``mean_``).
        explained_variance : torch.Tensor of shape (n_components,) or None, \
default=None
            The variance along each component (PCA's ``explained_variance_``).
            None sets PCA's projection, as ``MLPAutoencoder`` does.
        """
        super().init_linear_path(components, mean)
        if explained_variance is None:
            return
        sigma2 = 0.5 * self.beta
        active = explained_variance > sigma2
        variance = torch.where(active, explained_variance, torch.ones_like(explained_variance))
        loading = (variance - sigma2).clamp(min=0).sqrt() * active
        self.encoder.linear.weight.mul_((loading / variance)[:, None])
        self.encoder.linear.bias.copy_(-self.encoder.linear.weight @ mean)
        self.decoder.linear.weight.mul_(loading[None, :])
        log_variance = torch.where(active, (sigma2 / variance).log(), 0.0)
        self.log_variance[-1].bias.copy_(log_variance)

    def kl_divergence(self, x):
        """Per-row KL divergence of the posterior of ``x`` from the prior."""
        return gaussian_kl(self.encoder(x), self.log_variance(x))

    def forward(self, x):
        """Reconstruct ``x`` (from a posterior sample in training mode) and the KL penalty."""
        mean, log_variance = self.encoder(x), self.log_variance(x)
        z = mean
        if self.training:
            z = mean + torch.randn_like(mean) * (0.5 * log_variance).exp()
        penalty = self.beta * gaussian_kl(mean, log_variance).mean() / x.shape[1]
        return self.decoder(z), penalty


class CodeActivation(nn.Module):
    """An autoencoder whose code passes through a non-linearity.

    Sparse autoencoders penalise the code's activations: a sigmoid makes them
    rates in (0, 1) (the KL penalty), a ReLU makes them non-negative with exact
    zeros (the L1 penalty).

    Parameters
    ----------
    autoencoder : torch.nn.Module
        A module with ``encode`` and ``decode``.
    activation : str
        A key of ``ACTIVATIONS`` applied to ``autoencoder.encode(X)``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_ae._modules import CodeActivation, MLPAutoencoder
    >>> module = CodeActivation(MLPAutoencoder(n_features=8, n_components=2), "logistic")
    >>> code = module.encode(torch.randn(5, 8))
    >>> bool(((code > 0) & (code < 1)).all())
    True
    """

    def __init__(self, autoencoder, activation):
        super().__init__()
        self.autoencoder = autoencoder
        self.activation = ACTIVATIONS[activation]()

    def encode(self, x):
        """Map rows to activated codes."""
        return self.activation(self.autoencoder.encode(x))

    def decode(self, z):
        """Map codes to reconstructed rows."""
        return self.autoencoder.decode(z)

    def forward(self, x):
        """Reconstruct ``x``."""
        return self.decode(self.encode(x))
