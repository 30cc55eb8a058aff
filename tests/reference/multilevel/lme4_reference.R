# Reference values for tests/test_multilevel.py, tests/test_mixed.py and
# tests/test_longitudinal.py, computed with lme4 and performance (no shared code with the
# Python side).
#
# Data: clients.csv (one row per client, clients in 30 coaches) and sessions.csv (one row per
# client and session), drawn by make_data.py in this folder.
#
# Centring within coaches ("cwc"): each client-level predictor x is split into its coach mean
# x_between = ave(x, coach_id) and the deviation x_within = x - x_between.
#
# Models (each fitted by REML and by ML):
#   null      end_score ~ 1 + (1 | coach_id)
#   ri_cwc    end_score ~ baseline_within + baseline_between + alliance_within
#                         + alliance_between + hope_within + hope_between + (1 | coach_id)
#   ri_none   end_score ~ baseline + alliance + hope + (1 | coach_id)
#   rs_cwc    as ri_cwc with (1 + alliance_within | coach_id)
#   alliance  outcome_next ~ outcome + session + alliance_within + alliance_between
#                            + (1 | coach_id / engagement_id)
#             where outcome_next is the outcome at session s + 1 of the same engagement and
#             the alliance is split about the engagement's mean over the rows used.
#
#   shares    Shapley values over the factor groups client = baseline, relationship = alliance,
#             expectancy = hope (each split within/between coaches) of the marginal R² of the
#             2^3 random-intercept models end_score ~ groups in S + (1 | coach_id) (REML),
#             with the coach variance and the residual variance of the full model as shares
#             of its total (fixed-effect variance + coach variance + residual variance).
#
# Quantities: fixed effects and their standard errors (vcov of lmer), variances of the random
# terms and the residual (VarCorr), the log-likelihood (REML criterion for REML fits),
# performance::r2_nakagawa (marginal, conditional) and performance::icc (adjusted).
#
# Run from the repository root:  Rscript tests/reference/multilevel/lme4_reference.R
suppressPackageStartupMessages({
  library(lme4)
  library(performance)
})
here <- "tests/reference/multilevel"
clients <- read.csv(file.path(here, "clients.csv"), stringsAsFactors = FALSE)
for (v in c("baseline", "alliance", "hope")) {
  clients[[paste0(v, "_between")]] <- ave(clients[[v]], clients$coach_id)
  clients[[paste0(v, "_within")]] <- clients[[v]] - clients[[paste0(v, "_between")]]
}

sessions <- read.csv(file.path(here, "sessions.csv"), stringsAsFactors = FALSE)
key <- paste(sessions$engagement_id, sessions$session)
nxt <- match(paste(sessions$engagement_id, sessions$session + 1), key)
sessions$outcome_next <- sessions$outcome[nxt]
lagged <- sessions[!is.na(sessions$outcome_next), ]
lagged$alliance_between <- ave(lagged$alliance, lagged$engagement_id)
lagged$alliance_within <- lagged$alliance - lagged$alliance_between

control <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12,
                                                            maxfun = 1e5))
cwc <- "baseline_within + baseline_between + alliance_within + alliance_between + hope_within + hope_between"
models <- list(
  null = list(formula = "end_score ~ 1 + (1 | coach_id)", data = clients),
  ri_cwc = list(formula = paste("end_score ~", cwc, "+ (1 | coach_id)"), data = clients),
  ri_none = list(formula = "end_score ~ baseline + alliance + hope + (1 | coach_id)",
                 data = clients),
  rs_cwc = list(formula = paste("end_score ~", cwc, "+ (1 + alliance_within | coach_id)"),
                data = clients),
  alliance = list(formula = paste("outcome_next ~ outcome + session + alliance_within +",
                                  "alliance_between + (1 | coach_id / engagement_id)"),
                  data = lagged)
)

