#!/usr/bin/env Rscript
## Generate reference values from R's robustbase for the lsis_robust tests.
##
## Usage (from the repository root):
##     Rscript tests/results/make_robustbase_refs.R datasets
## The single argument is the directory holding vaso.csv, foodstamp.csv and
## leukemia.csv (e.g. `datasets` or /work/shared/data).  Outputs are written
## next to this script:
##     tests/results/robustbase_refs.py   plain-Python dict literals (REFS)
##     tests/results/synthetic_by.csv     synthetic data set (n = 200) used for
##                                        the "synthetic" entry of REFS
## Requirements: apt-get install r-cran-robustbase r-cran-robust
##
## What is fitted for each data set:
##   glm(..., family = binomial)                     -> REFS[name]["glm"]
##   glmrob(..., family = binomial, method = "BY")   -> REFS[name]["BY"]
##   glmrob(..., family = binomial, method = "WBY")  -> REFS[name]["WBY"]
## (robustbase default control: const c = 0.5, maxit = 1000, maxhalf = 10).
##
## The Croux-Haesbroeck objective mean_i phi_CH(y_i x_i'beta), y in {-1,+1},
## is evaluated by OUR OWN R implementation of the closed form in
## shared/reference/NOTES.md (functions phi_ch / dphi_ch below); it is
## cross-checked against robustbase's internal robustbase:::phiBY3 (the
## function BYlogreg minimises) and against the `objective` field robustbase
## returns.  All three are stored.

options(digits = 17, warn = 1)
suppressPackageStartupMessages(library(robustbase))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1L)
    stop("usage: Rscript make_robustbase_refs.R <directory with vaso.csv, foodstamp.csv, leukemia.csv>")
data_dir <- args[[1L]]

## Locate this script's directory (outputs go next to it).
script_dir <- local({
    fa <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
    if (length(fa)) dirname(normalizePath(sub("^--file=", "", fa[[1L]])))
    else normalizePath(".")
})
out_py  <- file.path(script_dir, "robustbase_refs.py")
out_csv <- file.path(script_dir, "synthetic_by.csv")

C_CH <- 0.5  # robustbase's default `const`

## ---------------------------------------------------------------------------
## Independent implementation of the Croux-Haesbroeck margin loss (NOTES.md)
##   v = -log sigma(m) = log(1 + exp(-m))
##   zeta1(t) = t e^{-sqrt c}                                   (t <= c)
##            = -2 e^{-sqrt t}(1 + sqrt t) + e^{-sqrt c}(2(1 + sqrt c) + c)  (t > c)
##   psi(t)   = e^{-sqrt(max(t, c))}
##   eta(t)   = int_0^t psi(-log u) du   (closed form with pnorm, see NOTES.md)
##   phi(m)   = zeta1(v(m)) + eta(sigma(m)) + eta(sigma(-m))
## ---------------------------------------------------------------------------
log1pexp <- function(x) ifelse(x > 0, x + log1p(exp(-x)), log1p(exp(x)))
neglogsig <- function(m) log1pexp(-m)            # -log sigma(m), stable
zeta1_ch <- function(t, c = C_CH) {
    ec <- exp(-sqrt(c))
    ifelse(t <= c, t * ec,
           -2 * exp(-sqrt(t)) * (1 + sqrt(t)) + ec * (2 * (1 + sqrt(c)) + c))
}
psi_ch <- function(t, c = C_CH) exp(-sqrt(pmax(t, c)))
## eta evaluated at t = sigma(m), parametrised by w = -log t = neglogsig(m) >= 0
eta_ch_w <- function(w, c = C_CH) {
    t <- exp(-w)
    k <- exp(0.25) * sqrt(pi)
    ifelse(w >= c,                                  # t <= e^{-c}
           t * exp(-sqrt(w)) + k * (pnorm(sqrt(2) * (0.5 + sqrt(w))) - 1),
           t * exp(-sqrt(c)) + k * (pnorm(sqrt(2) * (0.5 + sqrt(c))) - 1))
}
phi_ch <- function(m, c = C_CH) {
    v  <- neglogsig(m)    # -log sigma(m)
    vm <- neglogsig(-m)   # -log sigma(-m)
    zeta1_ch(v, c) + eta_ch_w(v, c) + eta_ch_w(vm, c)
}
## phi'(m) = -psi(v) sigma(-m)^2 - psi(v_-) sigma(m) sigma(-m)
dphi_ch <- function(m, c = C_CH) {
    sp <- plogis(m); sm <- plogis(-m)
    -psi_ch(neglogsig(m), c) * sm^2 - psi_ch(neglogsig(-m), c) * sp * sm
}
ch_objective <- function(beta, X, y01) {
    m <- (2 * y01 - 1) * drop(X %*% beta)
    mean(phi_ch(m))
}
ch_gradient <- function(beta, X, y01) {
    ys <- 2 * y01 - 1
    m <- ys * drop(X %*% beta)
    colMeans(X * (dphi_ch(m) * ys))
}
## robustbase's own function (y in {0,1}, s = score x'beta)
rb_objective <- function(beta, X, y01)
    mean(robustbase:::phiBY3(drop(X %*% beta), y01, C_CH))

