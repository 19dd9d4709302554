#!/bin/sh
# Render the nginx templates into the configuration directory, then run the command
# (the nginx image's template mechanism: only the variables named below are substituted,
# so nginx's own $variables stay as they are).
#   NGINX_TEMPLATE_DIR  default /etc/nginx/templates
#   NGINX_CONF_OUT_DIR  default /tmp/nginx/conf.d (writable with a read-only root filesystem)
#   CLIENT_TIMEOUT      default 10s; CLIENT_CONN_LIMIT default 32; FEEDBACK_RATE default 2r/s;
#   FEEDBACK_BURST      default 10 (see default.conf.template)
set -eu
templates="${NGINX_TEMPLATE_DIR:-/etc/nginx/templates}"
out="${NGINX_CONF_OUT_DIR:-/tmp/nginx/conf.d}"
export CLIENT_TIMEOUT="${CLIENT_TIMEOUT:-10s}" CLIENT_CONN_LIMIT="${CLIENT_CONN_LIMIT:-32}"
export FEEDBACK_RATE="${FEEDBACK_RATE:-2r/s}" FEEDBACK_BURST="${FEEDBACK_BURST:-10}"
mkdir -p "$out"
for template in "$templates"/*.template; do
  envsubst '${LISTEN_PORT} ${API_UPSTREAM} ${STATIC_ROOT} ${PREDICT_RATE} ${PREDICT_BURST} ${CLIENT_TIMEOUT} ${CLIENT_CONN_LIMIT} ${FEEDBACK_RATE} ${FEEDBACK_BURST}' \
    < "$template" > "$out/$(basename "$template" .template)"
done
exec "$@"
