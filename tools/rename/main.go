// Command rename renames identifiers of one package by what they are (their
// go/types object), in the package and its tests of the same package, and
// the first word of the doc comment of each renamed declaration:
//
//	go run ./tools/rename ./reconcile Step=fileStep Plan.Steps=steps Layout.SaveState=saveState
//
// NAME names a package-level object, TYPE.NAME a field or method of a
// package-level type. It refuses a package that does not type-check, and
// renames nothing outside the package: check the rest with go vet ./...
// (issue 24 unexported reconcile's names with it, so that a merge can redo
// the renames rather than resolve them).
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

type edit struct {
	off      int
	old, new string
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: rename DIR OLD=new [TYPE.OLD=new]...")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "rename:", err)
		os.Exit(1)
	}
}

func run(dir string, pairs []string) error {
	fset := token.NewFileSet()
	files, err := parseDir(fset, dir)
	if err != nil {
		return err
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil)}
	pkg, err := conf.Check(files[0].Name.Name, fset, files, info)
	if err != nil {
		return err
	}
	targets := map[types.Object]string{}
	for _, p := range pairs {
		old, new, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("%q: want OLD=new", p)
		}
		obj := lookup(pkg, old)
		if obj == nil {
			return fmt.Errorf("%s: not found in %s", old, pkg.Path())
		}
		targets[obj] = new
	}
	edits := map[string][]edit{}
	for _, m := range []map[*ast.Ident]types.Object{info.Defs, info.Uses} {
		for id, obj := range m {
			if new, ok := targets[obj]; ok && obj != nil {
				p := fset.Position(id.Pos())
				edits[p.Filename] = append(edits[p.Filename], edit{p.Offset, id.Name, new})
			}
		}
	}
	for id, obj := range info.Defs {
		if new, ok := targets[obj]; ok && obj != nil {
			p := fset.Position(id.Pos())
			if e, ok := docEdit(p, id.Name, new); ok {
				edits[p.Filename] = append(edits[p.Filename], e)
			}
		}
	}
	for file, es := range edits {
		if err := apply(file, es); err != nil {
			return err
		}
	}
	return nil
}

func parseDir(fset *token.FileSet, dir string) ([]*ast.File, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, n := range names {
		f, err := parser.ParseFile(fset, n, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(f.Name.Name, "_test") { // the external test package is another package
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no Go files", dir)
	}
	return files, nil
}

func lookup(pkg *types.Package, name string) types.Object {
	typ, member, ok := strings.Cut(name, ".")
	obj := pkg.Scope().Lookup(typ)
	if !ok || obj == nil {
		return obj
	}
	m, _, _ := types.LookupFieldOrMethod(obj.Type(), true, pkg, member)
	return m
}

// docEdit renames the first word of the doc comment above the declaration
// at p, when it is the old name.
func docEdit(p token.Position, old, new string) (edit, bool) {
	src, err := os.ReadFile(p.Filename)
	if err != nil {
		return edit{}, false
	}
	lineStart := bytes.LastIndexByte(src[:p.Offset], '\n') + 1
	first := -1
	for at := lineStart; at > 0; {
		prev := bytes.LastIndexByte(src[:at-1], '\n') + 1
		if !bytes.HasPrefix(bytes.TrimLeft(src[prev:at], " \t"), []byte("//")) {
			break
		}
		first, at = prev, prev
	}
	if first < 0 {
		return edit{}, false
	}
	m := regexp.MustCompile(`^[ \t]*// ` + regexp.QuoteMeta(old) + `\b`).FindIndex(src[first:])
	if m == nil {
		return edit{}, false
	}
	return edit{first + m[1] - len(old), old, new}, true
}

func apply(file string, es []edit) error {
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	sort.Slice(es, func(i, j int) bool { return es[i].off > es[j].off })
	done := map[int]bool{}
	for _, e := range es {
		if done[e.off] {
			continue
		}
		done[e.off] = true
		if !bytes.HasPrefix(src[e.off:], []byte(e.old)) {
			return fmt.Errorf("%s: offset %d holds no %s", file, e.off, e.old)
		}
		src = append(src[:e.off:e.off], append([]byte(e.new), src[e.off+len(e.old):]...)...)
	}
	out, err := format.Source(src)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return os.WriteFile(file, out, 0o644)
}