## ---------------------------------------------------------------------------
## Formatting helpers: emit Python literals with full precision
## ---------------------------------------------------------------------------
py_num <- function(x) {
    if (is.logical(x) && !is.na(x)) return(if (x) "True" else "False")
    if (is.null(x) || length(x) == 0L || is.na(x)) return("None")
    if (is.infinite(x)) return(if (x > 0) "float(\"inf\")" else "float(\"-inf\")")
    if (is.integer(x)) return(sprintf("%d", x))
    sprintf("%.17g", x)
}
py_str <- function(s) {
    s <- gsub("\\\\", "\\\\\\\\", s); s <- gsub("\"", "\\\\\"", s)
    s <- gsub("\n", "\\\\n", s)
    paste0("\"", s, "\"")
}
py_vec <- function(x) {
    if (is.character(x)) return(paste0("[", paste(vapply(x, py_str, ""), collapse = ", "), "]"))
    paste0("[", paste(vapply(seq_along(x), function(i) py_num(x[[i]]), ""), collapse = ", "), "]")
}
py_mat <- function(M, indent) {
    rows <- vapply(seq_len(nrow(M)), function(i) py_vec(unname(M[i, ])), "")
    paste0("[\n", paste0(indent, "    ", rows, ",", collapse = "\n"), "\n", indent, "]")
}
## Generic: a named list -> dict literal; vectors -> lists; matrices -> lists of lists
py_value <- function(v, indent = "") {
    if (is.list(v)) return(py_dict(v, indent))
    if (is.matrix(v)) return(py_mat(v, indent))
    if (is.character(v) && length(v) == 1L && is.null(attr(v, "as_list"))) return(py_str(v))
    if (length(v) == 1L && is.null(attr(v, "as_list"))) return(py_num(v))
    py_vec(unname(v))
}
py_dict <- function(L, indent = "") {
    if (length(L) == 0L) return("{}")
    inner <- paste0(indent, "    ")
    items <- vapply(names(L), function(k)
        paste0(inner, py_str(k), ": ", py_value(L[[k]], inner), ","), "")
    paste0("{\n", paste(items, collapse = "\n"), "\n", indent, "}")
}
as_list <- function(x) structure(x, as_list = TRUE)  # force a Python list even if length 1

## ---------------------------------------------------------------------------
## Fitting
## ---------------------------------------------------------------------------
fit_glm <- function(formula, data) {
    f <- glm(formula, family = binomial, data = data)
    n <- nrow(model.matrix(f))
    list(coef = as_list(unname(coef(f))),
         se = as_list(unname(sqrt(diag(vcov(f))))),
         cov = unname(vcov(f)),
         converged = isTRUE(f$converged),
         iter = as.integer(f$iter),
         loglik_per_obs = as.numeric(logLik(f)) / n,
         deviance = f$deviance)
}

fit_rob <- function(formula, data, method) {
    msgs <- character(0); warns <- character(0)
    f <- tryCatch(
        withCallingHandlers(
            glmrob(formula, family = binomial, data = data, method = method),
            message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") },
            warning = function(w) {
                ## robustbase 0.95-0 triggers R's "Recycling array of length 1"
                ## deprecation warning at each step; it is harmless.
                if (!grepl("Recycling array of length 1", conditionMessage(w)))
                    warns <<- c(warns, conditionMessage(w))
                invokeRestart("muffleWarning")
            }),
        error = function(e) e)
    if (inherits(f, "error"))
        return(list(error = conditionMessage(f), converged = FALSE))
    X <- model.matrix(formula, data = data)
    y <- model.response(model.frame(formula, data = data))
    b <- unname(coef(f))
    V <- unname(vcov(f))
    obj_own <- ch_objective(b, X, y)
    obj_rb  <- rb_objective(b, X, y)
    g <- ch_gradient(b, X, y)
    ## "Convergence Achieved" is printed by BYlogreg when maxhalf step halvings
    ## fail to decrease the objective; `convergence` is FALSE only when maxit is hit.
    list(coef = as_list(b),
         se = as_list(unname(sqrt(diag(V)))),
         cov = V,
         converged = isTRUE(f$convergence),          # glmrob BY stores `convergence`
         converged_field = "convergence (fit$converged is NULL for BY/WBY)",
         iter = as.integer(f$iter),
         stopped_by_halving = any(grepl("Convergence Achieved", msgs)),
         objective = obj_own,                         # own closed form (NOTES.md)
         objective_phiBY3 = obj_rb,                   # robustbase:::phiBY3
         objective_reported = as.numeric(f$objective),# fit$objective (BYlogreg's oldobj)
         grad_at_estimate = as_list(g),
         grad_norm = sqrt(sum(g^2)),
         warnings = as_list(warns),
         messages = as_list(unique(trimws(msgs))))
}

