#!/usr/bin/env bash
# The deployment route, proven on this machine: `sam validate --lint`, `sam build` (BuildMethod rust-cargolambda:
# `cargo lambda build --release --bin responder`), then a smoke test of the packaged
# .aws-sam/build/ResponderFunction/bootstrap itself against a stub Lambda Runtime API and the local emulator
# (scripts/smoke_bootstrap.py: cold start, a real report through SNS to SQS, an ignored event, a malformed event,
# a forced panic that leaves the process serving, a failing Runtime API). Prints timings and the package size;
# exits non-zero if any step or check fails. Then `sam deploy --guided` ships exactly this build.
#
#   scripts/package.sh             # everything
#   scripts/package.sh --no-smoke  # validate, build and size only
#
# The first build compiles the workspace for the Lambda target (lto = "fat", codegen-units = 1: about 20 minutes on
# 2 cores); later builds reuse target/ and take seconds when nothing changed (SAM's own cache is off:
# samconfig.toml says why). Installs aws-sam-cli, cargo-lambda and ziglang on first use (scripts/tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=1
case "${1:-}" in
  "") ;;
  --no-smoke) smoke=0 ;;
  *) echo "usage: $0 [--no-smoke]" >&2; exit 2 ;;
esac

fail() { echo "package: FAILED: $*" >&2; exit 1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

tools_bin=$(scripts/tools.sh install lambda)
export PATH="$tools_bin:$PATH"
unset AWS_PROFILE
# sam may ask whether to send telemetry; never here.
export SAM_CLI_TELEMETRY=0

echo "package: $(sam --version), $(cargo lambda --version 2>/dev/null | head -1), $(rustc --version)"

# The test hook that forces a panic must never be armed by the deployment.
if grep -q EC2OPS_TEST_PANIC_TOKEN template.yaml; then
  fail "template.yaml sets EC2OPS_TEST_PANIC_TOKEN (the responder's test-only panic hook)"
fi

t=$(now)
sam validate --lint || fail "sam validate --lint"
echo "package: sam validate --lint passed in $(took "$t")"

# What the template's Rules cannot compare (ReservedConcurrency against AlarmBufferConcurrency + the work queue's
# 10), on the parameters `sam deploy` reads from samconfig.toml; values typed at `sam deploy --guided` or passed
# with --parameter-overrides are checked by running the script with them (docs/delivery.md, "An optional buffer").
scripts/check_parameters.py || fail "deployment parameters (scripts/check_parameters.py)"

t=$(now)
sam build || fail "sam build"
echo "package: sam build passed in $(took "$t")"

bootstrap=.aws-sam/build/ResponderFunction/bootstrap
[ -x "$bootstrap" ] || fail "$bootstrap missing after sam build"
[ "$(head -c 4 "$bootstrap" | tail -c 3)" = ELF ] || fail "$bootstrap is not an ELF executable"

# The flags cargo-lambda added to rustc beyond [profile.release] (RUSTFLAGS, cargo config, its own defaults), as cargo
# recorded them for the responder: none are expected (a target-cpu, for one, would tie the binary to a CPU floor), so
# any is a failure: the deployed binary would not be the program the workspace pins.
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
fingerprint=$(ls -t "$target_dir"/x86_64-unknown-linux-gnu/release/.fingerprint/ec2ops-responder-*/bin-responder.json 2>/dev/null | head -1 || true)
[ -n "$fingerprint" ] || fail "no cargo fingerprint of the responder under $target_dir/x86_64-unknown-linux-gnu/release"
flags=$(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["rustflags"]))' "$fingerprint")
echo "package: rustc flags beyond [profile.release]: ${flags:-none}"
[ -z "$flags" ] || fail "the build passed rustc flags beyond [profile.release]: $flags (RUSTFLAGS or cargo config?)"

# The zip Lambda receives (`sam deploy` zips the build directory): deflate, as SAM does.
zip=.aws-sam/responder.zip
python3 - "$bootstrap" "$zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], "bootstrap")
PY
size() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB (%d bytes)", b / 1048576, b }'; }
echo "package: bootstrap $(mib "$(size "$bootstrap")"), zip $(mib "$(size "$zip")") ($zip)"
echo "package: sha256 $(sha256sum "$bootstrap" | cut -d' ' -f1)  $bootstrap"

if [ "$smoke" = 1 ]; then
  scripts/emulator.sh start
  eval "$(scripts/emulator.sh env)"
  t=$(now)
  echo "package: smoke test of $bootstrap (stub Runtime API + emulator):"
  "$tools_bin/python" scripts/smoke_bootstrap.py "$bootstrap" || fail "smoke test of $bootstrap"
  echo "package: smoke test passed in $(took "$t")"
fi
echo "package: OK — $bootstrap is what \`sam deploy\` ships"
