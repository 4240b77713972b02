{{/*
Rules between values that JSON Schema cannot express, and the helpers they use.
*/}}

{{/* A Prometheus duration (1m30s, 10s, 500ms) in milliseconds, for comparing two of them. */}}
{{- define "__chart__.durationMilliseconds" -}}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 "w" 604800000 "y" 31536000000 }}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+(ms|s|m|h|d|w|y)" . -1 }}
{{- $unit := regexFind "(ms|s|m|h|d|w|y)$" . }}
{{- $total = add $total (mul (int64 (trimSuffix $unit .)) (get $units $unit)) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
Whether the cluster serves a prometheus-operator kind, e.g. (dict "root" $ "kind"
"ServiceMonitor"), or assumeOperatorApi says to take it as served. Without the
CRDs such an object would fail the whole install.
*/}}
{{- define "__chart__.hasOperatorApi" -}}
{{- if or .root.Values.assumeOperatorApi (.root.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/%s/%s" (default "v1" .version) .kind)) }}true{{ end }}
{{- end }}

{{/* The grace period the kubelet gives a terminating pod: preStop sleep, then gunicorn's graceful timeout. */}}
{{- define "__chart__.terminationGracePeriod" -}}
{{- $graceful := int (default 30 .Values.env.config.GUNICORN_GRACEFUL_TIMEOUT) }}
{{- $delay := int .Values.shutdownDelaySeconds }}
{{- $needed := add $delay $graceful }}
{{- with .Values.terminationGracePeriodSeconds }}
{{- if lt (int .) $needed }}
{{- fail (printf "terminationGracePeriodSeconds=%d is shorter than shutdownDelaySeconds=%d plus GUNICORN_GRACEFUL_TIMEOUT=%d: the kubelet would kill gunicorn mid-request; make it at least %d, or leave it empty" (int .) $delay $graceful $needed) }}
{{- end }}
{{- int . }}
{{- else }}
{{- add $needed 5 }}
{{- end }}
{{- end }}

{{/* Pods that run at least: replicaCount, or the autoscaler's minimum. */}}
{{- define "__chart__.minimumPods" -}}
{{- if .Values.autoscaling.enabled }}{{ int .Values.autoscaling.minReplicas }}{{ else }}{{ int .Values.replicaCount }}{{ end }}
{{- end }}

{{/* Rules between values that JSON Schema cannot express; deployment.yaml includes this. */}}
{{- define "__chart__.checkValues" -}}
{{- if and .Values.serviceMonitor.enabled .Values.podMonitor.enabled }}
{{- fail "serviceMonitor.enabled and podMonitor.enabled are both true: Prometheus would scrape every worker twice and double every count; enable one of them" }}
{{- end }}
{{- if and .Values.scrapeAnnotations (ne (toString .Values.env.config.METRICS_MODE) "aggregated") }}
{{- fail (printf "scrapeAnnotations=true needs env.config.METRICS_MODE=aggregated: prometheus.io/port names one port per pod, and per_worker serves WEB_CONCURRENCY=%d ports; use serviceMonitor or podMonitor instead" (int .Values.env.config.WEB_CONCURRENCY)) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas=%d is above autoscaling.maxReplicas=%d" (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (not (dig "requests" "cpu" "" .Values.resources)) }}
{{- fail "autoscaling.enabled needs resources.requests.cpu: the HPA's CPU target is a share of it" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.hosts) }}
{{- fail "ingress.enabled needs at least one entry in ingress.hosts" }}
{{- end }}
{{- range $name := list "interval" "dashboardInterval" }}
{{- $interval := get $.Values.prometheusRule $name }}
{{- if gt (int64 (include "__chart__.durationMilliseconds" $interval)) 300000 }}
{{- fail (printf "prometheusRule.%s=%s is longer than the 5 minutes each recorded rate covers: requests between two evaluations would count in no window; make it 5m or less" $name $interval) }}
{{- end }}
{{- end }}
{{- with .Values.env.config }}
{{- if and (gt (float64 (default 0 .DOWNTIME_DRILL_RATIO)) 0.0) (not .DOWNTIME_DRILL_UNTIL) }}
{{- fail (printf "env.config.DOWNTIME_DRILL_RATIO=%v needs env.config.DOWNTIME_DRILL_UNTIL, the drill's end (e.g. 2026-12-02T18:00:00Z): a drill never runs open-ended" .DOWNTIME_DRILL_RATIO) }}
{{- end }}
{{- with .DOWNTIME_DRILL_UNTIL }}
{{- /* At most a working day away, as service_runtime/error_budget/drill.py's MAX_DRILL_HOURS says. */}}
{{- $maxDrillHours := 24 }}
{{- $end := (toDate "2006-01-02T15:04:05Z07:00" (upper .)).Unix }}
{{- if lt $end now.Unix }}
{{- fail (printf "env.config.DOWNTIME_DRILL_UNTIL=%s is in the past: give the drill a future end, or remove the drill" .) }}
{{- end }}
{{- if gt (sub $end now.Unix) (mul $maxDrillHours 3600) }}
{{- fail (printf "env.config.DOWNTIME_DRILL_UNTIL=%s is more than %d hours away: a drill is an exercise the team watches; give an end within %d hours" . $maxDrillHours $maxDrillHours) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
How this release runs `manage.py migrate`: "job" (a pre-install/pre-upgrade hook Job, once per
release, before any new pod starts), "initContainer" (in every pod, before gunicorn) or "none".
migrations.mode=auto picks the Job whenever the database comes from env.existingSecret (it exists
before the install, so the hook can read DATABASE_URL), and the init container for the demo
SQLite database, which lives in each pod's /tmp and so needs migrating in each pod.
*/}}
{{- define "__chart__.migrationsMode" -}}
{{- $mode := .Values.migrations.mode }}
{{- if eq $mode "auto" }}
{{- $mode = ternary "job" "initContainer" (ne .Values.env.existingSecret "") }}
{{- end }}
{{- if and (eq $mode "job") (not .Values.env.existingSecret) }}
{{- fail "migrations.mode=job needs env.existingSecret with DATABASE_URL: the Job runs before this chart's own Secret and ConfigMap exist, and without DATABASE_URL each pod has its own SQLite database in /tmp, which only an init container can migrate" }}
{{- end }}
{{- $mode }}
{{- end }}