## A tight independent minimisation of the same objective (own implementation,
## nlminb with analytic gradient, started at robustbase's BY estimate), so that
## tests can see how far robustbase stopped from the minimum.
refine_min <- function(formula, data, start) {
    X <- model.matrix(formula, data = data)
    y <- model.response(model.frame(formula, data = data))
    best <- NULL
    for (s in list(start, start * 0.9, start * 1.1)) {
        o <- nlminb(s, ch_objective, ch_gradient, X = X, y01 = y,
                    control = list(eval.max = 5000, iter.max = 5000,
                                   rel.tol = 1e-15, x.tol = 1e-12))
        ## polish with BFGS
        o2 <- optim(o$par, ch_objective, ch_gradient, X = X, y01 = y, method = "BFGS",
                    control = list(reltol = 1e-16, maxit = 10000))
        if (o2$value < o$objective) { o$par <- o2$par; o$objective <- o2$value }
        if (is.null(best) || o$objective < best$objective) best <- o
    }
    ## Newton polish: Hessian by central differences of the analytic gradient;
    ## a step is kept only if it lowers the gradient norm without raising the
    ## objective (phi_CH is C1, piecewise C2, so this is safe near the minimum).
    b <- best$par; g <- ch_gradient(b, X, y); fb <- ch_objective(b, X, y)
    for (it in 1:20) {
        h <- 1e-5 * pmax(1, abs(b))
        H <- sapply(seq_along(b), function(j) {
            e <- replace(numeric(length(b)), j, h[j])
            (ch_gradient(b + e, X, y) - ch_gradient(b - e, X, y)) / (2 * h[j])
        })
        H <- (H + t(H)) / 2
        step <- tryCatch(solve(H, g), error = function(e) NULL)
        if (is.null(step)) break
        bn <- b - step; gn <- ch_gradient(bn, X, y); fn <- ch_objective(bn, X, y)
        if (sqrt(sum(gn^2)) < sqrt(sum(g^2)) && fn <= fb + 1e-15) {
            b <- bn; g <- gn; fb <- fn
        } else break
    }
    list(coef = as_list(unname(b)), objective = fb,
         grad_norm = sqrt(sum(g^2)),
         method = "own closed-form CH objective: nlminb + optim(BFGS) with analytic gradient from the BY estimate (+-10%), then Newton polish")
}

do_dataset <- function(formula, data) {
    X <- model.matrix(formula, data = data)
    res <- list(formula = paste(deparse(formula), collapse = " "),
                n = nrow(X),
                columns = as_list(colnames(X)),
                glm = fit_glm(formula, data),
                BY = fit_rob(formula, data, "BY"),
                WBY = fit_rob(formula, data, "WBY"))
    if (is.null(res$BY$error))
        res$CH_min_refined <- refine_min(formula, data, unlist(res$BY$coef))
    res
}

read_csv <- function(name) read.csv(file.path(data_dir, name), check.names = FALSE)

vaso <- read_csv("vaso.csv")
foodstamp <- read_csv("foodstamp.csv")
leukemia <- read_csv("leukemia.csv")

REFS <- list()
REFS$vaso <- do_dataset(Y ~ log(Volume) + log(Rate), vaso)
REFS$foodstamp <- do_dataset(participation ~ tenancy + suppl.income + log(income + 1), foodstamp)
REFS$leukemia <- do_dataset(y ~ ag + log(wbc), leukemia)

