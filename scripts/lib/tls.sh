# shellcheck shell=bash
# TLS material of a stack home for the servers' secure modes (kafka, redis, s3): one CA, and
# per server a certificate it signed for 127.0.0.1 and localhost. Generated on first use with
# openssl, kept under SCALEWISE_TLS_DIR, never in the tree.
#
#   $SCALEWISE_TLS_DIR   default $SCALEWISE_RUN_DIR/tls; several private servers of one test
#                        share one (packages/bus test-support) so that one CA file trusts them all
#   ca.pem ca.key        the CA (10 years); clients trust ca.pem
#   <name>.pem           the server's certificate (2 years), <name>.key its key (PKCS#8, 0600),
#   <name>-keystore.pem  key and certificate in one file (Kafka's PEM keystore),
#   <name>.p12           the same as PKCS#12 for Java servers, password in <name>.p12.password
#
# Rotation: delete <name>.* (a new certificate from the same CA) or the whole directory (a new
# CA: every client's ca file must follow), then restart the server.
TLS_DIR=${SCALEWISE_TLS_DIR:-$SCALEWISE_RUN_DIR/tls}

# tls_server_cert <name> <common-name>: the CA and the server's certificate, made when missing.
# Safe to run from several processes at once (a lock on the directory).
tls_server_cert() {
  local name=$1 cn=$2
  need_cmd openssl openssl
  mkdir -p "$TLS_DIR" && chmod 700 "$TLS_DIR"
  (
    flock -w 60 8 || die "tls: could not lock $TLS_DIR"
    cd "$TLS_DIR" || exit 1
    umask 077
    if [[ ! -f ca.pem || ! -f ca.key ]]; then
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 3650 \
        -keyout ca.key -out ca.pem -subj "/CN=Scalewise stack CA $(hostname -s 2>/dev/null) $(date +%Y%m%d%H%M%S)" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        >/dev/null 2>&1 || die "tls: could not create the CA in $TLS_DIR"
      chmod 644 ca.pem
    fi
    if [[ ! -f $name.pem || ! -f $name.key || $name.pem -ot ca.pem ]] ||
      [[ $(openssl x509 -in "$name.pem" -noout -subject -nameopt RFC2253 2>/dev/null) != "subject=CN=$cn" ]]; then
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$name.key" \
        -out "$name.csr" -subj "/CN=$cn" >/dev/null 2>&1 || die "tls: could not create a key for $name"
      printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
        'extendedKeyUsage=serverAuth,clientAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost' >"$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 730 \
        -extfile "$name.ext" -out "$name.pem" >/dev/null 2>&1 || die "tls: could not sign the certificate of $name"
      rm -f "$name.csr" "$name.ext"
      cat "$name.key" "$name.pem" >"$name-keystore.pem"
      openssl rand -hex 16 >"$name.p12.password"
      openssl pkcs12 -export -in "$name.pem" -inkey "$name.key" -certfile ca.pem -name "$name" \
        -passout "file:$name.p12.password" -out "$name.p12" >/dev/null 2>&1 ||
        die "tls: could not write the PKCS#12 keystore of $name"
      chmod 644 "$name.pem"
    fi
  ) 8>"$TLS_DIR/.lock"
}

tls_ca_file() { echo "$TLS_DIR/ca.pem"; }

# Secure modes of the servers (SCALEWISE_<SERVER>_SECURE): empty or 0, plaintext only; 1, a TLS
# listener besides the plaintext one; only, the TLS listener alone.

# tls_mode <variable>: the secure mode the environment variable names ('' for off). Dies on
# any other value.
tls_mode() {
  case ${!1:-} in
    '' | 0) ;;
    1 | only) echo "${!1}" ;;
    *) die "$1 must be 1 or only, not '${!1}'" ;;
  esac
}

# tls_mode_ports <mode> <port> <port-variable> <tls-port> <tls-port-variable>: a line
# "PORT VARIABLE" for each listener the mode opens.
tls_mode_ports() {
  [[ $1 == only ]] || echo "$2 $3"
  [[ -z $1 ]] || echo "$4 $5"
}

# tls_mode_listeners <mode> <plaintext> <tls>: the listeners the mode opens, for a description.
tls_mode_listeners() {
  local on=()
  [[ $1 == only ]] || on+=("$2")
  [[ -z $1 ]] || on+=("$3")
  echo "${on[*]}"
}
