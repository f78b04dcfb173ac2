"""
A convolutional autoencoder for images given as flat rows
=========================================================

scikit-learn wants rows of features, so images stay flat rows and
``image_shape`` says how to read them: ``(1, 8, 8)`` for the 8x8 digits
(``(channels, height, width)``; ``(1, 28, 28)`` for MNIST). The built-in
convolutional module adds stride-2 convolutions down to the code and transposed
convolutions back up to the affine path the MLP also has, so it too starts from
PCA's solution.

Per-pixel standardization would give a near-constant border pixel the same
weight as a stroke, which is not what convolutions, sharing weights across
positions, expect: for images scale the pixels to [0, 1] and set
``standardize=False``.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sklearn_ae import AutoencoderTransformer

# 1000 digits to train on (to stay quick), the other 797 to test on
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, train_size=1000, random_state=0)

# Training stops once more than 2 epochs in a row lower the validation loss by
# less than 1e-4: the pixels are in [0, 1], so errors are small numbers and so
# is the tolerance.
params = dict(n_components=8, standardize=False, tol=1e-4, n_iter_no_change=2, random_state=0)
mlp = AutoencoderTransformer(**params).fit(X_train)
conv = AutoencoderTransformer(image_shape=(1, 8, 8), **params).fit(X_train)
for name, model in [("MLP", mlp), ("convolutional", conv)]:
    print(f"{name:>13}: test reconstruction error {-model.score(X_test):.4f}")

# %%
# Test digits and their reconstructions through an 8-dimensional code.
rows = [("digit", X_test), ("MLP", mlp), ("conv", conv)]
fig, axes = plt.subplots(3, 10, figsize=(10, 3.5))
for (title, source), line in zip(rows, axes, strict=True):
    images = source if title == "digit" else source.inverse_transform(source.transform(X_test))
    for image, ax in zip(images[:10], line, strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    line[0].set_ylabel(title, rotation=0, ha="right", va="center")
fig.suptitle("Reconstructions through an 8-dimensional code")
plt.show()

# %%
# The convolutional model is a transformer like any other: here it feeds a
# classifier in a pipeline, fitted on 450 training digits to stay quick and
# scored on the test digits. ``-1`` lets the height be inferred.
pipe = make_pipeline(
    MinMaxScaler(),
    AutoencoderTransformer(
        n_components=16,
        image_shape=(1, -1, 8),
        standardize=False,
        tol=1e-4,
        n_iter_no_change=2,
        random_state=0,
    ),
    LogisticRegression(max_iter=1000),
)
pipe.fit(X_train[:450], y_train[:450])
print(f"test accuracy of a logistic regression on the 16 codes: {pipe.score(X_test, y_test):.3f}")
