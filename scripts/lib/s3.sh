# shellcheck shell=bash
# S3-compatible server: s3proxy (Maven Central, filesystem backend); the same server runs as
# the andrewgaul/s3proxy image in docker-compose.yml.
S3PROXY_VERSION=${SCALEWISE_S3PROXY_VERSION:-4.1.0}
S3_PORT=${SCALEWISE_S3_PORT:-9000}
# Documented local-only credentials (README); override with S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY.
S3_ACCESS_KEY_ID=${S3_ACCESS_KEY_ID:-scalewise}
S3_SECRET_ACCESS_KEY=${S3_SECRET_ACCESS_KEY:-scalewise-secret}
_s3_jar=$SCALEWISE_CACHE/s3proxy-$S3PROXY_VERSION/s3proxy.jar
_s3_empty_sha=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

s3_ports() { echo "$S3_PORT SCALEWISE_S3_PORT"; }
s3_describe() { echo "s3proxy $S3PROXY_VERSION (filesystem) on http://127.0.0.1:$S3_PORT"; }
s3_env() {
  echo "S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
  echo "S3_REGION=us-east-1"
  echo "S3_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID"
  echo "S3_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY"
  echo "S3_FORCE_PATH_STYLE=true"
}

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
  umask 077
  cat >"$dir/s3proxy.properties" <<PROPS
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY_ID
s3proxy.credential=$S3_SECRET_ACCESS_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$data
PROPS
  umask 022
  start_bg s3 java -Xms64m -Xmx256m -XX:+UseSerialGC -jar "$_s3_jar" --properties "$dir/s3proxy.properties"
}

# A signed ListBuckets (SigV4): a real S3 round trip with the configured credentials.
s3_ready() {
  curl -sf -o /dev/null --max-time 3 --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$S3_ACCESS_KEY_ID:$S3_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: $_s3_empty_sha" \
    "http://127.0.0.1:$S3_PORT/"
}

s3_stop() { stop_pid s3 15; }
