// Package deploy holds Vigil's deployment files: the systemd unit
// (systemd/vigil.service), the Kubernetes manifests
// (kubernetes/daemonset.yaml), the Helm chart (helm/vigil) and a Prometheus
// scrape example (prometheus/scrape.yaml). It has no Go code of its own; its
// tests decode the manifests strictly into the Kubernetes API types, render
// the chart with Helm's engine, parse the rendered vigil.yaml with Vigil's
// config package and verify the unit with systemd-analyze.
//
// docs/deploy.md explains how to use them.
package deploy
