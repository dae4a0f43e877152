// Package outputspb holds the Go code generated from
// vigil/outputs/v1/outputs.proto: the Alert message and the Outputs service
// that package grpcout serves. Clients import it to subscribe to alerts.
package outputspb
