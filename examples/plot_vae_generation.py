"""
Generating digits with a variational autoencoder
================================================

``variational=True`` makes the model a variational autoencoder (VAE): each row
is encoded as a Gaussian distribution over the code, and training adds
``beta`` times its KL divergence from the prior N(0, I). ``transform`` returns
the posterior mean; ``sample`` draws codes from the prior, decodes them into
new rows in the original units and adds the decoder's observation noise, so
that the rows are draws from the model's distribution of the data.
``sample(..., add_noise=False)`` returns the decoder's means instead: the
smooth images a figure wants.

With a two-dimensional code the latent space can be drawn: the digits form
clusters, and decoding a grid of codes shows how the model moves from one digit
to another.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm
from sklearn.datasets import load_digits

from sklearn_ae import AutoencoderTransformer

# Pixel intensities in [0, 1], modelled by a Bernoulli likelihood: the binary
# cross-entropy loss, on unstandardized pixels.
X, y = load_digits(return_X_y=True)
X = X / 16.0
vae = AutoencoderTransformer(
    n_components=2,
    variational=True,
    loss="binary_crossentropy",
    standardize=False,
    hidden_layer_sizes=(128,),
    # a coarse stopping rule keeps the gallery fast: stop once more than 3
    # epochs in a row lower the validation loss by less than 1e-3
    tol=1e-3,
    n_iter_no_change=3,
    random_state=0,
).fit(X)
codes = vae.transform(X)

# %%
# New digits from the prior, and how well their pixel statistics match the data.
# With the cross-entropy loss the decoder is a Bernoulli distribution per pixel:
# ``sample`` draws pixels that are 0 or 1, whose probabilities are the decoder's
# means. The figure shows those means, the usual way to show a VAE's digits.
samples = vae.sample(16, random_state=0, add_noise=False)
many = vae.sample(2000, random_state=1)
print("distance of the mean image to the data's:", np.linalg.norm(many.mean(0) - X.mean(0)))
print(f"mean pixel value: data {X.mean():.3f}, samples {many.mean():.3f}")

# %%
# Left: the posterior means of all digits. Middle: decodings of a grid of codes
# spread as the prior (quantiles of N(0, 1)). Right: random samples (the
# decoder's means).
fig = plt.figure(figsize=(13, 4.4))
ax = fig.add_subplot(1, 3, 1)
scatter = ax.scatter(codes[:, 0], codes[:, 1], c=y, cmap="tab10", s=6)
ax.legend(*scatter.legend_elements(), title="digit", fontsize=7, loc="best", ncols=2)
ax.set_title("Latent space (posterior means)")
ax.set_xlabel("code 1")
ax.set_ylabel("code 2")


def tile(images, n_rows):
    """Images of shape (n, 64) as one picture of n_rows rows, with white gaps."""
    padded = np.pad(images.reshape(-1, 8, 8), ((0, 0), (1, 1), (1, 1)))
    n_cols = len(images) // n_rows
    return (
        padded.reshape(n_rows, n_cols, 10, 10)
        .transpose(0, 2, 1, 3)
        .reshape(10 * n_rows, 10 * n_cols)
    )


grid = norm.ppf(np.linspace(0.05, 0.95, 10))
Z = np.array([[a, b] for b in grid[::-1] for a in grid])
ax = fig.add_subplot(1, 3, 2)
ax.imshow(tile(vae.inverse_transform(Z), 10), cmap="gray_r", vmin=0, vmax=1)
ax.set_title("Decoded grid of codes")
ax.axis("off")

ax = fig.add_subplot(1, 3, 3)
ax.imshow(tile(samples, 4), cmap="gray_r", vmin=0, vmax=1)
ax.set_title("vae.sample(16, add_noise=False)")
ax.axis("off")
fig.tight_layout()
plt.show()
