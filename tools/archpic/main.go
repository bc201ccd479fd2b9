// Command archpic draws the import picture of docs/architecture.md from
// `go list`, and checks that the page holds the current one:
//
//	go run ./tools/archpic          # check: exit 1 when the picture is stale
//	go run ./tools/archpic -update  # rewrite the picture in the page
//
// The picture is the block between the page's "imports:begin" and
// "imports:end" markers: a mermaid graph of the packages the shipped
// command links, then every package of the module with the module's
// packages it imports (test files left out). It also checks the rule that
// the parts never know each other: gitsrc, artifacts and restart (and their
// subpackages) import neither reconcile nor one another (artifacts'
// subpackages may import artifacts).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

const (
	page  = "docs/architecture.md"
	begin = "<!-- imports:begin (go run ./tools/archpic -update) -->\n"
	end   = "<!-- imports:end -->\n"
)

func main() {
	update := flag.Bool("update", false, "rewrite the picture in "+page)
	flag.Parse()
	if err := run(*update); err != nil {
		fmt.Fprintln(os.Stderr, "archpic:", err)
		os.Exit(1)
	}
}

func run(update bool) error {
	mod, err := goList("list", "-m")
	if err != nil {
		return err
	}
	prefix := strings.TrimSpace(mod) + "/"
	all, err := imports(prefix, "./...")
	if err != nil {
		return err
	}
	shipped, err := goList("list", "-deps", "./cmd/reconciler")
	if err != nil {
		return err
	}
	if err := partsApart(all); err != nil {
		return err
	}
	pic := picture(all, linked(prefix, shipped))
	text, err := os.ReadFile(page)
	if err != nil {
		return err
	}
	i, j := bytes.Index(text, []byte(begin)), bytes.Index(text, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q ... %q block", page, strings.TrimSpace(begin), strings.TrimSpace(end))
	}
	next := string(text[:i+len(begin)]) + pic + string(text[j:])
	if next == string(text) {
		return nil
	}
	if !update {
		return fmt.Errorf("%s: the import picture is not the one go list draws; run go run ./tools/archpic -update", page)
	}
	return os.WriteFile(page, []byte(next), 0o644)
}

func goList(args ...string) (string, error) {
	out, err := exec.Command("go", args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, ee.Stderr)
	}
	return string(out), err
}

// imports maps each package of the module (its path without the module
// prefix) to the module's packages it imports.
func imports(prefix, pattern string) (map[string][]string, error) {
	out, err := goList("list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", pattern)
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], prefix)
		m[pkg] = nil
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, prefix) {
				m[pkg] = append(m[pkg], strings.TrimPrefix(imp, prefix))
			}
		}
	}
	return m, nil
}

func linked(prefix, deps string) map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Fields(deps) {
		if strings.HasPrefix(p, prefix) {
			m[strings.TrimPrefix(p, prefix)] = true
		}
	}
	return m
}

// part names the part a package belongs to: gitsrc, artifacts, restart,
// reconcile, or "" for the others.
func part(pkg string) string {
	for _, p := range []string{"gitsrc", "artifacts", "restart", "reconcile"} {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return p
		}
	}
	return ""
}

// partsApart checks STYLE's rule 3: gitsrc, artifacts and restart never
// import reconcile or each other.
func partsApart(all map[string][]string) error {
	var bad []string
	for pkg, imps := range all {
		from := part(pkg)
		if from == "" || from == "reconcile" {
			continue
		}
		for _, imp := range imps {
			if to := part(imp); to != "" && to != from {
				bad = append(bad, pkg+" imports "+imp)
			}
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("the parts must not know each other (STYLE rule 3): %s", strings.Join(bad, "; "))
	}
	return nil
}

// picture renders the block: the graph of what the shipped command links,
// then the list of every package.
func picture(all map[string][]string, shipped map[string]bool) string {
	pkgs := make([]string, 0, len(all))
	for p := range all {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart LR\n")
	for _, p := range pkgs {
		if shipped[p] {
			fmt.Fprintf(&b, "  %s[%s]\n", id(p), p)
		}
	}
	for _, p := range pkgs {
		if !shipped[p] {
			continue
		}
		for _, imp := range all[p] {
			fmt.Fprintf(&b, "  %s --> %s\n", id(p), id(imp))
		}
	}
	b.WriteString("```\n\nEvery package and the module's packages it imports (tests left out):\n\n```\n")
	for _, p := range pkgs {
		mark := " "
		if shipped[p] {
			mark = "*"
		}
		line := fmt.Sprintf("%s %-22s %s", mark, p, strings.Join(all[p], " "))
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	b.WriteString("```\n\n`*`: linked into the shipped `reconciler` binary.\n")
	return b.String()
}

// id is a package's mermaid node id: its path without slashes.
func id(pkg string) string { return strings.ReplaceAll(pkg, "/", "_") }
