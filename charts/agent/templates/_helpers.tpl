{{/* The chart's name, or nameOverride. */}}
{{- define "agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, used for every object; 63 characters is the limit of a label value. */}}
{{- define "agent.fullname" -}}
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

{{- define "agent.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The namespace steps' Jobs run in by default: stepsNamespace's, or the release's. */}}
{{- define "agent.stepsNamespace" -}}
{{- if .Values.stepsNamespace.enabled }}
{{- default (printf "%s-steps" .Release.Namespace | trunc 63 | trimSuffix "-") .Values.stepsNamespace.name }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Every namespace steps may run in, the default first, comma-separated: each gets the program's Role. */}}
{{- define "agent.stepNamespaces" -}}
{{- if and .Values.stepsNamespace.enabled (eq (include "agent.stepsNamespace" .) .Release.Namespace) }}
{{- fail (printf "stepsNamespace.name %q is the release namespace, which holds the agent's Secrets: name another namespace, or set stepsNamespace.enabled=false" .Release.Namespace) }}
{{- end }}
{{- if and .Values.stepsNamespace.enabled .Values.agentToken.shareWithSteps }}
{{- fail "agentToken.shareWithSteps=true needs stepsNamespace.enabled=false: the registration token never goes into the steps namespace" }}
{{- end }}
{{- prepend .Values.rbac.namespaces (include "agent.stepsNamespace" .) | uniq | join "," }}
{{- end }}

{{/* The agent's writable directories, volume name to path: emptyDirs over the read-only image. */}}
{{- define "agent.writablePaths" -}}
{{- dict "tmp" "/tmp" "builds" "/buildkite/builds" "plugins" "/buildkite/plugins" "home" "/home/buildkite-agent" | toJson }}
{{- end }}

{{- define "agent.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Secret name and key of the agent token: an existing Secret's, or the one this chart creates. */}}
{{- define "agent.agentTokenSecretName" -}}
{{- default (printf "%s-agent-token" (include "agent.fullname" .)) .Values.agentToken.existingSecretName }}
{{- end }}
{{- define "agent.agentTokenSecretKey" -}}
{{- if .Values.agentToken.existingSecretName }}{{ .Values.agentToken.existingSecretKey }}{{ else }}buildkite-agent-token{{ end }}
{{- end }}

{{- define "agent.gitCredentialsSecretName" -}}
{{- default (printf "%s-git-credentials" (include "agent.fullname" .)) .Values.gitAuth.credentials.existingSecretName }}
{{- end }}
{{- define "agent.gitCredentialsSecretKey" -}}
{{- if .Values.gitAuth.credentials.existingSecretName }}{{ .Values.gitAuth.credentials.existingSecretKey }}{{ else }}git-credentials{{ end }}
{{- end }}

{{- define "agent.gitSshSecretName" -}}
{{- default (printf "%s-git-ssh" (include "agent.fullname" .)) .Values.gitAuth.ssh.existingSecretName }}
{{- end }}
{{- define "agent.gitSshSecretKey" -}}
{{- if .Values.gitAuth.ssh.existingSecretName }}{{ .Values.gitAuth.ssh.existingSecretKey }}{{ else }}ssh-key{{ end }}
{{- end }}

{{/* BUILDKITE_AGENT_TAGS: the queue first, then agent.tags by name. */}}
{{- define "agent.tags" -}}
{{- $tags := list }}
{{- with .Values.agent.queue }}{{ $tags = append $tags (printf "queue=%s" .) }}{{ end }}
{{- range $name, $value := .Values.agent.tags }}{{ $tags = append $tags (printf "%s=%s" $name (toString $value)) }}{{ end }}
{{- join "," $tags }}
{{- end }}

{{/*
The plugin's agent-wide defaults: the Secrets this chart manages, overridden by
pluginDefaults. Each option becomes the variable the agent itself would set for it
(upper case, `-` as `_`): lists as _0, _1, …; objects as one JSON value.
*/}}
{{- define "agent.pluginDefaults" -}}
{{- $defaults := dict }}
{{- if .Values.stepsNamespace.enabled }}
{{- $_ := set $defaults "namespace" (include "agent.stepsNamespace" .) }}
{{- end }}
{{- if .Values.agentToken.shareWithSteps }}
{{- $_ := set $defaults "agent-token-secret-name" (include "agent.agentTokenSecretName" .) }}
{{- $_ := set $defaults "agent-token-secret-key" (include "agent.agentTokenSecretKey" .) }}
{{- end }}
{{- if .Values.gitAuth.credentials.enabled }}
{{- $_ := set $defaults "git-credentials-secret-name" (include "agent.gitCredentialsSecretName" .) }}
{{- $_ := set $defaults "git-credentials-secret-key" (include "agent.gitCredentialsSecretKey" .) }}
{{- end }}
{{- if .Values.gitAuth.ssh.enabled }}
{{- $_ := set $defaults "git-ssh-secret-name" (include "agent.gitSshSecretName" .) }}
{{- $_ := set $defaults "git-ssh-secret-key" (include "agent.gitSshSecretKey" .) }}
{{- end }}
{{- range $option, $value := .Values.pluginDefaults }}
{{- $_ := set $defaults $option $value }}
{{- end }}
{{- toJson $defaults }}
{{- end }}

{{- define "agent.pluginDefaultsEnv" -}}
{{- range $option, $value := include "agent.pluginDefaults" . | fromJson }}
{{- $variable := printf "BUILDKITE_PLUGIN_KUBERNETES_%s" ($option | upper | replace "-" "_") }}
{{- if kindIs "slice" $value }}
{{- range $index, $item := $value }}
- name: {{ printf "%s_%d" $variable $index }}
  value: {{ toString $item | quote }}
{{- end }}
{{- else if kindIs "map" $value }}
- name: {{ $variable }}
  value: {{ toJson $value | quote }}
{{- else }}
- name: {{ $variable }}
  value: {{ toString $value | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- /*
The agent's own Secrets, comma-separated, which the program refuses to every step in the
agent's namespace: the registration token and the git credentials, less those the plugin
defaults hand to steps on purpose (agentToken.shareWithSteps, gitAuth, *-secret-name,
default-secret-name, image-pull-secrets).
*/}}
{{- define "agent.ownSecrets" -}}
{{- $defaults := include "agent.pluginDefaults" . | fromJson }}
{{- $shared := list }}
{{- range $option, $value := $defaults }}
{{- if or (hasSuffix "-secret-name" $option) (eq $option "image-pull-secrets") }}
{{- $shared = concat $shared (kindIs "slice" $value | ternary $value (list $value)) }}
{{- end }}
{{- end }}
{{- $own := list (include "agent.agentTokenSecretName" .) }}
{{- if .Values.gitAuth.credentials.enabled }}
{{- $own = append $own (include "agent.gitCredentialsSecretName" .) }}
{{- end }}
{{- if .Values.gitAuth.ssh.enabled }}
{{- $own = append $own (include "agent.gitSshSecretName" .) }}
{{- end }}
{{- $kept := list }}
{{- range uniq $own }}
{{- if not (has . $shared) }}
{{- $kept = append $kept . }}
{{- end }}
{{- end }}
{{- join "," $kept }}
{{- end }}
