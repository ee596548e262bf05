#!/usr/bin/env bash
# The README's quickstart walk-through, run as a reader would run it and checked step by step: `extauthz
# serve --config examples/quickstart` (certificates made on first run), mosquitto_sub and mosquitto_pub
# through the gate's mutual-TLS listener, HTTP publish with curl, test-authorization, lint, and a policy
# edit taking effect live. It works on a scratch copy of examples/ (the edit never touches the tree) and
# on the quickstart's own ports (8883, 8443, 9191-9195), which must be free. Each step prints PASS or
# FAIL; the script exits 1 if any failed. Needs dotnet, openssl, curl, mosquitto-clients, coreutils.
#
# EXTAUTHZ_ARTIFACTS_PATH=DIR builds into DIR (dotnet build --artifacts-path) instead of the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

for tool in dotnet openssl curl mosquitto_pub mosquitto_sub stdbuf sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "quickstart: $tool is required" >&2; exit 2; }
done

NAME=quickstart
. scripts/walkthrough.sh

# --- the ExtAuthz executable, as `dotnet run --project src/ExtAuthz --` runs it ------------------------
build_extauthz
extauthz() { dotnet "$dll" "$@"; }

# --- a reader's checkout: examples/ without generated certificates --------------------------------------
mkdir -p "$work/tree/examples"
cp -r "$repo/examples/quickstart" "$repo/examples/quickstart-secrets" "$work/tree/examples/"
rm -rf "$work/tree/examples/quickstart/certs"
cd "$work/tree"

# --- Terminal 1: the service ------------------------------------------------------------------------------
if curl -s 127.0.0.1:9193/healthz >/dev/null 2>&1; then
  echo "quickstart: something already answers on 127.0.0.1:9193 (another extauthz serve?); the quickstart's ports must be free" >&2
  exit 2
fi
# Not through the extauthz function: the process must be the one killed at the end.
dotnet "$dll" serve --config examples/quickstart >"$work/decisions.log" 2>"$work/serve.log" &
pids+=($!)
deadline=$((SECONDS + 60))
until curl -sf 127.0.0.1:9193/readyz >/dev/null 2>&1; do
  if ((SECONDS >= deadline)) || ! kill -0 "${pids[0]}" 2>/dev/null; then
    fail "serve --config examples/quickstart is ready within 60 s" "$work/serve.log"
    exit 1
  fi
  sleep 0.2
done
if [ -f examples/quickstart/certs/server.pem ] && [ -f examples/quickstart/certs/console.key ] && grep -q "made development certificates" "$work/serve.log"; then
  pass "first run: serve made the development certificates in examples/quickstart/certs"
else
  fail "first run: serve made the development certificates in examples/quickstart/certs" "$work/serve.log"
fi

C=examples/quickstart/certs

# --- Terminal 2: the operator's console watches every sensor's telemetry ---------------------------------
# (-d and a line-buffered standard output only so that this script can see the SUBACK in the file.)
stdbuf -oL mosquitto_sub -h localhost -p 8883 --cafile $C/ca.pem --cert $C/console.pem --key $C/console.key \
    -i console-1 -V mqttv5 -t 'sensors/+/telemetry' -v -d >"$work/console.log" 2>&1 &
pids+=($!)
if wait_for "$work/console.log" '^Subscribed \(mid: [0-9]+\): 0$' 15; then
  pass "console-1 subscribes to sensors/+/telemetry"
else
  fail "console-1 subscribes to sensors/+/telemetry" "$work/console.log"
fi

# --- Terminal 3: devices ------------------------------------------------------------------------------------
sensor1=(--cafile $C/ca.pem --cert $C/sensor-1.pem --key $C/sensor-1.key)

if mosquitto_pub -h localhost -p 8883 "${sensor1[@]}" \
    -i sensor-1 -V mqttv5 -q 1 -t sensors/sensor-1/telemetry -m '{"t":21.5}' >"$work/step.log" 2>&1 \
  && ! grep -q failed "$work/step.log" && wait_for "$work/console.log" '^sensors/sensor-1/telemetry \{"t":21.5\}' 10; then
  pass "sensor-1 publishes its telemetry and the console receives it"
else
  fail "sensor-1 publishes its telemetry and the console receives it" "$work/step.log" "$work/console.log"
fi

mosquitto_pub -h localhost -p 8883 "${sensor1[@]}" \
    -i sensor-1 -V mqttv5 -q 1 -t sensors/sensor-2/telemetry -m '{"t":99}' >"$work/step.log" 2>&1 || true
sleep 1
if grep -q 'Publish 1 failed: Not authorized' "$work/step.log" && grep -q 'no policy of certificate' "$work/step.log" \
  && ! grep -q 'sensors/sensor-2/telemetry' "$work/console.log"; then
  pass "sensor-1 publishing as sensor-2 is refused (PUBACK 0x87 with the reason) and nothing is delivered"
else
  fail "sensor-1 publishing as sensor-2 is refused (PUBACK 0x87 with the reason) and nothing is delivered" "$work/step.log" "$work/console.log"
fi

status=0
mosquitto_pub -h localhost -p 8883 "${sensor1[@]}" \
    -i sensor-2 -V mqttv5 -q 1 -t sensors/sensor-2/telemetry -m '{"t":99}' >"$work/step.log" 2>&1 || status=$?
