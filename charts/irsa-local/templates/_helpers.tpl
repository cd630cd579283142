{{/* The name of every object of the release but the webhook configuration. */}}
{{- define "irsa-local.fullname" -}}
{{- printf "%s-webhook" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "irsa-local.selectorLabels" -}}
app.kubernetes.io/name: {{ include "irsa-local.fullname" . }}
{{- end -}}

{{- define "irsa-local.labels" -}}
{{ include "irsa-local.selectorLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
