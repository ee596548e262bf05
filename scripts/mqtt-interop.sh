#!/usr/bin/env bash
# MQTT gate interoperability: mosquitto's own clients (mosquitto_pub, mosquitto_sub; MQTT 3.1.1 and 5)
# connect with mutual TLS to `extauthz serve --mqtt-listen`, which forwards to a real mosquitto broker.
# Each scenario prints PASS or FAIL; the script exits 1 if any failed. Needs dotnet, python3 (free
# ports, the readiness probe), mosquitto and mosquitto-clients.
#
# EXTAUTHZ_ARTIFACTS_PATH=DIR builds into DIR (dotnet build --artifacts-path) instead of the tree.
set -euo pipefail
cd "$(dirname "$0")/.."

mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
for tool in dotnet python3 "$mosquitto" mosquitto_pub mosquitto_sub timeout stdbuf; do
  command -v "$tool" >/dev/null 2>&1 || { echo "mqtt-interop: $tool is required" >&2; exit 2; }
done

NAME=mqtt-interop
. scripts/walkthrough.sh

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- the ExtAuthz executable ---------------------------------------------------------------------------
build_extauthz

# --- certificates and configuration -------------------------------------------------------------------
config="$work/config"
certs="$config/certs"
mkdir -p "$config"
# The CA, the devices and the gate's server certificate (devices trust it through --cafile ca.pem).
dotnet "$dll" dev-certs "$certs" >/dev/null

cat >"$config/registry.yaml" <<'YAML'
account: "123456789012"
region: us-east-1
policies:
  - name: DevicePolicy
    file: DevicePolicy.json
caCertificates:
  - name: dev-ca
    pemFile: certs/ca.pem
    status: ACTIVE
certificates:
  - name: sensor-1
    pemFile: certs/sensor-1.pem
    status: ACTIVE
    policies: [DevicePolicy]
  - name: sensor-2
    pemFile: certs/sensor-2.pem
    status: ACTIVE
    policies: [DevicePolicy]
things:
  - name: sensor-1
    principals:
      - certificate: sensor-1
  - name: sensor-2
    principals:
      - certificate: sensor-2
YAML
# Each device connects as its thing and publishes under sensors/<thing>/ except firmware (explicit Deny);
# it may subscribe to any filter under sensors/ but receive only telemetry.
cat >"$config/DevicePolicy.json" <<'JSON'
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "iot:Connect",
      "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}"
    },
    {
      "Effect": "Allow",
      "Action": "iot:Publish",
      "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/${iot:Connection.Thing.ThingName}/*"
    },
    {
      "Sid": "NoFirmwareFromDevices",
      "Effect": "Deny",
      "Action": "iot:Publish",
      "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/*/firmware"
    },
    {
      "Effect": "Allow",
      "Action": "iot:Subscribe",
      "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/sensors/*"
    },
    {
      "Effect": "Allow",
      "Action": "iot:Receive",
      "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/*/telemetry"
    }
  ]
}
JSON

# --- the broker and the gate --------------------------------------------------------------------------
broker_port=$(free_port)
cat >"$work/mosquitto.conf" <<EOF
listener $broker_port 127.0.0.1
allow_anonymous true
persistence false
EOF
"$mosquitto" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)

gate_port=$(free_port)
admin_port=$(free_port)
decisions="$work/decisions.jsonl"
dotnet "$dll" serve --config "$config" \
  --mqtt-listen "127.0.0.1:$gate_port" --mqtt-tls-cert "$certs/server.pem" --mqtt-tls-key "$certs/server.key" \
  --broker "127.0.0.1:$broker_port" --listen 127.0.0.1:0 --admin "127.0.0.1:$admin_port" \
  --mqtt-tunnel off --mqtt-websocket off --http-publish off --decision-log "$decisions" >"$work/serve.log" 2>&1 &
pids+=($!)

deadline=$((SECONDS + 60))
until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "http://127.0.0.1:$admin_port/readyz" 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    echo "mqtt-interop: extauthz serve did not become ready within 60 s" >&2
    cat "$work/serve.log" >&2
    exit 1
  fi
  sleep 0.25
done
until timeout 5 mosquitto_pub -h 127.0.0.1 -p "$broker_port" -t interop/ready -n 2>/dev/null; do
  if ((SECONDS >= deadline)); then
    echo "mqtt-interop: mosquitto did not start" >&2
    cat "$work/mosquitto.log" >&2
    exit 1
  fi
  sleep 0.25
