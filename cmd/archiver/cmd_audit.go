package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudassistant/sendfile-archive/audit"
	"github.com/cloudassistant/sendfile-archive/model"
	"github.com/cloudassistant/sendfile-archive/signing"
	"github.com/cloudassistant/sendfile-archive/store"
)

// exportFlags are export's selection and output options.
type exportFlags struct {
	from, to, by, format, layout, out, signKey string
	account, region, source                    string
	includeContents                            bool
}

func (a *app) exportCommand() *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export --from T --to T --out DIR [--format jsonl|csv|parquet] [--by occurred|recorded] [--layout flat|daily] [--account A] [--region R] [--source S] [--sign-key FILE]",
		Short: "a compliance export of a period: events, sends, instances and a manifest anyone can verify",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.options(cmd)
			if err != nil {
				return err
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			o.Version, o.Progress = version(), a.progress()
			m, err := audit.Export(cmd.Context(), st, o)
			if errors.Is(err, audit.ErrNotEmpty) {
				return usageError{fmt.Errorf("export: %w", err)}
			}
			if err != nil {
				return err
			}
			a.printExport(o, m)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "start of the period, RFC 3339, inclusive (required)")
	fl.StringVar(&f.to, "to", "", "end of the period, RFC 3339, exclusive (required)")
	fl.StringVar(&f.out, "out", "", "directory to create (or an empty one) for the export (required)")
	fl.StringVar(&f.format, "format", "jsonl", "jsonl, csv or parquet")
	fl.StringVar(&f.by, "by", "occurred", "select by occurred (valid time) or recorded (when the archive learned it)")
	fl.StringVar(&f.layout, "layout", "flat", "flat, or daily: one day=YYYY-MM-DD/ directory per UTC day, for data lakes")
	fl.StringVar(&f.account, "account", "", "only this account")
	fl.StringVar(&f.region, "region", "", "only this region")
	fl.StringVar(&f.source, "source", "", "only this source, e.g. ecs.DescribeSendFileResults")
	fl.BoolVar(&f.includeContents, "include-contents", false, "also export the file bodies (contents.<ext>); needs archive_content_reader")
	fl.StringVar(&f.signKey, "sign-key", "", "Ed25519 private key (PEM, from archiver keygen) to sign manifest.json with")
	return cmd
}

// options validates the flags into export options; every mistake is a
// usage error in one sentence.
func (f *exportFlags) options(cmd *cobra.Command) (audit.ExportOptions, error) {
	var o audit.ExportOptions
	if f.from == "" || f.to == "" || f.out == "" {
		return o, usagef("export: --from, --to and --out are required")
	}
	from, err := parseTime("from", f.from)
	if err != nil {
		return o, err
	}
	to, err := parseTime("to", f.to)
	if err != nil {
		return o, err
	}
	if !from.Before(to) {
		return o, usagef("export: --from %s is not before --to %s (periods are [from, to))", f.from, f.to)
	}
	if o.Format, err = audit.ParseFormat(f.format); err != nil {
		return o, usageError{fmt.Errorf("export: --format: %w", err)}
	}
	if err := oneOf("by", f.by, "occurred", "recorded"); err != nil {
		return o, err
	}
	if err := oneOf("layout", f.layout, "flat", "daily"); err != nil {
		return o, err
	}
	o.Layout, o.Dir, o.IncludeContents = audit.Layout(f.layout), f.out, f.includeContents
	o.Selection = store.Selection{From: from, To: to, ByRecorded: f.by == "recorded"}
	set := cmd.Flags().Changed
	if set("account") {
		o.Selection.Account = &f.account
	}
	if set("region") {
		o.Selection.Region = &f.region
	}
	if set("source") {
		src := model.SourceID(f.source)
		o.Selection.Source = &src
	}
	if f.signKey != "" {
		if o.SignKey, err = loadSignKey(f.signKey); err != nil {
			return o, err
		}
	}
	return o, nil
}

func loadSignKey(path string) (ed25519.PrivateKey, error) {
	key, err := signing.LoadPrivateKey(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("--sign-key: %w", err)}
	}
	return key, nil
}

func loadPublicKey(path string) (ed25519.PublicKey, error) {
	key, err := signing.LoadPublicKey(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("--public-key: %w", err)}
	}
	return key, nil
}

func (a *app) printExport(o audit.ExportOptions, m audit.Manifest) {
	var rows, bytes int64
	for _, f := range m.Files {
		rows += f.Rows
		bytes += f.Bytes
	}
	signed := "unsigned"
	if o.SignKey != nil {
		signed = "signed (manifest.json.sig)"
	}
	fmt.Fprintf(a.stdout, "exported %d files (%d rows, %d bytes) and manifest.json to %s, %s\n", len(m.Files), rows, bytes, o.Dir, signed)
	for _, f := range m.Files {
		fmt.Fprintf(a.stdout, "  %-40s %10d rows  %s\n", f.Name, f.Rows, f.SHA256)
	}
}

func (a *app) keygenCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen --out PREFIX",
		Short: "an Ed25519 key pair for signing: PREFIX.key (0600) and PREFIX.pub (PEM)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("keygen: --out PREFIX is required")
			}
			priv, pub, err := signing.GenerateKeyFiles(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s (private, keep it secret) and %s (public, hand it to auditors)\n", priv, pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "path prefix of the key files (required)")
	return cmd
}

