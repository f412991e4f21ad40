// Package deploy owns vastwatch's deployment assets: the Kubernetes manifests, the Prometheus
// alert rules and their promtool tests, the Grafana dashboards, the Helm chart, the systemd
// unit and the docker-compose stack, all in the directories beside this file. Its Go code only
// reads those assets (the dashboards and the rule file are embedded), so that tests here and in
// the end-to-end suite can load the rules and run every dashboard query against a live
// Prometheus.
// It never imports the daemon's packages and never talks to a network.
package deploy
