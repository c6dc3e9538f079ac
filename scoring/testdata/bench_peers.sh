#!/usr/bin/env bash
# Reruns the comparison with R's BradleyTerry2 live: installs R and the
# package when missing (Debian), refits every data set in R, checks eng5np's
# fits against those fresh results (theta 1e-6, SE 1e-4), and times the whole
# process of `eng5np fit` against `Rscript` on the n=150 data set.
# Run from the repository root: make bench-peers
set -euo pipefail

here=scoring/testdata
bin=${ENG5NP_BIN:-bin/eng5np}

if ! Rscript -e 'suppressPackageStartupMessages(library(BradleyTerry2))' >/dev/null 2>&1; then
  echo "installing R and BradleyTerry2 (r-cran-bradleyterry2)..."
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq r-cran-bradleyterry2 >/dev/null
fi

fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
for name in small medium_repeated sparse peers150; do
  Rscript "$here/bt2_fit.R" "$here/$name.csv" "$fresh/$name.bt2.csv"
done
echo "R fits written; comparing eng5np with them:"
BT2_GOLDEN_DIR="$fresh" go test ./scoring -run 'TestFitAgreesWithBradleyTerry2' -count=1 -v | grep -E '^(---|ok|FAIL)'

ms() { date +%s%N; }
runs_ours=20
runs_r=5
start=$(ms)
for _ in $(seq $runs_ours); do "$bin" fit --comparisons "$here/peers150.csv" --alpha 0 >/dev/null; done
ours=$(( ($(ms) - start) / runs_ours / 1000 ))
start=$(ms)
for _ in $(seq $runs_r); do Rscript "$here/bt2_fit.R" "$here/peers150.csv" "$fresh/timing.csv" >/dev/null; done
theirs=$(( ($(ms) - start) / runs_r / 1000 ))
echo "whole process, n=150 items, m=3000 comparisons:"
echo "  eng5np fit --alpha 0     ${ours} µs (mean of $runs_ours runs)"
echo "  Rscript + BradleyTerry2  ${theirs} µs (mean of $runs_r runs)"
awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "  eng5np is %.0f× faster\n", a / b }'
