{{/* The release's full name, at most 63 characters. */}}
{{- define "berth.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "berth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the server's pods. */}}
{{- define "berth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "berth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "berth.labels" -}}
{{ include "berth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "berth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "berth.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: give the service account to run as when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding adminPassword and sealKey. */}}
{{- define "berth.secretName" -}}
{{- default (include "berth.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "berth.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Whether the server uses PostgreSQL. */}}
{{- define "berth.postgres" -}}
{{- if or .Values.database.existingSecret .Values.database.url -}}true{{- end -}}
{{- end -}}

{{/*
Refuses combinations of values the schema cannot express: several replicas on SQLite, several
replicas on one ReadWriteOnce volume, an election that needs PostgreSQL without it, and several
replicas that would all lead.
*/}}
{{- define "berth.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "berth.postgres" .)) -}}
{{- fail (printf "replicaCount: %d replicas need PostgreSQL (set database.existingSecret or database.url); SQLite serves one replica only" (int .Values.replicaCount)) -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) .Values.persistence.enabled (not (has "ReadWriteMany" .Values.persistence.accessModes)) -}}
{{- fail (printf "persistence.accessModes: %d replicas share the data volume, which needs ReadWriteMany (or set persistence.enabled=false)" (int .Values.replicaCount)) -}}
{{- end -}}
{{- /* Secrets are checked here, not by the schema, whose messages quote the value. */ -}}
{{- if and .Values.database.url (not (regexMatch "^postgres(ql)?://." .Values.database.url)) -}}
{{- fail "database.url: want a postgres:// URL (the value is not shown: it may hold a password)" -}}
{{- end -}}
{{- if and .Values.secrets.sealKey (not (regexMatch "^[A-Za-z0-9+/]{43}=$" .Values.secrets.sealKey)) -}}
{{- fail "secrets.sealKey: want base64 of 32 bytes, e.g. from head -c 32 /dev/urandom | base64 (the value is not shown)" -}}
{{- end -}}
{{- if and (has .Values.leaderElection (list "postgres" "kubernetes")) (not (include "berth.postgres" .)) -}}
{{- fail (printf "leaderElection: %s needs PostgreSQL (set database.existingSecret or database.url); an SQLite server is alone and always leads (keep auto)" .Values.leaderElection) -}}
{{- end -}}
{{- if and (eq .Values.leaderElection "none") (gt (int .Values.replicaCount) 1) -}}
{{- fail (printf "leaderElection: none makes every replica lead; %d replicas need auto, postgres or kubernetes" (int .Values.replicaCount)) -}}
{{- end -}}
{{- if and .Values.database.url .Values.database.existingSecret -}}
{{- fail "database: give either database.url or database.existingSecret, not both" -}}
{{- end -}}
{{- end -}}

{{/* The Kubernetes Lease of leaderElection=kubernetes: the server's name for it (servercmd.LeaseName). */}}
{{- define "berth.leaseName" -}}berth-controllers{{- end -}}
