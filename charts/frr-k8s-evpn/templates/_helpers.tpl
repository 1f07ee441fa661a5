{{/* The image of one program: registry/name:tag, the tag the chart's appVersion by default. */}}
{{- define "evpn.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .name (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{/* Labels of one component; the selectors use exactly these (they are immutable). */}}
{{- define "evpn.labels" -}}
app.kubernetes.io/name: frr-k8s-evpn
app.kubernetes.io/component: {{ . }}
{{- end -}}
