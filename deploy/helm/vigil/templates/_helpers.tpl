{{/* The chart's name, or nameOverride. */}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The objects' name: fullnameOverride, or the release name (with the chart's name unless it contains it). */}}
{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "vigil.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: sensor
{{- end }}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ include "vigil.chart" . }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "vigil.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The driver, checked. */}}
{{- define "vigil.driver" -}}
{{- $d := .Values.driver | default "auto" }}
{{- if not (has $d (list "auto" "ebpf" "fanotify" "procscan")) }}
{{- fail (printf "driver: %q is not one of auto, ebpf, fanotify, procscan" $d) }}
{{- end }}
{{- $d }}
{{- end }}

{{/* Whether the pod runs in the host's network namespace. */}}
{{- define "vigil.hostNetwork" -}}
{{- if or .Values.hostNetwork (eq (include "vigil.driver" .) "fanotify") }}true{{ else }}false{{ end }}
{{- end }}

{{/*
The capabilities of the chosen driver, as a YAML list:
  ebpf      BPF, PERFMON (programs, tracepoints, ring buffer), SYS_RESOURCE
            (RLIMIT_MEMLOCK before 5.11)
  fanotify  SYS_ADMIN (fanotify_init, file-system marks), NET_ADMIN (proc
            connector)
  all       SYS_PTRACE, DAC_READ_SEARCH (/proc/PID of every process)
*/}}
{{- define "vigil.capabilities" -}}
{{- $d := include "vigil.driver" . }}
{{- $caps := list }}
{{- if has $d (list "auto" "ebpf") }}
{{- $caps = concat $caps (list "BPF" "PERFMON" "SYS_RESOURCE") }}
{{- end }}
{{- if has $d (list "auto" "fanotify") }}
{{- $caps = concat $caps (list "SYS_ADMIN" "NET_ADMIN") }}
{{- end }}
{{- $caps = concat $caps (list "SYS_PTRACE" "DAC_READ_SEARCH") }}
{{- range .Values.extraCapabilities }}
{{- $caps = append $caps (. | upper | trimPrefix "CAP_") }}
{{- end }}
{{- toYaml (uniq $caps) }}
{{- end }}

{{/* The rules files the configuration loads (none: the image's defaults). */}}
{{- define "vigil.rulesFiles" -}}
{{- $files := list }}
{{- if .Values.rules.custom }}
{{- if .Values.rules.default }}
{{- range $path, $_ := .Files.Glob "rules/*.yaml" }}
{{- $files = append $files (printf "/etc/vigil/rules.d/%s" (base $path)) }}
{{- end }}
{{- end }}
{{- range $name := keys .Values.rules.custom | sortAlpha }}
{{- if not (regexMatch "^[A-Za-z0-9._-]+\\.ya?ml$" $name) }}
{{- fail (printf "rules.custom: %q: a file name ending in .yaml or .yml" $name) }}
{{- end }}
{{- if and $.Values.rules.default ($.Files.Get (printf "rules/%s" $name)) }}
{{- fail (printf "rules.custom: %q is the name of a default rules file" $name) }}
{{- end }}
{{- $files = append $files (printf "/etc/vigil/rules.d/%s" $name) }}
{{- end }}
{{- else if not .Values.rules.default }}
{{- fail "rules: default is false and custom is empty: there would be no rules to load" }}
{{- end }}
{{- toYaml $files }}
{{- end }}

{{/* container_engines from containerRuntimes. */}}
{{- define "vigil.containerEngines" -}}
{{- $engines := dict }}
{{- range $e := list "docker" "containerd" "cri" "crio" "podman" }}
{{- $sockets := list }}
{{- range $.Values.containerRuntimes }}
{{- if has $e .engines }}
{{- $sockets = append $sockets (ternary .mountPath (printf "%s/%s" (trimSuffix "/" .mountPath) .socket) (empty .socket)) }}
{{- end }}
{{- end }}
{{- $_ := set $engines $e (dict "enabled" (not (empty $sockets)) "sockets" $sockets) }}
{{- end }}
{{- toYaml $engines }}
{{- end }}

{{/* vigil.yaml: what the chart sets, with .Values.config merged over it. */}}
{{- define "vigil.config" -}}
{{- $file := .Values.outputs.file }}
{{- $http := .Values.outputs.http }}
{{- if and $http.enabled (not $http.url) }}
{{- fail "outputs.http.enabled needs outputs.http.url" }}
{{- end }}
{{- $base := dict
  "engine" (dict "kind" (include "vigil.driver" .))
  "rules_files" (include "vigil.rulesFiles" . | fromYamlArray)
  "json_output" .Values.outputs.json
  "json_include_output_property" true
  "json_include_tags_property" true
  "time_format_iso_8601" true
  "stdout_output" (dict "enabled" .Values.outputs.stdout)
  "syslog_output" (dict "enabled" false)
  "log_syslog" false
  "log_stderr" true
  "file_output" (dict "enabled" $file.enabled "keep_alive" $file.keepAlive "filename" $file.filename)
  "http_output" (dict "enabled" $http.enabled "url" ($http.url | default ""))
  "webserver" (dict "enabled" true "listen_address" "0.0.0.0" "listen_port" (int .Values.webserver.port) "k8s_healthz_endpoint" "/healthz" "prometheus_metrics_enabled" .Values.webserver.metrics)
  "container_engines" (include "vigil.containerEngines" . | fromYaml)
}}
{{- $cfg := mergeOverwrite $base (deepCopy .Values.config) }}
{{- if not $cfg.webserver.enabled }}
{{- fail "config.webserver.enabled: the probes need the webserver" }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* The webserver as configured (values merged with config.webserver): port, healthz path, metrics. */}}
{{- define "vigil.webPort" -}}
{{- (include "vigil.config" . | fromYaml).webserver.listen_port | int }}
{{- end }}
{{- define "vigil.healthz" -}}
{{- (include "vigil.config" . | fromYaml).webserver.k8s_healthz_endpoint }}
{{- end }}
{{- define "vigil.metrics" -}}
{{- if (include "vigil.config" . | fromYaml).webserver.prometheus_metrics_enabled }}true{{ else }}false{{ end }}
{{- end }}
