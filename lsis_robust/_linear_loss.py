"""Lift of a margin loss to linear-model coefficients, batched over problems.

For coefficients beta (B, d) and data X, labels y in {-1, +1} and weights w,
the objective of problem b is

    f_b(beta_b) = sum_i w_bi phi(y_bi x_bi' beta_b) / sum_i w_bi,

with gradient sum_i w phi'(m) y x / W and Hessian sum_i w phi''(m) x x' / W.
X is either (n, d), shared by every problem (starts on one data set, or the
robustness grid's nominal rows and contamination points, each problem
weighting only its own point), or (B, n, d), one data set per problem
(trials); y and w are (n,) or (B, n) alike.  With a shared design and small
d the Gram matrices of all problems come from one product with the stored
outer products x x' (n x d^2 values), which is what makes thousands of
problems on one sample cheap.  Nothing of size n x n is formed.

Many problems on one design are evaluated in blocks of problems small enough
that the loss's temporaries stay in the CPU's cache (a loss such as CH makes
a dozen n-sized temporaries per problem); every number is computed exactly as
in one pass over all problems, only in a different order of problems.
"""
from __future__ import annotations

import numpy as np

SMALL_D_SQUARED = 16  # up to d = 4, Gram matrices come from stored outer products
# Problems x rows evaluated together on a shared design (at least 4 problems, see _block_slices): 2^15
# doubles (256 KiB) per temporary keep a loss's temporaries in cache. CH's derivatives on the robustness
# study's 402 problems x 10201 rows took 1.5-2x less time in blocks of 4 problems than in one pass.
BLOCK_ELEMENTS = 1 << 15
# X' diag(c) X on a shared design with d > 4 is one matrix product up to GRAM_ONE_PRODUCT multiply-adds (n d^2)
# and a sum of products over blocks of GRAM_BLOCK_ROWS rows past that: OpenBLAS multiplies the small blocks at full
# speed, while one product of more than about 10^6 multiply-adds took its much slower general path here (d = 11,
# n = 10^4: 250 us as one product, 135 us in blocks; d = 5, n = 10^5: 1.4 ms against 0.5 ms).
GRAM_ONE_PRODUCT = 1 << 20
GRAM_BLOCK_ROWS = 4096


