{{/*
The container environment: how env.config values are written, and DJANGO_ALLOWED_HOSTS.
*/}}

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
names and, with the Ingress on, its hosts. "*" is refused: behind it the HTTPS redirect sends a client to
whatever Host it named. The kubelet's probes by pod IP need no entry. An Ingress wildcard host
"*.example.com" becomes Django's spelling of it, ".example.com" (Django never matches "*.").
*/}}
{{- define "__chart__.allowedHosts" -}}
{{- $hosts := toString (default "" .Values.env.config.DJANGO_ALLOWED_HOSTS) }}
{{- range splitList "," $hosts }}
{{- if eq (trim .) "*" }}
{{- fail (printf "env.config.DJANGO_ALLOWED_HOSTS=%q lets any Host header through (the HTTPS redirect then sends clients to the host they named): list your host names, or leave it empty for the release's Service DNS names" $hosts) }}
{{- end }}
{{- if hasPrefix "*." (trim .) }}
{{- fail (printf "env.config.DJANGO_ALLOWED_HOSTS=%q: Django never matches %q; write the wildcard as %q" $hosts (trim .) (trimPrefix "*" (trim .))) }}
{{- end }}
{{- end }}
{{- if $hosts }}{{ $hosts }}{{ else }}
{{- $service := include "__chart__.fullname" . }}
{{- $namespace := .Release.Namespace }}
{{- $names := list $service (printf "%s.%s" $service $namespace) (printf "%s.%s.svc" $service $namespace) (printf "%s.%s.svc.cluster.local" $service $namespace) }}
{{- if .Values.ingress.enabled }}
{{- range .Values.ingress.hosts }}{{ $names = append $names (regexReplaceAll "^\\*\\." .host ".") }}{{ end }}
{{- end }}
{{- join "," $names }}
{{- end }}
{{- end }}

{{/*
The environment from env.config and the values that derive some of it, as a YAML map of
quoted strings: the ConfigMap's data, and the migrations Job's env (a pre-install hook runs
before the ConfigMap exists).
*/}}
{{- define "__chart__.envConfig" -}}
{{- range $key, $value := .Values.env.config }}
{{- if eq $key "DJANGO_ALLOWED_HOSTS" }}
{{ $key }}: {{ include "__chart__.allowedHosts" $ | quote }}
{{- else }}
{{ $key }}: {{ include "__chart__.envValue" $value | quote }}
{{- end }}
{{- end }}
{{- if not (hasKey .Values.env.config "DJANGO_ALLOWED_HOSTS") }}
DJANGO_ALLOWED_HOSTS: {{ include "__chart__.allowedHosts" . | quote }}
{{- end }}
{{- if not (hasKey .Values.env.config "SERVICE_VERSION") }}
{{- /* The release's version for <package>_build_info: the image tag, else the chart's appVersion. */}}
SERVICE_VERSION: {{ default .Chart.AppVersion .Values.image.tag | quote }}
{{- end }}
{{- with .Values.tracing }}
{{- if .endpoint }}
{{- range $key := list "OTEL_EXPORTER_OTLP_ENDPOINT" "OTEL_TRACES_SAMPLER" "OTEL_TRACES_SAMPLER_ARG" }}
{{- if hasKey $.Values.env.config $key }}
{{- fail (printf "env.config.%s is set and so is tracing.endpoint, which sets it too: set it through tracing.* only" $key) }}
{{- end }}
{{- end }}
{{- /* Tracing on (service_runtime/tracing/configuration.py): the collector and the sampler; the service names itself. */}}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ .endpoint | quote }}
OTEL_TRACES_SAMPLER: {{ .sampler | quote }}
OTEL_TRACES_SAMPLER_ARG: {{ .ratio | toString | quote }}
{{- end }}
{{- end }}
{{- end }}
