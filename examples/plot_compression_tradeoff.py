"""
=================================================
Compression and the compression/quality trade-off
=================================================

An autoencoder is a learned compressor: the encoder turns a row into
``n_components`` numbers, the decoder restores the row from them. The smaller
the code, the higher the compression ratio and the larger the error.
:class:`~sklearn_ae.plotting.CompressionCurveDisplay` draws the error of one
model per code size beside PCA's; where the curve flattens (its
"elbow"), a larger code buys little.
"""

# %%
# Error versus code size on held-out images
# -----------------------------------------
# The images are 8x8 digits, 64 pixels each. One model is fitted per code size
# on 550 training images, to stay quick; errors are measured on the other 1247
# images, in the standardized units both models work in (the model's ``mean_``
# and ``scale_``). ``n_iter_no_change=3`` (10 by default) stops training once
# more than 3 epochs in a row lower the validation loss by less than ``tol``.
# ``CompressionCurveDisplay`` draws the two curves; its ``from_estimator`` would
# fit the models itself, but here they are kept to show their reconstructions
# below.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.plotting import CompressionCurveDisplay

X, _ = load_digits(return_X_y=True)
X_train, X_test = train_test_split(X, train_size=550, random_state=0)

sizes = [2, 4, 8, 16, 32]
models, errors, pca_errors = {}, [], []
for k in sizes:
    autoencoder = AutoencoderTransformer(n_components=k, n_iter_no_change=3, random_state=0)
    models[k] = autoencoder.fit(X_train)
    errors.append(models[k].reconstruction_error(X_test).mean())
    # PCA on the same standardized rows, measured in the same units
    train, test = ((Z - models[k].mean_) / models[k].scale_ for Z in (X_train, X_test))
    pca = PCA(n_components=k).fit(train)
    pca_errors.append(np.mean((pca.inverse_transform(pca.transform(test)) - test) ** 2))

display = CompressionCurveDisplay(
    n_components=sizes, errors=errors, pca_errors=pca_errors, estimator_name="autoencoder"
).plot()


def compression_ratio(k):  # its own inverse: code size = 64 / ratio
    return 64 / np.clip(k, 1e-3, None)


display.ax_.set_xscale("log", base=2)
display.ax_.set_xticks(sizes, labels=sizes)
top = display.ax_.secondary_xaxis("top", functions=(compression_ratio, compression_ratio))
top.set_xticks([64 / k for k in sizes], labels=[f"{64 // k}x" for k in sizes])
top.minorticks_off()
top.set_xlabel("compression ratio (64 pixels / code size)")
plt.show()

for k, error, pca_error in zip(sizes, errors, pca_errors, strict=True):
    print(f"k={k:2d} ({64 / k:4.1f}x)  autoencoder {error:.3f}  PCA {pca_error:.3f}")

# %%
# What each code size keeps
# -------------------------
# One test image, compressed to 2, 8 and 32 numbers by the models above.

fig, axes = plt.subplots(1, 4, figsize=(8, 2.4))
axes[0].imshow(X_test[0].reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
axes[0].set_title("original")
for ax, k in zip(axes[1:], [2, 8, 32], strict=True):
    restored = models[k].inverse_transform(models[k].transform(X_test[:1]))
    ax.imshow(restored.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
    ax.set_title(f"{k} numbers ({64 // k}x)")
for ax in axes:
    ax.set(xticks=[], yticks=[])
fig.tight_layout()
plt.show()
