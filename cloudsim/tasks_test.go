package cloudsim

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"
)

// One oracle for every source: Tasks, TaskStatusAt and TaskListed agree
// with the per-source accessors.
func TestTaskOracleAcrossSources(t *testing.T) {
	t.Parallel()
	s := efloSim(t, func(c *Config) { c.CommandsPerDay = 60; c.Retention = 48 * time.Hour })
	s.Advance(3 * 24 * time.Hour)
	now := s.Now()
	for _, src := range []string{SourceSendFile, SourceCommands, SourceEFLOSendFile, SourceEFLOCommands} {
		refs := s.Tasks(src)
		if len(refs) == 0 {
			t.Fatalf("%s: no tasks", src)
		}
		listed := 0
		for i, ref := range refs {
			if ref.Source != src || (i > 0 && ref.CreationTime.Before(refs[i-1].CreationTime)) {
				t.Fatalf("%s: ref %d %+v out of order", src, i, ref)
			}
			agg, members, ok := s.TaskStatusAt(src, ref.InvokeID, now)
			if !ok || agg == "" || agg == StatusUnknown || len(members) == 0 {
				t.Fatalf("%s %s: %s %v %t", src, ref.InvokeID, agg, members, ok)
			}
			if _, _, ok := s.TaskStatusAt(src, ref.InvokeID, ref.CreationTime.Add(-time.Second)); ok {
				t.Fatalf("%s %s exists before its creation", src, ref.InvokeID)
			}
			if s.TaskListed(src, ref.Region, ref.InvokeID) {
				listed++
				if ref.CreationTime.Before(now.Add(-48 * time.Hour)) {
					t.Fatalf("%s %s listed past retention", src, ref.InvokeID)
				}
			}
		}
		if listed == 0 || listed == len(refs) {
			t.Errorf("%s: %d of %d listed, want some evicted and some listed", src, listed, len(refs))
		}
		// Another source never answers for these ids.
		other := SourceCommands
		if src == SourceCommands {
			other = SourceEFLOCommands
		}
		if _, _, ok := s.TaskStatusAt(other, refs[0].InvokeID, now); ok || s.TaskListed(other, refs[0].Region, refs[0].InvokeID) {
			t.Errorf("%s id answered as %s", src, other)
		}
	}
	if got := s.Tasks("nope"); got != nil {
		t.Errorf("unknown source: %v", got)
	}
	cmds := s.Commands()
	if ct, ok := s.Command(cmds[3].InvokeID); !ok || ct.InvokeID != cmds[3].InvokeID {
		t.Error("Command does not find a command")
	}
}

// The role's temporary key lists the role's account's commands, and the
// ShiftEvery fault counts command pages too.
func TestCommandsAcrossAccountsAndShifts(t *testing.T) {
	t.Parallel()
	a := commandSim(t, func(c *Config) { c.AccessKeyID = "key-a" })
	b := commandSim(t, func(c *Config) {
		c.Seed += 7
		c.AccessKeyID = "key-b"
		c.Roles = []Role{{Name: "reader", TrustedAccounts: []string{a.Config().AccountID}}}
	})
	a.Advance(2 * 24 * time.Hour)
	b.Advance(2 * 24 * time.Hour)
	srv := httptest.NewServer(MultiAccount(a, b))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tmp, _, err := assume(t, host, creds{"key-a", defaultAccessKeySecret, ""}, "acs:ram::"+b.Config().AccountID+":role/reader", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := walkInvocations(t, newClient(t, host, tmp), ecs.DescribeInvocationsRequest{RegionId: tea.String("cn-hangzhou")}, 50)
	if !equalStrings(invokeIDs(got), commandIDs(listedCommands(b, "cn-hangzhou"))) {
		t.Fatal("the role's key does not list the role's account's commands")
	}

	b.SetFaults(Faults{ShiftEvery: 2, ShiftBy: time.Hour})
	before := b.Now()
	walkInvocations(t, newClient(t, host, creds{"key-b", defaultAccessKeySecret, ""}), ecs.DescribeInvocationsRequest{RegionId: tea.String("cn-hangzhou")}, 20)
	if b.Stats().Shifts == 0 || !b.Now().After(before) {
		t.Error("command pages did not count towards ShiftEvery")
	}
}

func TestNewConfigValidation(t *testing.T) {
	t.Parallel()
	for field, tweak := range map[string]func(*Config){
		"CommandsPerDay":              func(c *Config) { c.CommandsPerDay = -1 },
		"EFLOSendsPerDay":             func(c *Config) { c.EFLOSendsPerDay = 1e9 },
		"NodeFleetSize":               func(c *Config) { c.NodeFleetSize = -3 },
		"SessionDuration":             func(c *Config) { c.SessionDuration = -time.Second },
		"Roles[0].Name":               func(c *Config) { c.Roles = []Role{{Name: "bad name"}} },
		"Roles[1].Name":               func(c *Config) { c.Roles = []Role{{Name: "r"}, {Name: "R"}} },
		"Roles[0].TrustedAccounts[0]": func(c *Config) { c.Roles = []Role{{Name: "r", TrustedAccounts: []string{"12"}}} },
	} {
		cfg := DefaultConfig()
		tweak(&cfg)
		_, err := New(cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}
