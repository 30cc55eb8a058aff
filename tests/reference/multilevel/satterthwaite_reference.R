# Reference values for tests/test_mixed_small_sample.py: Satterthwaite degrees of freedom,
# t-test p-values and t intervals of the fixed effects of mixed models, as lmerTest computes
# them (no shared code with the Python side).
#
# Data:
#   clients.csv      30 coaches, 4-24 clients each (drawn by make_data.py in this folder)
#   sample_rows.csv  the bundled sample's complete rows of end_score, baseline, alliance and
#                    hope_agency, 60 coaches (written by sample_rows.py in this folder)
#   sleepstudy.csv   lme4's sleepstudy (Belenky et al. 2003, J Sleep Res 12:1-12): reaction
#                    times of 18 subjects over 10 days of sleep restriction; written here
#                    from lme4 so that the Python tests can read it
#
# Centring within coaches ("cwc"): x_between = ave(x, coach_id), x_within = x - x_between.
#
# Models (REML unless the method says ML):
#   clients_ri       end_score ~ baseline + alliance + hope + (1 | coach_id)
#   clients_between  end_score ~ cwc(baseline, alliance, hope) + (1 | coach_id)
#                    (REML and ML; hope_between is a between-coach effect)
#   clients_slope    as clients_between with (1 + alliance_within | coach_id)
#   sample_between   end_score ~ cwc(baseline, alliance, hope_agency) + (1 | coach_id)
#   sample_slope     as sample_between with (1 + alliance_within | coach_id)
#   clients_singular end_score ~ baseline + alliance + (1 | team), team = "T" followed by
#                    (row number - 1) modulo 7: a grouping without effect, so that the team
#                    variance is estimated at zero (a singular fit; the df then rest on the
#                    residual variance alone)
#   sleep_ri         Reaction ~ Days + (1 | Subject)
#   sleep_slope      Reaction ~ Days + (Days | Subject)
#
# Quantities per fixed effect: estimate, std_error, df (Satterthwaite), t, p_value and the
# 95 % t interval (ci_low, ci_high), from lmerTest::contest(joint = FALSE, confint = TRUE).
#
# Run from the repository root:  Rscript tests/reference/multilevel/satterthwaite_reference.R
suppressPackageStartupMessages({
  library(lmerTest)
})
here <- "tests/reference/multilevel"
cwc <- function(data, columns) {
  for (v in columns) {
    data[[paste0(v, "_between")]] <- ave(data[[v]], data$coach_id)
    data[[paste0(v, "_within")]] <- data[[v]] - data[[paste0(v, "_between")]]
  }
  data
}
clients <- cwc(read.csv(file.path(here, "clients.csv"), stringsAsFactors = FALSE),
               c("baseline", "alliance", "hope"))
clients$team <- paste0("T", (seq_len(nrow(clients)) - 1) %% 7)
sample_rows <- cwc(read.csv(file.path(here, "sample_rows.csv"), stringsAsFactors = FALSE),
                   c("baseline", "alliance", "hope_agency"))
sleep <- as.data.frame(lme4::sleepstudy)
sleep$Subject <- as.character(sleep$Subject)
write.csv(sleep[, c("Subject", "Days", "Reaction")], file.path(here, "sleepstudy.csv"),
          row.names = FALSE)

between <- "baseline_within + baseline_between + alliance_within + alliance_between + hope_within + hope_between"
sample_between <- "baseline_within + baseline_between + alliance_within + alliance_between + hope_agency_within + hope_agency_between"
models <- list(
  clients_ri = list("end_score ~ baseline + alliance + hope + (1 | coach_id)", clients, TRUE),
  clients_between = list(paste("end_score ~", between, "+ (1 | coach_id)"), clients, TRUE),
  clients_between_ml = list(paste("end_score ~", between, "+ (1 | coach_id)"), clients, FALSE),
  clients_slope = list(paste("end_score ~", between, "+ (1 + alliance_within | coach_id)"),
                       clients, TRUE),
  sample_between = list(paste("end_score ~", sample_between, "+ (1 | coach_id)"),
                        sample_rows, TRUE),
  sample_slope = list(paste("end_score ~", sample_between,
                            "+ (1 + alliance_within | coach_id)"), sample_rows, TRUE),
  clients_singular = list("end_score ~ baseline + alliance + (1 | team)", clients, TRUE),
  sleep_ri = list("Reaction ~ Days + (1 | Subject)", sleep, TRUE),
  sleep_slope = list("Reaction ~ Days + (Days | Subject)", sleep, TRUE)
)
control <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12,
                                                            maxfun = 1e5))
rows <- list()
for (name in names(models)) {
  spec <- models[[name]]
  fit <- lmer(as.formula(spec[[1]]), data = spec[[2]], REML = spec[[3]], control = control)
  p <- length(fixef(fit))
  tab <- contest(fit, L = diag(p), joint = FALSE, confint = TRUE, level = 0.95)
  terms <- names(fixef(fit))
  for (i in seq_len(p)) {
    values <- c(estimate = tab$Estimate[i], std_error = tab$`Std. Error`[i], df = tab$df[i],
                t = tab$`t value`[i], p_value = tab$`Pr(>|t|)`[i], ci_low = tab$lower[i],
                ci_high = tab$upper[i])
    rows[[length(rows) + 1]] <- data.frame(
      model = name, method = if (spec[[3]]) "REML" else "ML", term = terms[i],
      quantity = names(values), value = unname(values))
  }
  rows[[length(rows) + 1]] <- data.frame(model = name, method = if (spec[[3]]) "REML" else "ML",
                                         term = "", quantity = "singular",
                                         value = as.numeric(isSingular(fit)))
}
out <- do.call(rbind, rows)
header <- c(
  sprintf("# %s", R.version.string),
  sprintf("# lmerTest %s; lme4 %s; numDeriv %s; Matrix %s", packageVersion("lmerTest"),
          packageVersion("lme4"), packageVersion("numDeriv"), packageVersion("Matrix")),
  "# written by tests/reference/multilevel/satterthwaite_reference.R"
)
file <- file.path(here, "satterthwaite_reference.csv")
writeLines(header, file)
suppressWarnings(write.table(out, file, sep = ",", row.names = FALSE, append = TRUE,
                             qmethod = "double", na = "", col.names = TRUE))
cat("wrote", nrow(out), "rows to", file, "\n")
