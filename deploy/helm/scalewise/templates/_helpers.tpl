{{/*
The six services, in the order scripts/up starts them, and what each needs of the chart.
`consumes`: the topic keys of the events the service handles (its handler registry in
services/<name>/src; e2e/src/helm.int.test.ts checks them against the groups the running
services join). `kube`: it talks to the Kubernetes API (a token is mounted).
*/}}
{{- define "scalewise.services" -}}
alert-manager: { kube: false, consumes: [actions, audit, decisions, dlq, metrics, nodes, signals, state, triggers] }
state-sync: { kube: true, consumes: [] }
decision-engine: { kube: false, consumes: [actions, decisions, metrics, nodes, signals, state, triggers] }
min-enforcer: { kube: false, consumes: [actions, nodes, state, triggers] }
node-manager: { kube: true, consumes: [decisions] }
metrics-listener: { kube: true, consumes: [] }
{{- end -}}

{{- define "scalewise.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A namespaced object of one service: <fullname>-<service>. Call with (list $ "<service>"). */}}
{{- define "scalewise.name" -}}
{{- printf "%s-%s" (include "scalewise.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{/* A cluster-scoped object of one service: the namespace too, so that two releases never meet. */}}
{{- define "scalewise.clusterName" -}}
{{- $ := index . 0 -}}
{{- printf "%s:%s:%s" $.Release.Namespace (include "scalewise.fullname" $) (index . 1) -}}
{{- end -}}

{{- define "scalewise.clusterId" -}}
{{- .Values.clusterId | default .Release.Name -}}
{{- end -}}

{{/* The consumer group a service joins: the services' own rule, `events.group_prefix` + name. */}}
{{- define "scalewise.group" -}}
{{- printf "%s%s" (index . 0).Values.events.groupPrefix (index . 1) -}}
{{- end -}}

{{/* A topic's full name: `events.topic_prefix` + key. */}}
{{- define "scalewise.topic" -}}
{{- printf "%s%s" (index . 0).Values.events.topicPrefix (index . 1) -}}
{{- end -}}

{{- define "scalewise.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: scalewise
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* Selector labels of one service's pods. Call with (list $ "<service>"). */}}
{{- define "scalewise.selector" -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
{{- end -}}

{{/* Cluster-scoped too: the namespace in the name, so that two releases never meet. */}}
{{- define "scalewise.priorityClassName" -}}
{{- if .Values.priorityClass.create -}}
{{- .Values.priorityClass.name | default (printf "%s-%s" .Release.Namespace (include "scalewise.fullname" .)) -}}
{{- else -}}
{{- .Values.priorityClass.name -}}
{{- end -}}
{{- end -}}

{{- define "scalewise.image" -}}
{{- $ := index . 0 -}}
{{- $repo := $.Values.image.repository -}}
{{- if $.Values.image.registry -}}{{- $repo = printf "%s/%s" $.Values.image.registry $repo -}}{{- end -}}
{{- printf "%s/%s:%s" $repo (index . 1) ($.Values.image.tag | default $.Chart.AppVersion) -}}
{{- end -}}

{{- define "scalewise.secret.kafka" -}}
{{- .Values.kafka.existingSecret | default (printf "%s-kafka" (include "scalewise.fullname" .)) -}}
{{- end -}}
{{- define "scalewise.secret.redis" -}}
{{- .Values.redis.existingSecret | default (printf "%s-redis" (include "scalewise.fullname" .)) -}}
{{- end -}}
{{- define "scalewise.secret.s3" -}}
{{- .Values.s3.existingSecret | default (printf "%s-s3" (include "scalewise.fullname" .)) -}}
{{- end -}}
{{- define "scalewise.secret.api" -}}
{{- .Values.apiToken.existingSecret | default (printf "%s-api" (include "scalewise.fullname" .)) -}}
{{- end -}}

{{/* Whether a service autoscales (KEDA or HPA): it consumes topics and autoscaling is not off. */}}
{{- define "scalewise.autoscales" -}}
{{- $ := index . 0 -}}
{{- $svc := index . 1 -}}
{{- $meta := index (include "scalewise.services" $ | fromYaml) $svc -}}
{{- $v := index $.Values.services $svc -}}
{{- $as := $v.autoscaling | default dict -}}
{{- if and ($.Values.keda.enabled) (gt (len $meta.consumes) 0) $v.autoscaling (ne $as.enabled false) -}}keda
{{- else if and ($.Values.hpa.enabled) (not $.Values.keda.enabled) $v.autoscaling (ne $as.enabled false) -}}hpa
{{- end -}}
{{- end -}}

{{/* The services' scalewise.yaml: `config`, under what the chart's values say. */}}
{{- define "scalewise.config" -}}
{{- $pools := .Values.pools -}}
{{- $chart := dict
  "cluster_id" (include "scalewise.clusterId" .)
  "autoscaler" (dict
    "pools" $pools
    "sensing" (dict "leader_election" (dict "namespace" .Release.Namespace)))
  "events" (dict "topic_prefix" .Values.events.topicPrefix "group_prefix" .Values.events.groupPrefix)
  "kafka" (dict "brokers" .Values.kafka.brokers "security" (dict "protocol" .Values.kafka.securityProtocol))
  "redis" (dict "url" .Values.redis.url)
  "s3" (dict "endpoint" .Values.s3.endpoint "region" .Values.s3.region "bucket" .Values.s3.bucket "force_path_style" .Values.s3.forcePathStyle)
  "telemetry" (dict "log_level" .Values.logLevel)
-}}
{{- if .Values.kafka.saslMechanism -}}
{{- $_ := set $chart.kafka.security "mechanism" .Values.kafka.saslMechanism -}}
{{- end -}}
{{- toYaml (mustMergeOverwrite (deepCopy .Values.config) $chart) -}}
{{- end -}}
