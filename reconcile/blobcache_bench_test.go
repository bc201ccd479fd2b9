package reconcile

import (
	"crypto/rand"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNoChangePollCommittedBin: the CPU of a no-change pass of an
// engine whose desired file names a 150 MB committed binary (bin.path),
// on a real git repo: "cached" as the agent runs it, "uncached" with the
// cache emptied before each pass, as every pass was before it. Reported
// as cpu-ms/op (user + system, the whole process).
//
//	go test -run '^$' -bench BenchmarkNoChangePollCommittedBin -benchtime 10x ./reconcile
func BenchmarkNoChangePollCommittedBin(b *testing.B) {
	r := newGitRig(b)
	bin := make([]byte, 150<<20)
	rand.Read(bin) // incompressible, as a binary nearly is
	r.git.WriteFile("bin/app", bin)
	r.git.WriteFile("current.conf", []byte(`{"version": "1.0", "bin": {"path": "bin/app"}}`))
	r.git.Commit("version 1.0")
	if out, err := r.e.Sync(b.Context()); err != nil || out.Result != PollApplied {
		b.Fatalf("first pass: %q, %v", out.Result, err)
	}
	for _, tc := range []struct {
		name  string
		reset bool
	}{{"cached", false}, {"uncached", true}} {
		b.Run(tc.name, func(b *testing.B) {
			start := cpuTime(b)
			for b.Loop() {
				if tc.reset {
					r.e.blobs = blobCache{}
				}
				if out, err := r.e.Sync(b.Context()); err != nil || out.Result != PollUnchanged {
					b.Fatalf("no-change pass: %q, %v", out.Result, err)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}