if [ "$status" -ne 0 ] && grep -q 'Connection error: Not authorized' "$work/step.log"; then
  pass "sensor-1's certificate connecting as client sensor-2 is refused at CONNECT"
else
  fail "sensor-1's certificate connecting as client sensor-2 is refused at CONNECT (exit $status)" "$work/step.log"
fi

# --- HTTP publish over mutual TLS ---------------------------------------------------------------------------
curl -s --cacert $C/ca.pem --cert $C/sensor-1.pem --key $C/sensor-1.key \
    -X POST 'https://localhost:8443/topics/sensors/sensor-1/telemetry?qos=1' -d '{"t":22.0}' >"$work/step.log" 2>&1 || true
if grep -q '^{"message":"OK","traceId":' "$work/step.log" && wait_for "$work/console.log" '^sensors/sensor-1/telemetry \{"t":22.0\}' 10; then
  pass "HTTP publish by sensor-1 is answered OK and the console receives it"
else
  fail "HTTP publish by sensor-1 is answered OK and the console receives it" "$work/step.log" "$work/console.log"
fi

curl -s -w '\nHTTP %{http_code}\n' --cacert $C/ca.pem --cert $C/sensor-1.pem --key $C/sensor-1.key \
    -X POST 'https://localhost:8443/topics/sensors/sensor-2/telemetry' -d '{"t":99}' >"$work/step.log" 2>&1 || true
if grep -q '^HTTP 403$' "$work/step.log" && grep -q '"decision":"IMPLICIT_DENY"' "$work/step.log"; then
  pass "HTTP publish to sensor-2's topic is answered 403 with the reason"
else
  fail "HTTP publish to sensor-2's topic is answered 403 with the reason" "$work/step.log"
fi

# --- test-authorization and lint ------------------------------------------------------------------------------
ID=$(openssl x509 -in $C/sensor-2.pem -outform der | sha256sum | cut -d' ' -f1)
if extauthz test-authorization --config examples/quickstart --config examples/quickstart-secrets \
    --principal "$ID" --client-id sensor-2 --action-type PUBLISH \
    --resource arn:aws:iot:us-east-1:123456789012:topic/sensors/sensor-2/telemetry \
    --resource arn:aws:iot:us-east-1:123456789012:topic/fleet/broadcast >"$work/step.log" 2>&1 \
  && [ "$(grep -o '"authDecision": "[A-Z_]*"' "$work/step.log" | tr '\n' ' ')" = '"authDecision": "ALLOWED" "authDecision": "EXPLICIT_DENY" ' ]; then
  pass "test-authorization: sensor-2 may publish its telemetry; fleet/broadcast is explicitly denied"
else
  fail "test-authorization: sensor-2 may publish its telemetry; fleet/broadcast is explicitly denied" "$work/step.log"
fi

if extauthz lint --config examples/quickstart --config examples/quickstart-secrets >"$work/step.log" 2>&1 \
  && grep -q '^examples/quickstart/ConsolePolicy.json:[0-9]*: warning mqtt-wildcard:' "$work/step.log"; then
  pass "lint warns that '+' in ConsolePolicy's topic filter is a literal character"
else
  fail "lint warns that '+' in ConsolePolicy's topic filter is a literal character" "$work/step.log"
fi

# --- a policy edit, live --------------------------------------------------------------------------------------
mosquitto_pub -h localhost -p 8883 "${sensor1[@]}" \
    -i sensor-1 -V mqttv5 -q 1 -t sensors/sensor-1/alerts -m 'door open' >"$work/step.log" 2>&1 || true
if grep -q 'Publish 1 failed: Not authorized' "$work/step.log"; then
  pass "before the edit, sensor-1 may not publish to sensors/sensor-1/alerts"
else
  fail "before the edit, sensor-1 may not publish to sensors/sensor-1/alerts" "$work/step.log"
fi

sed -i 's|/telemetry"|/*"|' examples/quickstart/DevicePolicy.json
edited=$SECONDS
allowed=false
while ((SECONDS - edited < 15)); do
  mosquitto_pub -h localhost -p 8883 "${sensor1[@]}" \
      -i sensor-1 -V mqttv5 -q 1 -t sensors/sensor-1/alerts -m 'door open' >"$work/step.log" 2>&1 || true
  if ! grep -q failed "$work/step.log"; then
    allowed=true
    break
  fi
  sleep 0.5
done
if $allowed; then
  pass "after editing DevicePolicy.json, sensor-1 may publish to sensors/sensor-1/alerts (within $((SECONDS - edited)) s)"
else
  fail "after editing DevicePolicy.json, sensor-1 may publish to sensors/sensor-1/alerts within 15 s" "$work/step.log" "$work/serve.log"
fi

# --- the decision log ----------------------------------------------------------------------------------------
if grep -q '"listener":"mqtttls","operation":"Publish"' "$work/decisions.log" && grep -q '"listener":"mtls","operation":"Publish"' "$work/decisions.log"; then
  pass "serve's standard output logs the MQTT and HTTP decisions"
else
  fail "serve's standard output logs the MQTT and HTTP decisions" "$work/decisions.log"
fi

if [ "$failures" -gt 0 ]; then
  echo "quickstart: $failures step(s) failed"
  exit 1
fi
echo "quickstart: every step passed"
