package appdir

import "testing"

func TestReleaseNames(t *testing.T) {
	if got := BinName("1.2"); got != "app.1.2" {
		t.Errorf("BinName: got %q, want %q", got, "app.1.2")
	}
	if got := CfgName("1.2"); got != "cfg.1.2" {
		t.Errorf("CfgName: got %q, want %q", got, "cfg.1.2")
	}
	for _, v := range []string{"1.2", "v3", "2026-12-07"} {
		if got := Version("/d/release/" + BinName(v)); got != v {
			t.Errorf("Version(BinName(%q)) = %q", v, got)
		}
		for _, name := range []string{BinName(v), CfgName(v)} {
			if got, ok := FileVersion(name); !ok || got != v {
				t.Errorf("FileVersion(%q) = %q, %v; want %q, true", name, got, ok, v)
			}
		}
	}
	if got := Version(""); got != "" {
		t.Errorf("Version(\"\") = %q, want \"\"", got)
	}
	for _, name := range []string{"current.conf", "app.", "cfg.", "app", ".app.1.tmp", "x.1"} {
		if v, ok := FileVersion(name); ok {
			t.Errorf("FileVersion(%q) = %q, true; want false", name, v)
		}
	}
}
