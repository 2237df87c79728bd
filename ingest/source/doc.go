// Package source reads DescribeSendFileResults through the official ECS SDK
// and turns each response into normalised records (model.Invocation) while
// keeping every field the cloud sent verbatim.
//
// The SDK signs and sends the request; this package asks it for the raw body
// (BodyType "string") rather than the typed response, because the typed
// response would already have coerced the quirks the archive must record as
// they were sent (Overwrite as a JSON boolean, FileMode as a number, stray
// whitespace). Retries with capped exponential backoff and jitter cover
// throttling, 5xx and transport errors; credential and parameter errors fail
// at once with a sentence saying what to fix.
package source
