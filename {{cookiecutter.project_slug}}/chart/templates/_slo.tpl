{{/* PromQL of the SLO recording rules and alerts (prometheusrule.yaml). */}}

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
Failed requests per second of one SLO over one window, summed over every
worker and pod: the numerator of its SLI, and what the low-traffic guard counts.
Called with (dict "root" $ "window" "5m" "slo" "availability"), and optionally
"by" (labels summed by; "namespace, job") and "function" ("rate" or "increase").
*/}}
{{- define "__chart__.sliErrors" -}}
{{- $requests := printf "%s, view!=\"prometheus-django-metrics\"" (include "__chart__.sloSelector" .root) }}
{{- $by := default "namespace, job" .by }}
{{- $fn := default "rate" .function }}
{{- if eq .slo "availability" -}}
(
  sum by ({{ $by }}) ({{ $fn }}(django_http_responses_total_by_status_view_method_total{ {{- $requests }}, status=~"5.."}[{{ .window }}]))
  or
  0 * sum by ({{ $by }}) ({{ $fn }}(django_http_responses_total_by_status_view_method_total{ {{- $requests }}}[{{ .window }}]))
)
{{- else -}}
(
  sum by ({{ $by }}) ({{ $fn }}(django_http_requests_latency_seconds_by_view_method_count{ {{- $requests }}}[{{ .window }}]))
  -
  sum by ({{ $by }}) ({{ $fn }}(django_http_requests_latency_seconds_by_view_method_bucket{ {{- $requests }}, le="{{ include "__chart__.latencyBucketLabel" .root }}"}[{{ .window }}]))
)
{{- end }}
{{- end }}

{{/* Requests per second that one SLO counts over one window: the SLI's denominator. */}}
{{- define "__chart__.sliRequests" -}}
{{- $requests := printf "%s, view!=\"prometheus-django-metrics\"" (include "__chart__.sloSelector" .root) }}
{{- $by := default "namespace, job" .by }}
{{- $fn := default "rate" .function }}
{{- if eq .slo "availability" -}}
sum by ({{ $by }}) ({{ $fn }}(django_http_responses_total_by_status_view_method_total{ {{- $requests }}}[{{ .window }}]))
{{- else -}}
sum by ({{ $by }}) ({{ $fn }}(django_http_requests_latency_seconds_by_view_method_count{ {{- $requests }}}[{{ .window }}]))
{{- end }}
{{- end }}

{{/*
The SLI recording rules (availability, latency) over one window: the share
of this service's requests that failed each SLO. Until the first 5xx there is
no 5xx series: the availability numerator counts zero failures, not no data.
Called with (dict "root" $ "window" "5m").
*/}}
{{- define "__chart__.sliRules" -}}
{{- range $slo := list "availability" "latency" }}
{{- $args := dict "root" $.root "window" $.window "slo" $slo }}
- record: slo:sli_error:ratio_rate{{ $.window }}
  expr: |
    {{- include "__chart__.sliErrors" $args | nindent 4 }}
    /
    {{ include "__chart__.sliRequests" $args }}
  labels:
    slo: {{ $slo }}
{{- end }}
{{- end }}

{{/*
Failed requests per second over one window, for the low-traffic guard of the
page (fast-burn) alerts. Called like sliRules.
*/}}
{{- define "__chart__.failureRateRules" -}}
{{- range $slo := list "availability" "latency" }}
- record: slo:sli_errors:rate{{ $.window }}
  expr: |
    {{- include "__chart__.sliErrors" (dict "root" $.root "window" $.window "slo" $slo) | nindent 4 }}
  labels:
    slo: {{ $slo }}
{{- end }}
{{- end }}

{{/* The SLOs: name, objective (percent), and what a good request is. */}}
{{- define "__chart__.slos" -}}
{{- $threshold := float64 .Values.env.config.SLO_LATENCY_THRESHOLD_SECONDS }}
{{- toJson (list
  (dict "name" "availability" "title" "Availability" "objective" .Values.slo.availabilityObjective "good" "requests answered without a 5xx")
  (dict "name" "latency" "title" "Latency" "objective" .Values.slo.latencyObjective "good" (printf "requests answered within %vs" $threshold))) }}
{{- end }}

{{/*
The runbook_url and dashboard_url annotations of one alert: its page under
prometheusRule.runbookBaseUrl, and the SLO dashboard (uid read from the
dashboard file itself) opened on this service. Called with (dict "root" $ "alert" "Name").
*/}}
{{- define "__chart__.alertLinks" -}}
{{- $values := .root.Values.prometheusRule }}
{{- $uid := (.root.Files.Get "dashboards/slo.json" | fromJson).uid }}
{{- $query := printf "var-namespace=%s&var-job=%s" (.root.Release.Namespace | urlquery) (include "__chart__.fullname" .root | urlquery) }}
runbook_url: {{ printf "%s/%s.md" (trimSuffix "/" $values.runbookBaseUrl) .alert | quote }}
dashboard_url: {{ printf "%s/d/%s?%s" (trimSuffix "/" $values.grafanaUrl) $uid $query | quote }}
{{- end }}

{{/* The build info metric every metrics port serves (<package>_build_info{version, commit} 1). */}}
{{- define "__chart__.buildInfoMetric" -}}
{{ .Chart.Name | replace "-" "_" }}_build_info
{{- end }}
