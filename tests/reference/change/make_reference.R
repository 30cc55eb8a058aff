# Reference numbers for tests/test_change.py, computed in base R from the formulas as
# published, independently of the Python code.
#
# Run from this folder:  Rscript make_reference.R
# Writes rci_reference.csv: per-client reliable change indices for the Jacobson et al. (1989)
# marital-therapy data (GDS, lower = better) and the Claus et al. (2020) inpatient data (BDI,
# time 1 -> 4, lower = better), reliability 0.80, with the Jacobson & Truax (1991) cutoff a
# computed from the sample's pre scores. The suite reads the CSV; it does not need R.
#
# Indices (m, s = mean and SD of the complete cases' pre scores; r = reliability):
#   JT   (post - pre) / (s * sqrt(2 * (1 - r)))                 Jacobson & Truax 1991
#   GLN  (post - (m + r * (pre - m))) / (s * sqrt(1 - r^2))       Gulliksen; Lord & Novick
#   EN   (post - (m + r * (pre - m))) / (s * sqrt(1 - r))         Edwards et al. 1978; Speer 1992
#   HLL  (post - m_post - r * (pre - m)) / (s * sqrt(1 - r^2))    Hsu 1989
# Category: improved if -rci > 1.96, deteriorated if -rci < -1.96; recovered = improved with
# pre above and post below the cutoff a = m - 2 s (lower is better).
r <- 0.80
one <- function(name, id, pre, post) {
  keep <- !is.na(pre) & !is.na(post)
  id <- id[keep]; pre <- pre[keep]; post <- post[keep]
  m <- mean(pre); s <- sd(pre); mp <- mean(post); cut <- m - 2 * s
  index <- list(
    "jacobson-truax" = (post - pre) / (s * sqrt(2 * (1 - r))),
    "gulliksen-lord-novick" = (post - (m + r * (pre - m))) / (s * sqrt(1 - r^2)),
    "edwards-nunnally" = (post - (m + r * (pre - m))) / (s * sqrt(1 - r)),
    "hsu-linn-lord" = (post - mp - r * (pre - m)) / (s * sqrt(1 - r^2))
  )
  do.call(rbind, lapply(names(index), function(method) {
    rci <- index[[method]]
    category <- ifelse(-rci > 1.96, "improved", ifelse(-rci < -1.96, "deteriorated", "unchanged"))
    category[category == "improved" & pre > cut & post < cut] <- "recovered"
    data.frame(data = name, method = method, client = id, pre = pre, post = post,
               rci = sprintf("%.15g", rci), category = category, cutoff = sprintf("%.15g", cut))
  }))
}
jac <- read.csv("../../data/real/jacobson1989_marital_therapy.csv")
wide <- reshape(jac[, c("subject", "time", "gds")], idvar = "subject", timevar = "time",
                direction = "wide")
claus <- read.csv("../../data/real/claus2020_depression_inpatients.csv")
c1 <- claus[claus$time == 1, c("id", "bdi")]
c4 <- claus[claus$time == 4, c("id", "bdi")]
cw <- merge(c1, c4, by = "id", suffixes = c(".pre", ".post"))
out <- rbind(one("jacobson1989_gds", wide$subject, wide$gds.pre, wide$gds.post),
             one("claus2020_bdi", cw$id, cw$bdi.pre, cw$bdi.post))
con <- file("rci_reference.csv", "w")
writeLines(sprintf("# %s; base R only (stats::sd)", R.version.string), con)
write.csv(out, con, row.names = FALSE, quote = FALSE)
close(con)
