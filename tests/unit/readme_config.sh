#!/usr/bin/env bash
# Keeps the README true: every KUBARR_* variable a binary declares in --help
# must appear in README.md's configuration table.
set -euo pipefail
bin=$1 readme=$2
missing=0
for d in gateway authd storaged metricsd; do
  for v in $("$bin/kubarr-$d" --help | grep -o 'KUBARR_[A-Z0-9_]*' | sort -u); do
    if ! grep -q "| \`$v\` |" "$readme"; then
      echo "README.md does not document $v (read by kubarr-$d)"
      missing=1
    fi
  done
done
[ $missing -eq 0 ] && echo "every KUBARR_* variable is documented"
exit $missing
