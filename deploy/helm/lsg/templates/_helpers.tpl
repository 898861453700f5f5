{{/* Chart name. */}}
{{- define "lsg.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified release name. */}}
{{- define "lsg.fullname" -}}
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

{{- define "lsg.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object of the release, less instance (which the selector labels carry). */}}
{{- define "lsg.baseLabels" -}}
helm.sh/chart: {{ include "lsg.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: lsg-events
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels shared by every object of the release. */}}
{{- define "lsg.commonLabels" -}}
{{ include "lsg.baseLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
A component's resource name: <fullname>-<component>. Args: dict root, name.
*/}}
{{- define "lsg.componentFullname" -}}
{{- printf "%s-%s" (include "lsg.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The app.kubernetes.io/name of a component (also its OTEL_SERVICE_NAME). Args: dict root, name. */}}
{{- define "lsg.appName" -}}
{{- printf "lsg-%s" .name -}}
{{- end -}}

{{/* Selector labels of a component's service pods. Args: dict root, name. */}}
{{- define "lsg.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lsg.appName" . }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: service
{{- end -}}

{{/* All labels of a component's objects. Args: dict root, name. */}}
{{- define "lsg.componentLabels" -}}
{{ include "lsg.baseLabels" .root }}
{{ include "lsg.selectorLabels" . }}
{{- end -}}

{{/*
A component's effective settings: `default` deep-merged with `components.<name>`, returned as YAML
(use with `fromYaml`). Merge caveats handled here: sprig's merge treats false/0 as "unset", so
booleans and replicas given by the component are applied explicitly; env and secretEnv lists are
concatenated (default first) instead of replaced. Args: dict root, name, component.
*/}}
{{- define "lsg.componentConfig" -}}
{{- $default := deepCopy .root.Values.default -}}
{{- $comp := deepCopy .component -}}
{{- $c := mustMergeOverwrite (deepCopy $default) $comp -}}
{{- range $key := list "autoscaling" "podDisruptionBudget" -}}
{{- if and (hasKey $comp $key) (kindIs "map" (index $comp $key)) (hasKey (index $comp $key) "enabled") -}}
{{- $_ := set (index $c $key) "enabled" (index $comp $key "enabled") -}}
{{- end -}}
{{- end -}}
{{- if hasKey $comp "replicas" -}}
{{- $_ := set $c "replicas" $comp.replicas -}}
{{- end -}}
{{- range $key := list "env" "secretEnv" -}}
{{- $_ := set $c $key (concat (index $default $key | default list) (index $comp $key | default list)) -}}
{{- end -}}
{{- $_ := set $c "name" .name -}}
{{- toYaml $c -}}
{{- end -}}

{{/* Image reference of a component. Args: dict root, c (the component's settings). */}}
{{- define "lsg.image" -}}
{{- $img := .c.image | default dict -}}
{{- $repo := $img.repository | default (printf "lsg-%s" .c.name) -}}
{{- $registry := .root.Values.image.registry -}}
{{- $tag := $img.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $registry) $repo $tag -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount name of a component. Args: dict root, name. */}}
{{- define "lsg.serviceAccountName" -}}
{{- if .root.Values.serviceAccounts.create -}}
{{- include "lsg.componentFullname" . -}}
{{- else -}}
{{- .root.Values.serviceAccounts.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "lsg.kafkaUsesTLS" -}}
{{- if has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL") -}}true{{- end -}}
{{- end -}}

{{- define "lsg.kafkaUsesSASL" -}}
{{- if has .Values.kafka.securityProtocol (list "SASL_PLAINTEXT" "SASL_SSL") -}}true{{- end -}}
{{- end -}}

{{/*
The environment of a component's containers (service and migrations Job). Secrets only through
secretKeyRef: the DSN, the Kafka SASL credentials and the service-specific keys are never inline.
Args: dict root, c.
*/}}
{{- define "lsg.env" -}}
{{- $root := .root -}}
{{- $c := .c -}}
{{- $fullname := include "lsg.componentFullname" (dict "root" $root "name" $c.name) -}}
- name: LSG_ENVIRONMENT
  value: {{ $root.Values.environment | quote }}
- name: LSG_LOG_FORMAT
  value: {{ $root.Values.logFormat | quote }}
- name: LSG_AUDIT_RETENTION_DAYS
  value: {{ $root.Values.audit.retentionDays | quote }}
{{- if $root.Values.audit.identityRetentionDays }}
- name: LSG_AUDIT_IDENTITY_RETENTION_DAYS
  value: {{ $root.Values.audit.identityRetentionDays | quote }}
{{- end }}
{{- with $root.Values.privacy }}
{{- if .subjectKey.existingSecret }}
- name: LSG_PRIVACY_SUBJECT_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .subjectKey.existingSecret }}
      key: {{ .subjectKey.key }}
{{- end }}
{{- if and (eq $c.name "training") .trainingParticipantRetentionDays }}
- name: LSG_TRAINING_PARTICIPANT_RETENTION_DAYS
  value: {{ .trainingParticipantRetentionDays | quote }}
{{- end }}
{{- if and (eq $c.name "surveys") .surveysRespondentRetentionDays }}
- name: LSG_SURVEYS_RESPONDENT_RETENTION_DAYS
  value: {{ .surveysRespondentRetentionDays | quote }}
{{- end }}
{{- if and (eq $c.name "alerts") .alertsContactRetentionDays }}
- name: LSG_ALERTS_CONTACT_RETENTION_DAYS
  value: {{ .alertsContactRetentionDays | quote }}
{{- end }}
{{- if and (eq $c.name "reporting") .reportingIdentityRetentionDays }}
- name: LSG_REPORTING_IDENTITY_RETENTION_DAYS
  value: {{ .reportingIdentityRetentionDays | quote }}
{{- end }}
{{- end }}
{{- if $root.Values.audit.trustedProxies }}
- name: LSG_TRUSTED_PROXIES
  value: {{ $root.Values.audit.trustedProxies | quote }}
{{- end }}
- name: LSG_HTTP_PORT
  value: {{ $c.port | quote }}
- name: LSG_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $c.database.existingSecret | default (printf "%s-db" $fullname) }}
      key: {{ $c.database.key }}
{{- range $country, $ref := ($c.personalDatabases | default dict) }}
- name: {{ printf "LSG_%s_PERSONAL_DATABASE_URL_%s" (upper $c.name) (upper $country) }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.existingSecret }}
      key: {{ $ref.key }}
{{- end }}
- name: LSG_KAFKA_BOOTSTRAP
  value: {{ $root.Values.kafka.bootstrap | quote }}
- name: LSG_KAFKA_SECURITY_PROTOCOL
  value: {{ $root.Values.kafka.securityProtocol | quote }}
{{- if $root.Values.strimzi.topics.enabled }}
# Strimzi's topic operator owns the topics: the services must not create them.
- name: LSG_KAFKA_CREATE_TOPICS
  value: "false"
{{- end }}
{{- if include "lsg.kafkaUsesSASL" $root }}
- name: LSG_KAFKA_SASL_MECHANISM
  value: {{ $root.Values.kafka.sasl.mechanism | quote }}
{{- $saslSecret := $c.kafkaSasl.existingSecret | default (printf "%s-kafka" $fullname) }}
{{- if $c.kafkaSasl.username }}
- name: LSG_KAFKA_SASL_USERNAME
  value: {{ $c.kafkaSasl.username | quote }}
{{- else }}
- name: LSG_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $saslSecret }}
      key: {{ $c.kafkaSasl.usernameKey }}
{{- end }}
- name: LSG_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $saslSecret }}
      key: {{ $c.kafkaSasl.passwordKey }}
{{- end }}
{{- if include "lsg.kafkaUsesTLS" $root }}
- name: LSG_KAFKA_SSL_CAFILE
  value: {{ printf "%s/%s" (trimSuffix "/" $root.Values.kafka.tls.mountPath) $root.Values.kafka.tls.caKey | quote }}
{{- end }}
{{- range $c.secretEnv }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret | default (printf "%s-secrets" $fullname) }}
      key: {{ .key }}
{{- end }}
- name: K8S_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: OTEL_SERVICE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['app.kubernetes.io/name']
{{- if $root.Values.opentelemetry.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $root.Values.opentelemetry.endpoint | quote }}
{{- end }}
{{- $attrs := list "service.namespace=lsg-events" (printf "service.version=%s" (include "lsg.imageTag" .)) (printf "deployment.environment.name=%s" $root.Values.environment) "k8s.namespace.name=$(K8S_NAMESPACE)" "k8s.pod.name=$(K8S_POD_NAME)" }}
{{- range $k, $v := $root.Values.opentelemetry.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%v" $k $v) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- range $c.env }}
- name: {{ .name }}
  value: {{ .value | quote }}
{{- end }}
{{- end -}}

{{/* Image tag of a component. Args: dict root, c. */}}
{{- define "lsg.imageTag" -}}
{{- $img := .c.image | default dict -}}
{{- $img.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- end -}}

{{/* Volumes shared by service and Job pods: /tmp and, with TLS, the Kafka CA. Args: dict root, c. */}}
{{- define "lsg.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .c.tmpSizeLimit }}
{{- if include "lsg.kafkaUsesTLS" .root }}
{{- $tls := .root.Values.kafka.tls }}
- name: kafka-ca
{{- if $tls.caSecret }}
  secret:
    secretName: {{ $tls.caSecret }}
    items:
      - key: {{ $tls.caKey }}
        path: {{ $tls.caKey }}
{{- else if $tls.caConfigMap }}
  configMap:
    name: {{ $tls.caConfigMap }}
    items:
      - key: {{ $tls.caKey }}
        path: {{ $tls.caKey }}
{{- else }}
{{- fail "kafka.securityProtocol is SSL or SASL_SSL: set kafka.tls.caSecret or kafka.tls.caConfigMap" }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "lsg.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if include "lsg.kafkaUsesTLS" .root }}
- name: kafka-ca
  mountPath: {{ .root.Values.kafka.tls.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
Pod-level settings shared by service and Job pods. Args: dict root, c, job (bool).
The migrations Job runs as a pre-install hook, before the chart's ServiceAccounts exist, so it uses
serviceAccounts.name (default: the namespace's `default`) with no API token.
*/}}
{{- define "lsg.podCommon" -}}
{{- if .job }}
serviceAccountName: {{ .root.Values.serviceAccounts.name | default "default" }}
{{- else }}
serviceAccountName: {{ include "lsg.serviceAccountName" (dict "root" .root "name" .c.name) }}
{{- end }}
automountServiceAccountToken: {{ .root.Values.serviceAccounts.automountToken }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .root.Values.securityContext.enable }}
securityContext:
  {{- toYaml .c.podSecurityContext | nindent 2 }}
{{- end }}
{{- with .c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
