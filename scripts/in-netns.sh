#!/usr/bin/env bash
# Runs a command in a private network namespace (root): loopback up, and a veth pair with
# a test address, so WebRTC has a candidate (ICE skips loopback) while no packet can
# leave the namespace. E.g. the WebRTC bench:
#   bash scripts/in-netns.sh .venv/bin/vivavoce bench --transport webrtc --barge-in
set -euo pipefail
exec unshare --net sh -ec '
  ip link set lo up
  ip link add vv0 type veth peer name vv1
  ip addr add 10.213.7.1/24 dev vv0
  ip link set vv0 up
  ip link set vv1 up
  exec "$@"' in-netns "$@"
