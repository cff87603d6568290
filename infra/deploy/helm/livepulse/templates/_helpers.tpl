{{/* Names and labels. */}}
{{- define "livepulse.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A service's object name: <release>-<service>, at most 63 characters. */}}
{{- define "livepulse.serviceName" -}}
{{- printf "%s-%s" (include "livepulse.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "livepulse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one service (call with dict "root" $ "name" $name). */}}
{{- define "livepulse.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "livepulse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "livepulse.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "livepulse.image" -}}
{{- $tag := toString .Values.image.tag -}}
{{- if or (eq $tag "") (eq $tag "latest") -}}
{{- fail "image.tag must be a pinned version (not empty, not \"latest\")" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/*
Checks what the chart relies on, once per render: a Secret with the credentials, and no
consumer allowed more replicas than its topics have partitions.
*/}}
{{- define "livepulse.validate" -}}
{{- if not .Values.existingSecret -}}
{{- fail "existingSecret: name a Secret holding LIVEPULSE_WRITE_KEYS, LIVEPULSE_JWT_SECRET, LIVEPULSE_IVS_WEBHOOK_SECRET and CLICKHOUSE_PASSWORD (distributed mode refuses to start without them)" -}}
{{- end -}}
{{- range $name, $svc := .Values.services -}}
{{- if not (has $svc.kind (list "http" "consumer")) -}}
{{- fail (printf "services.%s.kind must be http or consumer, not %v" $name $svc.kind) -}}
{{- end -}}
{{- if and $svc.enabled (eq $svc.kind "consumer") $.Values.keda.enabled $svc.keda $svc.keda.enabled -}}
{{- if gt (int $svc.keda.maxReplicaCount) (int $.Values.kafka.partitions) -}}
{{- fail (printf "services.%s.keda.maxReplicaCount (%v) exceeds kafka.partitions (%v): extra consumers would sit idle" $name $svc.keda.maxReplicaCount $.Values.kafka.partitions) -}}
{{- end -}}
{{- end -}}
{{- if and $svc.enabled $svc.pdb $svc.pdb.enabled (hasKey $svc.pdb "minAvailable") -}}
{{- $min := int (include "livepulse.minReplicas" (dict "root" $ "svc" $svc)) -}}
{{- if ge (int $svc.pdb.minAvailable) $min -}}
{{- fail (printf "services.%s.pdb.minAvailable (%v) must be below the service's minimum replicas (%v), or no pod could ever be evicted" $name $svc.pdb.minAvailable $min) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The fewest replicas a service runs with: its autoscaler's minimum, or its fixed replicas. */}}
{{- define "livepulse.minReplicas" -}}
{{- $svc := .svc -}}
{{- if and (eq $svc.kind "http") $svc.autoscaling $svc.autoscaling.enabled -}}
{{- $svc.autoscaling.minReplicas -}}
{{- else if and (eq $svc.kind "consumer") .root.Values.keda.enabled $svc.keda $svc.keda.enabled -}}
{{- $svc.keda.minReplicaCount -}}
{{- else -}}
{{- $svc.replicas -}}
{{- end -}}
{{- end -}}

{{/* True when something other than the Deployment owns its replica count. */}}
{{- define "livepulse.autoscaled" -}}
{{- $svc := .svc -}}
{{- if or (and (eq $svc.kind "http") $svc.autoscaling $svc.autoscaling.enabled) (and (eq $svc.kind "consumer") .root.Values.keda.enabled $svc.keda $svc.keda.enabled) -}}
true
{{- end -}}
{{- end -}}
