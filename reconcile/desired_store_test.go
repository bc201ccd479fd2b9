package reconcile

import (
	"errors"
	"strings"
	"testing"
)

const manifest = "sha256:" + "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12"

// TestParseDesiredStores: "oci" (+ "file") and "s3" parse into the
// locators the Downloader takes and the origins a plan shows.
func TestParseDesiredStores(t *testing.T) {
	for _, tc := range []struct {
		name, bin, locator string
	}{
		{"oci with file", `"oci":"ghcr.io/team/web@` + manifest + `","file":"web-linux-amd64"`,
			"oci://ghcr.io/team/web@" + manifest + "?file=web-linux-amd64"},
		{"oci only layer, registry with port", `"oci":"127.0.0.1:5000/team/web@` + manifest + `"`,
			"oci://127.0.0.1:5000/team/web@" + manifest},
		{"s3", `"s3":"s3://releases/web/2.0/app"`, "s3://releases/web/2.0/app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDesired("web/current.conf", []byte(`{"version":"2.0","bin":{`+tc.bin+`,"sha256":"`+goodSum+`"}}`))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := d.Bin.Locator(); got != tc.locator {
				t.Errorf("locator: got %q, want %q", got, tc.locator)
			}
			if got := d.Bin.Origin(); got != tc.locator {
				t.Errorf("origin: got %q, want %q", got, tc.locator)
			}
		})
	}
}

// TestParseDesiredStoresBad: each bad store artifact is refused naming the
// file and the key (ErrInvalidDesired: a person must fix the repo).
func TestParseDesiredStoresBad(t *testing.T) {
	sum := `,"sha256":"` + goodSum + `"`
	for _, tc := range []struct {
		name, bin string
		want      []string
	}{
		{"tag", `"oci":"ghcr.io/team/web:2.0"` + sum, []string{`key "bin.oci"`, `names the tag "2.0"`}},
		{"no digest", `"oci":"ghcr.io/team/web"` + sum, []string{`key "bin.oci"`, "no @sha256"}},
		{"tag and digest", `"oci":"ghcr.io/team/web:2.0@` + manifest + `"` + sum, []string{`key "bin.oci"`, "not the tag"}},
		{"short digest", `"oci":"ghcr.io/team/web@sha256:abc"` + sum, []string{`key "bin.oci"`, "64 lower-case hex"}},
		{"no registry", `"oci":"team/web@` + manifest + `"` + sum, []string{`key "bin.oci"`, "registry host"}},
		{"bad repository", `"oci":"ghcr.io/Team/Web@` + manifest + `"` + sum, []string{`key "bin.oci"`, "repository name"}},
		{"oci without sha256", `"oci":"ghcr.io/team/web@` + manifest + `"`, []string{`key "bin.sha256" is required with "oci"`}},
		{"file without oci", `"url":"https://a/x","file":"app"` + sum, []string{`key "bin.file": only allowed with "oci"`}},
		{"url and oci", `"url":"https://a/x","oci":"ghcr.io/team/web@` + manifest + `"` + sum, []string{`exactly one of`, `"url" and "oci"`}},
		{"s3 and path", `"s3":"s3://b1/k","path":"x"`, []string{`exactly one of`, `"s3" and "path"`}},
		{"s3 no key", `"s3":"s3://releases/"` + sum, []string{`key "bin.s3"`, "no object key"}},
		{"s3 bad bucket", `"s3":"s3://R/k"` + sum, []string{`key "bin.s3"`, "bucket name"}},
		{"s3 userinfo", `"s3":"s3://id:secret@releases/k"` + sum, []string{`key "bin.s3"`, "no user"}},
		{"s3 wrong scheme", `"s3":"https://releases/k"` + sum, []string{`key "bin.s3"`, "s3://bucket/key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDesired("web/current.conf", []byte(`{"version":"2.0","bin":{`+tc.bin+`}}`))
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range append(tc.want, "web/current.conf") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !errors.Is(err, ErrInvalidDesired) {
				t.Errorf("got %v: want ErrInvalidDesired", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows a credential: %v", err)
			}
		})
	}
}
