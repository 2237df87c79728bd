package store

import (
	"fmt"
	"sort"
	"time"

	"github.com/cloudassistant/sendfile-archive/model"
)

// Diff names the first way the stored projection differs from fold, the
// state folded from the event log; "" when they agree. Text is compared as
// the projection stores it (NUL replaced), so honest projections agree.
func (p Projection) Diff(fold *model.KnownInvocation) string {
	s := p.Known
	fa, sa := fold.Attributes, s.Attributes
	for _, f := range []*string{&fa.Name, &fa.Description, &fa.ContentType, &fa.TargetDir, &fa.FileOwner, &fa.FileGroup, &fa.FileMode} {
		*f = sanitizeText(*f)
	}
	checks := []struct {
		what        string
		differs     bool
		got, logSay any
	}{
		{"attributes", !sa.Equal(fa), sa, fa},
		{"tags", !model.TagsEqual(s.Tags, fold.Tags), s.Tags, fold.Tags},
		{"reported_status", s.ReportedStatus != model.Status(sanitizeText(string(fold.ReportedStatus))), s.ReportedStatus, fold.ReportedStatus},
		{"derived_status", p.DerivedStatus != fold.DerivedStatus(), p.DerivedStatus, fold.DerivedStatus()},
		{"disagreements", s.Disagreements != fold.Disagreements, s.Disagreements, fold.Disagreements},
		{"expired_at", !timePtrEqual(s.ExpiredAt, fold.ExpiredAt), s.ExpiredAt, fold.ExpiredAt},
		{"last_seq", s.LastSeq != fold.LastSeq, s.LastSeq, fold.LastSeq},
		{"last_occurred_at", !s.LastOccurredAt.Equal(fold.LastOccurredAt), s.LastOccurredAt, fold.LastOccurredAt},
	}
	for _, c := range checks {
		if c.differs {
			return fmt.Sprintf("%s is %v, the event log says %v", c.what, c.got, c.logSay)
		}
	}
	return instancesDiff(s, fold)
}

// instancesDiff compares the instances of two known states.
func instancesDiff(s, fold *model.KnownInvocation) string {
	ids := map[string]bool{}
	for id := range s.Instances {
		ids[id] = true
	}
	for id := range fold.Instances {
		ids[sanitizeText(id)] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	folded := map[string]*model.KnownInstance{}
	for id, in := range fold.Instances {
		folded[sanitizeText(id)] = in
	}
	for _, id := range sorted {
		got, want := s.Instances[id], folded[id]
		switch {
		case got == nil:
			return fmt.Sprintf("instance %s is missing; the event log has it", id)
		case want == nil:
			return fmt.Sprintf("instance %s is not in the event log", id)
		case got.Status != model.Status(sanitizeText(string(want.Status))) || !got.StatusSince.Equal(want.StatusSince):
			return fmt.Sprintf("instance %s is %s since %s, the event log says %s since %s", id, got.Status,
				got.StatusSince.Format(time.RFC3339Nano), want.Status, want.StatusSince.Format(time.RFC3339Nano))
		case !got.LastOccurredAt.Equal(want.LastOccurredAt):
			return fmt.Sprintf("instance %s last changed at %s, the event log says %s", id,
				got.LastOccurredAt.Format(time.RFC3339Nano), want.LastOccurredAt.Format(time.RFC3339Nano))
		case !got.Details.Equal(sanitizedDetails(want.Details)):
			return fmt.Sprintf("instance %s details are %+v, the event log says %+v", id, got.Details, want.Details)
		}
	}
	return ""
}

func sanitizedDetails(d model.Details) model.Details {
	d.ErrorCode, d.ErrorInfo = sanitizeText(d.ErrorCode), sanitizeText(d.ErrorInfo)
	return d
}

func timePtrEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}
