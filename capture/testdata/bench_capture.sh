#!/usr/bin/env bash
# Measures the capture path (partition readers, fsync'd journal, hydrator
# fold) out of process on N pre-produced callbacks (default 1,000,000):
# throughput and peak RSS, and kcat's raw consumption of the same topics.
# Run from the repository root: make bench-capture [N=...]
set -euo pipefail
n=${1:-1000000}
bin=$(mktemp -d)/capturebench
go build -o "$bin" ./capture/testdata/capturebench
fifo=$(mktemp -u)
mkfifo "$fifo"
"$bin" serve -n "$n" > "$fifo" &
serve=$!
exec 3<"$fifo"
read -r ready bootstrap batch <&3
trap 'kill $serve 2>/dev/null || true; rm -f "$fifo"' EXIT
echo "broker $bootstrap holds $n callbacks of batch $batch"
"$bin" capture -bootstrap "$bootstrap" -n "$n"
if command -v kcat >/dev/null; then
  start=$(date +%s%N)
  kcat -C -b "$bootstrap" -t huleedu.llm_provider.comparison_result.v1 -o beginning -e -q > /dev/null
  end=$(date +%s%N)
  awk -v n="$n" -v ns=$((end - start)) 'BEGIN { printf "kcat read %d callbacks raw in %.2fs: %.0f msgs/s\n", n, ns/1e9, n/(ns/1e9) }'
else
  echo "kcat not installed: apt-get install kcat for the comparison"
fi
