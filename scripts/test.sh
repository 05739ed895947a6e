#!/usr/bin/env bash
# Every test: unit, rules, golden reports, CLI, the Lambda binary against a stub Runtime API, every AWS adapter and
# the full pipeline against the local emulator (started here, stopped afterwards if this script started it), clippy
# with warnings as errors, and cfn-lint on template.yaml. Installs what it needs (emulator venv, cfn-lint) on first
# use.
set -euo pipefail
cd "$(dirname "$0")/.."

tools_bin=$(scripts/tools.sh install)
# The golden test runs every suggested command through the real AWS CLI.
EC2OPS_AWS_CLI_PYTHON=$(scripts/awscli.sh)
export EC2OPS_AWS_CLI_PYTHON
export PATH="$tools_bin:$PATH"

started=0
if ! curl -fsS -o /dev/null "http://127.0.0.1:${LOCALSTACK_PORT:-4566}/_localstack/health" 2>/dev/null; then
  started=1
fi
scripts/emulator.sh start
if [ "$started" = 1 ]; then trap 'scripts/emulator.sh stop' EXIT; fi

# The emulator tests must run, not skip, here.
export EC2OPS_REQUIRE_EMULATOR=1
unset AWS_PROFILE

echo "test: cargo fmt --check" >&2
cargo fmt --all -- --check
echo "test: cargo test --workspace" >&2
cargo test --workspace --locked
echo "test: cargo clippy --workspace --all-targets -- -D warnings" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "test: cfn-lint template.yaml" >&2
cfn-lint template.yaml
echo "test: cfn-lint passed" >&2
