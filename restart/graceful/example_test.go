package graceful_test

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/reconciler-dev/reconciler/restart/graceful"
)

// Serving with Run: the app's main calls it once with its handler; on
// SIGHUP it re-execs itself (start it through the ./app.bin link, as the
// reconciler's --exec does) and hands the socket to the new process, then
// drains and returns; on the context's end (SIGTERM) it drains and returns
// too. Here the context ends after one request.
func ExampleRun() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from the new release")
	})
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- graceful.Run(ctx, graceful.Options{
			Addr:    "127.0.0.1:18089",
			Handler: mux,
			Ready:   func() { close(ready) },
		})
	}()
	<-ready
	resp, err := http.Get("http://127.0.0.1:18089/")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))
	stop() // SIGTERM, in a real main: signal.NotifyContext
	fmt.Println("stopped:", <-done)
	// Output:
	// hello from the new release
	// stopped: <nil>
}
