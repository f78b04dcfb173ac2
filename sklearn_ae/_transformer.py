"""AutoencoderTransformer: a non-linear, drop-in replacement for PCA."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array

from ._base import _BaseAutoencoder
from ._params import fill_doc
from ._validation import _fit_context, check_is_fitted


@fill_doc
class AutoencoderTransformer(_BaseAutoencoder):
    """Dimensionality reduction with an autoencoder, used like ``PCA``.

    The encoder maps each row to ``n_components`` latent features and the
    decoder maps them back. Training starts from PCA's solution, so the
    reconstruction is at least as good as PCA's at the same ``n_components``
    and better where the data are non-linear; for codes of up to 3
    dimensions the default ``init="graph"`` also tries a start that follows
    a curved manifold, from a neighbourhood graph of the rows.

    Parameters
    ----------
    {shared_parameters}

    Attributes
    ----------
    {shared_attributes}

    noise_variance_ : ndarray of shape (n_features_in_,) or None
        For a variational model, the variance of each feature's observation
        noise around the decoder's output, in original units (squared), as
        ``PCA``'s ``noise_variance_`` for probabilistic PCA. The decoder's
        likelihood follows ``loss``: a Gaussian (``"squared_error"``), whose
        variance is the mean squared training residual of the feature when
        decoding posterior samples (the value that maximises the ELBO); a
        Laplace distribution (``"absolute_error"``) of scale the mean absolute
        residual; a Bernoulli (``"binary_crossentropy"``), of variance
        ``p (1 - p)``, averaged. ``partial_fit`` keeps a running mean over the
        chunks. None for a model that is not variational.

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.
    AutoencoderOutlierDetector : Anomaly detection by reconstruction error.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_ae import AutoencoderTransformer
    >>> X, _ = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=8, max_iter=20, random_state=0)
    >>> X_codes = ae.fit_transform(X)
    >>> X_codes.shape
    (1797, 8)
    >>> ae.inverse_transform(X_codes).shape
    (1797, 64)
    >>> ae.get_feature_names_out()[:2].tolist()
    ['autoencodertransformer0', 'autoencodertransformer1']
    """

    _models_observation_noise = True

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.

        Returns
        -------
        self : AutoencoderTransformer
            The fitted estimator.
        """
        self._fit(X, incremental=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on the rows ``X``.

        The first call initialises the model; later calls continue training and
        update the standardization statistics, so a loop over chunks trains on
        data that never sits in memory at once.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A chunk of training rows.
        y : None
            Ignored.

        Returns
        -------
        self : AutoencoderTransformer
            The updated estimator.
        """
        self._fit(X, incremental=True)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Train on ``X`` and return its latent codes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            The codes of ``X``, float32 for float32 input and float64 otherwise.
        """
        return self._encode(self._fit(X, incremental=False))

    def inverse_transform(self, X):
        """Decode latent codes back to the original feature space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Latent codes, as returned by ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            Reconstructed rows in original units, float32 for float32 codes and
            float64 otherwise.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=[np.float64, np.float32], input_name="X", estimator=self)
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} features, but inverse_transform expects "
                f"n_components_={self.n_components_} features (the latent codes)."
            )
        return self._decode(X)

    def sample(self, n_samples=1, random_state=None, *, add_noise=True):
        """Generate new rows from a variational autoencoder.

        Draws codes from the prior N(0, I), decodes them and, by default, adds
        the decoder's observation noise: the rows are then draws from the
        model's distribution of the data, whose per-feature variances and
        covariances match the training data's. The noise follows ``loss``:
        Gaussian for ``"squared_error"`` and Laplace for ``"absolute_error"``,
        of variance ``noise_variance_``; for ``"binary_crossentropy"`` each
        feature is drawn from a Bernoulli distribution, so it is 0 or 1.
        Requires ``variational=True``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seeds the draw of the codes and of the noise; an int gives the same
            rows every call.
        add_noise : bool, default=True
            Whether to add the observation noise. False returns the decoder's
            means for the same codes: smoother rows (clean images for a
            figure), which however lack the data's feature-level variance.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Generated rows in original units, float64.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from sklearn_ae import AutoencoderTransformer
        >>> X, _ = load_digits(return_X_y=True)
        >>> vae = AutoencoderTransformer(n_components=4, variational=True, max_iter=5,
        ...                              random_state=0).fit(X)
        >>> vae.sample(3, random_state=0).shape
        (3, 64)
        >>> vae.sample(3, random_state=0, add_noise=False).shape
        (3, 64)
        """
        check_is_fitted(self)
        if not hasattr(self.net_.module_, "kl_divergence"):
            raise AttributeError(
                "sample needs a variational autoencoder: fit with variational=True."
            )
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(random_state)
        X_new = self._decode(rng.standard_normal((n_samples, self.n_components_)))
        if not add_noise:
            return X_new
        loss = self.net_.criterion_.loss
        if loss == "binary_crossentropy":
            return (rng.uniform(size=X_new.shape) < X_new).astype(np.float64)
        std = np.sqrt(self.noise_variance_)
        if loss == "absolute_error":
            return X_new + rng.laplace(scale=std / np.sqrt(2), size=X_new.shape)
        return X_new + std * rng.standard_normal(X_new.shape)

    def score_samples(self, X):
        """Minus the mean squared reconstruction error of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Float64 scores; higher means better reconstructed.
        """
        return -self.reconstruction_error(X)

    def score(self, X, y=None):
        """Minus the mean squared reconstruction error of ``X``.

        This is what ``GridSearchCV`` maximises when no ``scoring`` is given.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The mean of ``score_samples(X)``.
        """
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
