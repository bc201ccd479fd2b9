package agentdir

import (
	"bytes"
	"testing"
)

// BenchmarkChoose is the start's cost before the exec: the lock, the
// record, and the sha256 and ELF checks of a 20 MiB release (the size of
// the packaged binary).
func BenchmarkChoose(b *testing.B) {
	d, err := Open(b.TempDir() + "/agent")
	if err != nil {
		b.Fatal(err)
	}
	data := append(script("exit 0"), bytes.Repeat([]byte("#\n"), 10<<20)...)
	if _, err := d.Install(b.Context(), "1", bytes.NewReader(data), sum(data)); err != nil {
		b.Fatal(err)
	}
	if err := d.Confirm("1"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if c, ok, err := d.Choose(); err != nil || !ok || c.Version != "1" {
			b.Fatalf("got %+v %v %v", c, ok, err)
		}
	}
}
