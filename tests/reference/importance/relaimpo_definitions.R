# Reference values for tests/test_importance.py, computed in base R by refitting lm() on
# every subset of factors (no shared code with the Python engine).
#
# relaimpo is not packaged for Debian, so its definitions (Groemping 2006, J Stat Softw
# 17(1); relaimpo 2.2-7 calc.relimp with `always=` and `groups=`) are written out here:
#   - always-in covariates are in every model; only R2(full) - R2(covariates) is split;
#   - lmg: Shapley value of R2 over orderings of the factors (groups act as one player);
#   - first: R2(covariates + factor) - R2(covariates);
#   - last:  R2(full) - R2(full without factor);
#   - betasq: b^2 var(x | covariates) / var(y); pratt: b cov(x, y | covariates) / var(y),
#     with b the full-model coefficient; all in units of the total variance of y.
# Weighted fits use lm(weights=), matching cov.wt() in relaimpo.
#
# Run from the repository root:  Rscript tests/reference/importance/relaimpo_definitions.R
data(swiss)
out_file <- "tests/reference/importance/swiss_reference.csv"

r2 <- function(cols, always, w) {
  terms <- c(always, cols)
  if (length(terms) == 0) return(0)
  f <- reformulate(sprintf("`%s`", terms), response = "Fertility")
  fit <- lm(f, data = swiss, weights = w)
  y <- swiss$Fertility
  yhat <- fitted(fit)
  if (is.null(w)) w <- rep(1, nrow(swiss))
  m <- sum(w * y) / sum(w)
  1 - sum(w * (y - yhat)^2) / sum(w * (y - m)^2)
}

shares <- function(groups, always = character(0), w = NULL) {
  p <- length(groups)
  subsets <- expand.grid(rep(list(c(FALSE, TRUE)), p))
  val <- apply(subsets, 1, function(s) r2(unlist(groups[as.logical(s)]), always, w))
  key <- apply(subsets, 1, function(s) paste(as.integer(s), collapse = ""))
  names(val) <- key
  lmg <- first <- last <- numeric(p)
  for (j in seq_len(p)) {
    for (i in seq_len(nrow(subsets))) {
      s <- as.logical(subsets[i, ])
      if (s[j]) next
      k <- sum(s)
      t <- s; t[j] <- TRUE
      gain <- val[paste(as.integer(t), collapse = "")] - val[i]
      lmg[j] <- lmg[j] + gain * factorial(k) * factorial(p - k - 1) / factorial(p)
    }
    alone <- rep(FALSE, p); alone[j] <- TRUE
    first[j] <- val[paste(as.integer(alone), collapse = "")] - r2(character(0), always, w)
    others <- rep(TRUE, p); others[j] <- FALSE
    last[j] <- val[paste(rep(1L, p), collapse = "")] - val[paste(as.integer(others), collapse = "")]
  }
  res <- data.frame(factor = names(groups), lmg = lmg, first = first, last = last)
  if (all(lengths(groups) == 1)) {
    cols <- unlist(groups)
    f <- reformulate(sprintf("`%s`", c(always, cols)), response = "Fertility")
    fit <- lm(f, data = swiss, weights = w)
    b <- coef(fit)[sprintf("`%s`", cols)]
    if (any(is.na(b))) b <- coef(fit)[cols]
    if (is.null(w)) w <- rep(1, nrow(swiss))
    wt <- w / sum(w)
    cv <- cov.wt(swiss[, c("Fertility", always, cols)], wt = wt)$cov
    if (length(always)) {
      a <- always
      cv <- cv[c("Fertility", cols), c("Fertility", cols)] -
        cv[c("Fertility", cols), a, drop = FALSE] %*% solve(cv[a, a, drop = FALSE], cv[a, c("Fertility", cols), drop = FALSE])
    }
    vy <- cov.wt(swiss["Fertility"], wt = wt)$cov[1, 1]
    res$betasq <- as.numeric(b^2 * diag(cv)[cols] / vy)
    res$pratt <- as.numeric(b * cv[cols, "Fertility"] / vy)
  } else {
    res$betasq <- NA
    res$pratt <- NA
  }
  res$r2 <- val[paste(rep(1L, p), collapse = "")]
  res$r2_covariates <- r2(character(0), always, w)
  res
}

preds <- c("Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality")
single <- setNames(as.list(preds), preds)
w <- swiss$Agriculture / 10 + 1  # arbitrary positive weights for the weighted case
cases <- list(
  plain = shares(single),
  grouped = shares(list(Agriculture = "Agriculture", schooling = c("Examination", "Education"),
                        Catholic = "Catholic", Infant.Mortality = "Infant.Mortality")),
  always = shares(setNames(as.list(preds[1:4]), preds[1:4]), always = "Infant.Mortality"),
  grouped_always = shares(list(schooling = c("Examination", "Education"),
                               other = c("Agriculture", "Catholic")), always = "Infant.Mortality"),
  weighted = shares(single, w = w)
)
rows <- do.call(rbind, lapply(names(cases), function(k) cbind(case = k, cases[[k]])))
header <- sprintf("# %s; base R refits with lm() on every subset; weights for 'weighted' = Agriculture/10 + 1",
                  R.version.string)
writeLines(header, out_file)
suppressWarnings(write.table(format(rows, digits = 15), out_file, sep = ",", row.names = FALSE,
                             quote = FALSE, append = TRUE))
cat("wrote", out_file, "\n")
