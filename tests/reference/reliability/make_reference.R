# Reference numbers for tests/test_reliability.py, written by R's psych package.
#
# Run from this folder:  Rscript make_reference.R
# Writes items.csv (the simulated answers) and expected.csv (what psych reports), both
# headed by the R and psych versions. The test suite reads the CSVs; it does not need R.
#
# Data: 250 respondents, 6 items on 1-5, one common factor with loadings .8 .7 .7 .6 .5 .4;
# item 6 is negatively keyed, so it is reversed (x' = 1 + 5 - x) before the statistics.
suppressPackageStartupMessages(library(psych))

set.seed(20240611)
n <- 250
loadings <- c(0.8, 0.7, 0.7, 0.6, 0.5, 0.4)
trait <- rnorm(n)
latent <- sapply(loadings, function(l) l * trait + sqrt(1 - l^2) * rnorm(n))
answers <- apply(latent, 2, function(z) as.integer(cut(z, c(-Inf, -1.5, -0.5, 0.5, 1.5, Inf))))
answers[, 6] <- 6L - answers[, 6]   # stored negatively keyed, as a respondent answers
colnames(answers) <- paste0("i", 1:6)

keyed <- as.data.frame(answers)
keyed$i6 <- 1 + 5 - keyed$i6

versions <- sprintf("# R %s.%s; psych %s", R.version$major, R.version$minor,
                    as.character(packageVersion("psych")))

a <- alpha(keyed, check.keys = FALSE, warnings = FALSE)
ml <- fa(keyed, nfactors = 1, fm = "ml")
lambda <- as.numeric(ml$loadings[, 1])
lambda <- lambda * sign(sum(lambda))
omega_t <- sum(lambda)^2 / (sum(lambda)^2 + sum(1 - lambda^2))
fact <- as.numeric(factanal(keyed, factors = 1)$loadings[, 1])
fact <- fact * sign(sum(fact))

rows <- rbind(
  data.frame(quantity = "alpha", item = NA, value = a$total$raw_alpha),
  data.frame(quantity = "alpha_ci_low", item = NA, value = a$feldt$lower.ci$raw_alpha),
  data.frame(quantity = "alpha_ci_high", item = NA, value = a$feldt$upper.ci$raw_alpha),
  data.frame(quantity = "omega", item = NA, value = omega_t),
  data.frame(quantity = "n", item = NA, value = nrow(keyed)),
  data.frame(quantity = "loading", item = 1:6, value = lambda),
  data.frame(quantity = "loading_factanal", item = 1:6, value = fact),
  data.frame(quantity = "item_total_correlation", item = 1:6, value = a$item.stats$r.drop),
  data.frame(quantity = "alpha_if_deleted", item = 1:6, value = a$alpha.drop$raw_alpha),
  data.frame(quantity = "mean", item = 1:6, value = a$item.stats$mean),
  data.frame(quantity = "sd", item = 1:6, value = a$item.stats$sd)
)

header <- c(versions,
            "# psych::alpha(check.keys = FALSE) with its Feldt 95% interval; psych::fa(nfactors = 1, fm = 'ml') loadings;",
            "# omega = (sum lambda)^2 / ((sum lambda)^2 + sum(1 - lambda^2)); stats::factanal loadings as a cross-check")
writeLines(header, "expected.csv")
suppressWarnings(write.table(format(rows, digits = 15), "expected.csv", append = TRUE,
                             sep = ",", row.names = FALSE, quote = FALSE))
writeLines(c(versions, "# 250 respondents x 6 items on 1-5; item 6 negatively keyed (as answered)"),
           "items.csv")
suppressWarnings(write.table(data.frame(respondent = sprintf("r%03d", 1:n), answers),
                             "items.csv", append = TRUE, sep = ",", row.names = FALSE,
                             quote = FALSE))
