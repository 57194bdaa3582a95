#!/bin/sh
# The upstream image's entrypoint, for the variables docker-compose.yml sets: writes
# s3proxy.conf from the environment and runs the server in the foreground.
set -e
{
  echo "s3proxy.endpoint=${S3PROXY_ENDPOINT:-http://0.0.0.0:80}"
  echo "s3proxy.authorization=${S3PROXY_AUTHORIZATION:-aws-v2-or-v4}"
  echo "s3proxy.identity=${S3PROXY_IDENTITY:-local-identity}"
  echo "s3proxy.credential=${S3PROXY_CREDENTIAL:-local-credential}"
  echo "s3proxy.virtual-host=${S3PROXY_VIRTUALHOST:-}"
  echo "jclouds.provider=${JCLOUDS_PROVIDER:-filesystem}"
  echo "jclouds.identity=${JCLOUDS_IDENTITY:-remote-identity}"
  echo "jclouds.credential=${JCLOUDS_CREDENTIAL:-remote-credential}"
  echo "jclouds.filesystem.basedir=${JCLOUDS_FILESYSTEM_BASEDIR:-/data}"
} >/tmp/s3proxy.conf
mkdir -p "${JCLOUDS_FILESYSTEM_BASEDIR:-/data}"
# shellcheck disable=SC2086 # the options are words
exec java ${JAVA_OPTS:--Xms64m -Xmx256m -XX:+UseSerialGC} -jar /opt/s3proxy/s3proxy.jar --properties /tmp/s3proxy.conf
