{{/* The chart's name, or nameOverride. */}}
{{- define "vastwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the release name when it already holds the chart's name. */}}
{{- define "vastwatch.fullname" -}}
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

{{- define "vastwatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vastwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vastwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vastwatch.labels" -}}
helm.sh/chart: {{ include "vastwatch.chart" . }}
{{ include "vastwatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "vastwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vastwatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "vastwatch.configMapName" -}}
{{- default (printf "%s-config" (include "vastwatch.fullname" .)) .Values.config.existingConfigMap }}
{{- end }}

{{- define "vastwatch.leaseName" -}}
{{- default (include "vastwatch.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "vastwatch.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The claim of the state directory, when one is used. */}}
{{- define "vastwatch.stateClaim" -}}
{{- if and .Values.persistence.enabled (not .Values.leaderElection.enabled) }}
{{- default (printf "%s-state" (include "vastwatch.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}
{{- end }}

{{/* Refuse values that would let two replicas scale one account. */}}
{{- define "vastwatch.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount %d needs leaderElection.enabled: two scalers on one account would both rent (values-ha.yaml sets both)" (int .Values.replicaCount)) }}
{{- end }}
{{- if lt (int .Values.replicaCount) 1 }}
{{- fail "replicaCount must be at least 1" }}
{{- end }}
{{- end }}
