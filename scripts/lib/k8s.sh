# shellcheck shell=bash
# Component k8s: a Kubernetes control plane with simulated nodes on 127.0.0.1.
#
#   etcd                      client 127.0.0.1:$SCALEWISE_ETCD_PORT (2379), peer $SCALEWISE_ETCD_PEER_PORT (2380)
#   kube-apiserver            https://127.0.0.1:$SCALEWISE_K8S_PORT (6443)
#   kube-controller-manager   https://127.0.0.1:$SCALEWISE_KCM_PORT (10257), health only
#   kube-scheduler            https://127.0.0.1:$SCALEWISE_SCHEDULER_PORT (10259), health only
#   kwok                      http://127.0.0.1:$SCALEWISE_KWOK_PORT (10247), health and metrics;
#                             plays kubelet for every Node labelled kwok.x-k8s.io/node=fake
#
# Each process is a sub-component with its own pid and log (scripts/stack logs kube-apiserver).
# The binaries are built from the Go module proxy with the local Go toolchain, once, into
#   $SCALEWISE_CACHE/k8s-<version>/bin    kube-apiserver kube-controller-manager kube-scheduler kubectl
#   $SCALEWISE_CACHE/etcd-<version>/bin   etcd
#   $SCALEWISE_CACHE/kwok-<version>/bin   kwok
# Certificates, kubeconfigs and the service-account key live in $SCALEWISE_RUN_DIR/k8s;
# etcd's data in $SCALEWISE_RUN_DIR/etcd/data (kept across stop/start).

K8S_VERSION=${SCALEWISE_K8S_VERSION:-v1.37.2}
ETCD_VERSION=${SCALEWISE_ETCD_VERSION:-v3.6.16}
KWOK_VERSION=${SCALEWISE_KWOK_VERSION:-v0.8.0}

K8S_SERVICE_CIDR=10.96.0.0/16
K8S_SERVICE_IP=10.96.0.1
# Pod IPs handed out by kwok (nothing routes them; they only fill status.podIP).
K8S_POD_CIDR=10.244.0.0/16

# Processes in start order; k8s_stop walks it backwards.
K8S_PROCS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

_k8s_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_k8s_port() { echo "${SCALEWISE_K8S_PORT:-6443}"; }
_etcd_port() { echo "${SCALEWISE_ETCD_PORT:-2379}"; }
_etcd_peer_port() { echo "${SCALEWISE_ETCD_PEER_PORT:-2380}"; }
_kcm_port() { echo "${SCALEWISE_KCM_PORT:-10257}"; }
_sched_port() { echo "${SCALEWISE_SCHEDULER_PORT:-10259}"; }
_kwok_port() { echo "${SCALEWISE_KWOK_PORT:-10247}"; }

_k8s_bin() { echo "$SCALEWISE_CACHE/k8s-$K8S_VERSION/bin"; }
_etcd_bin() { echo "$SCALEWISE_CACHE/etcd-$ETCD_VERSION/bin"; }
_kwok_bin() { echo "$SCALEWISE_CACHE/kwok-$KWOK_VERSION/bin"; }
_k8s_pki() { echo "$SCALEWISE_RUN_DIR/k8s/pki"; }

# k8s_kubeconfig: path of the admin kubeconfig (system:masters, certificates embedded).
k8s_kubeconfig() { echo "$SCALEWISE_RUN_DIR/k8s/admin.kubeconfig"; }

# k8s_env: what `scripts/stack env` prints for this component (the control plane's etcd is
# plain HTTP on 127.0.0.1: tests compact it to make the API server answer 410 Gone for real).
k8s_env() {
  echo "KUBECONFIG=$(k8s_kubeconfig)"
  echo "ETCD_ENDPOINT=http://127.0.0.1:$(_etcd_port)"
}

# k8s_kubectl_path: the kubectl built at the control plane's version.
k8s_kubectl_path() { echo "$(_k8s_bin)/kubectl"; }

# k8s_kubectl <args...>: kubectl against the stack with the admin kubeconfig.
k8s_kubectl() { "$(k8s_kubectl_path)" --kubeconfig "$(k8s_kubeconfig)" "$@"; }

