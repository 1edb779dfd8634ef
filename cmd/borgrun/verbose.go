package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// run -v (systemd-run 261): the unit's journal, followed by the local
// journalctl while the operation runs, as systemd-run's journal_fork has
// it. The journalctl is started, and its readiness (READY=1 on
// $NOTIFY_SOCKET) awaited, before the unit is created, so that none of
// the unit's entries is missed; it is stopped (SIGTERM, which
// --synchronize-on-exit makes it answer by printing what the journal has
// up to then) before the --wait summary, or once the unit runs.

// outputModes are the modes --output takes (journalctl's -o).
var outputModes = []string{"short", "short-full", "short-iso", "short-iso-precise", "short-precise",
	"short-monotonic", "short-delta", "short-unix", "verbose", "export", "json", "json-pretty",
	"json-sse", "json-seq", "cat", "with-unit"}

// journalReadyTimeout bounds the wait for journalctl's readiness.
const journalReadyTimeout = 30 * time.Second

// followJournal starts journalctl following unit on e's stdout and
// returns the function that stops it (idempotent), waiting (bounded) for
// its last entries. As systemd-run ignores a journalctl that cannot be
// started, so does it, apart from a note on stderr; stop is then a no-op.
func (e *env) followJournal(f *runFlags, unit string) (stop func()) {
	proc, exited, err := e.startJournal(f, unit)
	if err != nil {
		fmt.Fprintf(e.stderr, "borgrun: run -v: %v\n", err)
		return func() {}
	}
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		_ = proc.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(journalReadyTimeout):
			_ = proc.Kill()
			<-exited
		}
	}
}

// startJournal starts the journalctl of -v and waits for its READY=1;
// exited delivers its end.
func (e *env) startJournal(f *runFlags, unit string) (*os.Process, <-chan error, error) {
	dir, err := os.MkdirTemp("", "borgrun-notify-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	addr := &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"}
	sock, err := net.ListenUnixgram("unixgram", addr)
	if err != nil {
		return nil, nil, err
	}
	defer sock.Close()

	args := []string{"-q", "--follow", "--no-pager", "--lines=0", "--synchronize-on-exit=yes"}
	if f.userManager {
		args = append(args, "--user-unit="+unit)
	} else {
		args = append(args, "--unit="+unit)
	}
	if f.output != "" {
		args = append(args, "--output="+f.output)
	}
	cmd := exec.Command("journalctl", args...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+addr.Name)
	cmd.Stdout, cmd.Stderr = e.stdout, e.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := sock.Read(buf)
			if err != nil {
				ready <- err
				return
			}
			for _, l := range bytes.Split(buf[:n], []byte("\n")) {
				if string(l) == "READY=1" {
					ready <- nil
					return
				}
			}
		}
	}()
	fail := func(err error) (*os.Process, <-chan error, error) {
		_ = cmd.Process.Kill()
		<-exited
		return nil, nil, err
	}
	select {
	case err := <-ready:
		if err != nil {
			return fail(err)
		}
		return cmd.Process, exited, nil
	case err := <-exited:
		if err == nil {
			err = errors.New("exited before it was ready")
		}
		return nil, nil, fmt.Errorf("journalctl: %w", err)
	case <-time.After(journalReadyTimeout):
		return fail(fmt.Errorf("journalctl was not ready within %v", journalReadyTimeout))
	}
}
