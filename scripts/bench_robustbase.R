#!/usr/bin/env Rscript
## Time R's robustbase Bianco-Yohai fit (and plain glm) on a CSV data set.
##
## glmrob(method = "BY") minimises the Croux-Haesbroeck objective (robustbase's BYlogreg, const = 0.5):
## it is the reference for both the CH and the BY fits of lsis_robust.bench.foundation.
##
## Usage: Rscript scripts/bench_robustbase.R <data.csv> [repeats = 5]
##   <data.csv>: header row; a 0/1 column `y` and one or more covariate columns
##               (x1, x2, ...); every column other than y is a covariate and an
##               intercept is added.
## Output (stdout, one line each; nothing else is printed on stdout):
##   robustbase_BY_seconds <median elapsed seconds per glmrob(method = "BY") fit>
##   glm_seconds <median elapsed seconds per glm fit>
## Requires: apt-get install r-cran-robustbase
options(warn = -1)
suppressPackageStartupMessages(library(robustbase))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1L) {
    message("usage: Rscript bench_robustbase.R <data.csv> [repeats]")
    quit(status = 2)
}
dat <- read.csv(args[[1L]])
repeats <- if (length(args) >= 2L) as.integer(args[[2L]]) else 5L
if (is.na(repeats) || repeats < 1L) repeats <- 1L
if (!"y" %in% names(dat)) stop("CSV must have a 0/1 column named y")

time_fit <- function(expr_fun) {
    t <- numeric(repeats)
    for (i in seq_len(repeats)) {
        t0 <- proc.time()[["elapsed"]]
        expr_fun()
        t[i] <- proc.time()[["elapsed"]] - t0
    }
    median(t)
}

## BYlogreg prints "Convergence Achieved" via message(): keep stdout/stderr clean.
fit_by <- function(d) suppressWarnings(suppressMessages(
    glmrob(y ~ ., family = binomial, data = d, method = "BY")))
fit_glm <- function(d) suppressWarnings(glm(y ~ ., family = binomial, data = d))

## Warm-up (byte compilation, caches) on at most 1000 rows: what it prepares does not depend on n, and a
## full-size warm-up would double the run at n = 10^5.
warm <- dat[seq_len(min(nrow(dat), 1000L)), , drop = FALSE]
invisible(try(fit_by(warm), silent = TRUE)); invisible(fit_glm(warm))
cat(sprintf("robustbase_BY_seconds %.6g\n", time_fit(function() fit_by(dat))))
cat(sprintf("glm_seconds %.6g\n", time_fit(function() fit_glm(dat))))