# k8s_wait_crds <kubeconfig> <crd...>: until each CRD is Established, 60 s at most; 1 if one is
# not. Polled, not `kubectl wait`: that fails at once ("accessor error: <nil>") on a CRD just
# created, whose status has no conditions yet.
k8s_wait_crds() {
  local kc=$1 crd _
  shift
  for crd in "$@"; do
    for _ in $(seq 1 120); do
      [[ $("$(k8s_kubectl_path)" --kubeconfig "$kc" get crd "$crd" \
        -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null) == True ]] && continue 2
      sleep 0.5
    done
    log "error: the CRD $crd did not become established in 60s"
    return 1
  done
}

# _k8s_port_table: "PORT ENV_VAR PROCESS" for every listener of the control plane.
_k8s_port_table() {
  echo "$(_etcd_port) SCALEWISE_ETCD_PORT etcd"
  echo "$(_etcd_peer_port) SCALEWISE_ETCD_PEER_PORT etcd"
  echo "$(_k8s_port) SCALEWISE_K8S_PORT kube-apiserver"
  echo "$(_kcm_port) SCALEWISE_KCM_PORT kube-controller-manager"
  echo "$(_sched_port) SCALEWISE_SCHEDULER_PORT kube-scheduler"
  echo "$(_kwok_port) SCALEWISE_KWOK_PORT kwok"
}

# k8s_ports: the ports k8s_start will bind. A process of ours that is still running is
# reused rather than started again, so its ports are not listed.
k8s_ports() {
  local p var proc
  while read -r p var proc; do
    is_running "$proc" || echo "$p $var"
  done < <(_k8s_port_table)
}

k8s_describe() {
  echo "kubernetes $K8S_VERSION https://127.0.0.1:$(_k8s_port) (etcd $ETCD_VERSION 127.0.0.1:$(_etcd_port), kwok $KWOK_VERSION; kubeconfig $(k8s_kubeconfig))"
}

# ---------------------------------------------------------------------------------------
# Install: build from the Go module proxy.

