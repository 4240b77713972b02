{{/* The HTTP and metrics ports, from env.config: every object that names a port reads them here. */}}

{{/* The HTTP port gunicorn binds: env.config.HTTP_PORT. */}}
{{- define "__chart__.httpPort" -}}
{{- int .Values.env.config.HTTP_PORT }}
{{- end }}

{{/*
The one source of truth for the metrics ports, as a JSON list of
{"name": "metrics-<n>", "port": <port>}: in the per_worker mode one per
gunicorn worker slot, slot n (from 1, as the service's logs and /readyz count)
on port METRICS_START_PORT + n - 1; in the aggregated mode METRICS_START_PORT alone, named
"metrics". The service computes the same list from the same variables
(service_runtime/environment/ports.py). The Deployment, Service, ServiceMonitor, NOTES and the
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
