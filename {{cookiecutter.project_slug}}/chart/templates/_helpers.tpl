{{/*
Names and labels, as `helm create` writes them. The "__chart__." prefix of
every helper is replaced by the chart's name when the service is baked, so
helpers stay unique when this chart is a subchart.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "__chart__.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A fully qualified app name, cut to 63 characters (the DNS label limit).
If the release name already contains the chart name, it is used as is.
*/}}
{{- define "__chart__.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "__chart__.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "__chart__.labels" -}}
helm.sh/chart: {{ include "__chart__.chart" . }}
{{ include "__chart__.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods: never change these on an installed release. */}}
{{- define "__chart__.selectorLabels" -}}
app.kubernetes.io/name: {{ include "__chart__.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* podLabels, refused where they would override a selector label and orphan the pods. */}}
{{- define "__chart__.podLabels" -}}
{{- range $key := keys (include "__chart__.selectorLabels" . | fromYaml) }}
{{- if hasKey $.Values.podLabels $key }}
{{- fail (printf "podLabels.%s: the Deployment and Service select the pods by this label, so it cannot be overridden; remove it from podLabels" $key) }}
{{- end }}
{{- end }}
{{- with .Values.podLabels }}{{ toYaml . }}{{ end }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "__chart__.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "__chart__.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding DJANGO_SECRET_KEY (and, if you add it, DATABASE_URL). */}}
{{- define "__chart__.secretName" -}}
{{- default (printf "%s-secret" (include "__chart__.fullname" .)) .Values.env.existingSecret }}
{{- end }}

{{/*
An env.config value as the service reads it. YAML numbers reach templates as
floats, which print as 1e+06 from a million on: a whole number is printed as
digits, so GUNICORN_MAX_REQUESTS=1000000 stays 1000000.
*/}}
{{- define "__chart__.envValue" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- end }}

{{/*
DJANGO_ALLOWED_HOSTS: what env.config says, or the release's Service DNS
names. "*" is refused: behind it the HTTPS redirect sends a client to
whatever Host it named. The kubelet's probes by pod IP need no entry.
*/}}
{{- define "__chart__.allowedHosts" -}}
{{- $hosts := toString (default "" .Values.env.config.DJANGO_ALLOWED_HOSTS) }}
{{- range splitList "," $hosts }}
{{- if eq (trim .) "*" }}
{{- fail (printf "env.config.DJANGO_ALLOWED_HOSTS=%q lets any Host header through (the HTTPS redirect then sends clients to the host they named): list your host names, or leave it empty for the release's Service DNS names" $hosts) }}
{{- end }}
{{- end }}
{{- if $hosts }}{{ $hosts }}{{ else }}
{{- $service := include "__chart__.fullname" . }}
{{- $namespace := .Release.Namespace }}
{{- join "," (list $service (printf "%s.%s" $service $namespace) (printf "%s.%s.svc" $service $namespace) (printf "%s.%s.svc.cluster.local" $service $namespace)) }}
{{- end }}
{{- end }}

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

{{/* The HTTP port gunicorn binds: env.config.HTTP_PORT. */}}
{{- define "__chart__.httpPort" -}}
{{- int .Values.env.config.HTTP_PORT }}
{{- end }}

{{/*
The one source of truth for the metrics ports, as a JSON list of
{"name": "metrics-<i>", "port": <n>}: in the per_worker mode one per
gunicorn worker slot, numbered METRICS_START_PORT .. METRICS_START_PORT +
WEB_CONCURRENCY - 1; in the aggregated mode METRICS_START_PORT alone, named
"metrics". The service computes the same list from the same variables
(metrics/ports.py). The Deployment, Service, ServiceMonitor, NOTES and the
MetricsTargetsMissing alert all range over or count this list.
values.schema.json checks each value; the rules that tie values together
are checked here, since JSON Schema cannot.
*/}}
{{- define "__chart__.metricsPorts" -}}
{{- $workers := int .Values.env.config.WEB_CONCURRENCY }}
{{- $start := int .Values.env.config.METRICS_START_PORT }}
{{- $aggregated := eq (toString .Values.env.config.METRICS_MODE) "aggregated" }}
{{- $end := int (add $start (ternary 1 $workers $aggregated)) }}
{{- $http := int (include "__chart__.httpPort" .) }}
{{- if gt $end 65536 }}
{{- fail (printf "env.config: METRICS_START_PORT=%d with WEB_CONCURRENCY=%d needs ports %d..%d, past 65535; lower METRICS_START_PORT to at most %d" $start $workers $start (sub $end 1) (sub 65536 $workers)) }}
{{- end }}
{{- if and (ge $http $start) (lt $http $end) }}
{{- fail (printf "env.config: HTTP_PORT=%d lies inside the metrics ports %d..%d (METRICS_START_PORT=%d, WEB_CONCURRENCY=%d); move one of them" $http $start (sub $end 1) $start $workers) }}
{{- end }}
{{- $ports := list }}
{{- if $aggregated }}
{{- $ports = list (dict "name" "metrics" "port" $start) }}
{{- else }}
{{- range $port := untilStep $start $end 1 }}
{{- $ports = append $ports (dict "name" (printf "metrics-%d" (add1 (sub $port $start))) "port" $port) }}
{{- end }}
{{- end }}
{{- range $ports }}
{{- if eq (int $.Values.service.port) (int .port) }}
{{- fail (printf "service.port=%d is also the Service port of %s: choose a service.port outside the metrics ports" (int $.Values.service.port) .name) }}
{{- end }}
{{- end }}
{{- toJson $ports }}
{{- end }}

{{/* Label matchers that pick this service's series, as prometheus-operator labels them. */}}
{{- define "__chart__.sloSelector" -}}
namespace="{{ .Release.Namespace }}", job="{{ include "__chart__.fullname" . }}"
{{- end }}

{{/*
The `le` label of the latency bucket at the SLO threshold, spelled as the
service's Python client spells it: 0.3 stays "0.3", but 1 is "1.0".
*/}}
{{- define "__chart__.latencyBucketLabel" -}}
{{- $threshold := float64 .Values.env.config.SLO_LATENCY_THRESHOLD_SECONDS }}
{{- if eq $threshold (floor $threshold) }}{{ printf "%.1f" $threshold }}{{ else }}{{ printf "%v" $threshold }}{{ end }}
{{- end }}

{{/*
The two SLI recording rules (availability, latency) over one window: the
share of this service's requests that failed the SLO, summed over every
worker and pod. Called with (dict "root" $ "window" "5m").
*/}}
{{- define "__chart__.sliRules" -}}
{{- $requests := printf "%s, view!=\"prometheus-django-metrics\"" (include "__chart__.sloSelector" .root) }}
{{- $responses := "django_http_responses_total_by_status_view_method_total" }}
{{- $latency := "django_http_requests_latency_seconds_by_view_method" -}}
- record: slo:sli_error:ratio_rate{{ .window }}
  # Until the first 5xx there is no 5xx series: count zero failures, not no data.
  expr: |
    (
      sum by (namespace, job) (rate({{ $responses }}{ {{- $requests }}, status=~"5.."}[{{ .window }}]))
      or
      0 * sum by (namespace, job) (rate({{ $responses }}{ {{- $requests }}}[{{ .window }}]))
    )
    /
    sum by (namespace, job) (rate({{ $responses }}{ {{- $requests }}}[{{ .window }}]))
  labels:
    slo: availability
- record: slo:sli_error:ratio_rate{{ .window }}
  expr: |
    (
      sum by (namespace, job) (rate({{ $latency }}_count{ {{- $requests }}}[{{ .window }}]))
      -
      sum by (namespace, job) (rate({{ $latency }}_bucket{ {{- $requests }}, le="{{ include "__chart__.latencyBucketLabel" .root }}"}[{{ .window }}]))
    )
    /
    sum by (namespace, job) (rate({{ $latency }}_count{ {{- $requests }}}[{{ .window }}]))
  labels:
    slo: latency
{{- end }}

{{/* The SLOs: name, objective (percent), and what a good request is. */}}
{{- define "__chart__.slos" -}}
{{- $threshold := float64 .Values.env.config.SLO_LATENCY_THRESHOLD_SECONDS }}
{{- toJson (list
  (dict "name" "availability" "title" "Availability" "objective" .Values.slo.availabilityObjective "good" "requests answered without a 5xx")
  (dict "name" "latency" "title" "Latency" "objective" .Values.slo.latencyObjective "good" (printf "requests answered within %vs" $threshold))) }}
{{- end }}
