package main

import (
	"fmt"
	"math"

	"github.com/reconciler-dev/reconciler/reconcile"
)

// fairnessRows measures the bucket function's fairness: the share of 1,000
// host ids (web-0001 … web-1000) in the wave at each step's percent, over
// 20 rollout ids, against the percent asked for. The alternative is what
// an ideal draw of 1,000 hosts would give: percent × 10 hosts, with the
// binomial's standard deviation.
func fairnessRows(t *table) {
	const hosts, ids = 1000, 20
	for _, pct := range []float64{1, 10, 50} {
		var shares []float64
		for i := range ids {
			id := fmt.Sprintf("web-%d.0", i+2)
			in := 0
			for h := range hosts {
				if reconcile.Bucket(id, fmt.Sprintf("web-%04d", h+1)) < int(pct*100) {
					in++
				}
			}
			shares = append(shares, float64(in))
		}
		s := summarize(shares)
		want := pct / 100 * hosts
		sd := math.Sqrt(hosts * pct / 100 * (1 - pct/100))
		t.add(fmt.Sprintf("rollout wave at %v%% of %d host ids: hosts in the wave, median (min–max) over %d rollout ids", pct, hosts, ids),
			fmt.Sprintf("%.0f (%.0f–%.0f)", s.med, s.min, s.max), fmt.Sprintf("%.0f ± %.1f", want, sd), "an ideal random draw (mean ± 1 sd)", s.med/want)
	}
}
