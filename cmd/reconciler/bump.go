package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/reconciler-dev/reconciler/internal/exitcode"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/internal/bump"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// rolloutDefault is --rollout's value when given without one: the id is
// then <app>-<version> (a value no id can have, so it is told apart).
const rolloutDefault = "<app>-<version>"

// bumpFlags are bump's own settings.
type bumpFlags struct {
	req     bump.Request
	rollout string
	signKey string
	maxSize string
	json    bool
}

func newBumpCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		c Config
		f bumpFlags
	)
	cmd := &cobra.Command{
		Use:   "bump --repo URL --path FILE --version V [bin source] [cfg source] [flags]",
		Short: "Commit a version bump to the deploy repo: the step CI runs after a build",
		Long: `bump sets the release of a desired state file and pushes the commit:
the version, and the bin (and cfg) from one of these sources:

  --bin-url URL --bin-file FILE        the bytes CI uploaded to URL, hashed here
  --bin-url URL --bin-sha256 HEX       their digest, computed by CI
  --bin-url URL                        downloaded and hashed, streamed
  --bin-repo-file FILE --bin-path P    FILE committed into the deploy repo at P
  --bin-oci REF --bin-file FILE        FILE pushed to the OCI registry repository
                                       REF (registry/repository[:tag]; no tag:
                                       the version), pinned by digest

and --cfg-... likewise (without one, the file's cfg stays). --bin-oci
pushes as oras push does (empty config, one layer titled with FILE's base
name) but without a created annotation, so the manifest digest is known
before the push; it pushes after the checks below and before the commit,
with the agents' --registry-config, --ca-file and --registry-insecure. Only the values
that change are edited: key order, indentation and every other byte of the
file stay. A version the file names (at the head or in the last --history
commits) with other artifacts is refused: a released version is immutable.
When the file already says exactly this, nothing is committed (exit 0).

The commit ("web: 2.0 -> 2.1", or --message) is signed with --sign-key and
pushed to --ref, or with --branch to a new branch for review. A push refused
because someone pushed meanwhile is read again, the edit made again on the
new head and pushed again (up to 10 times); if the other writer changed the
values this bump sets, it stops, pushing nothing.

--rollout starts a staged rollout: a rollout block with from set to the
release being replaced, the id (default <app>-<version>; --rollout ID or
--rollout=ID names it), and the canary, steps, checks, max_failed and on_halt of the
file's last rollout block (else steps 10% 30m, 50% 1h, 100% 30m), at its
first step. Without --rollout, a rollout block is removed: the new release
goes everywhere.

Output: the commit, or with --json the old and new release, the commit and
the branch; --dry-run prints the file's diff, what it would push to a
registry (and the digests it would pin), and the commit message instead,
committing and pushing nothing.

Exit status: 0 when the file says the release (committed now or already),
1 on an error (the repo or an artifact unreachable, a bad desired file, an
immutable version, a conflict), 2 on a usage error (flags, their
combination, a missing local file, a bad version or path).`,
		// --rollout ID as SPEC writes it: pflag's optional value must be
		// joined (--rollout=ID), so an id after a bare --rollout arrives
		// as the one argument.
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 || (len(args) == 1 && f.rollout == rolloutDefault) {
				return nil
			}
			return &usageError{msg: fmt.Sprintf("bump takes no arguments, got %q (a rollout id goes after --rollout)", args)}
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				f.rollout = args[0]
			}
			return runBump(cmd, &c, &f, stdout, stderr)
		},
	}
	fs := cmd.Flags()
	c.addRepoFlags(fs)
	fs.Lookup("ref").Usage = "branch the bump is pushed to (and read from)"
	fs.Lookup("path").Usage = "desired state file inside the repo that the bump edits"
	fs.Lookup("verify-keyring").Usage = "armored OpenPGP keyring; the head must be signed by one of its keys before bump commits on it"
	fs.Lookup("verify-ssh-allowed-signers").Usage = "git allowed-signers file; likewise for an SSH-signed head"
	f.addFlags(fs)
	c.Stores.addRegistryFlags(fs)
	fs.Lookup("ca-file").Usage = "extra CA certificates (PEM) for an https deploy repo, artifact URLs and OCI registries"
	return cmd
}

