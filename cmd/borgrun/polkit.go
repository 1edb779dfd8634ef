package main

import (
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// polkitAgent is the authentication agent systemd-run starts, at the path
// systemd is built with.
const polkitAgent = "/usr/bin/pkttyagent"

// agentReadyTimeout bounds the wait for the agent to register itself.
const agentReadyTimeout = 5 * time.Second

// openPolkitAgent starts a polkit text agent on the terminal, as
// systemd-run does before it calls the manager, so that polkit can ask for
// a password (auth_admin, auth_self) instead of refusing. Like systemd-run
// it does so only for callers other than root and only when standard input
// is a terminal, and it waits until the agent has registered (the agent
// closes its --notify-fd). Without the agent, or if it fails, the calls go
// ahead and polkit refuses what it would have asked about. The agent runs
// until closePolkitAgent.
func (e *env) openPolkitAgent() {
	if e.agent != nil || os.Geteuid() == 0 || !isTerminal(os.Stdin) {
		return
	}
	if _, err := os.Stat(polkitAgent); err != nil {
		return
	}
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	defer r.Close()
	// systemd-run's argv: the agent registers for the caller's login
	// session, which is where polkit looks for one.
	cmd := exec.Command(polkitAgent, "--notify-fd", "3", "--fallback")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return
	}
	e.agent = cmd
	// The agent closes the fd once it is registered; EOF (or the agent
	// dying) ends the read.
	_ = r.SetReadDeadline(time.Now().Add(agentReadyTimeout))
	var b [1]byte
	_, _ = r.Read(b[:])
}

// closePolkitAgent stops the agent openPolkitAgent started, if any.
func (e *env) closePolkitAgent() {
	if e.agent == nil {
		return
	}
	_ = e.agent.Process.Signal(syscall.SIGTERM)
	_ = e.agent.Wait()
	e.agent = nil
}

// isTerminal reports whether f is a terminal (TCGETS succeeds).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
