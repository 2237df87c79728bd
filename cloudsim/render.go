package cloudsim

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Time layouts the API is documented to use. The clean layout is the one of
// the reference sample; the others appear in the documentation's samples and
// are rendered only in quirks mode.
const (
	layoutClean    = "2006-01-02T15:04:05Z"
	layoutMillis   = "2006-01-02T15:04:05.000Z"
	layoutOffsetMs = "2006-01-02T15:04:05.000-07:00"
)

// chinaStandardTime is the +08:00 offset of the documentation's samples.
var chinaStandardTime = time.FixedZone("UTC+8", 8*60*60)

// pick returns a stable pseudo-random choice for one field of one record.
// Hashing (record, field, instance) instead of drawing from a stream is what
// makes a record render identically on every poll.
func (snd *send) pick(field, instance string) uint64 {
	return hashSeed(int64(snd.quirk), field, instance)
}

// formatTime renders t for one field of one record.
func (s *Sim) formatTime(snd *send, field, instance string, t time.Time) string {
	if !s.cfg.Quirks {
		return t.UTC().Format(layoutClean)
	}
	h := snd.pick(field, instance)
	var out string
	switch h % 8 {
	case 0, 1, 2:
		if t.Nanosecond() == 0 {
			out = t.UTC().Format(layoutClean)
		} else {
			// A bare-seconds shape would lose the milliseconds and the
			// truth must equal what is rendered.
			out = t.UTC().Format(layoutMillis)
		}
	case 3, 4:
		out = t.UTC().Format(layoutMillis)
	default:
		out = t.In(chinaStandardTime).Format(layoutOffsetMs)
	}
	if (h>>8)%10 == 0 {
		out += "\n" // the trailing newline of the zh-tw sample
	}
	return out
}

// instanceView is what the API shows of one instance at the current instant.
type instanceView struct {
	status, start, finish, update, errCode, errInfo string
}

func (s *Sim) viewInstance(snd *send, it *InstanceTruth, now time.Time) instanceView {
	v := instanceView{}
	v.status, _ = it.StatusAt(now)
	last := it.Creation
	if !it.Start.IsZero() && !now.Before(it.Start) {
		v.start = s.formatTime(snd, "StartTime", it.InstanceID, it.Start)
		last = it.Start
	}
	if !now.Before(it.Finish) {
		v.finish = s.formatTime(snd, "FinishTime", it.InstanceID, it.Finish)
		last = it.Finish
		v.errCode, v.errInfo = it.ErrorCode, it.ErrorInfo
		if s.cfg.Quirks && v.errCode != "" && snd.pick("ErrorCode", it.InstanceID)%4 == 0 {
			v.errCode = " " + v.errCode // the " NodeNotExists" sample
		}
	}
	v.update = s.formatTime(snd, "UpdateTime", it.InstanceID, last)
	return v
}

