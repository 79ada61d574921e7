{{/*
Facts of the images (Dockerfile targets), not tunables: each service's HTTP port, its settings env
prefix (CLIENTPULSE_<prefix>_...), whether it owns a database, and which other services call its
HTTP API besides the gateway (insights reads results-ingest's campaign table for its weekly analysis).
*/}}
{{- define "clientpulse.facts" -}}
gateway: {port: 8000, prefix: GATEWAY, database: false, upstreamSetting: ""}
clients: {port: 8001, prefix: CLIENTS, database: true, upstreamSetting: CLIENTS_URL}
tiering: {port: 8002, prefix: TIERING, database: true, upstreamSetting: TIERING_URL}
results-ingest: {port: 8003, prefix: RESULTS, database: true, upstreamSetting: RESULTS_URL, callers: [insights]}
insights: {port: 8004, prefix: INSIGHTS, database: true, upstreamSetting: INSIGHTS_URL}
notifications: {port: 8005, prefix: NOTIFICATIONS, database: true, upstreamSetting: NOTIFICATIONS_URL}
web: {port: 8080, prefix: WEB, database: false, upstreamSetting: "", public: true}
{{- end }}

{{- define "clientpulse.fact" -}}
{{- $facts := fromYaml (include "clientpulse.facts" .root) -}}
{{- $fact := get $facts .service -}}
{{- if not $fact }}{{ fail (printf "unknown clientpulse service %q" .service) }}{{ end -}}
{{- toYaml $fact -}}
{{- end }}

{{- define "clientpulse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "clientpulse.fullname" -}}
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
{{- end }}

{{/* A service's resource name: <fullname>-<service>. Argument: dict root service. */}}
{{- define "clientpulse.serviceName" -}}
{{- printf "%s-%s" (include "clientpulse.fullname" .root) .service | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "clientpulse.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "clientpulse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "clientpulse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "clientpulse.labels" -}}
helm.sh/chart: {{ include "clientpulse.chart" . }}
{{ include "clientpulse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: clientpulse
{{- end }}

{{/* Labels of one service's objects. Argument: dict root service. */}}
{{- define "clientpulse.componentLabels" -}}
{{ include "clientpulse.labels" .root }}
app.kubernetes.io/component: {{ .service }}
{{- end }}

{{- define "clientpulse.componentSelectorLabels" -}}
{{ include "clientpulse.selectorLabels" .root }}
app.kubernetes.io/component: {{ .service }}
{{- end }}

{{- define "clientpulse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "clientpulse.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{- define "clientpulse.secretName" -}}
{{- default (printf "%s-secrets" (include "clientpulse.fullname" .)) .Values.secrets.existingSecret -}}
{{- end }}

{{- define "clientpulse.configMapName" -}}
{{- printf "%s-config" (include "clientpulse.fullname" .) -}}
{{- end }}

{{/* The image of one service. Argument: dict root service. */}}
{{- define "clientpulse.image" -}}
{{- $root := .root -}}
{{- $values := get $root.Values.services .service -}}
{{- $own := $values.image | default dict -}}
{{- $repository := $own.repository | default (printf "%s/%s/%s" $root.Values.image.registry $root.Values.image.repository .service) -}}
{{- $tag := $own.tag | default $root.Values.image.tag | default $root.Chart.AppVersion -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end }}

{{/* True when the gateway must check HS256 tokens (and so needs the JWT secret). */}}
{{- define "clientpulse.jwtSymmetric" -}}
{{- if has "HS256" .Values.jwt.algorithms }}true{{ end -}}
{{- end }}

{{/*
Where a service's database URL comes from, as env entries. Argument: dict root service secretName
(the Secret holding clear URLs given in values: the release Secret, or the migrations hook Secret).
*/}}
{{- define "clientpulse.databaseEnv" -}}
{{- $root := .root -}}
{{- $service := .service -}}
{{- $fact := fromYaml (include "clientpulse.fact" .) -}}
{{- $database := (get $root.Values.services $service).database -}}
{{- $variable := printf "CLIENTPULSE_%s_DATABASE_URL" $fact.prefix -}}
{{- if $database.urlSecret.name }}
- name: {{ $variable }}
  valueFrom:
    secretKeyRef:
      name: {{ $database.urlSecret.name }}
      key: {{ required (printf "services.%s.database.urlSecret.key is required with urlSecret.name" $service) $database.urlSecret.key }}
{{- else if $root.Values.secrets.existingSecret }}
- name: {{ $variable }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.existingSecret }}
      key: {{ $service }}-database-url
{{- else if $database.url }}
- name: {{ $variable }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ $service }}-database-url
{{- else }}
{{- $pg := $root.Values.postgresql }}
- name: CLIENTPULSE_DB_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $pg.credentialsSecret }}
      key: {{ $pg.usernameKey }}
- name: CLIENTPULSE_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $pg.credentialsSecret }}
      key: {{ $pg.passwordKey }}
{{- /* Kubernetes expands $(VAR) from the variables defined above it. */}}
- name: {{ $variable }}
  value: {{ printf "postgresql+asyncpg://$(CLIENTPULSE_DB_USERNAME):$(CLIENTPULSE_DB_PASSWORD)@%s:%d/%s" $pg.host (int $pg.port) $database.name | quote }}
{{- end }}
{{- end }}

{{/*
The environment of one service's process (Deployment and CronJobs alike), after envFrom the
ConfigMap. Argument: dict root service.
*/}}
{{- define "clientpulse.env" -}}
{{- $root := .root -}}
{{- $service := .service -}}
{{- $fact := fromYaml (include "clientpulse.fact" .) -}}
{{- $values := get $root.Values.services $service -}}
{{- $prefix := printf "CLIENTPULSE_%s_" $fact.prefix -}}
- name: {{ $prefix }}HOST
  value: 0.0.0.0
- name: {{ $prefix }}PORT
  value: {{ $fact.port | quote }}
- name: {{ $prefix }}STREAM_REPLICAS
  value: {{ $values.streamReplicas | quote }}
- name: CLIENTPULSE_IDENTITY_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "clientpulse.secretName" $root }}
      key: identity-secret
{{- if $fact.database }}
{{- include "clientpulse.databaseEnv" (dict "root" $root "service" $service "secretName" (include "clientpulse.secretName" $root)) }}
{{- end }}
{{- if and (eq $service "gateway") (include "clientpulse.jwtSymmetric" $root) }}
- name: CLIENTPULSE_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "clientpulse.secretName" $root }}
      key: jwt-secret
{{- end }}
{{- if eq $service "results-ingest" }}
- name: CLIENTPULSE_RESULTS_ENCRYPTION_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ include "clientpulse.secretName" $root }}
      key: results-encryption-keys
{{- end }}
{{- if eq $service "insights" }}
- name: CLIENTPULSE_INSIGHTS_LLM_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "clientpulse.secretName" $root }}
      key: llm-api-key
      optional: true
{{- end }}
{{- if eq $service "web" }}
- name: CLIENTPULSE_WEB_SESSION_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "clientpulse.secretName" $root }}
      key: web-session-secret
