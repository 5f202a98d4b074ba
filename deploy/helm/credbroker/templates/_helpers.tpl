{{/* Every object's labels: the selector label kustomize's base uses, plus Helm's bookkeeping. */}}
{{- define "credbroker.labels" -}}
app.kubernetes.io/name: credbroker
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
Selects the broker's pods. Only the name, as in the kustomize base: object names are fixed (the
ClusterRole is cluster-wide, and Vault's role is bound to the service account credbroker), so there
is one installation per cluster.
*/}}
{{- define "credbroker.selectorLabels" -}}
app.kubernetes.io/name: credbroker
{{- end -}}

{{/* Where the projected Vault token is mounted: the config file's vault.jwtFile points there. */}}
{{- define "credbroker.vaultTokenDir" -}}/var/run/secrets/vault{{- end -}}

{{/*
The config file (README, Configuration) from the values, with extraSettings merged over it. Vault's
settings are written only when Vault is a source, so a default install names no Vault.
*/}}
{{- define "credbroker.config" -}}
{{- $v := .Values -}}
{{- $vault := dict "jwtFile" (printf "%s/token" (include "credbroker.vaultTokenDir" .)) -}}
{{- if has "vault" $v.secretSources -}}
{{- $_ := set $vault "address" $v.vault.address -}}
{{- $_ = set $vault "role" $v.vault.role -}}
{{- $_ = set $vault "authMount" $v.vault.authMount -}}
{{- $_ = set $vault "kvMount" $v.vault.kvMount -}}
{{- end -}}
{{- $config := dict
  "kubernetes" (dict "namespaces" $v.namespaces)
  "secrets" (dict "sources" $v.secretSources)
  "vault" $vault
  "discovery" (dict "mode" $v.discoveryMode)
  "leader" (dict "enabled" true "shards" $v.shards)
  "http" (dict "port" $v.ports.http "opsPort" $v.ports.metrics)
  "log" (dict "level" $v.logLevel) -}}
{{- toYaml (mustMergeOverwrite $config (deepCopy $v.extraSettings)) -}}
{{- end -}}

{{/* One egress rule of the NetworkPolicy from {cidrs, peers, ports}. */}}
{{- define "credbroker.egressRule" -}}
{{- $to := list -}}
{{- range .cidrs }}{{ $to = append $to (dict "ipBlock" (dict "cidr" .)) }}{{ end -}}
{{- range .peers }}{{ $to = append $to . }}{{ end -}}
{{- $ports := list -}}
{{- range .ports }}{{ $ports = append $ports (dict "port" . "protocol" "TCP") }}{{ end -}}
{{- $rule := dict "ports" $ports -}}
{{- if $to }}{{ $_ := set $rule "to" $to }}{{ end -}}
{{- toYaml (list $rule) -}}
{{- end -}}
