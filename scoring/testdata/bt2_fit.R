#!/usr/bin/env Rscript
# Fits Bradley–Terry with R's BradleyTerry2 to a comparisons CSV (header
# winner,loser) and writes id,ability,se for every item, the reference item
# (the first in sort order, BradleyTerry2's default refcat) having 0 and 0.
#
# Usage: Rscript bt2_fit.R IN.csv OUT.csv
# The tolerance is tightened (epsilon 1e-12) because glm's default stops far
# too early for a 1e-6 comparison of abilities.
suppressPackageStartupMessages(library(BradleyTerry2))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript bt2_fit.R IN.csv OUT.csv")
d <- read.csv(args[1], stringsAsFactors = FALSE)
lev <- sort(unique(c(d$winner, d$loser)))
df <- data.frame(
  player1 = factor(d$winner, levels = lev),
  player2 = factor(d$loser, levels = lev),
  win1 = 1L,
  win2 = 0L
)
fit <- BTm(cbind(win1, win2), player1, player2, data = df, refcat = lev[1],
           control = glm.control(epsilon = 1e-12, maxit = 100))
ab <- BTabilities(fit)
out <- data.frame(id = rownames(ab), ability = ab[, "ability"], se = ab[, "s.e."])
write.csv(format(out, digits = 15), args[2], row.names = FALSE, quote = FALSE)
