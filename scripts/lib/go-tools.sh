# shellcheck shell=bash
# Optional Go servers that some integration tests start for themselves on a free 127.0.0.1
# port. They are not stack components: `scripts/stack up` never builds or starts them.
#
#   metrics-server     sigs.k8s.io/metrics-server (cmd/metrics-server): metrics.k8s.io
#                      from KWOK's simulated kubelet /metrics/resource endpoints
#   victoria-metrics   github.com/VictoriaMetrics/VictoriaMetrics (app/victoria-metrics):
#                      a single-node server with the Prometheus query API (/api/v1/query)
#   kwok               the k8s component's own kwok build, for a test that runs a second
#                      kwok (its own nodes, its own metrics configuration) beside the stack's
#   helm               helm.sh/helm/v3 (cmd/helm): lints, renders and installs
#                      deploy/helm/scalewise (scripts/validate-deploy, deploy/helm tests)
#
# Built once from the Go module proxy with the local Go toolchain, the way the k8s component
# builds its servers (k8s.sh's _k8s_go_install), into $SCALEWISE_CACHE/<name>-<version>/bin.

METRICS_SERVER_VERSION=${SCALEWISE_METRICS_SERVER_VERSION:-v0.9.0}
VICTORIA_METRICS_VERSION=${SCALEWISE_VICTORIA_METRICS_VERSION:-v1.122.0}
HELM_VERSION=${SCALEWISE_HELM_VERSION:-v3.22.0}

# go_tool_path <name>: where the binary is (or will be) once built.
go_tool_path() {
  case $1 in
    metrics-server) echo "$SCALEWISE_CACHE/metrics-server-$METRICS_SERVER_VERSION/bin/metrics-server" ;;
    victoria-metrics) echo "$SCALEWISE_CACHE/victoria-metrics-$VICTORIA_METRICS_VERSION/bin/victoria-metrics" ;;
    kwok) echo "$(_kwok_bin)/kwok" ;;
    helm) echo "$SCALEWISE_CACHE/helm-$HELM_VERSION/bin/helm" ;;
    *) log "error: unknown Go tool '$1' (known: metrics-server victoria-metrics kwok helm)"; return 1 ;;
  esac
}

# _helm_k8s_ldflags <major> <minor>: the -X flags of helm's default Kubernetes version.
_helm_k8s_ldflags() {
  local pkg
  for pkg in pkg/lint/rules pkg/chartutil; do
    printf -- '-X helm.sh/helm/v3/%s.k8sVersionMajor=%s -X helm.sh/helm/v3/%s.k8sVersionMinor=%s ' "$pkg" "$1" "$pkg" "$2"
  done
}

# go_tool_install <name>: build it once (one build at a time, even when two tests race).
go_tool_install() {
  mkdir -p "$SCALEWISE_CACHE"
  # kwok is the k8s component's build, under the k8s component's lock.
  if [[ $1 == kwok ]]; then
    ( flock 9; _k8s_install_kwok ) 9>"$SCALEWISE_CACHE/.k8s-build.lock"
    return
  fi
  (
    flock 9
    case $1 in
      metrics-server)
        _k8s_go_install metrics-server sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION" "" \
          sigs.k8s.io/metrics-server/cmd/metrics-server ;;
      victoria-metrics)
        _k8s_go_install victoria-metrics github.com/VictoriaMetrics/VictoriaMetrics "$VICTORIA_METRICS_VERSION" "" \
          github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics ;;
      helm)
        # What helm's Makefile sets: its version, and the Kubernetes version `helm template` and
        # `helm lint` assume (client-go v0.37 is Kubernetes 1.37) instead of the v1.20 default.
        _k8s_go_install helm helm.sh/helm/v3 "$HELM_VERSION" \
          "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION $(_helm_k8s_ldflags 1 37)" \
          helm.sh/helm/v3/cmd/helm ;;
      *) log "error: unknown Go tool '$1' (known: metrics-server victoria-metrics kwok helm)"; exit 1 ;;
    esac
  ) 9>"$SCALEWISE_CACHE/.go-tools-$1.lock"
}
