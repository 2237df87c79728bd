// Package cloudsim is a stand-in for the Alibaba Cloud ECS API operation
// DescribeSendFileResults (API version 2014-05-26), served over HTTP so that
// the official SDK (github.com/alibabacloud-go/ecs-20140526/v4) can talk to it
// unchanged. It serves every Cloud Assistant record source on one endpoint,
// dispatching on (Action, Version):
//
//   - ECS DescribeSendFileResults (2014-05-26), file sends;
//   - ECS DescribeInvocations and DescribeInvocationResults (2014-05-26),
//     command tasks (Config.CommandsPerDay), Once or Period, with their
//     per-instance lifecycles, per-run history and 24 KB output cut;
//   - EFLO (Lingjun, eflo-controller) DescribeSendFileResults and
//     DescribeInvocations (2022-12-15), looked up by InvokeId on a node
//     fleet (Config.EFLOSendsPerDay, EFLOCommandsPerDay, NodeFleetSize),
//     rendered in the reference pages' shapes (string TotalCount, boolean
//     Overwrite, string Timed); callers must send RegionId.
//
// Sources other than ECS send-file are off by default, and each has its own
// seeded streams, so enabling one changes nothing else. Tasks, TaskStatusAt
// and TaskListed are one ground-truth oracle for every source. It also
// answers STS GetCallerIdentity (2015-04-01) for its
// account (Config.AccountID), so clients learn which account a key belongs
// to; MultiAccount serves several accounts behind one endpoint, each request
// going to the account whose key signed it. STS AssumeRole (2015-04-01)
// issues temporary credentials for the account's Config.Roles, subject to
// each role's trusted accounts and external id; requests signed with them
// must carry their security token, are refused once they expire (by the
// wall clock) and are served by the role's account, which MultiAccount
// resolves across the accounts it serves. It is the cloud for every test,
// benchmark and the demo, not a part of the archiver.
//
// Real ECS is not reachable from development and CI machines, and the cloud
// forgets its send-file records after a few weeks, which is the very problem
// the archive solves. The simulator therefore gives the project three things
// at once:
//
//   - the same wire protocol as the cloud: ACS3-HMAC-SHA256 signatures checked
//     against a configured key pair, both paging modes (MaxResults+NextToken
//     and PageNumber+PageSize), every documented filter, the documented error
//     codes with the cloud's JSON error shape, and optionally the odd value
//     shapes the documentation's own samples show (Config.Quirks);
//   - a virtual clock (Sim.Advance) on which a fleet of instances receives file
//     sends as a Poisson process, each instance moving Pending → Running → a
//     terminal status with realistic timestamps, and records disappearing once
//     they fall out of the retention window or the per-region record cap;
//   - the ground truth (Sim.Sends, Sim.StatusAt, Sim.Listed): the true status
//     of every instance at every instant, including records the API no longer
//     lists, so end-to-end tests can use it as the oracle.
//
// Everything is deterministic from Config.Seed: the same seed yields the same
// fleet, the same sends and the same quirks no matter how the clock is
// advanced (in one step or in many), and the same sequence of injected faults
// for the same sequence of requests. Record-level choices (quirk shapes,
// identifiers) are derived by hashing the seed with the record's identity
// rather than drawn from a shared stream, so a record renders identically on
// every poll until its state changes.
//
// # Precision
//
// Timestamps in the ground truth are kept at exactly the precision the API
// renders: whole seconds normally, and for some records milliseconds when
// Quirks is on. A parsed rendered time therefore always equals the truth.
//
// # Deliberate simplifications
//
//   - x-acs-date is not compared with the clock (the SDK stamps wall time, the
//     simulator runs on virtual time) and x-acs-signature-nonce is not checked
//     for replays; the signature itself is verified exactly.
//   - In MaxResults/NextToken mode the body still carries TotalCount (the
//     number of records matching the filters at the time of the request),
//     PageNumber 1 and PageSize equal to MaxResults. The cloud documents
//     TotalCount as invalid in this mode; clients must not rely on it.
//   - In PageNumber/PageSize mode NextToken is always empty.
//   - With the InstanceId filter, InvokeInstances holds only that instance,
//     while InvocationStatus and VmCount still describe the whole send.
//   - A Tag.N.Key without Tag.N.Value matches any value of that key; a present
//     (even empty) Tag.N.Value must match exactly.
//   - A security token is only checked when Config.SecurityToken is set
//     (or, always, for credentials AssumeRole issued).
//   - Command and EFLO times are whole seconds; ECS command bodies have no
//     quirks, EFLO bodies have the reference pages' quirks with Quirks.
//   - DescribeInvocationResults NextTokens encode (task, position within
//     the task); with IncludeHistory a walk that spans a new run start may
//     repeat or skip one result of that task.
//   - EFLO requests have no listing and no paging: InvokeId is required,
//     and an InvokeId the region does not hold gives an empty answer.
//   - GetCallerIdentity and AssumeRole are authenticated but never
//     fault-injected (clients call them rarely), so fault streams stay those
//     of the listings. AssumeRole ignores Policy, and role chaining (an
//     assumed role assuming another) is allowed.
//
// # Faults
//
// Config.Faults (or Sim.SetFaults) injects the failures a client of the
// real API meets: throttling (with a Retry-After hint), 5xx answers,
// NextTokens the cloud rejects or hands back forever, slow answers, bodies
// that are truncated JSON or not JSON at all, and a listing that shifts
// under a paging client (Faults.ShiftEvery). FaultPlan spreads one total
// failure rate over all of those kinds; the precedence between them is
// documented on Faults, and Stats counts every outcome.
//
// # Control surface
//
// Besides the API at "/", the handler serves a small unauthenticated control
// surface for scripts and demos under "/_sim/": GET /_sim/now, POST
// /_sim/advance?by=1h, GET /_sim/stats, and GET or POST /_sim/faults (POST
// /_sim/faults?plan=0.25 installs FaultPlan(0.25); a JSON body such as
// {"throttle_rate":0.1,"slow_delay":"2s","shift_every":3,"shift_by":"1h"}
// sets individual fields), and GET /_sim/eflo/tasks?since=RFC3339 (the
// EFLO tasks created since then, as automation that started them would
// know), each answering JSON. These paths never reach the
// API and the API path never reaches them.
package cloudsim
