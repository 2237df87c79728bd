package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/store"
)

// trackedSourceNames lists the sources whose tasks must be tracked, for
// messages.
var trackedSourceNames = string(model.SourceEFLOSendFileResults) + " or " + string(model.SourceEFLOCommands)

// trackCommand registers a task of a source that cannot be listed (EFLO,
// DESIGN.md §11) so every cycle polls it until it finishes. It writes what
// automation would write with archive.track, through the same function.
func (a *app) trackCommand() *cobra.Command {
	var src, region, invokeID, account string
	cmd := &cobra.Command{
		Use:   "track --source S --region R --invoke-id ID [--account A]",
		Short: "poll a task that cannot be listed (EFLO) every cycle until it finishes",
		Long: "Register a task of a source that cannot be listed (" + trackedSourceNames + ": their APIs\n" +
			"need the InvokeId), so that every cycle polls it until its status is final, plus one confirming poll.\n" +
			"Tracking a task twice changes nothing. Automation can do the same in SQL, as archive_writer:\n" +
			"SELECT * FROM archive.track(account, region, source, invoke_id).\n\n" +
			"--account is the account name of the config file. Without it the task goes to the one account that\n" +
			"archives that region and source; when none does yet, the first configured account that archives them\n" +
			"adopts it (as ingest adopts an archive's unnamed targets); when several do, name one.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := trackInput(src, region, invokeID, account)
			if err != nil {
				return err
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			r, err := st.Track(cmd.Context(), k.Account, k.Region, k.Source, strings.TrimSpace(invokeID))
			if errors.Is(err, store.ErrTrackRefused) {
				return usagef("track %s: %v; pass --account with one of the accounts `archiver targets` lists", strings.TrimSpace(invokeID), err)
			}
			if err != nil {
				return err
			}
			a.printTracked(strings.TrimSpace(invokeID), r)
			return nil
		},
	}
	cmd.Flags().StringVar(&src, "source", "", "the task's source: "+trackedSourceNames)
	cmd.Flags().StringVar(&region, "region", "", "the region the task runs in, e.g. cn-wulanchabu")
	cmd.Flags().StringVar(&invokeID, "invoke-id", "", "the task's InvokeId")
	cmd.Flags().StringVar(&account, "account", "", "the account name of the config file (default: the one account archiving that region and source)")
	return cmd
}

// trackInput checks the flags of track: each mistake is a usage error that
// says what to pass instead.
func trackInput(src, region, invokeID, account string) (store.TargetKey, error) {
	k := store.TargetKey{Account: account, Region: region, Source: model.SourceID(src)}
	switch {
	case src == "":
		return k, usagef("track: --source is required: %s", trackedSourceNames)
	case !slices.Contains(model.Sources, k.Source):
		return k, usagef("track: --source %q is not a source the archive knows; tasks are tracked for %s", src, trackedSourceNames)
	case !model.IsTracked(k.Source):
		return k, usagef("track: %s is listed, not tracked: every cycle archives all of its records, so there is nothing to register (tracked: %s)",
			src, trackedSourceNames)
	case strings.TrimSpace(invokeID) == "":
		return k, usagef("track: --invoke-id is required and cannot be blank")
	case region == "":
		return k, usagef("track: --region is required, e.g. --region cn-wulanchabu")
	case !regionRE.MatchString(region):
		return k, usagef("track: --region %q is not a region id such as cn-wulanchabu", region)
	case account != strings.TrimSpace(account):
		return k, usagef("track: --account %q has surrounding spaces; account names have none", account)
	}
	return k, nil
}

func (a *app) printTracked(invokeID string, r store.TrackResult) {
	if !r.Created {
		fmt.Fprintf(a.stdout, "%s is already tracked in %s (%s); nothing changed\n", invokeID, r.Target, r.State)
		return
	}
	fmt.Fprintf(a.stdout, "tracking %s in %s: every cycle polls it until it finishes\n", invokeID, r.Target)
	if r.Target.Account == "" {
		fmt.Fprintf(a.stderr, "archiver: no account archives %s in %s yet: the first configured account that does adopts this task\n",
			r.Target.Source, r.Target.Region)
	}
}
