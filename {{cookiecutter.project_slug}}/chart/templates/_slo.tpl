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

{{/* Names of the per-service rates the raw group records, from which every SLI is built. */}}
{{- define "__chart__.responsesRecord" -}}namespace_job_view_status:django_http_responses:rate5m{{- end }}
{{- define "__chart__.latencyRecord" -}}namespace_job_view_le:django_http_requests_latency_seconds_bucket:rate5m{{- end }}

{{/* The request series the SLOs count: the service's own, not Prometheus' scrapes of /metrics. */}}
{{- define "__chart__.sloRequests" -}}
{{ include "__chart__.sloSelector" . }}, view!="prometheus-django-metrics"
{{- end }}

{{/*
Failed requests per metrics target of one SLO, joined with the version each
target reports, summed by version; a version without failures counts 0. Raw
series: the error_budget report's raw form writes the same (service_runtime/error_budget/queries.py).
Called with (dict "root" $ "slo" "availability" "window" "5m" "function" "rate" "lookback" "10m").
*/}}
{{- define "__chart__.errorsByVersion" -}}
{{- $requests := include "__chart__.sloRequests" .root }}
{{- $target := "namespace, job, instance, pod" }}
{{- $versions := printf "max by (%s, version) (last_over_time(%s{%s}[%s]))" $target (include "__chart__.buildInfoMetric" .root) (include "__chart__.sloSelector" .root) .lookback -}}
sum by (namespace, job, version) (
  (
{{- if eq .slo "availability" }}
    sum by ({{ $target }}) ({{ .function }}(django_http_responses_total_by_status_view_method_total{ {{- $requests }}, status=~"5.."}[{{ .window }}]))
{{- else }}
    (
      sum by ({{ $target }}) ({{ .function }}(django_http_requests_latency_seconds_by_view_method_bucket{ {{- $requests }}, le="+Inf"}[{{ .window }}]))
      -
      sum by ({{ $target }}) ({{ .function }}(django_http_requests_latency_seconds_by_view_method_bucket{ {{- $requests }}, le="{{ include "__chart__.latencyBucketLabel" .root }}"}[{{ .window }}]))
    )
{{- end }}
    * on ({{ $target }}) group_left (version)
    {{ $versions }}
  )
  or
  0 * {{ $versions }}
)
{{- end }}

{{/*
Failed and counted requests per second of one SLO over 5 minutes, read from the
raw group's per-service records. The latency SLO counts every request (the
+Inf bucket) against those under the threshold; until the first 5xx there is no
5xx series, and the availability SLO counts zero failures, not no data.
Called with (dict "root" $ "slo" "availability" "by" "namespace, job").
*/}}
{{- define "__chart__.recordedErrors" -}}
{{- $selector := include "__chart__.sloSelector" .root }}
{{- if eq .slo "availability" -}}
sum by ({{ .by }}) ({{ include "__chart__.responsesRecord" .root }}{ {{- $selector }}, status=~"5.."})
or
0 * sum by ({{ .by }}) ({{ include "__chart__.responsesRecord" .root }}{ {{- $selector }}})
{{- else -}}
sum by ({{ .by }}) ({{ include "__chart__.latencyRecord" .root }}{ {{- $selector }}, le="+Inf"})
-
sum by ({{ .by }}) ({{ include "__chart__.latencyRecord" .root }}{ {{- $selector }}, le="{{ include "__chart__.latencyBucketLabel" .root }}"})
{{- end }}
{{- end }}

{{- define "__chart__.recordedRequests" -}}
{{- $selector := include "__chart__.sloSelector" .root }}
{{- if eq .slo "availability" -}}
sum by ({{ .by }}) ({{ include "__chart__.responsesRecord" .root }}{ {{- $selector }}})
{{- else -}}
sum by ({{ .by }}) ({{ include "__chart__.latencyRecord" .root }}{ {{- $selector }}, le="+Inf"})
{{- end }}
{{- end }}

{{/*
The range that sums one window of 5-minute records: a second short of the window,
since Prometheus 2 ranges include their first instant, which would add the
5 minutes before the window (Prometheus 3's exclude it; both read the same).
The 5-minute rates sampled in it then cover exactly the window at any interval.
Called with (dict "window" "30m" "days" 30): a window of the list, or "<days>d".
*/}}
{{- define "__chart__.recordRange" -}}
{{- $seconds := dict "5m" 300 "30m" 1800 "1h" 3600 "2h" 7200 "6h" 21600 "1d" 86400 "3d" 259200 }}
{{- $_ := set $seconds (printf "%dd" (int .days)) (mul (int .days) 86400) }}
{{- printf "%ds" (sub (get $seconds .window) 1) }}
{{- end }}

{{/*
One SLI window built from the 5-minute records: the failures summed over the
window divided by the requests summed over it, a ratio of sums (not a mean of
ratios), so a quiet night weighs what its requests weigh.
Called with (dict "root" $ "window" "30m").
*/}}
{{- define "__chart__.sliWindow" -}}
{{- $range := include "__chart__.recordRange" (dict "window" .window "days" .root.Values.slo.periodDays) }}
- record: slo:sli_error:ratio_rate{{ .window }}
  expr: |
    sum_over_time(slo:sli_errors:rate5m{ {{- include "__chart__.sloSelector" .root }}}[{{ $range }}])
    /
    sum_over_time(slo:sli_requests:rate5m{ {{- include "__chart__.sloSelector" .root }}}[{{ $range }}])
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
