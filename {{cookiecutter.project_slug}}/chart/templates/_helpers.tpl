{{/*
Names, the image and the Secret, as `helm create` writes them. Every helper is
named after the chart, so helpers stay unique when this chart is a subchart.
Labels: _labels.tpl. Environment: _env.tpl. Rules between values: _checks.tpl.
Ports: _ports.tpl. SLO rules: _slo.tpl.
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
