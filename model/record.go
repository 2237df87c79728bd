package model

import "time"

// Tag is one tag of a file send, normalised (surrounding whitespace trimmed).
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Attributes are an invocation's immutable attributes, normalised. Content is
// not kept here: only its SHA-256, so each distinct file body is stored once.
type Attributes struct {
	Name          string     `json:"name"`
	Description   string     `json:"description"`
	ContentSHA256 string     `json:"content_sha256"`
	ContentType   string     `json:"content_type"`
	TargetDir     string     `json:"target_dir"`
	FileOwner     string     `json:"file_owner"`
	FileGroup     string     `json:"file_group"`
	FileMode      string     `json:"file_mode"`
	Overwrite     *bool      `json:"overwrite"`
	VMCount       *int64     `json:"vm_count"`
	CreationTime  *time.Time `json:"creation_time"`
	// A command's own attributes (DescribeInvocations); Name, Description,
	// ContentType and ContentSHA256 hold its CommandName,
	// CommandDescription, CommandType and CommandContent. Absent for
	// send-file records, which keeps their details byte for byte as before.
	CommandID  string `json:"command_id,omitempty"`
	Parameters string `json:"parameters,omitempty"`
	RepeatMode string `json:"repeat_mode,omitempty"`
	Frequency  string `json:"frequency,omitempty"`
	Timeout    *int64 `json:"timeout,omitempty"`
	Username   string `json:"username,omitempty"`
	WorkingDir string `json:"working_dir,omitempty"`
}

// Invocation is one DescribeSendFileResults record as observed on a page:
// normalised values for comparison, and the verbatim fields for the event
// payloads.
type Invocation struct {
	InvokeID       string
	Attributes     Attributes
	Content        string // verbatim Content, stored once per SHA-256
	ReportedStatus Status // the cloud's own aggregate, normalised
	Tags           []Tag  // sorted by key, then value
	Instances      []Instance
	// Raw is the verbatim invocation object minus InvokeInstances and Content.
	Raw map[string]any
	// RawTags and RawStatus are the verbatim Tags and InvocationStatus values.
	RawTags   any
	RawStatus any
}

// Instance is one InvokeInstance of an observed invocation.
type Instance struct {
	InstanceID   string
	Status       Status // trimmed, otherwise verbatim (undocumented values kept)
	CreationTime *time.Time
	StartTime    *time.Time
	FinishTime   *time.Time
	UpdateTime   *time.Time
	ErrorCode    string
	ErrorInfo    string
	// A command run's results (absent for send-file): the latest run's
	// number, exit code and the SHA-256 of its output (the output itself
	// is stored once per hash, like file contents), and how many bytes of
	// output the cloud dropped.
	StopTime     *time.Time
	Repeats      *int64
	ExitCode     *int64
	Dropped      *int64
	OutputSHA256 string
	Output       string // verbatim Output, not kept in Raw
	// Raw is the verbatim InvokeInstance object, without Output.
	Raw map[string]any
}

// Details are the per-instance fields, besides the status, whose change is
// worth an event. UpdateTime is deliberately absent: it ticks without anything
// else changing, and an event per tick would bury the real transitions.
type Details struct {
	CreationTime *time.Time `json:"creation_time"`
	StartTime    *time.Time `json:"start_time"`
	FinishTime   *time.Time `json:"finish_time"`
	ErrorCode    string     `json:"error_code"`
	ErrorInfo    string     `json:"error_info"`
	// Command results; omitted when unset, so send-file details encode as
	// they always have.
	StopTime     *time.Time `json:"stop_time,omitempty"`
	Repeats      *int64     `json:"repeats,omitempty"`
	ExitCode     *int64     `json:"exit_code,omitempty"`
	Dropped      *int64     `json:"dropped,omitempty"`
	OutputSHA256 string     `json:"output_sha256,omitempty"`
}

// DetailsOf extracts the event-worthy details of an observed instance.
func DetailsOf(in Instance) Details {
	return Details{
		CreationTime: in.CreationTime, StartTime: in.StartTime, FinishTime: in.FinishTime,
		ErrorCode: in.ErrorCode, ErrorInfo: in.ErrorInfo, StopTime: in.StopTime, Repeats: in.Repeats,
		ExitCode: in.ExitCode, Dropped: in.Dropped, OutputSHA256: in.OutputSHA256,
	}
}

// Equal reports whether two Details carry the same information.
func (d Details) Equal(o Details) bool {
	return timeEq(d.CreationTime, o.CreationTime) && timeEq(d.StartTime, o.StartTime) &&
		timeEq(d.FinishTime, o.FinishTime) && d.ErrorCode == o.ErrorCode && d.ErrorInfo == o.ErrorInfo &&
		timeEq(d.StopTime, o.StopTime) && int64Eq(d.Repeats, o.Repeats) && int64Eq(d.ExitCode, o.ExitCode) &&
		int64Eq(d.Dropped, o.Dropped) && d.OutputSHA256 == o.OutputSHA256
}

// Equal reports whether two Attributes carry the same information.
func (a Attributes) Equal(o Attributes) bool {
	return a.Name == o.Name && a.Description == o.Description && a.ContentSHA256 == o.ContentSHA256 &&
		a.ContentType == o.ContentType && a.TargetDir == o.TargetDir && a.FileOwner == o.FileOwner &&
		a.FileGroup == o.FileGroup && a.FileMode == o.FileMode && boolEq(a.Overwrite, o.Overwrite) &&
		int64Eq(a.VMCount, o.VMCount) && timeEq(a.CreationTime, o.CreationTime) &&
		a.CommandID == o.CommandID && a.Parameters == o.Parameters && a.RepeatMode == o.RepeatMode &&
		a.Frequency == o.Frequency && int64Eq(a.Timeout, o.Timeout) && a.Username == o.Username &&
		a.WorkingDir == o.WorkingDir
}

// TagsEqual reports whether two sorted tag lists are the same.
func TagsEqual(a, b []Tag) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func boolEq(a, b *bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func int64Eq(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
