#!/bin/sh
# The demo API's stand-in for an application: says what it received.
len=${CONTENT_LENGTH:-0}
case "$len" in ''|*[!0-9]*) len=0 ;; esac
# read the body before answering (httpd is still writing it to us)
[ "$len" -gt 0 ] && head -c "$len" >/dev/null
printf 'Content-Type: application/json\r\n\r\n'
printf '{"method": "%s", "user": "%s", "bytes": %d}\n' "$REQUEST_METHOD" "${REMOTE_USER:-}" "$len"
