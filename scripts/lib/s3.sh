# shellcheck shell=bash
# S3-compatible server: s3proxy (Maven Central, filesystem backend); the same server runs as
# the andrewgaul/s3proxy image in docker-compose.yml.
#
# Secure mode (docs/security.md, "Transport"), SCALEWISE_S3_SECURE:
#   1     an https endpoint (SCALEWISE_S3_TLS_PORT, default 9443) besides the http one, the same
#         credentials on both
#   only  the https endpoint alone, with a generated secret key (unless S3_SECRET_ACCESS_KEY is
#         set) in <run dir>/s3/secret-access-key (private servers of tests)
# Both: the certificate of tls.sh in a PKCS#12 keystore (s3proxy.keystore-path).
S3PROXY_VERSION=${SCALEWISE_S3PROXY_VERSION:-4.1.0}
S3_PORT=${SCALEWISE_S3_PORT:-9000}
S3_TLS_PORT=${SCALEWISE_S3_TLS_PORT:-9443}
# shellcheck source=tls.sh
source "$(dirname "${BASH_SOURCE[0]}")/tls.sh"
S3_SECURE=$(tls_mode SCALEWISE_S3_SECURE) || exit 1
# Documented local-only credentials (README); override with S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY.
S3_ACCESS_KEY_ID=${S3_ACCESS_KEY_ID:-scalewise}
_s3_secret_file() { echo "$(rundir s3)/secret-access-key"; }
if [[ -n ${S3_SECRET_ACCESS_KEY:-} || $S3_SECURE != only ]]; then
  S3_SECRET_ACCESS_KEY=${S3_SECRET_ACCESS_KEY:-scalewise-secret}
else
  _s3_generated_secret=1
fi
_s3_jar=$SCALEWISE_CACHE/s3proxy-$S3PROXY_VERSION/s3proxy.jar
_s3_empty_sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# The secret key; in `only` mode generated once per run directory.
_s3_secret() {
  if [[ -z ${_s3_generated_secret:-} ]]; then echo "$S3_SECRET_ACCESS_KEY"; return; fi
  local f; f=$(_s3_secret_file)
  [[ -s $f ]] || (umask 077 && openssl rand -hex 24 >"$f")
  cat "$f"
}

s3_ports() {
  tls_mode_ports "$S3_SECURE" "$S3_PORT" SCALEWISE_S3_PORT "$S3_TLS_PORT" SCALEWISE_S3_TLS_PORT
}
s3_describe() {
  echo "s3proxy $S3PROXY_VERSION (filesystem) on $(tls_mode_listeners "$S3_SECURE" "http://127.0.0.1:$S3_PORT" "https://127.0.0.1:$S3_TLS_PORT")"
}
s3_env() {
  if [[ $S3_SECURE == only ]]; then
    echo "S3_ENDPOINT=https://127.0.0.1:$S3_TLS_PORT"
    echo "S3_CA_FILE=$(tls_ca_file)"
  else
    echo "S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
  fi
  echo "S3_REGION=us-east-1"
  echo "S3_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID"
  if [[ -n ${_s3_generated_secret:-} ]]; then
    echo "S3_SECRET_ACCESS_KEY_FILE=$(_s3_secret_file)"
  else
    echo "S3_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY"
  fi
  echo "S3_FORCE_PATH_STYLE=true"
  if [[ $S3_SECURE == 1 ]]; then
    echo "SCALEWISE_S3_TLS_ENDPOINT=https://127.0.0.1:$S3_TLS_PORT"
    echo "SCALEWISE_S3_CA_FILE=$(tls_ca_file)"
  fi
}

s3_mode() { echo "$S3_SECURE"; }

s3_install() {
  need_cmd java default-jre-headless
  need_cmd curl curl
  [[ -f $_s3_jar ]] && return 0
  need_cmd mvn maven
  log "fetching s3proxy $S3PROXY_VERSION from Maven Central"
  maven_fetch_tree "org.gaul:s3proxy:$S3PROXY_VERSION::jar-with-dependencies" "$SCALEWISE_CACHE/s3proxy-$S3PROXY_VERSION/dl" false ||
    die "s3: could not fetch org.gaul:s3proxy:$S3PROXY_VERSION from Maven Central"
  mv "$SCALEWISE_CACHE/s3proxy-$S3PROXY_VERSION"/dl/s3proxy-*.jar "$_s3_jar.tmp" && mv "$_s3_jar.tmp" "$_s3_jar"
  rm -rf "$SCALEWISE_CACHE/s3proxy-$S3PROXY_VERSION/dl"
}

s3_start() {
  local dir data; dir=$(rundir s3); data=$(datadir s3); mkdir -p "$data"
  local endpoints=''
  [[ $S3_SECURE == only ]] || endpoints="s3proxy.endpoint=http://127.0.0.1:$S3_PORT"
  if [[ -n $S3_SECURE ]]; then
    tls_server_cert s3 localhost
    endpoints+=$'\n'"s3proxy.secure-endpoint=https://127.0.0.1:$S3_TLS_PORT"
    endpoints+=$'\n'"s3proxy.keystore-path=$TLS_DIR/s3.p12"
    endpoints+=$'\n'"s3proxy.keystore-password=$(cat "$TLS_DIR/s3.p12.password")"
  fi
  umask 077
  cat >"$dir/s3proxy.properties" <<PROPS
$endpoints
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY_ID
s3proxy.credential=$(_s3_secret)
jclouds.provider=filesystem
jclouds.filesystem.basedir=$data
PROPS
  umask 022
  start_bg s3 java -Xms64m -Xmx256m -XX:+UseSerialGC -jar "$_s3_jar" --properties "$dir/s3proxy.properties"
}

# A signed ListBuckets (SigV4): a real S3 round trip with the configured credentials; in secure
# mode over https too, trusting the stack's CA alone.
s3_ready() {
  local sign=(--aws-sigv4 "aws:amz:us-east-1:s3" -H "x-amz-content-sha256: $_s3_empty_sha")
  if [[ $S3_SECURE != only ]]; then
    curl -sf -o /dev/null --max-time 3 "${sign[@]}" --user "$S3_ACCESS_KEY_ID:$(_s3_secret)" \
      "http://127.0.0.1:$S3_PORT/" || return 1
  fi
  [[ -z $S3_SECURE ]] && return 0
  curl -sf -o /dev/null --max-time 3 "${sign[@]}" --user "$S3_ACCESS_KEY_ID:$(_s3_secret)" \
    --cacert "$(tls_ca_file)" "https://127.0.0.1:$S3_TLS_PORT/"
}

s3_stop() { stop_pid s3 15; }
