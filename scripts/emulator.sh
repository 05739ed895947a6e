#!/usr/bin/env bash
# Local AWS emulator for ec2ops: LocalStack (EC2, CloudWatch, SNS, SQS, STS, ...) on 127.0.0.1:4566 and
# moto server (DynamoDB, which LocalStack community does not serve here, and CloudWatch Logs) on 127.0.0.1:5000.
#
#   scripts/emulator.sh install   # idempotent: Python venv with pinned LocalStack + moto
#   scripts/emulator.sh start     # install if needed, start both, wait until healthy
#   scripts/emulator.sh stop
#   scripts/emulator.sh env       # print the environment that routes the AWS SDK to the emulator
#
# The venv lives outside the checkout (EC2OPS_EMULATOR_HOME, default ~/.cache/ec2ops-emulator) so fresh clones on the
# same machine reuse it; logs and pid files live in .emulator/ inside the checkout.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
home=${EC2OPS_EMULATOR_HOME:-$HOME/.cache/ec2ops-emulator}
venv=$home/localstack
moto_venv=$home/moto
state=$here/.emulator
ls_port=${LOCALSTACK_PORT:-4566}
moto_port=${MOTO_PORT:-5000}
# LocalStack 4.13.1 is the last release that runs on Python 3.11; the other pins were needed for it to start.
# moto gets its own venv: LocalStack ships its own fork of the `moto` package, which a plain moto install replaces.
pins=("localstack-core[runtime]==4.13.1" "cbor2<6" "cryptography==43.0.3" "pyopenssl==24.2.1" "service_identity<25")
moto_pins=("moto[server]>=5,<6")
stamp="$venv/.ec2ops-pins-v1"
moto_stamp="$moto_venv/.ec2ops-pins-v1"

log() { printf 'emulator: %s\n' "$*" >&2; }

install() {
  mkdir -p "$home"
  if [ ! -f "$stamp" ]; then
    log "installing LocalStack 4.13.1 into $venv (one time, a few minutes)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
    touch "$stamp"
  fi
  if [ ! -f "$moto_stamp" ]; then
    log "installing moto server into $moto_venv (one time)"
    rm -rf "$moto_venv"
    python3 -m venv "$moto_venv"
    "$moto_venv/bin/pip" install --quiet --disable-pip-version-check "${moto_pins[@]}"
    touch "$moto_stamp"
  fi
}

healthy() {
  curl -fsS "http://127.0.0.1:$ls_port/_localstack/health" 2>/dev/null | grep -q '"ec2": "\(available\|running\)"' &&
    curl -fsS -o /dev/null "http://127.0.0.1:$moto_port/moto-api/" 2>/dev/null
}

start() {
  install
  mkdir -p "$state"
  cd "$state"
  if healthy; then log "already running"; return 0; fi
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$ls_port/_localstack/health" 2>/dev/null; then
    log "starting LocalStack on 127.0.0.1:$ls_port"
    # setsid: LocalStack gets its own process group, so stop can end it with everything it spawned.
    GATEWAY_LISTEN=127.0.0.1:$ls_port SERVICES=ec2,cloudwatch,ssm,sns,sqs,events,sts,scheduler \
      DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 LOCALSTACK_VOLUME_DIR="$state/localstack" \
      setsid nohup "$venv/bin/python" -m localstack.runtime.main >"$state/localstack.log" 2>&1 </dev/null &
    echo $! >"$state/localstack.pid"
  fi
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$moto_port/moto-api/" 2>/dev/null; then
    log "starting moto on 127.0.0.1:$moto_port"
    # One request at a time, as DynamoDB isolates conditional writes and transactions (see scripts/moto_isolated.py).
    MOTO_PORT=$moto_port setsid nohup "$moto_venv/bin/python" "$here/scripts/moto_isolated.py" 127.0.0.1 "$moto_port" \
      >"$state/moto.log" 2>&1 </dev/null &
    echo $! >"$state/moto.pid"
  fi
  for _ in $(seq 1 120); do
    if healthy; then log "ready"; return 0; fi
    sleep 1
  done
  log "emulator did not become healthy in 120 s; last LocalStack log lines:"
  tail -n 30 "$state/localstack.log" >&2 || true
  return 1
}

stop() {
  for name in localstack moto; do
    if [ -f "$state/$name.pid" ]; then
      pid=$(cat "$state/$name.pid")
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
      rm -f "$state/$name.pid"
    fi
  done
  log "stopped"
}

env_vars() {
  cat <<VARS
export AWS_ENDPOINT_URL=http://127.0.0.1:$ls_port
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$moto_port
export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:$moto_port
export AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=http://127.0.0.1:$moto_port
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=\${AWS_REGION:-us-east-1}
VARS
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) env_vars ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
