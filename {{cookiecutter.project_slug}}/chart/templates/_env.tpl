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
