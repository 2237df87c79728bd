package audit

import "time"

// The rows of an export's three tables (DESIGN.md §10.1). Field order is
// column order in every format; the parquet tag's first value is the column
// name in every format. Pointers are nullable columns: JSON null in JSONL,
// an empty field in CSV, an optional column in Parquet. Times are UTC with
// microsecond precision: RFC 3339 with exactly six fractional digits in
// JSONL and CSV, microsecond UTC timestamps in Parquet.

// EventRow is one row of events.<ext>: an event exactly as hashed.
type EventRow struct {
	ChainPosition int64     `parquet:"chain_position"`
	Account       string    `parquet:"account"`
	Region        string    `parquet:"region"`
	Source        string    `parquet:"source"`
	TargetID      int64     `parquet:"target_id"`
	InvokeID      string    `parquet:"invoke_id"`
	InstanceID    *string   `parquet:"instance_id,optional"`
	Seq           int64     `parquet:"seq"`
	Type          string    `parquet:"type"`
	FromStatus    *string   `parquet:"from_status,optional"`
	ToStatus      *string   `parquet:"to_status,optional"`
	OccurredAt    time.Time `parquet:"occurred_at,timestamp(microsecond)"`
	RecordedAt    time.Time `parquet:"recorded_at,timestamp(microsecond)"`
	Evidence      string    `parquet:"evidence"`
	RunID         *int64    `parquet:"run_id,optional"`
	// Detail and Payload are the JSON text exactly as hashed (a string, not
	// a nested object).
	Detail   *string `parquet:"detail,optional"`
	Payload  string  `parquet:"payload"`
	PrevHash string  `parquet:"prev_hash"` // lowercase hex
	Hash     string  `parquet:"hash"`      // lowercase hex
}

// SendRow is one row of sends.<ext>: a send with an event in the selection,
// as it stood at the end of the period.
type SendRow struct {
	Account        string     `parquet:"account"`
	Region         string     `parquet:"region"`
	Source         string     `parquet:"source"`
	InvokeID       string     `parquet:"invoke_id"`
	Name           *string    `parquet:"name,optional"`
	Description    *string    `parquet:"description,optional"`
	TargetDir      *string    `parquet:"target_dir,optional"`
	FileOwner      *string    `parquet:"file_owner,optional"`
	FileGroup      *string    `parquet:"file_group,optional"`
	FileMode       *string    `parquet:"file_mode,optional"`
	Overwrite      *bool      `parquet:"overwrite,optional"`
	ContentType    *string    `parquet:"content_type,optional"`
	ContentSHA256  *string    `parquet:"content_sha256,optional"`
	CreationTime   *time.Time `parquet:"creation_time,optional,timestamp(microsecond)"`
	Tags           string     `parquet:"tags"` // JSON text: [{"key":…,"value":…}]
	Status         *string    `parquet:"status,optional"`
	ReportedStatus *string    `parquet:"reported_status,optional"`
	ExpiredAt      *time.Time `parquet:"expired_at,optional,timestamp(microsecond)"`
	// A command task's own attributes (ecs.DescribeInvocations,
	// eflo.DescribeInvocations); empty for file sends.
	CommandID  *string `parquet:"command_id,optional" layout:"added"`
	Parameters *string `parquet:"parameters,optional" layout:"added"` // JSON text, as the cloud gave it
	RepeatMode *string `parquet:"repeat_mode,optional" layout:"added"`
	Frequency  *string `parquet:"frequency,optional" layout:"added"`
	Timeout    *int64  `parquet:"timeout,optional" layout:"added"` // seconds
	Username   *string `parquet:"username,optional" layout:"added"`
	WorkingDir *string `parquet:"working_dir,optional" layout:"added"`
}

// InstanceRow is one row of instances.<ext>: one instance of a send in the
// selection, at the end of the period.
type InstanceRow struct {
	Account    string    `parquet:"account"`
	Region     string    `parquet:"region"`
	Source     string    `parquet:"source"`
	InvokeID   string    `parquet:"invoke_id"`
	InstanceID string    `parquet:"instance_id"`
	Status     string    `parquet:"status"`
	Since      time.Time `parquet:"since,timestamp(microsecond)"`
	ErrorCode  *string   `parquet:"error_code,optional"`
	ErrorInfo  *string   `parquet:"error_info,optional"`
	// A command instance's latest run known at the end of the period:
	// its number, exit code, the output's SHA-256 (of the text the cloud
	// returned) and the bytes the cloud cut from it. Empty for file sends.
	Repeats      *int64  `parquet:"repeats,optional" layout:"added"`
	ExitCode     *int64  `parquet:"exit_code,optional" layout:"added"`
	OutputSHA256 *string `parquet:"output_sha256,optional" layout:"added"`
	Dropped      *int64  `parquet:"dropped,optional" layout:"added"`
}

// ContentRow is one row of contents.<ext>, written only when asked (file
// bodies can hold secrets): a body the selection's sends pushed, by its
// SHA-256. Bodies holding NUL are stored with U+FFFD in its place and no
// longer hash to their SHA-256.
type ContentRow struct {
	SHA256  string `parquet:"sha256"`
	Bytes   int64  `parquet:"bytes"`
	Content string `parquet:"content"`
}
