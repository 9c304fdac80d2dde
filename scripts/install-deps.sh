#!/usr/bin/env bash
# Installs meshrt's build and test dependencies from Debian 12 packages.
# Idempotent: silent and quick when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev libmsgpack-cxx-dev libspdlog-dev doctest-dev
  nlohmann-json3-dev libcli11-dev
  libasio-dev   # the client gateway's TCP server (dm/client_gateway.cpp)
  libcpp-httplib-dev  # the metrics endpoint's HTTP server (runtime/metrics_server.cpp)
  libsodium-dev # cluster keys and client login tokens (transport/secret_key.cpp)
  curl          # tests scrape the metrics endpoint as Prometheus would
  gnuplot-nox   # meshrt bench report draws its charts with it
  libenet-dev   # benchmark baseline only
  redis-server  # benchmark baseline only (meshrt bench store, bench dm)
  nats-server   # benchmark baseline only (meshrt bench dm)
  clang         # libFuzzer target (make fuzz)
  iproute2 nftables  # chaos across network namespaces with real packet loss (benchmarks/netns_lab.cpp)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
