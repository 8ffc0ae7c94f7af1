// Package apitypes holds the bodies the Berth API sends and receives: the
// one statement of the wire format, decoded by the API's handlers and by
// the CLI alike, so no body is written twice. Domain types the API returns
// as they are appear here as aliases, so a client needs no domain import.
//
// The OpenAPI document names these types' schemas (internal/api's
// schemaTypes); moving a type here does not rename its schema.
package apitypes
