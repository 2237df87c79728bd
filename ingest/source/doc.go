// Package source reads the Cloud Assistant APIs the archive keeps and turns
// each response into normalised records (model.Invocation) while keeping
// every field the cloud sent verbatim:
//
//   - listed sources, walked with NextToken through the official ECS SDK:
//     DescribeSendFileResults (file sends) and DescribeInvocations (command
//     tasks), with DescribeInvocationResults for a command's every run and
//     its output (Client, ForSource, RunResults);
//   - tracked sources, asked one InvokeId at a time through the generic
//     OpenAPI client, as no EFLO Go SDK is available: eflo-controller's
//     DescribeSendFileResults and DescribeInvocations (TrackedClient), whose
//     nodes are read as instances and NodeCount as the VM count.
//
// The SDK signs and sends the request; this package asks it for the raw body
// (BodyType "string") rather than the typed response, because the typed
// response would already have coerced the quirks the archive must record as
// they were sent (Overwrite as a JSON boolean, FileMode as a number, stray
// whitespace, EFLO's tabs after times). Retries with capped exponential
// backoff and jitter cover throttling, 5xx and transport errors; credential
// and parameter errors fail at once with a sentence saying what to fix.
package source
