#!/usr/bin/env bash
# Idempotent install of the command-line tools the tests and the deployment route use, in a venv outside the
# checkout (EC2OPS_TOOLS_HOME, default ~/.cache/ec2ops-tools) so fresh clones on one machine share it:
#   cfn-lint      validates template.yaml (SAM transform included)
#   cargo-lambda  builds the Lambda zip (`cargo lambda build --release`), only with `scripts/tools.sh install lambda`
# Prints the venv's bin directory; put it on PATH.
set -euo pipefail
home=${EC2OPS_TOOLS_HOME:-$HOME/.cache/ec2ops-tools}
venv=$home/venv
if [ ! -x "$venv/bin/cfn-lint" ]; then
  echo "tools: installing cfn-lint into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check cfn-lint
fi
if [ "${2:-}" = "lambda" ] && [ ! -x "$venv/bin/cargo-lambda" ]; then
  echo "tools: installing cargo-lambda into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda
fi
echo "$venv/bin"
