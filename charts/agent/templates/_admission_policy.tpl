{{- /*
Helpers of admission-policy.yaml: the policy value as CEL, each rule the program checks
(src/policy/rules.ts) as the same check by the API server.
*/}}

{{- /* Whether the API server has ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, GA in 1.30). */}}
{{- define "agent.admissionPolicy.supported" -}}
{{- if semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version }}true{{ end }}
{{- end }}

{{- /* Whether the chart renders the admission policy. */}}
{{- define "agent.admissionPolicy.rendered" -}}
{{- if and .Values.admissionPolicy.enabled (include "agent.admissionPolicy.supported" .) }}true{{ end }}
{{- end }}

{{- /* The name of one of the release's admission policies: cluster-wide, so with the release namespace. */}}
{{- define "agent.admissionPolicy.name" -}}
{{- printf "%s.%s.%s" .kind .root.Release.Namespace (include "agent.fullname" .root) }}
{{- end }}

{{- /* The agent's identity as the API server sees it in a request. */}}
{{- define "agent.admissionPolicy.username" -}}
{{- printf "system:serviceaccount:%s:%s" .Release.Namespace (include "agent.serviceAccountName" .) }}
{{- end }}

{{- /*
The policy's patterns (`*` for any characters, everything else as written) as a CEL list of
anchored RE2 regexes, for `matches`.
*/}}
{{- define "agent.admissionPolicy.regexes" -}}
{{- $regexes := list }}
{{- range . }}
{{- $parts := list }}
{{- range splitList "*" . }}{{ $parts = append $parts (regexQuoteMeta .) }}{{ end }}
{{- $regexes = append $regexes (printf "^%s$" (join ".*" $parts)) }}
{{- end }}
{{- toJson $regexes }}
{{- end }}

{{- /* A list of strings as a CEL list literal. */}}
{{- define "agent.admissionPolicy.strings" -}}
{{- toJson (. | default list) }}
{{- end }}

{{- /* A list of patterns as an operator wrote it, for messages. */}}
{{- define "agent.admissionPolicy.listed" -}}
{{- if . }}{{ join ", " . }}{{ else }}none{{ end }}
{{- end }}

{{- /* The registry of image `i`, as the container runtime resolves it (src/policy/rules.ts imageRegistry). */}}
{{- define "agent.admissionPolicy.registry" -}}
(i.contains('/') && (i.split('/')[0].contains('.') || i.split('/')[0].contains(':') || i.split('/')[0] == 'localhost') ? i.split('/')[0] : 'docker.io')
{{- end }}