- name: CLIENTPULSE_WEB_OIDC_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "clientpulse.secretName" $root }}
      key: web-oidc-client-secret
      optional: true
{{- end }}
{{- if eq $service "notifications" }}
- name: CLIENTPULSE_NOTIFICATIONS_WEBHOOK_SECRETS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "clientpulse.secretName" $root }}
      key: notifications-webhook-secrets-key
{{- end }}
{{- with $values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod-level settings shared by Deployments, Jobs and CronJobs. Argument: dict root service, and hook
true for pre-install hooks, which run before the release's ServiceAccount exists.
*/}}
{{- define "clientpulse.podSpecCommon" -}}
{{- $root := .root -}}
{{- $values := get $root.Values.services .service -}}
{{- if not .hook -}}
serviceAccountName: {{ include "clientpulse.serviceAccountName" $root }}
{{ end -}}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ $root.Values.tmpSizeLimit }}
{{- end }}

{{/* Container settings shared by every clientpulse container. Argument: dict root service. */}}
{{- define "clientpulse.containerCommon" -}}
{{- $root := .root -}}
image: {{ include "clientpulse.image" . }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml $root.Values.containerSecurityContext | nindent 2 }}
envFrom:
  - configMapRef:
      name: {{ include "clientpulse.configMapName" $root }}
env:
  {{- include "clientpulse.env" . | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}

{{/* Roll pods when the configuration or the chart-made Secret changes. */}}
{{- define "clientpulse.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* The pre-install hook Secret with the database URLs given in clear (the release Secret does not exist yet then). */}}
{{- define "clientpulse.migrationsSecretName" -}}
{{- printf "%s-migrations" (include "clientpulse.fullname" .) -}}
{{- end }}

{{/*
Labels of Job and CronJob objects and pods. Their component is the task, never the service's name:
a service's Service, PodDisruptionBudget and NetworkPolicy select its component, and must not pick
up one-off pods that listen on nothing. Argument: dict root service task.
*/}}
{{- define "clientpulse.taskLabels" -}}
{{ include "clientpulse.labels" .root }}
app.kubernetes.io/component: {{ .task }}
clientpulse.io/service: {{ .service }}
{{- end }}
