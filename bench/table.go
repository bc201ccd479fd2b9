package main

import (
	"fmt"
	"io"
	"strings"
)

// table collects rows: what was measured, ours, the alternative, the ratio.
type table struct{ rows [][5]string }

func (t *table) add(what, ours, alt, altName string, ratio float64) {
	r := "–"
	if ratio > 0 {
		r = fmt.Sprintf("%.2f×", ratio)
	}
	t.rows = append(t.rows, [5]string{what, ours, altName, alt, r})
}

func (t *table) print(w io.Writer) {
	head := [5]string{"measure", "reconciler", "alternative", "alternative's figure", "ours / alternative"}
	fmt.Fprintln(w, "| "+strings.Join(head[:], " | ")+" |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	// A cell may hold an error's text: keep it on one line, its pipes escaped.
	cell := strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ")
	for _, r := range t.rows {
		for i := range r {
			r[i] = strings.TrimSpace(cell.Replace(r[i]))
		}
		fmt.Fprintln(w, "| "+strings.Join(r[:], " | ")+" |")
	}
}
