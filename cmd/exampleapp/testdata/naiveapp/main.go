// Command naiveapp is the control for exampleapp's handover tests: the same
// config, flags and GET /, served the way tableflip's own example does it,
// calling http.Server.Shutdown as soon as Exit fires. It exists to measure
// the requests that package graceful saves; do not copy it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
)

var version = "dev"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "naiveapp:", err)
		os.Exit(1)
	}
}

func run() error {
	cfgPath := flag.String("c", "app.cfg", "config file")
	pidFile := flag.String("pidfile", "", "pid file")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("pid", os.Getpid(), "version", version)
	b, err := os.ReadFile(*cfgPath)
	if err != nil {
		return err
	}
	var cfg struct {
		Listen  string `json:"listen"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return err
	}
	upg, err := tableflip.New(tableflip.Options{PIDFile: *pidFile})
	if err != nil {
		return err
	}
	defer upg.Stop()
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGHUP)
		for range sig {
			if err := upg.Upgrade(); err != nil {
				log.Warn("upgrade failed, still serving", "err", err)
			}
		}
	}()
	ln, err := upg.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "exampleapp %s: %s\n", version, cfg.Message)
	})}
	go srv.Serve(ln)
	if err := upg.Ready(); err != nil {
		return err
	}
	log.Info("serving", "addr", ln.Addr().String())
	<-upg.Exit()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}
