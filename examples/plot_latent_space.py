"""
=================================
Visualising a latent space in 2-D
=================================

An autoencoder with a code of two numbers gives a 2-D map of the data, like
the first two principal components of :class:`~sklearn.decomposition.PCA`.
:class:`~sklearn_ae.plotting.LatentSpaceDisplay` draws it, coloured by the
labels the model never saw; :class:`~sklearn_ae.plotting.LossCurveDisplay`
shows how training went.
"""

# %%
# Train a 2-D autoencoder on handwritten digits
# ---------------------------------------------
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_ae import AutoencoderTransformer
from sklearn_ae.plotting import LatentSpaceDisplay, LossCurveDisplay

X, y = load_digits(return_X_y=True)
autoencoder = AutoencoderTransformer(
    n_components=2, hidden_layer_sizes=(128, 32), random_state=0
).fit(X)

# %%
# The two maps side by side
# -------------------------
# PCA's map is its best linear 2-D view of the standardized pixels. The
# autoencoder started from that view and bent it to reconstruct the images
# better, which also separates more of the digit classes.

pca_codes = make_pipeline(StandardScaler(), PCA(n_components=2)).fit_transform(X)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5))
LatentSpaceDisplay(codes=pca_codes, y=y, component_names=("PC 1", "PC 2")).plot(ax=left)
left.set_title("PCA")
LatentSpaceDisplay.from_estimator(autoencoder, X, y, ax=right)
right.set_title("Autoencoder")
fig.tight_layout()
plt.show()

# %%
# The training curves
# -------------------
# With ``early_stopping=True`` the model held out 10 % of the rows; training
# stopped once their loss had not improved for ``n_iter_no_change`` epochs,
# and the weights of the best epoch were restored.

display = LossCurveDisplay.from_estimator(autoencoder)
best = -autoencoder.best_validation_score_
print(f"{autoencoder.n_iter_} epochs; best validation loss {best:.3f}")
plt.show()
