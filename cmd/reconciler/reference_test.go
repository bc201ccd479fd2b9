package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/reconciler-dev/reconciler/reconcile"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// docs/reference.md is written by hand around one generated block, the
// commands with their flags, rendered from the cobra commands themselves so
// that a new flag or a changed default cannot go unnoticed.

var updateReference = flag.Bool("update-reference", false, "rewrite the generated commands block of docs/reference.md")

const (
	referenceFile  = "../../docs/reference.md"
	referenceRegen = "go test ./cmd/reconciler -run TestReferenceUpToDate -update-reference"
	referenceBegin = "<!-- BEGIN GENERATED: commands (" + referenceRegen + ") -->"
	referenceEnd   = "<!-- END GENERATED: commands -->"
)

// commandsWithoutEnv are the subcommands whose flags are not read from
// RECONCILER_* variables: their RunE never calls bindEnv. Nothing in a
// cobra.Command says so, hence this list.
var commandsWithoutEnv = []string{"demo", "version"}

// ownCommands are root's subcommands but cobra's help and completion
// (made early so that their argument errors are usage errors, see
// markUsageErrors; the reference's prose names them).
func ownCommands(root *cobra.Command) []*cobra.Command {
	var own []*cobra.Command
	for _, cmd := range root.Commands() {
		if cmd.Name() != "help" && cmd.Name() != "completion" {
			own = append(own, cmd)
		}
	}
	return own
}

// renderCommandsReference renders every subcommand of root, in the order
// `reconciler --help` lists them: name, summary, usage line, help text and
// a table of its flags with default, environment variable and meaning.
func renderCommandsReference(root *cobra.Command) string {
	var b strings.Builder
	for _, cmd := range ownCommands(root) {
		if cmd.Hidden {
			continue
		}
		fmt.Fprintf(&b, "\n### `%s %s`\n\n%s.\n\n", root.Name(), cmd.Name(), strings.TrimSuffix(cmd.Short, "."))
		fmt.Fprintf(&b, "```\n%s\n```\n", cmd.UseLine())
		if cmd.Long != "" {
			fmt.Fprintf(&b, "\n```text\n%s\n```\n", strings.TrimSpace(cmd.Long))
		}
		b.WriteString(renderFlagTable(cmd, !slices.Contains(commandsWithoutEnv, cmd.Name())))
	}
	return b.String()
}

// renderFlagTable renders the flags of cmd as a markdown table; env says
// whether RECONCILER_<FLAG> sets them.
func renderFlagTable(cmd *cobra.Command, env bool) string {
	var rows []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		varname, usage := pflag.UnquoteUsage(f)
		name := "`--" + f.Name
		if varname != "" {
			name += " " + varname
		}
		name += "`"
		if f.Shorthand != "" {
			name += ", `-" + f.Shorthand + "`"
		}
		def := "—"
		if f.DefValue != "" {
			def = "`" + f.DefValue + "`"
		}
		envVar := "— (not read)"
		if env {
			envVar = "`" + envName(f.Name) + "`"
		}
		if f.Hidden {
			usage += " (accepted, left out of --help: no effect here)"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |", name, def, envVar, markdownCell(usage)))
	})
	if len(rows) == 0 {
		return "\nNo flags.\n"
	}
	return "\n| flag | default | environment | meaning |\n|---|---|---|---|\n" + strings.Join(rows, "\n") + "\n"
}

// markdownCell escapes what markdown would take for table or emphasis
// syntax in a flag's usage text.
func markdownCell(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "<", "&lt;", ">", "&gt;").Replace(s)
}

// readReference returns docs/reference.md split around the generated
// block: before (up to and including the begin marker line), the block,
// and after (from the end marker line on).
func readReference(t *testing.T) (before, block, after string) {
	t.Helper()
	data, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatalf("read %s: %v", referenceFile, err)
	}
	doc := string(data)
	if strings.Count(doc, referenceBegin) != 1 || strings.Count(doc, referenceEnd) != 1 {
		t.Fatalf("%s: want exactly one line %q and one line %q", referenceFile, referenceBegin, referenceEnd)
	}
	i := strings.Index(doc, referenceBegin) + len(referenceBegin)
	j := strings.Index(doc, referenceEnd)
	if j < i {
		t.Fatalf("%s: %q comes before %q", referenceFile, referenceEnd, referenceBegin)
	}
	return doc[:i], doc[i:j], doc[j:]
}

func TestReferenceUpToDate(t *testing.T) {
	before, block, after := readReference(t)
	want := renderCommandsReference(newRootCmd(io.Discard, io.Discard)) + "\n"
	if block == want {
		return
	}
	if *updateReference {
		if err := os.WriteFile(referenceFile, []byte(before+want+after), 0o644); err != nil {
			t.Fatalf("write %s: %v", referenceFile, err)
		}
		t.Logf("rewrote the commands block of %s", filepath.Clean(referenceFile))
		return
	}
	t.Errorf("docs/reference.md: the commands block is not what the commands say (first difference: got %q, want %q); regenerate it with\n\t%s",
		firstDiffLine(block, want), firstDiffLine(want, block), referenceRegen)
}

