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