// renderSend renders one Invocation object at now. With only set, just that
// instance is included (the InstanceId filter). It also returns the instant
// until which the rendering stays valid (zero: forever).
func (s *Sim) renderSend(b []byte, snd *send, now time.Time, only string) ([]byte, time.Time) {
	t := &snd.truth
	var until time.Time
	for i := range t.Instances {
		if nc := t.Instances[i].nextChangeAfter(now); !nc.IsZero() && (until.IsZero() || nc.Before(until)) {
			until = nc
		}
	}
	q := s.cfg.Quirks

	b = append(b, `{"CreationTime":`...)
	b = appendString(b, s.formatTime(snd, "CreationTime", "", t.CreationTime))
	b = append(b, `,"InvocationStatus":`...)
	b = appendString(b, snd.aggregateAt(now))
	b = append(b, `,"ContentType":`...)
	b = appendString(b, t.ContentType)
	b = append(b, `,"TargetDir":`...)
	dir := t.TargetDir
	if q && snd.pick("TargetDir", "")%8 == 0 {
		dir = "\t" + dir // the "\t/home/user" sample
	}
	b = appendString(b, dir)
	b = append(b, `,"FileOwner":`...)
	b = appendString(b, t.FileOwner)
	b = append(b, `,"Description":`...)
	b = appendString(b, t.Description)
	b = append(b, `,"VmCount":`...)
	b = strconv.AppendInt(b, int64(len(t.Instances)), 10)
	b = append(b, `,"FileMode":`...)
	if q && t.FileMode == "777" && snd.pick("FileMode", "")%2 == 0 {
		b = append(b, t.FileMode...) // a JSON number, as in "FileMode": 777
	} else {
		b = appendString(b, t.FileMode)
	}
	b = append(b, `,"FileGroup":`...)
	b = appendString(b, t.FileGroup)
	b = append(b, `,"InvokeId":`...)
	b = appendString(b, t.InvokeID)
	b = append(b, `,"Name":`...)
	b = appendString(b, t.Name)
	b = append(b, `,"Content":`...)
	b = appendString(b, t.Content)
	b = append(b, `,"Overwrite":`...)
	if q && snd.pick("Overwrite", "")%2 == 0 {
		b = strconv.AppendBool(b, t.Overwrite) // a JSON boolean, as in the zh sample
	} else {
		b = appendString(b, strconv.FormatBool(t.Overwrite))
	}
	b = append(b, `,"InvokeInstances":{"InvokeInstance":[`...)
	b = s.renderInstances(b, snd, now, only)
	b = append(b, `]},"Tags":{"Tag":[`...)
	for i, tag := range t.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"TagKey":`...)
		b = appendString(b, tag.Key)
		b = append(b, `,"TagValue":`...)
		b = appendString(b, tag.Value)
		b = append(b, '}')
	}
	b = append(b, `]}}`...)
	return b, until
}

// renderInstances renders the InvokeInstance objects of snd at now (only
// the one named by only, when set).
func (s *Sim) renderInstances(b []byte, snd *send, now time.Time, only string) []byte {
	first := true
	for i := range snd.truth.Instances {
		it := &snd.truth.Instances[i]
		if only != "" && it.InstanceID != only {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		v := s.viewInstance(snd, it, now)
		b = append(b, `{"CreationTime":`...)
		b = appendString(b, s.formatTime(snd, "InstanceCreationTime", it.InstanceID, it.Creation))
		b = append(b, `,"StartTime":`...)
		b = appendString(b, v.start)
		b = append(b, `,"InvocationStatus":`...)
		b = appendString(b, v.status)
		b = append(b, `,"FinishTime":`...)
		b = appendString(b, v.finish)
		b = append(b, `,"UpdateTime":`...)
		b = appendString(b, v.update)
		b = append(b, `,"ErrorInfo":`...)
		b = appendString(b, v.errInfo)
		b = append(b, `,"ErrorCode":`...)
		b = appendString(b, v.errCode)
		b = append(b, `,"InstanceId":`...)
		b = appendString(b, it.InstanceID)
		b = append(b, '}')
	}
	return b
}

// cachedBody returns the full rendering of snd at now, re-rendering only
// after one of its instances changed state. The clock only moves forward,
// so a rendering made before now is valid until its recorded instant.
func (s *Sim) cachedBody(snd *send, now time.Time) []byte {
	if snd.bodyOK && (snd.bodyUntil.IsZero() || now.Before(snd.bodyUntil)) {
		return snd.body
	}
	// A fresh buffer, never the old one: earlier pages may still alias it.
	snd.body, snd.bodyUntil = s.renderSend(nil, snd, now, "")
	snd.bodyOK = true
	return snd.body
}

// pageHeader carries the response-level fields of a listing.
type pageHeader struct {
	requestID      string
	pageSize       int
	pageNumber     int64
	totalCount     int
	totalAsString  bool
	nextToken      string
	invocationJSON [][]byte
}

// renderPage assembles a success body in the key order of the reference
// sample.
func renderPage(p pageHeader) []byte {
	size := 200
	for _, inv := range p.invocationJSON {
		size += len(inv) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"PageSize":`...)
	b = strconv.AppendInt(b, int64(p.pageSize), 10)
	b = append(b, `,"RequestId":`...)
	b = appendString(b, p.requestID)
	b = append(b, `,"PageNumber":`...)
	b = strconv.AppendInt(b, p.pageNumber, 10)
	b = append(b, `,"TotalCount":`...)
	if p.totalAsString {
		b = appendString(b, strconv.Itoa(p.totalCount))
	} else {
		b = strconv.AppendInt(b, int64(p.totalCount), 10)
	}
	b = append(b, `,"NextToken":`...)
	b = appendString(b, p.nextToken)
	b = append(b, `,"Invocations":{"Invocation":[`...)
	for i, inv := range p.invocationJSON {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, inv...)
	}
	b = append(b, `]}}`...)
	return b
}

// appendString appends s as a JSON string. Hand-written because the
// renderer builds bodies by appending bytes (to reuse cached invocation
// renderings) rather than marshalling structs.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
