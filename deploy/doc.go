// Package deploy holds the tests of the deployment files: docker-compose.yml
// and the Dockerfile (validated with compose-go, not run), and the
// Prometheus alert rules in alerts.yml (checked and unit-tested with
// promtool).
package deploy
