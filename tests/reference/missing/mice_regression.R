# Reference values for tests/test_missing.py: R's mice (method "norm", Bayesian linear
# regression) on tests/reference/missing/mar_data.csv, lm(y ~ x1 + x2) pooled by Rubin's
# rules over m = 500 imputations (maxit = 20, seed 20261206).
#
# Run from the repository root:  Rscript tests/reference/missing/mice_regression.R
suppressPackageStartupMessages(library(mice))
data <- read.csv("tests/reference/missing/mar_data.csv")
imp <- mice(data, method = "norm", m = 500, maxit = 20, seed = 20261206, printFlag = FALSE)
fits <- with(imp, lm(y ~ x1 + x2))
pooled <- summary(pool(fits))
est <- sapply(fits$analyses, coef)
out <- data.frame(term = as.character(pooled$term), estimate = pooled$estimate,
                  std_error = pooled$std.error,
                  between_sd = apply(est, 1, sd))
header <- sprintf("# %s; mice %s; m = 500, maxit = 20, method norm, seed 20261206",
                  R.version.string, packageVersion("mice"))
writeLines(header, "tests/reference/missing/mice_regression.csv")
write.table(out, "tests/reference/missing/mice_regression.csv", sep = ",", row.names = FALSE,
            append = TRUE, quote = FALSE)
