package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// series is one line of a chart.
type series struct {
	name   string
	xs, ys []float64
}

// plotData collects what the groups measured for the charts.
type plotData struct {
	pollCommits            []float64
	pollOurs, pollLs       []float64 // CPU ms per no-change poll
	bumpSched, bumpHook    []float64 // ms, per bump
	fleetN, fleetCPU       []float64
	fleetCLIN, fleetCLICPU []float64
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"}

// writeSVG draws a small line chart with points, axes, ticks and a legend.
// Hand-written on purpose: a dependency for four charts is not worth it.
func writeSVG(path, title, xlabel, ylabel string, logX bool, ss []series) error {
	const w, h, l, r, top, bot = 640.0, 360.0, 70.0, 20.0, 40.0, 50.0
	var minX, maxX, maxY = math.Inf(1), math.Inf(-1), 0.0
	fx := func(x float64) float64 {
		if logX {
			return math.Log10(x)
		}
		return x
	}
	for _, s := range ss {
		for i := range s.xs {
			minX, maxX = math.Min(minX, fx(s.xs[i])), math.Max(maxX, fx(s.xs[i]))
			maxY = math.Max(maxY, s.ys[i])
		}
	}
	if maxX == minX {
		maxX = minX + 1
	}
	maxY = niceCeil(maxY)
	px := func(x float64) float64 { return l + (fx(x)-minX)/(maxX-minX)*(w-l-r) }
	py := func(y float64) float64 { return h - bot - y/maxY*(h-top-bot) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%.0f" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", l, esc(title))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="black"/>`+"\n",
		l, h-bot, w-r, h-bot, l, top, l, h-bot)
	for i := 0; i <= 4; i++ {
		y := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			l, py(y), w-r, py(y), l-6, py(y)+4, trimNum(y))
	}
	ticks := map[float64]bool{}
	for _, s := range ss {
		for _, x := range s.xs {
			if !ticks[x] {
				ticks[x] = true
				fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", px(x), h-bot+16, trimNum(x))
			}
		}
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`+"\n", (l+w-r)/2, h-12, esc(xlabel))
	fmt.Fprintf(&b, `<text transform="translate(16 %.0f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", (top+h-bot)/2, esc(ylabel))
	for i, s := range ss {
		c := palette[i%len(palette)]
		var pts []string
		for j := range s.xs {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.xs[j]), py(s.ys[j])))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(s.xs[j]), py(s.ys[j]), c)
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), c)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="3" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			l+10, top+4+float64(i)*16, c, l+28, top+9+float64(i)*16, esc(s.name))
	}
	b.WriteString("</svg>\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// writePlots draws every chart the run has data for.
func writePlots(dir string, p *plotData) error {
	if dir == "" {
		return nil
	}
	if len(p.pollCommits) > 0 {
		if err := writeSVG(filepath.Join(dir, "poll-cost.svg"), "CPU per no-change poll vs history", "commits in the deploy repo (log)",
			"client CPU per poll (ms)", true, []series{{"reconciler", p.pollCommits, p.pollOurs}, {"git ls-remote", p.pollCommits, p.pollLs}}); err != nil {
			return err
		}
	}
	if len(p.bumpSched) > 0 {
		idx := func(n int) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(i + 1)
			}
			return xs
		}
		if err := writeSVG(filepath.Join(dir, "commit-to-serving.svg"), "Commit to new version serving, per bump", "bump",
			"latency (ms)", false, []series{{"@every 1s", idx(len(p.bumpSched)), p.bumpSched}, {"POST /reconcile", idx(len(p.bumpHook)), p.bumpHook}}); err != nil {
			return err
		}
	}
	if len(p.fleetN) > 0 {
		ss := []series{{"reconciler agents (ref listing per poll)", p.fleetN, p.fleetCPU}}
		if len(p.fleetCLIN) > 0 {
			ss = append(ss, series{"git fetch per poll", p.fleetCLIN, p.fleetCLICPU})
		}
		if err := writeSVG(filepath.Join(dir, "fleet-git-server-cpu.svg"), "Git server CPU vs fleet size", "agents",
			"git server CPU (ms per minute)", false, ss); err != nil {
			return err
		}
	}
	return nil
}
