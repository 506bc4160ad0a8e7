//go:generate mdatagen metadata.yaml

// Package apikeyscopeprocessor implements the `api_key_scope` processor. It refuses batches
// sent with an API key (api_key_auth) that lacks the scope of the pipeline's signal, which the
// authenticator cannot check over OTLP/HTTP where it does not see the path, and stamps every
// resource with the key's tenant, whatever the sender claimed.
package apikeyscopeprocessor // import "github.com/otelwarden/warden/processor/apikeyscopeprocessor"
