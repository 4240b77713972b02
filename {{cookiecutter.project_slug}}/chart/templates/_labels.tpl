{{/*
The app.kubernetes.io/* labels of every object, the selector, and the pods' labels.
*/}}

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

{{/* Labels of the migrations Job and its pod: the release's, without the selector labels, so no Service routes to it. */}}
{{- define "__chart__.migrationsLabels" -}}
helm.sh/chart: {{ include "__chart__.chart" . }}
app.kubernetes.io/name: {{ printf "%s-migrate" (include "__chart__.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: migrations
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