done

# device NAME: mosquitto client options for NAME's certificate on the gate's TLS port.
device() {
  echo -h 127.0.0.1 -p "$gate_port" --cafile "$certs/ca.pem" --cert "$certs/$1.pem" --key "$certs/$1.key"
}
# shellcheck disable=SC2207
s1=($(device sensor-1))
# shellcheck disable=SC2207
s2=($(device sensor-2))

# start_sub FILE ARGS...: mosquitto_sub -d in the background (line-buffered, so that its output can be
# watched); returns once its SUBACK arrived.
start_sub() {
  local file=$1
  shift
  timeout 30 stdbuf -oL mosquitto_sub -d "$@" >"$file" 2>&1 &
  sub_pid=$!
  pids+=("$sub_pid")
  wait_for "$file" '^Subscribed \(mid' 15
}

echo "mqtt-interop: mosquitto $("$mosquitto" -h 2>/dev/null | head -n 1 | awk '{print $3}' || true) on :$broker_port, gate (mutual TLS) on :$gate_port"

for v in mqttv311 mqttv5; do
  # 1. An allowed device publishes; an allowed subscriber gets the message.
  sub="$work/$v.1.sub"
  pub="$work/$v.1.pub"
  if start_sub "$sub" "${s2[@]}" -i sensor-2 -V "$v" -v -t sensors/sensor-1/telemetry -C 1 -W 15 &&
    timeout 20 mosquitto_pub "${s1[@]}" -i sensor-1 -V "$v" -q 1 -t sensors/sensor-1/telemetry -m "reading-$v" >"$pub" 2>&1 &&
    wait "$sub_pid" && grep -qx "sensors/sensor-1/telemetry reading-$v" "$sub"; then
    pass "$v: sensor-1 publishes its telemetry, sensor-2 receives it"
  else
    fail "$v: sensor-1 publishes its telemetry, sensor-2 receives it" "$sub" "$pub"
  fi

  # 2. CONNECT with another thing's client ID: CONNACK not authorized (3.1.1: 0x05, 5: 0x87).
  pub="$work/$v.2.pub"
  rc=0
  timeout 20 mosquitto_pub "${s1[@]}" -i sensor-2 -V "$v" -q 1 -t sensors/sensor-1/telemetry -m x >"$pub" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -qi 'not authori[sz]ed' "$pub"; then
    pass "$v: sensor-1 connecting as client ID sensor-2 is refused (exit $rc: $(grep -i 'not authori' "$pub" | head -n 1))"
  else
    fail "$v: sensor-1 connecting as client ID sensor-2 is refused (exit $rc)" "$pub"
  fi

  # 3. PUBLISH (QoS 1) to a topic the policy denies: MQTT 5 PUBACK 0x87 with the gate's reason string, which
  #    mosquitto_pub 2.0 prints as a warning (its exit status stays 0); MQTT 3.1.1 the gate closes the
  #    connection (mosquitto_pub exits 7, MOSQ_ERR_CONN_LOST). The broker never sees the message: a subscriber
  #    connected straight to it gets nothing.
  for topic in sensors/sensor-1/firmware sensors/sensor-2/telemetry; do
    direct="$work/$v.3.${topic//\//_}.direct"
    pub="$work/$v.3.${topic//\//_}.pub"
    rc=0
    if start_sub "$direct" -h 127.0.0.1 -p "$broker_port" -i "direct-$v" -v -t "$topic"; then
      timeout 20 mosquitto_pub "${s1[@]}" -i sensor-1 -V "$v" -q 1 -t "$topic" -m denied >"$pub" 2>&1 || rc=$?
      sleep 1
      kill "$sub_pid" 2>/dev/null || true
      wait "$sub_pid" 2>/dev/null || true
      refused=
      if [ "$v" = mqttv5 ] && [ "$rc" -eq 0 ]; then
        refused=$(grep -A1 '^Warning: Publish [0-9]* failed: Not authorized' "$pub" | tail -n 1 || true)
      elif [ "$v" = mqttv311 ] && [ "$rc" -eq 7 ]; then
        refused='connection closed, exit 7'
      fi
      if [ -n "$refused" ] && ! grep -q "^$topic denied" "$direct"; then
        pass "$v: sensor-1 publishing to $topic is refused ($refused)"
      else
        fail "$v: sensor-1 publishing to $topic is refused (exit $rc)" "$pub" "$direct"
      fi
    else
      fail "$v: direct subscriber on the broker for $topic" "$direct"
    fi
  done

  # 4. SUBSCRIBE with an allowed and a refused filter: SUBACK 0 for the first, 0x80 (3.1.1) / 0x87 (5) for
  #    the second.
  sub="$work/$v.4.sub"
  [ "$v" = mqttv5 ] && refused=135 || refused=128
  if timeout 20 mosquitto_sub -d "${s1[@]}" -i sensor-1 -V "$v" -t sensors/sensor-1/commands -t fleet/broadcast -E >"$sub" 2>&1 &&
    grep -q "^Subscribed (mid: [0-9]*): 0, $refused$" "$sub"; then
    pass "$v: SUBSCRIBE sensors/sensor-1/commands + fleet/broadcast is granted + refused ($(grep '^Subscribed' "$sub"))"
  else
    fail "$v: SUBSCRIBE sensors/sensor-1/commands + fleet/broadcast is granted + refused ($refused)" "$sub"
  fi

  # 5. Receive filtering: sensor-2 may subscribe to sensors/# but receive only */telemetry. sensor-1 publishes
  #    status (allowed to publish, not to receive) and then telemetry; the broker delivers both (a direct
  #    subscriber sees them), the gate passes on only the telemetry.
  sub="$work/$v.5.sub"
  direct="$work/$v.5.direct"
  pub="$work/$v.5.pub"
  if start_sub "$sub" "${s2[@]}" -i sensor-2 -V "$v" -v -q 1 -t 'sensors/#' -C 1 -W 15 && gate_sub=$sub_pid &&
    start_sub "$direct" -h 127.0.0.1 -p "$broker_port" -i "direct-$v" -v -q 1 -t 'sensors/#' -C 2 -W 15 &&
    timeout 20 mosquitto_pub "${s1[@]}" -i sensor-1 -V "$v" -q 1 -t sensors/sensor-1/status -m "status-$v" >"$pub" 2>&1 &&
    timeout 20 mosquitto_pub "${s1[@]}" -i sensor-1 -V "$v" -q 1 -t sensors/sensor-1/telemetry -m "telemetry-$v" >>"$pub" 2>&1 &&
    wait "$gate_sub" && wait "$sub_pid" &&
    grep -qx "sensors/sensor-1/status status-$v" "$direct" && grep -qx "sensors/sensor-1/telemetry telemetry-$v" "$sub" &&
    ! grep -q "status-$v" "$sub"; then
    pass "$v: sensor-2 subscribed to sensors/# receives sensors/sensor-1/telemetry but not sensors/sensor-1/status"
  else
    fail "$v: sensor-2 subscribed to sensors/# receives sensors/sensor-1/telemetry but not sensors/sensor-1/status" "$sub" "$direct" "$pub"
  fi
