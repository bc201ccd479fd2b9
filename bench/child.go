package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
)

// childMain runs one measured operation of ours in a process of its own, so
// its peak RSS can be compared with git's and curl's.
func childMain(args []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	switch args[0] {
	case "first-contact": // URL CACHEDIR: what the agent does on its first poll
		src, err := gitsrc.New(gitsrc.Options{URL: args[1], CacheDir: args[2]})
		if err != nil {
			return err
		}
		head, err := src.Head(ctx)
		if err != nil {
			return err
		}
		rev, err := src.Fetch(ctx, head)
		if err != nil {
			return err
		}
		_, err = src.ReadFile(ctx, rev, "web/current.conf")
		return err
	case "git-server": // ROOT [push]: serve until killed; print the URL first
		return serveGitChild(ctx, args[1], len(args) > 2 && args[2] == "push")
	case "store-download": // LOCATOR SHA256 DIR REGISTRY-CONFIG CA-FILE S3-ENDPOINT
		return storeDownload(ctx, args[1:])
	case "download": // URL SHA256 DIR
		_, err := (&artifacts.Fetcher{}).Fetch(ctx, args[1], args[2], args[3], "app.bench", 0o755)
		return err
	}
	return fmt.Errorf("unknown child mode %q", args[0])
}

func runChild(args ...string) (sample, error) {
	self, err := os.Executable()
	if err != nil {
		return sample{}, err
	}
	return runProc("", self, append([]string{"-child"}, args...)...)
}