## ---------------------------------------------------------------------------
## Synthetic data: n = 200, intercept + one covariate x1 ~ N(0,1),
## beta = (0, 2), plus 4 gross outliers (x1 = -4..-5.5 region, y = 1).
## Written with 10 decimals and RE-READ before fitting, so the fitted numbers
## refer exactly to the doubles Python gets from the CSV (no RNG sharing).
## ---------------------------------------------------------------------------
set.seed(20240611)
n_syn <- 200L
x1 <- rnorm(n_syn)
y <- rbinom(n_syn, 1, plogis(0 + 2 * x1))
out_idx <- c(3L, 50L, 111L, 170L)
x1[out_idx] <- c(-4, -4.5, -5, -5.5)
y[out_idx] <- 1L
syn <- data.frame(x1 = sprintf("%.10f", x1), y = y)
write.csv(syn, out_csv, row.names = FALSE, quote = FALSE)
syn <- read.csv(out_csv)
REFS$synthetic <- do_dataset(y ~ x1, syn)
REFS$synthetic$csv <- "tests/results/synthetic_by.csv"
REFS$synthetic$description <- paste(
    "n=200, x1 ~ N(0,1) (set.seed(20240611), rnorm), y ~ Bernoulli(plogis(2*x1));",
    "rows 3, 50, 111, 170 (1-based) replaced by outliers x1 = -4, -4.5, -5, -5.5 with y = 1")
REFS$synthetic$outlier_rows_1based <- as_list(out_idx)

## ---------------------------------------------------------------------------
## Write the Python module
## ---------------------------------------------------------------------------
cmd <- "Rscript tests/results/make_robustbase_refs.R datasets"
header <- c(
    "# Reference values from R's robustbase for lsis_robust tests.",
    "# GENERATED FILE -- do not edit by hand.",
    paste0("# Regenerate (from the repository root):  ", cmd),
    "#   (needs: apt-get install r-cran-robustbase r-cran-robust)",
    paste0("# ", R.version.string),
    paste0("# robustbase ", as.character(packageVersion("robustbase")),
           if (requireNamespace("robust", quietly = TRUE))
               paste0(", robust ", as.character(packageVersion("robust"))) else ""),
    paste0("# Generated: ", format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z")),
    paste0("# Data directory argument: ", data_dir),
    "#",
    "# Per data set: glm (binomial ML), BY and WBY (glmrob, const = 0.5, maxit = 1000, maxhalf = 10).",
    "# 'objective' = mean_i phi_CH(y_i x_i'beta), y in {-1,+1}, c = 0.5, computed by an",
    "# independent R implementation of the closed form in NOTES.md; 'objective_phiBY3' uses",
    "# robustbase:::phiBY3; 'objective_reported' is glmrob's own fit$objective.",
    "# 'converged' is glmrob's fit$convergence (fit$converged is NULL for BY/WBY);",
    "# 'stopped_by_halving' = BYlogreg printed 'Convergence Achieved' (maxhalf halvings failed).",
    "# 'cov'/'se' are vcov(fit) / sqrt(diag(vcov(fit))) (robustbase's sandwich for BY/WBY).",
    "# 'CH_min_refined' is a tight minimisation of the same objective (own code, not robustbase).",
    "# A fit entry with an 'error' key means glmrob raised that error.",
    "# No imports: plain literals only.",
    ""
)
meta <- list(R_version = R.version.string,
             robustbase_version = as.character(packageVersion("robustbase")),
             generated = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
             command = cmd,
             const = C_CH)
body <- c(paste0("META = ", py_dict(meta)), "",
          paste0("REFS = ", py_dict(REFS)), "")
writeLines(c(header, body), out_py)
cat("wrote", out_py, "and", out_csv, "\n")

## Short summary on stdout
for (nm in names(REFS)) {
    r <- REFS[[nm]]
    cat(sprintf("\n== %s (n=%d) columns: %s\n", nm, r$n, paste(unlist(r$columns), collapse = ", ")))
    cat("  glm coef:", sprintf("%.10g", unlist(r$glm$coef)), " loglik/n:", sprintf("%.10g", r$glm$loglik_per_obs), "\n")
    for (m in c("BY", "WBY")) {
        f <- r[[m]]
        if (!is.null(f$error)) { cat(sprintf("  %s: ERROR %s\n", m, f$error)); next }
        cat(sprintf("  %s coef: %s  conv=%s iter=%d halving=%s obj=%.10g (phiBY3 %.10g, reported %.10g)\n",
                    m, paste(sprintf("%.10g", unlist(f$coef)), collapse = " "), f$converged, f$iter,
                    f$stopped_by_halving, f$objective, f$objective_phiBY3, f$objective_reported))
    }
    if (!is.null(r$CH_min_refined))
        cat(sprintf("  refined min: %s obj=%.10g |grad|=%.2g\n",
                    paste(sprintf("%.10g", unlist(r$CH_min_refined$coef)), collapse = " "),
                    r$CH_min_refined$objective, r$CH_min_refined$grad_norm))
}
