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