// firstDiffLine returns the first line of a that b does not have at the same
// place, "" when there is none.
func firstDiffLine(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i, l := range al {
		if i >= len(bl) || bl[i] != l {
			return l
		}
	}
	return ""
}

func TestReferenceNamesEveryFlag(t *testing.T) {
	data, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatalf("read %s: %v", referenceFile, err)
	}
	doc := string(data)
	root := newRootCmd(io.Discard, io.Discard)
	var missing []string
	need := func(what, word string) {
		if !mentions(doc, word) {
			missing = append(missing, what+" "+word)
		}
	}
	for _, cmd := range append([]*cobra.Command{root}, ownCommands(root)...) {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			need("flag of "+cmd.Name(), "--"+f.Name)
		})
	}
	for _, name := range envOnly {
		if !strings.HasSuffix(name, "_TEST_MAIN") {
			need("variable", name)
		}
	}
	for _, name := range metricNames(t) {
		if strings.HasPrefix(name, "reconciler_") {
			need("metric", name)
		} else { // a standard collector's family, e.g. go_*
			prefix, _, _ := strings.Cut(name, "_")
			if !strings.Contains(doc, prefix+"_*") {
				missing = append(missing, "metrics "+prefix+"_*")
			}
		}
	}
	for _, r := range []string{reconcile.PollUnchanged, reconcile.PollApplied, reconcile.PollError, reconcile.PollSkipped, reconcile.PollSuspended, reconcile.PollDeferred} {
		need("poll result", "`"+r+"`")
	}
	slices.Sort(missing)
	for _, m := range slices.Compact(missing) {
		t.Errorf("docs/reference.md does not mention the %s", m)
	}
	checkNotYetAvailable(t, doc, root)
}

// checkNotYetAvailable fails for a flag or command that the section "Not
// yet available" names but that exists now: it belongs in the tables.
func checkNotYetAvailable(t *testing.T, doc string, root *cobra.Command) {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n## Not yet available\n")
	if !ok {
		return
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, m := range regexp.MustCompile("`--([a-z0-9-]+)`").FindAllStringSubmatch(section, -1) {
		for _, cmd := range root.Commands() {
			if cmd.Flags().Lookup(m[1]) != nil {
				t.Errorf("docs/reference.md lists --%s as not yet available, but %s has it", m[1], cmd.Name())
			}
		}
	}
	for _, m := range regexp.MustCompile("`reconciler ([a-z]+)`").FindAllStringSubmatch(section, -1) {
		if cmd, _, err := root.Find([]string{m[1]}); err == nil && cmd != root {
			t.Errorf("docs/reference.md lists reconciler %s as not yet available, but the command exists", m[1])
		}
	}
}

// mentions reports whether doc holds word not followed by a letter, digit,
// '-' or '_' (so that --keep is not found in --keep-going).
func mentions(doc, word string) bool {
	return regexp.MustCompile(regexp.QuoteMeta(word) + `($|[^A-Za-z0-9_-])`).MatchString(doc)
}

// metricNames returns every metric family reconcile registers, and every
// one a real `reconciler run --listen` serves on /metrics (the Go and
// process collectors that cmd adds).
func metricNames(t *testing.T) []string {
	t.Helper()
	names := append(registeredMetrics(), scrapeAgent(t)...)
	slices.Sort(names)
	return slices.Compact(names)
}

// registeredMetrics returns the name of every metric reconcile registers,
// from the collectors' descriptions: a vector with no series yet (the
// rollout state without a rollout) is not gathered, but is described.
func registeredMetrics() []string {
	rec := &describer{}
	reconcile.NewMetrics(rec, func() (int64, int64) { return 0, 0 })
	return rec.names
}

// describer is a prometheus.Registerer that keeps the names of what it is
// given.
type describer struct{ names []string }

var fqNameRE = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqNameRE.FindStringSubmatch(desc.String()); m != nil {
			d.names = append(d.names, m[1])
		}
	}
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		d.Register(c)
	}
}

func (d *describer) Unregister(prometheus.Collector) bool { return false }

// scrapeAgent runs the agent in this process, against a deploy repo that
// does not exist (its polls fail and back off; /metrics serves anyway), and
// returns the metric families of its /metrics.
func scrapeAgent(t *testing.T) []string {
	t.Helper()
	addr, dir := freeAddr(t), t.TempDir()
	repo := "file://" + filepath.Join(t.TempDir(), "no-repo")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "--repo", repo, "--dir", dir, "--listen", addr,
			"--schedule", "@every 1h", "--log-format", "json"}, io.Discard, io.Discard)
	}()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	defer stop() // also when a t.Fatalf below ends the test early
	var body string
	waitFor(t, "GET /metrics of the agent", func() bool {
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("reconciler run ended before serving /metrics: %v", err)
		default:
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK
	})
	if err := stop(); err != nil {
		t.Errorf("reconciler run: %v", err)
	}
	var names []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			names = append(names, f[2])
		}
	}
	if !slices.Contains(names, "reconciler_polls_total") {
		t.Fatalf("GET /metrics of the agent: no reconciler_polls_total in\n%s", body)
	}
	return names
}
