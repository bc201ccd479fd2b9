// Command surface counts the exported names of Go packages, for the
// measure of a package's surface (issue 24): top-level names (each const
// and var of a group on its own), methods of any type, and struct fields,
// test files left out.
//
//	go run ./tools/surface ./reconcile ./artifacts
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: surface DIR...")
		os.Exit(2)
	}
	fmt.Printf("%-28s %9s %8s %7s %6s\n", "package", "top-level", "methods", "fields", "total")
	for _, dir := range os.Args[1:] {
		c, err := count(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%-28s %9d %8d %7d %6d\n", dir, c.top, c.methods, c.fields, c.top+c.methods+c.fields)
	}
}

type counts struct{ top, methods, fields int }

func count(dir string) (counts, error) {
	var c counts
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return c, err
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return c, err
		}
		for _, d := range f.Decls {
			c.add(d)
		}
	}
	return c, nil
}

func (c *counts) add(d ast.Decl) {
	switch d := d.(type) {
	case *ast.FuncDecl:
		switch {
		case !d.Name.IsExported():
		case d.Recv != nil:
			c.methods++
		default:
			c.top++
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() {
					c.top++
					c.fields += exportedFields(s.Type)
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.IsExported() {
						c.top++
					}
				}
			}
		}
	}
}

func exportedFields(t ast.Expr) int {
	st, ok := t.(*ast.StructType)
	if !ok {
		return 0
	}
	n := 0
	for _, f := range st.Fields.List {
		for _, name := range f.Names {
			if name.IsExported() {
				n++
			}
		}
	}
	return n
}
