{{/* The chart's name, or nameOverride. */}}
{{- define "buildscaler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, used for every object; 63 characters is the limit of a label value. */}}
{{- define "buildscaler.fullname" -}}
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

{{- define "buildscaler.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "buildscaler.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "buildscaler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "buildscaler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "buildscaler.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "buildscaler.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "buildscaler.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "buildscaler.agentTokenSecretName" -}}
{{- default (printf "%s-agent-token" (include "buildscaler.fullname" .)) .Values.agentToken.existingSecretName }}
{{- end }}
{{- define "buildscaler.agentTokenSecretKey" -}}
{{- if .Values.agentToken.existingSecretName }}{{ .Values.agentToken.existingSecretKey }}{{ else }}buildkite-agent-token{{ end }}
{{- end }}
