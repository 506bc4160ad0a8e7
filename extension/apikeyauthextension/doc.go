// Package apikeyauthextension implements the api_key_auth extension: an authenticator for the
// OTLP receivers (gRPC and HTTP) that accepts the API keys of a keys file (internal/apikeys),
// reloads the file when it changes, locks out addresses that keep failing, and puts the key's
// tenant, id and scopes into the request's client.Info for later pipeline stages.
//
// What the authenticator sees of the signal (collector v0.161.0): configgrpc calls
// Authenticate from its unary and stream interceptors with the handler's context, in which
// grpc.Method gives the full method name (/opentelemetry.proto.collector.trace.v1.TraceService/Export
// and so on), and it passes a gRPC status error through unchanged; so on gRPC a key without
// the signal's scope is refused with PERMISSION_DENIED. confighttp calls Authenticate with the
// request's headers (and configured query parameters) only, not its path, and answers every
// error with 401; so on HTTP the signal is not known here and the scope is not checked: a
// processor later in the pipeline has to check it.
//
//go:generate mdatagen metadata.yaml
package apikeyauthextension // import "github.com/otelwarden/warden/extension/apikeyauthextension"
