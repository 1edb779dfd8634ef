// Command borgrun runs backups (borgmatic, borg, or any command) as
// transient systemd units: scheduled with a timer, or now.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	if os.Getenv("GOMAXPROCS") == "" {
		// borgrun waits on D-Bus answers and signals, one after
		// another: on one thread each answer goes from the goroutine
		// that reads the connection to the one that waits for it with
		// no wake-up of another thread. On a busy machine that made
		// run --wait 5-10% faster (make bench, 2 cores under load).
		runtime.GOMAXPROCS(1)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() { cancel(signalCause{<-sigs}) }()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