# _k8s_need_go: the Go toolchain, new enough for the pinned modules (they say `go 1.26.0`).
_k8s_need_go() {
  command -v go >/dev/null 2>&1 ||
    { log "error: the k8s component builds Kubernetes, etcd and kwok from source and needs Go >= 1.26 on PATH"; return 1; }
  local v; v=$(go env GOVERSION 2>/dev/null)
  v=${v#go}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  if ((major < 1 || (major == 1 && minor < 26))); then
    log "error: Go $v found; building Kubernetes $K8S_VERSION needs Go >= 1.26"
    return 1
  fi
}

# _k8s_go_build <what> <src-dir> <out-dir> <ldflags> <packages...>
# Builds in <src-dir> (a scratch module with go.mod already written). On failure prints the
# module being built and the Go error, and returns 1.
_k8s_go_build() {
  local what=$1 src=$2 out=$3 ldflags=$4; shift 4
  local blog="$src/build.log" started=$SECONDS
  log "building $what with $(go env GOVERSION) (first time only; several minutes on 2 cores)"
  mkdir -p "$out.tmp"
  if ! (cd "$src" &&
    GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off \
      go build -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp/" "$@") >"$blog" 2>&1; then
    log "error: building $what failed (module in $src); go says:"
    grep -v '^go: downloading' "$blog" | tail -n 40 >&2
    rm -rf "$out.tmp"
    return 1
  fi
  rm -rf "$out" && mv "$out.tmp" "$out"
  log "built $what in $((SECONDS - started))s"
}

# _k8s_go_install <name> <module> <version> <ldflags> <packages...>
# Builds the packages of <module>@<version>, which a scratch module requires, into
# $SCALEWISE_CACHE/<name>-<version>/bin, unless a build of that version with those ldflags is
# there already (its bin/.built stamp). Returns 1 when Go is missing or the build fails.
_k8s_go_install() {
  local name=$1 module=$2 version=$3 ldflags=$4; shift 4
  local root="$SCALEWISE_CACHE/$name-$version"
  local stamp="$root/bin/.built" built=$version${ldflags:+ $ldflags}
  [[ -f $stamp && $(cat "$stamp") == "$built" ]] && return 0
  _k8s_need_go || return 1
  mkdir -p "$root/src"
  printf 'module scalewise.local/%s-build\n\ngo 1.26.0\n\nrequire %s %s\n' "$name" "$module" "$version" >"$root/src/go.mod"
  : >"$root/src/go.sum"
  _k8s_go_build "$name $version (module $module)" "$root/src" "$root/bin" "$ldflags" "$@" || return 1
  echo "$built" >"$stamp"
}

# _k8s_write_kubernetes_mod <src-dir>: a scratch module that requires k8s.io/kubernetes and
# replaces each staging module it requires (v0.0.0 => ./staging/src/...) by its published
# v0.<minor>.<patch> — the same versions the release was cut with.
_k8s_write_kubernetes_mod() {
  local src=$1 v=${K8S_VERSION#v}
  local staging="v0.${v#*.}"
  local kmod
  kmod=$(cd "$src" && GOFLAGS=-mod=mod GOTOOLCHAIN=local GOWORK=off \
    go mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>&1 | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  if [[ -z $kmod || ! -f $kmod ]]; then
    log "error: could not download module k8s.io/kubernetes@$K8S_VERSION from the Go module proxy ($(go env GOPROXY))"
    (cd "$src" && GOTOOLCHAIN=local GOWORK=off go mod download "k8s.io/kubernetes@$K8S_VERSION") >&2
    return 1
  fi
  {
    printf 'module scalewise.local/k8s-build\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    local m
    for m in $(awk '/^replace \(/{r=1;next} r&&/^\)/{r=0} r&&/=> \.\/staging\//{print $1}' "$kmod"); do
      # Only modules k8s.io/kubernetes itself requires: sample-* staging repos are not published.
      grep -qE "^[[:space:]]+${m//./\\.} v0\.0\.0" "$kmod" && printf '\t%s => %s %s\n' "$m" "$m" "$staging"
    done
    printf ')\n'
  } >"$src/go.mod"
  : >"$src/go.sum"
}

_k8s_install_kubernetes() {
  local root="$SCALEWISE_CACHE/k8s-$K8S_VERSION"
  local stamp="$root/bin/.built"
  [[ -f $stamp && $(cat "$stamp") == "$K8S_VERSION" ]] && return 0
  _k8s_need_go || return 1
  mkdir -p "$root/src"
  _k8s_write_kubernetes_mod "$root/src" || return 1
  local v=${K8S_VERSION#v} minor
  minor=${v#*.}; minor=${minor%%.*}
  _k8s_go_build "Kubernetes $K8S_VERSION (module k8s.io/kubernetes)" "$root/src" "$root/bin" \
    "-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl || return 1
  echo "$K8S_VERSION" >"$stamp"
}

_k8s_install_etcd() {
  # The server module's root package is etcd's main (etcdmain.Main).
  _k8s_go_install etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "" go.etcd.io/etcd/server/v3 || return 1
  # go names a /vN main package after the element before it. Renamed after the stamp is
  # written, so an install cut short between the two is finished by the next one.
  local bin; bin=$(_etcd_bin)
  if [[ -e $bin/server ]]; then mv "$bin/server" "$bin/etcd"; fi
}

_k8s_install_kwok() {
  _k8s_go_install kwok sigs.k8s.io/kwok "$KWOK_VERSION" "" sigs.k8s.io/kwok/cmd/kwok
}

k8s_install() {
  need_cmd openssl openssl
  need_cmd curl curl
  mkdir -p "$SCALEWISE_CACHE"
  # One build at a time, even when two `stack up` race.
  (
    flock 9
    _k8s_install_etcd && _k8s_install_kwok && _k8s_install_kubernetes
  ) 9>"$SCALEWISE_CACHE/.k8s-build.lock"
}

# ---------------------------------------------------------------------------------------
# Certificates and kubeconfigs (generated once per run dir).

# _k8s_cert <name> <subject> <extensions>: an EC key and a certificate signed by the stack CA.
_k8s_cert() {
  local pki name=$1 subj=$2 ext=$3
  pki=$(_k8s_pki)
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null &&
    openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" &&
    openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days 3650 -out "$pki/$name.crt" \
      -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" "$ext") 2>/dev/null &&
    rm -f "$pki/$name.csr"
}

_k8s_pki_init() {
  local pki; pki=$(_k8s_pki)
  [[ -f $pki/.complete ]] && return 0
  rm -rf "$pki" && mkdir -p "$pki" && chmod 700 "$pki"
  (
    set -e
    openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=scalewise-stack-ca" -days 3650 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$pki/ca.crt"
    _k8s_cert apiserver "/CN=kube-apiserver" \
      "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$K8S_SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    _k8s_cert admin "/O=system:masters/CN=scalewise-admin" "extendedKeyUsage=clientAuth"
    _k8s_cert controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
    _k8s_cert scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
    # kwok writes node and pod status; like the kubeadm admin it is a cluster admin here.
    _k8s_cert kwok "/O=system:masters/CN=kwok-controller" "extendedKeyUsage=clientAuth"
    openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  ) || { log "error: generating certificates with openssl in $pki failed"; return 1; }
  chmod 600 "$pki"/*.key
  touch "$pki/.complete"
}

# _k8s_kubeconfig <file> <cert-name>: kubeconfig for https://127.0.0.1:<port> with embedded
# certificates, so it works from any directory and any client library.
_k8s_write_kubeconfig() {
  local file=$1 name=$2 pki
  pki=$(_k8s_pki)
  : >"$file.tmp" && chmod 600 "$file.tmp"
  cat >>"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: scalewise
  cluster:
    server: https://127.0.0.1:$(_k8s_port)
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$pki/$name.crt")
    client-key-data: $(base64 -w0 "$pki/$name.key")
contexts:
- name: scalewise
  context:
    cluster: scalewise
    user: $name
current-context: scalewise
EOF
  mv "$file.tmp" "$file"
}

# ---------------------------------------------------------------------------------------
# Start, ready, stop.

# _k8s_note: a line in the component's own summary log (scripts/stack logs k8s); errors go
# to the terminal too.
_k8s_note() {
  printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >>"$(logfile k8s)"
  if [[ $1 == error:* ]]; then log "k8s: $*"; fi
}

# _k8s_fail <process> <message>: report a start failure with the end of that process's log.
_k8s_fail() {
  _k8s_note "error: $2"
  log_tail "$1" 30
}

_k8s_curl() { curl -fsS --max-time 2 "$@"; }

_etcd_ready() { [[ $(_k8s_curl "http://127.0.0.1:$(_etcd_port)/health" 2>/dev/null) == *'"health":"true"'* ]]; }

_apiserver_ready() {
  local pki; pki=$(_k8s_pki)
  [[ $(_k8s_curl --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$(_k8s_port)/readyz" 2>/dev/null) == ok ]]
}

# _k8s_wait <proc> <check-fn> <timeout>: wait for a sub-process; fail early when it died.
_k8s_wait() {
  local proc=$1 check=$2 timeout=$3 deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    "$check" && return 0
    is_running "$proc" || { _k8s_fail "$proc" "$proc exited during start"; return 1; }
    sleep 0.2
  done
  _k8s_fail "$proc" "$proc not ready after ${timeout}s"
}

# _k8s_check_ports: every port free, or held by our own running process.
_k8s_check_ports() {
  local p var proc
  while read -r p var proc; do
    if ! is_running "$proc" && port_in_use "$p"; then
      _k8s_note "error: port 127.0.0.1:$p (for $proc) is already in use by another process; set $var to a free port"
      return 1
    fi
  done < <(_k8s_port_table)
}

_k8s_start_proc() {
  local c=$1; shift
  if is_running "$c"; then
    _k8s_note "$c already running (pid $(cat "$(pidfile "$c")")), reusing it"
    return 0
  fi
  start_bg "$c" "$@"
  _k8s_note "started $c (pid $(cat "$(pidfile "$c")"), log $(logfile "$c"))"
}

# k8s_start: etcd, then kube-apiserver (waiting for each, so a failure names the process
# at fault), then controller manager, scheduler and kwok. Returns once the API serves;
# k8s_ready says when the rest is up. On failure stops everything it started.
#
# $(pidfile k8s) holds the API server's pid: the process that stands for the component
# in scripts/stack (is_running k8s). k8s_stop stops all five processes.
k8s_start() {
  local kb eb wb pki dir f
  kb=$(_k8s_bin) eb=$(_etcd_bin) wb=$(_kwok_bin)
  dir=$(rundir k8s)
  : >"$(logfile k8s)"
  for f in "$eb/etcd" "$kb/kube-apiserver" "$kb/kube-controller-manager" "$kb/kube-scheduler" "$wb/kwok"; do
    [[ -x $f ]] || { _k8s_note "error: $f is missing; run k8s_install first"; return 1; }
  done
  _k8s_check_ports || return 1
  _k8s_pki_init || return 1
  pki=$(_k8s_pki)
  local n
  for n in admin controller-manager scheduler kwok; do _k8s_write_kubeconfig "$dir/$n.kubeconfig" "$n"; done

  local etcd_data; etcd_data=$(datadir etcd)
  mkdir -p "$etcd_data" && chmod 700 "$etcd_data"
  # --unsafe-no-fsync: a throwaway test cluster; fsync per write would make every API
  # write wait on the disk.
  _k8s_start_proc etcd "$eb/etcd" \
    --name scalewise --data-dir "$etcd_data" \
    --listen-client-urls "http://127.0.0.1:$(_etcd_port)" --advertise-client-urls "http://127.0.0.1:$(_etcd_port)" \
    --listen-peer-urls "http://127.0.0.1:$(_etcd_peer_port)" --initial-advertise-peer-urls "http://127.0.0.1:$(_etcd_peer_port)" \
    --initial-cluster "scalewise=http://127.0.0.1:$(_etcd_peer_port)" \
    --unsafe-no-fsync --quota-backend-bytes 8589934592 --log-level warn
  _k8s_wait etcd _etcd_ready 30 || return 1

  # --endpoint-reconciler-type none: the `kubernetes` Service's endpoint would be the
  # advertise address, and Endpoints may not hold a loopback address.
  _k8s_start_proc kube-apiserver "$kb/kube-apiserver" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$(_k8s_port)" \
    --etcd-servers "http://127.0.0.1:$(_etcd_port)" \
    --client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range "$K8S_SERVICE_CIDR" \
    --authorization-mode RBAC --allow-privileged=true --profiling=false \
    --endpoint-reconciler-type none
  cp "$(pidfile kube-apiserver)" "$(pidfile k8s)"
  _k8s_wait kube-apiserver _apiserver_ready 90 || return 1

  _k8s_start_proc kube-controller-manager "$kb/kube-controller-manager" \
    --kubeconfig "$dir/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$(_kcm_port)" --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$K8S_SERVICE_CIDR" --profiling=false
  _k8s_start_proc kube-scheduler "$kb/kube-scheduler" \
    --kubeconfig "$dir/scheduler.kubeconfig" \
    --authentication-kubeconfig "$dir/scheduler.kubeconfig" \
    --authorization-kubeconfig "$dir/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$(_sched_port)" --leader-elect=false --profiling=false
  _k8s_start_proc kwok "$wb/kwok" \
    --kubeconfig "$dir/kwok.kubeconfig" \
    --config "$_k8s_lib_dir/../k8s/kwok-stages.yaml" \
    --manage-nodes-with-label-selector kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds 40 \
    --server-address "127.0.0.1:$(_kwok_port)" \
    --cidr "$K8S_POD_CIDR" --node-ip 127.0.0.1
  local c
  sleep 0.3
  for c in kube-controller-manager kube-scheduler kwok; do
    is_running "$c" || { _k8s_fail "$c" "$c exited at start"; return 1; }
  done
}

# k8s_ready: every process alive, the API server ready for the admin client (a real TLS +
# client-certificate round trip), the controller manager, scheduler and kwok healthy.
k8s_ready() {
  local c
  for c in "${K8S_PROCS[@]}"; do is_running "$c" || return 1; done
  _apiserver_ready || return 1
  [[ $(_k8s_curl -k "https://127.0.0.1:$(_kcm_port)/healthz" 2>/dev/null) == ok ]] || return 1
  [[ $(_k8s_curl -k "https://127.0.0.1:$(_sched_port)/healthz" 2>/dev/null) == ok ]] || return 1
  [[ $(_k8s_curl "http://127.0.0.1:$(_kwok_port)/healthz" 2>/dev/null) == ok ]] || return 1
}

k8s_stop() {
  local i
  for ((i = ${#K8S_PROCS[@]} - 1; i >= 0; i--)); do
    stop_pid "${K8S_PROCS[i]}" 20
  done
  rm -f "$(pidfile k8s)"
}
