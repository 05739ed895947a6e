#!/usr/bin/env bash
# Idempotent install of the command-line tools the tests and the deployment route use, in a venv outside the
# checkout (EC2OPS_TOOLS_HOME, default ~/.cache/ec2ops-tools) so fresh clones on one machine share it:
#   scripts/tools.sh install          cfn-lint, which validates template.yaml (SAM transform included)
#   scripts/tools.sh install lambda   also the deployment route (scripts/package.sh): aws-sam-cli (`sam validate
#                                     --lint`, `sam build`), cargo-lambda (what `sam build` runs for BuildMethod
#                                     rust-cargolambda) and ziglang (cargo-lambda's linker)
# Each is installed only when missing. Prints the venv's bin directory; put it on PATH.
set -euo pipefail
home=${EC2OPS_TOOLS_HOME:-$HOME/.cache/ec2ops-tools}
venv=$home/venv
pip() { "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"; }
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ ! -x "$venv/bin/cfn-lint" ]; then
  echo "tools: installing cfn-lint into $venv" >&2
  pip cfn-lint
fi
if [ "${2:-}" = "lambda" ]; then
  missing=()
  [ -x "$venv/bin/sam" ] || missing+=(aws-sam-cli)
  [ -x "$venv/bin/cargo-lambda" ] || missing+=(cargo-lambda)
  "$venv/bin/python" -c 'import ziglang' 2>/dev/null || missing+=(ziglang)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "tools: installing ${missing[*]} into $venv" >&2
    pip "${missing[@]}"
  fi
fi
echo "$venv/bin"
