#!/usr/bin/env bash
# Prints the kill, fault and recover tables of docs/resilience.md, as the simulator computes them (each test asserts
# every invariant on every row). Paste the output over the tables there after a change to the pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
EC2OPS_SIM_TABLES=1 cargo test --locked -q -p ec2ops-tests --test sim table -- --nocapture --test-threads 1 2>/dev/null |
  grep -v -e '^running ' -e '^test ' -e '^ok$' -e '^test result' | cat -s
