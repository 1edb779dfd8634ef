// Command borgrun runs backups (borgmatic, borg, or any command) as
// transient systemd units: scheduled with a timer, or now.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() { cancel(signalCause{<-sigs}) }()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