rows <- list()
add <- function(model, method, quantity, term, value) {
  rows[[length(rows) + 1]] <<- data.frame(model = model, method = method, quantity = quantity,
                                          term = term, value = value)
}
for (name in names(models)) {
  for (method in c("REML", "ML")) {
    spec <- models[[name]]
    fit <- lmer(as.formula(spec$formula), data = spec$data, REML = method == "REML",
                control = control)
    fe <- fixef(fit)
    se <- sqrt(diag(as.matrix(vcov(fit))))
    for (t in names(fe)) {
      add(name, method, "estimate", t, fe[[t]])
      add(name, method, "std_error", t, se[[t]])
    }
    vc <- as.data.frame(VarCorr(fit))
    for (i in seq_len(nrow(vc))) {
      term <- if (is.na(vc$var1[i])) "residual" else
        if (is.na(vc$var2[i])) paste0(vc$grp[i], ":", vc$var1[i]) else
          paste0(vc$grp[i], ":", vc$var1[i], ",", vc$var2[i])
      add(name, method, "variance", term, vc$vcov[i])
    }
    add(name, method, "loglik", "", as.numeric(logLik(fit)))
    add(name, method, "singular", "", as.numeric(isSingular(fit)))
    if (name != "alliance") {
      r2 <- r2_nakagawa(fit)
      add(name, method, "r2_marginal", "", r2$R2_marginal)
      add(name, method, "r2_conditional", "", if (name == "null") NA else r2$R2_conditional)
      add(name, method, "icc_adjusted", "", icc(fit)$ICC_adjusted)
    }
  }
}
groups <- list(client = c("baseline_within", "baseline_between"),
               relationship = c("alliance_within", "alliance_between"),
               expectancy = c("hope_within", "hope_between"))
p <- length(groups)
r2m <- numeric(2^p)
for (mask in 0:(2^p - 1)) {
  terms <- unlist(groups[bitwAnd(mask, 2^(0:(p - 1))) > 0])
  rhs <- if (length(terms)) paste(terms, collapse = " + ") else "1"
  fit <- lmer(as.formula(paste("end_score ~", rhs, "+ (1 | coach_id)")), data = clients,
              control = control)
  r2m[mask + 1] <- if (length(terms)) r2_nakagawa(fit)$R2_marginal else 0
}
for (j in seq_len(p)) {
  value <- 0
  for (mask in 0:(2^p - 1)) {
    if (bitwAnd(mask, 2^(j - 1)) > 0) next
    s <- sum(bitwAnd(mask, 2^(0:(p - 1))) > 0)
    weight <- factorial(s) * factorial(p - s - 1) / factorial(p)
    value <- value + weight * (r2m[mask + 1 + 2^(j - 1)] - r2m[mask + 1])
  }
  add("shares", "REML", "share", names(groups)[j], value)
}
vc <- as.data.frame(VarCorr(fit))
fixed <- var(as.vector(model.matrix(fit) %*% fixef(fit)))
total <- fixed + sum(vc$vcov)
add("shares", "REML", "share", "coach", vc$vcov[vc$grp == "coach_id"] / total)
add("shares", "REML", "share", "unexplained", vc$vcov[vc$grp == "Residual"] / total)
add("shares", "REML", "r2_marginal", "", r2m[2^p])

out <- do.call(rbind, rows)
header <- c(
  sprintf("# %s", R.version.string),
  sprintf("# lme4 %s; performance %s; insight %s; Matrix %s",
          packageVersion("lme4"), packageVersion("performance"), packageVersion("insight"),
          packageVersion("Matrix")),
  "# written by tests/reference/multilevel/lme4_reference.R from clients.csv and sessions.csv"
)
file <- file.path(here, "lme4_reference.csv")
writeLines(header, file)
suppressWarnings(write.table(out, file, sep = ",", row.names = FALSE, append = TRUE,
                             qmethod = "double", na = ""))
cat("wrote", nrow(out), "rows to", file, "\n")