class LinearMarginLoss:
    def __init__(self, loss, X, y, w):
        self.loss = loss
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        self.w = w / w.sum(axis=-1, keepdims=True)
        self.shared = self.X.ndim == 2
        self._derived = {}  # arrays computed from X once, shared by every problem on the same design

    def take(self, idx):
        """The sub-problems ``idx``; with a shared design and shared labels every start is the same problem."""
        if self.shared and self.y.ndim == 1:
            return self
        sub = object.__new__(LinearMarginLoss)
        sub.loss, sub.shared = self.loss, self.shared
        sub.X, sub._derived = (self.X, self._derived) if self.shared else (self.X[idx], {})
        sub.y, sub.w = self.y[idx], self.w[idx]
        return sub

    def with_loss(self, loss, w=None):
        """The same design and labels with another loss (and weights), sharing what is derived from X."""
        sub = object.__new__(type(self))
        sub.loss, sub.shared, sub.X, sub.y, sub._derived = loss, self.shared, self.X, self.y, self._derived
        if w is None:
            sub.w = self.w
        else:
            w = np.asarray(w, dtype=np.float64)
            sub.w = w / w.sum(axis=-1, keepdims=True)
        return sub

    @property
    def n_features(self) -> int:
        return self.X.shape[-1]

    def _derive(self, key, make):
        if key not in self._derived:
            self._derived[key] = make()
        return self._derived[key]

    def margins(self, beta):
        beta = np.asarray(beta, dtype=np.float64)
        if self.shared:
            d = self.X.shape[1]
            # For small d a contiguous copy of X' makes this product twice as fast as the strided view X.T;
            # for larger d BLAS reads X.T directly and a copy would only add memory.
            Xt = self._derive("Xt", lambda: np.ascontiguousarray(self.X.T)) if d * d <= SMALL_D_SQUARED else self.X.T
            m = beta @ Xt
        else:
            m = np.einsum("bnd,bd->bn", self.X, beta)
        m *= self.y
        return m

    def _block_slices(self, n_problems):
        """Slices of problems to evaluate together, or None to evaluate all in one pass."""
        if not self.shared or self.y.ndim != 2 or self.w.ndim != 2:
            return None
        # BLAS computes a matrix product in blocks of 4 rows, and numpy computes a one-row product as a
        # matrix-vector product: blocks of a multiple of 4 problems, never a last block of one problem,
        # give every problem the same arithmetic (and the same bits) as one product over all problems.
        size = max(4, BLOCK_ELEMENTS // self.X.shape[0] // 4 * 4)
        if n_problems <= size + 1:
            return None
        starts = list(range(0, n_problems, size))
        if n_problems - starts[-1] == 1:
            starts.pop()
        return [slice(a, b) for a, b in zip(starts, starts[1:] + [n_problems])]

    def _rows(self, rows):
        """A view of the problems ``rows`` (a slice) on the same design, sharing the derived arrays."""
        sub = object.__new__(type(self))
        sub.loss, sub.shared, sub.X, sub._derived = self.loss, self.shared, self.X, self._derived
        sub.y, sub.w = self.y[rows], self.w[rows]
        sub._wy = self._weights_times_labels()[rows]
        return sub

    def _by_blocks(self, method, beta, *outs):
        """Run ``method`` (a function of a problem and its betas) block by block into ``outs``."""
        for rows in self._block_slices(beta.shape[0]):
            for out, part in zip(outs, method(self._rows(rows), beta[rows])):
                out[rows] = part
        return outs

    def objective(self, beta):
        beta = np.asarray(beta, dtype=np.float64)
        if self._block_slices(beta.shape[0]) is not None:
            return self._by_blocks(lambda p, b: (LinearMarginLoss.objective(p, b),), beta, np.empty(beta.shape[0]))[0]
        return np.sum(self.w * self.loss.phi(self.margins(beta)), axis=-1)

    def _weighted_x_sum(self, coef):
        """sum_i coef_bi x_bi for coef (B, n)."""
        if self.shared:
            return coef @ self.X
        return np.einsum("bn,bnd->bd", coef, self.X)

    def _outer_products(self):
        """The rows' x x' as an (n, d^2) array, computed once per design."""
        def make():
            n, d = self.X.shape
            xx = np.empty((n, d, d))
            for i in range(d):  # column by column: X[:, :, None] * X[:, None, :] is slower for small d
                np.multiply(self.X[:, i, None], self.X[:, i:], out=xx[:, i, i:])
                xx[:, i + 1:, i] = xx[:, i, i + 1:]
            return xx.reshape(n, d * d)
        return self._derive("xx", make)

    def _weighted_gram(self, coef):
        """sum_i coef_bi x_bi x_bi' for coef (B, n)."""
        if self.shared:
            d = self.X.shape[1]
            if d * d <= SMALL_D_SQUARED:  # one matrix product for all problems; n d^2 stays O(n d) here
                return (coef @ self._outer_products()).reshape(-1, d, d)
            return np.stack([self._gram(c) for c in coef])
        return np.einsum("bni,bnj->bij", self.X * coef[..., None], self.X)

    def _gram(self, c):
        """X' diag(c) X on the shared design (see GRAM_ONE_PRODUCT)."""
        X = self.X
        n, d = X.shape
        if n * d * d <= GRAM_ONE_PRODUCT:
            return X.T @ (X * c[:, None])
        gram = np.zeros((d, d))
        for a in range(0, n, GRAM_BLOCK_ROWS):
            block = X[a:a + GRAM_BLOCK_ROWS]
            gram += block.T @ (block * c[a:a + GRAM_BLOCK_ROWS, None])
        return gram

    def gradient(self, beta):
        m = self.margins(beta)
        return self._weighted_x_sum(self.w * self.y * self.loss.dphi(m))

    def _weights_times_labels(self):
        wy = getattr(self, "_wy", None)  # w y, formed on first use (take and with_loss make new problems)
        if wy is None:
            wy = self._wy = self.w * self.y
        return wy

    def _gradient_hessian_from(self, dphi, d2phi):
        # A user's loss may hand back arrays it keeps (or read-only ones): weight copies, not them.
        return (self._weighted_x_sum(np.multiply(dphi, self._weights_times_labels())),
                self._weighted_gram(np.multiply(d2phi, self.w)))

    def _empty_gradient_hessian(self, n_problems):
        d = self.n_features
        return np.empty((n_problems, d)), np.empty((n_problems, d, d))

    def objective_gradient_hessian(self, beta):
        beta = np.asarray(beta, dtype=np.float64)
        if self._block_slices(beta.shape[0]) is not None:
            return self._by_blocks(LinearMarginLoss.objective_gradient_hessian, beta, np.empty(beta.shape[0]),
                                   *self._empty_gradient_hessian(beta.shape[0]))
        phi, dphi, d2phi = self.loss.derivatives(self.margins(beta))
        f = np.einsum("...n,...n->...", self.w, phi)
        return (f, *self._gradient_hessian_from(dphi, d2phi))

    def gradient_hessian(self, beta):
        beta = np.asarray(beta, dtype=np.float64)
        if self._block_slices(beta.shape[0]) is not None:
            return self._by_blocks(LinearMarginLoss.gradient_hessian, beta,
                                   *self._empty_gradient_hessian(beta.shape[0]))
        return self._gradient_hessian_from(*self.loss.dphi_d2phi(self.margins(beta)))

    def sandwich(self, beta, n_eff, hessian=None):
        """M^{-1} Q M^{-1} / n with M = mean(w phi'' x x'), Q = mean(w phi'^2 x x').

        ``hessian``: M when the caller has it (the solver's last Hessian at ``beta``), so that only
        phi' is evaluated here.
        """
        m = self.margins(beta)
        if hessian is None:
            dphi, d2phi = self.loss.dphi_d2phi(m)
            M = self._weighted_gram(self.w * d2phi)
        else:
            dphi, M = self.loss.dphi(m), np.asarray(hessian)
        Q = self._weighted_gram(self.w * dphi**2)
        Minv = np.linalg.pinv(M)
        return Minv @ Q @ Minv / np.asarray(n_eff)[..., None, None]

    def model_based(self, beta, n_eff, prob):
        """The same sandwich with E over Y | x under ``prob`` = P(Y = +1 | x) (C of Theorem 4).

        For LR this is the inverse Fisher information.
        """
        beta = np.asarray(beta, dtype=np.float64)
        s = self.margins(beta) * self.y
        p = np.clip(prob(s), 0.0, 1.0)
        loss = self.loss
        B = self._weighted_gram(self.w * (p * loss.d2phi(s) + (1 - p) * loss.d2phi(-s)))
        A = self._weighted_gram(self.w * (p * loss.dphi(s) ** 2 + (1 - p) * loss.dphi(-s) ** 2))
        Binv = np.linalg.pinv(B)
        return Binv @ A @ Binv / np.asarray(n_eff)[..., None, None]