func (f *bumpFlags) addFlags(fs *pflag.FlagSet) {
	r := &f.req
	fs.StringVar(&r.Version, "version", "", "the version to deploy (required)")
	addSourceFlags(fs, "bin", &r.Bin, "the binary")
	addSourceFlags(fs, "cfg", &r.Cfg, "the config")
	fs.StringVar(&r.Message, "message", "", `commit message (default "<app>: <old> -> <new>")`)
	fs.StringVar(&f.signKey, "sign-key", "", "sign the commit with this key: an armored OpenPGP secret key or an OpenSSH private key, without passphrase")
	fs.StringVar(&r.Branch, "branch", "", "push to this new branch, for review, instead of --ref")
	fs.StringVar(&f.rollout, "rollout", "", "start a staged rollout; --rollout ID (or --rollout=ID) names it (alone: <app>-<version>)")
	fs.Lookup("rollout").NoOptDefVal = rolloutDefault
	fs.BoolVar(&r.DryRun, "dry-run", false, "print the file's diff and the commit message; commit nothing")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON: old and new release, commit, branch")
	fs.IntVar(&r.History, "history", bump.DefaultHistory, "commits of the branch read for the immutability check and the last rollout block")
	fs.StringVar(&f.maxSize, "max-artifact-size", formatSize(artifacts.DefaultMaxSize), "largest artifact hashed (--bin-file, --bin-url alone) or committed (--bin-repo-file), enforced while reading")
}

// addSourceFlags registers the flags of one artifact's source.
func addSourceFlags(fs *pflag.FlagSet, key string, s *bump.Source, what string) {
	fs.StringVar(&s.URL, key+"-url", "", "URL agents download "+what+" from (http, https, file)")
	fs.StringVar(&s.File, key+"-file", "", "with --"+key+"-url: the local copy of "+what+", hashed here")
	fs.StringVar(&s.SHA256, key+"-sha256", "", "with --"+key+"-url: the sha256 of "+what+" (64 hex digits)")
	fs.StringVar(&s.RepoFile, key+"-repo-file", "", "a local file committed into the deploy repo as "+what+", at --"+key+"-path")
	fs.StringVar(&s.RepoPath, key+"-path", "", "with --"+key+"-repo-file: where in the deploy repo")
	fs.StringVar(&s.OCI, key+"-oci", "", "with --"+key+"-file: push it to this OCI registry repository, registry/repository[:tag] (no tag: the version), and pin it by digest")
}

// runBump wires the bumper and prints what it did.
func runBump(cmd *cobra.Command, c *Config, f *bumpFlags, stdout, stderr io.Writer) error {
	b, err := setupBump(cmd, c, f)
	if err != nil {
		return &exitcode.Error{Code: 2, Err: err}
	}
	res, err := b.Run(cmd.Context(), f.req)
	var ue *bump.UsageError
	switch {
	case errors.As(err, &ue):
		return &exitcode.Error{Code: 2, Err: fmt.Errorf("bump %s: %w", c.Path, err)}
	case err != nil:
		return fmt.Errorf("bump %s of %s: %w", c.Path, redact.URL(c.Repo), err)
	}
	return printBump(stdout, stderr, res, f.json)
}

// setupBump checks the settings and wires the bumper.
func setupBump(cmd *cobra.Command, c *Config, f *bumpFlags) (*bump.Bumper, error) {
	if err := bindRepoEnv(cmd, c); err != nil {
		return nil, err
	}
	src, sign, err := newWriter("bump", c, f.signKey)
	if err != nil {
		return nil, err
	}
	maxSize, err := parseSize(f.maxSize)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("--max-artifact-size: %v", err)}
	}
	f.req.Path = c.Path
	if f.rollout != "" {
		f.req.Rollout = true
		if f.rollout != rolloutDefault {
			f.req.RolloutID = f.rollout
		}
	}
	if err := f.req.Check(); err != nil {
		return nil, err
	}
	fetcher := &artifacts.Fetcher{Client: artifacts.NewClient(c.tlsConf), MaxSize: maxSize}
	b := &bump.Bumper{Source: src, Trust: c.trust, Sign: sign, Fetcher: fetcher}
	if f.req.Bin.OCI != "" || f.req.Cfg.OCI != "" {
		if b.Registry, err = newRegistry(c); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// printBump prints the commit (or JSON, or the dry run's diff).
func printBump(stdout, stderr io.Writer, res bump.Result, asJSON bool) error {
	switch {
	case asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case res.NoChange:
		fmt.Fprintf(stderr, "reconciler: %s already says version %s at %.12s: nothing to commit\n", res.Path, res.New.Version, res.Commit)
		fmt.Fprintln(stdout, res.Commit)
	case res.DryRun:
		fmt.Fprint(stdout, res.Diff)
		for _, p := range res.Pushes {
			fmt.Fprintf(stdout, "\npush %s (%d bytes, sha256 %s) to %s as layer %q (dry run: nothing pushed)\n    pinned as %s\n",
				p.File, p.Size, p.SHA256, p.Ref, p.Title, p.Pinned)
		}
		fmt.Fprintf(stdout, "\ncommit to %s (dry run: nothing committed):\n    %s\n", res.Branch, res.Message)
	default:
		for _, p := range res.Pushes {
			fmt.Fprintf(stderr, "reconciler: pushed %s to %s: %s\n", p.File, p.Ref, p.Pinned)
		}
		fmt.Fprintln(stdout, res.Commit)
	}
	return nil
}
