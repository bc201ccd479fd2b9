package main

import (
	_ "github.com/cloudflare/tableflip"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/mitchellh/go-ps"
	_ "github.com/pmezard/go-difflib/difflib"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/robfig/cron/v3"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/sys/unix"
)

func main() {}