done

# 6. The decision log has each kind of refusal, as the gate's own listener (mqtttls).
check_log() {
  local what=$1
  shift
  local count
  count=$(grep '"listener":"mqtttls"' "$decisions" | grep -F "\"operation\":\"$1\"" | grep -F "\"decision\":\"$2\"" | grep -cF "$3" || true)
  if [ "$count" -ge "$4" ]; then
    pass "decision log: $what ($count lines)"
  else
    fail "decision log: $what ($count lines, expected at least $4)" "$decisions"
  fi
}
check_log "Connect refused for client/sensor-2 with sensor-1's certificate" Connect IMPLICIT_DENY ':client/sensor-2"' 2
check_log "Publish to sensors/sensor-1/firmware explicitly denied" Publish EXPLICIT_DENY ':topic/sensors/sensor-1/firmware"' 2
check_log "Publish to sensors/sensor-2/telemetry implicitly denied" Publish IMPLICIT_DENY ':topic/sensors/sensor-2/telemetry"' 2
check_log "Subscribe to fleet/broadcast refused" Subscribe IMPLICIT_DENY ':topicfilter/fleet/broadcast"' 2
check_log "Receive of sensors/sensor-1/status refused" Receive IMPLICIT_DENY ':topic/sensors/sensor-1/status"' 2

if [ "$failures" -gt 0 ]; then
  echo "mqtt-interop: $failures scenario(s) failed" >&2
  exit 1
fi
echo "mqtt-interop: all scenarios passed"
