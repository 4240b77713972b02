{{/*
Names, labels, the image and the environment, as `helm create` writes them.
Every helper is named after the chart, so helpers stay unique when this
chart is a subchart. Ports: _ports.tpl. SLO rules: _slo.tpl.
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

{{/* Labels of the `helm test` pod: the release's, without the selector labels of its servers. */}}
{{- define "__chart__.testPodLabels" -}}
helm.sh/chart: {{ include "__chart__.chart" . }}
app.kubernetes.io/name: {{ printf "%s-test" (include "__chart__.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
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

{{/* The image reference: pinned by digest when image.digest is set, else by tag. */}}
{{- define "__chart__.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
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
{{- if or .root.Values.assumeOperatorApi (.root.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" .kind)) }}true{{ end }}
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
{{- end }}