func (a *app) verifyExportCommand() *cobra.Command {
	var pubPath string
	var againstDB bool
	cmd := &cobra.Command{
		Use:   "verify-export DIR [--public-key FILE] [--against-db]",
		Short: "check an export offline (and against the live archive): exit 0, or 5 naming the first mismatch",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("verify-export: give exactly one export directory")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o := audit.VerifyOptions{Dir: args[0]}
			if st, err := os.Stat(o.Dir); err != nil || !st.IsDir() {
				return usagef("verify-export: %s is not a directory", o.Dir)
			}
			if pubPath != "" {
				key, err := loadPublicKey(pubPath)
				if err != nil {
					return err
				}
				o.PublicKey = key
			}
			if againstDB {
				st, err := a.store(cmd.Context())
				if err != nil {
					return err
				}
				o.AgainstDB = st
			}
			rep, err := audit.VerifyExport(cmd.Context(), o)
			if audit.IsMismatch(err) {
				return exitError{exitMismatch, fmt.Errorf("verify-export: %w", err)}
			}
			if err != nil {
				return err
			}
			live := ""
			if rep.AgainstDB {
				live = "; every event and chain head is in the live archive"
			}
			fmt.Fprintf(a.stdout, "ok: %d files, %d rows, %d events re-hashed and linked; signature %s%s\n",
				rep.Files, rep.Rows, rep.Events, rep.SignatureState, live)
			return nil
		},
	}
	cmd.Flags().StringVar(&pubPath, "public-key", "", "Ed25519 public key (PEM) the manifest must be signed with")
	cmd.Flags().BoolVar(&againstDB, "against-db", false, "also check the export against the live archive")
	return cmd
}

func (a *app) checkpointCommand() *cobra.Command {
	var out, signKey string
	cmd := &cobra.Command{
		Use:   "checkpoint [--out FILE] [--sign-key FILE]",
		Short: "signed chain heads for an auditor to keep; verify --checkpoint proves the chains still extend them",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var key ed25519.PrivateKey
			if signKey != "" {
				k, err := loadSignKey(signKey)
				if err != nil {
					return err
				}
				key = k
			}
			if signKey != "" && out == "" {
				return usagef("checkpoint: --sign-key needs --out (the signature is written to FILE.sig)")
			}
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			doc, err := audit.MakeCheckpoint(cmd.Context(), st, out, key, time.Now())
			if err != nil {
				return err
			}
			if out == "" {
				_, err = a.stdout.Write(doc)
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s%s; keep it where the database's administrators cannot reach it\n", out,
				map[bool]string{true: " and " + out + ".sig", false: ""}[key != nil])
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (never overwritten); default: standard output")
	cmd.Flags().StringVar(&signKey, "sign-key", "", "Ed25519 private key (PEM) to sign it with (writes FILE.sig)")
	return cmd
}

func (a *app) verifyCommand() *cobra.Command {
	var checkpoints []string
	var pubPath string
	cmd := &cobra.Command{
		Use:   "verify [--checkpoint FILE]... [--public-key FILE]",
		Short: "recompute every hash chain and projection; with checkpoints, prove the chains still extend them (exit 5 on a mismatch)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cps, err := readCheckpoints(checkpoints, pubPath)
			if err != nil {
				return err
			}
			q, err := a.querier(cmd)
			if err != nil {
				return err
			}
			started := time.Now()
			rep, err := q.Verify(cmd.Context())
			if err != nil {
				return err
			}
			if !rep.OK() {
				for _, p := range rep.Problems {
					fmt.Fprintf(a.stdout, "BROKEN %s\n", p)
				}
				return exitError{exitMismatch, fmt.Errorf("verify: %d problems in %d chains and their projections; the first of each is listed above",
					len(rep.Problems), rep.Targets)}
			}
			for i, cp := range cps {
				if err := audit.VerifyCheckpoint(cmd.Context(), q.Store, checkpoints[i], cp); err != nil {
					if audit.IsMismatch(err) {
						return exitError{exitMismatch, fmt.Errorf("verify: %w", err)}
					}
					return err
				}
			}
			fmt.Fprintf(a.stdout, "ok: %d events in %d chains check out, %d projections equal the fold of the log, %d checkpoints extended (%s)\n",
				rep.Events, rep.Targets, rep.Invocations, len(cps), time.Since(started).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&checkpoints, "checkpoint", nil, "checkpoint file the live chains must still extend (repeatable)")
	cmd.Flags().StringVar(&pubPath, "public-key", "", "Ed25519 public key (PEM) the checkpoints must be signed with")
	return cmd
}

// readCheckpoints reads checkpoint files, checking signatures with the
// public key when given. An unreadable or malformed file is a usage error; a
// bad signature is a mismatch.
func readCheckpoints(paths []string, pubPath string) ([]audit.Checkpoint, error) {
	var pub ed25519.PublicKey
	if pubPath != "" {
		k, err := loadPublicKey(pubPath)
		if err != nil {
			return nil, err
		}
		pub = k
	}
	cps := make([]audit.Checkpoint, 0, len(paths))
	for _, p := range paths {
		cp, err := audit.ReadCheckpoint(p, pub)
		if audit.IsMismatch(err) {
			return nil, exitError{exitMismatch, fmt.Errorf("verify: %w", err)}
		}
		if err != nil {
			return nil, usageError{fmt.Errorf("--checkpoint: %w", err)}
		}
		cps = append(cps, cp)
	}
	return cps, nil
}

func (a *app) rebuildCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rebuild",
		Short: "rebuild the projections from the event log in one streaming pass",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			started := time.Now()
			n, err := st.RebuildProjections(cmd.Context())
			if err != nil {
				return fmt.Errorf("rebuild: %w", err)
			}
			fmt.Fprintf(a.stdout, "rebuilt the projections of %d invocations from the event log (%s)\n", n,
				time.Since(started).Round(time.Millisecond))
			return nil
		},
	}
}

// checkpointPaths names checkpoint files in a directory by their creation
// time, for the daemon.
func checkpointPath(dir string, now time.Time) string {
	return filepath.Join(dir, "checkpoint-"+now.UTC().Format("20060102T150405Z")+".json")
}
