package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/borgrun/borgrun/transient"
)

// The journal, here or on a host over ssh: what now -H follows, where
// logs reads a job's runs, and where list and check find the last success
// of a job whose last run failed.

// journalctl returns journalctl with args, run here, or on host over ssh
// (as the same login that reaches its manager).
func (e *env) journalctl(ctx context.Context, host *transient.Host, args ...string) *exec.Cmd {
	if host == nil {
		return exec.CommandContext(ctx, "journalctl", args...)
	}
	return host.Command(ctx, e.ssh, append([]string{"journalctl"}, args...)...)
}

// journalFollower prints a remote unit's journal entries as they come.
type journalFollower struct {
	e    *env
	host transient.Host
	unit string

	mu     sync.Mutex
	cursor string // of the last entry printed, or the start
	cmd    *exec.Cmd
	done   chan struct{} // closed when the follower's output is read
}

// journalTimeout bounds each journalctl that is not the follower.
const journalTimeout = 30 * time.Second

// start takes the journal's current cursor on the host and starts
// following the unit's entries after it.
func (j *journalFollower) start() error {
	ctx, cancel := context.WithTimeout(j.e.ctx, journalTimeout)
	defer cancel()
	cmd := j.e.journalctl(ctx, &j.host, "--quiet", "--no-pager", "-n", "1", "-o", "json", "--output-fields=__CURSOR")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("now: reading the journal of %s: %v: %s", j.host, err, lastLine(stderr.String()))
	}
	var last struct {
		Cursor string `json:"__CURSOR"`
	}
	if len(bytes.TrimSpace(out)) > 0 {
		if err := json.Unmarshal(out, &last); err != nil {
			return fmt.Errorf("now: reading the journal of %s: %v", j.host, err)
		}
	}
	j.cursor = last.Cursor
	j.cmd = j.e.journalctl(context.WithoutCancel(j.e.ctx), &j.host, j.args(true)...)
	r, err := j.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := j.cmd.Start(); err != nil {
		return fmt.Errorf("now: following the journal of %s: %w", j.host, err)
	}
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		j.copy(r)
	}()
	return nil
}

// args are journalctl's arguments for the unit's entries after the
// cursor, following or not.
func (j *journalFollower) args(follow bool) []string {
	a := []string{"--quiet", "--no-pager", "-o", "json", "--output-fields=MESSAGE", "_SYSTEMD_UNIT=" + j.unit}
	if follow {
		a = append(a, "--follow", "--lines=all")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cursor != "" {
		a = append(a, "--cursor="+j.cursor)
	}
	return a
}

// copy prints the MESSAGE of each whole JSON entry read from r, and
// records its cursor; a partial last line is left for the last pass.
func (j *journalFollower) copy(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return
		}
		var entry struct {
			Cursor  string          `json:"__CURSOR"`
			Message json.RawMessage `json:"MESSAGE"`
		}
		if json.Unmarshal(line, &entry) != nil {
			continue
		}
		j.mu.Lock()
		seen := entry.Cursor == j.cursor
		j.cursor = entry.Cursor
		j.mu.Unlock()
		if !seen {
			fmt.Fprintf(j.e.stdout, "%s\n", journalMessage(entry.Message))
		}
	}
}

// journalMessage decodes a MESSAGE field of journalctl -o json: a string,
// an array of bytes (not valid UTF-8), or null.
func journalMessage(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b []byte
	var ints []int
	if json.Unmarshal(raw, &ints) == nil {
		for _, n := range ints {
			b = append(b, byte(n))
		}
		return string(b)
	}
	return ""
}

// finish stops the follower once the unit has ended and, if it ran,
// prints what the follower had not shown yet: journald may still hold the
// last lines of the service's output, which journalctl --sync writes out.
func (j *journalFollower) finish(ran bool) {
	if j.cmd.Process != nil {
		_ = j.cmd.Process.Kill()
	}
	<-j.done
	_ = j.cmd.Wait()
	if !ran {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(j.e.ctx), journalTimeout)
	defer cancel()
	script := `journalctl --sync 2>/dev/null; exec "$@"`
	cmd := j.host.Command(ctx, j.e.ssh, append([]string{"sh", "-c", script, "sh", "journalctl"}, j.args(false)...)...)
	r, err := cmd.StdoutPipe()
	if err != nil {
		return
	}
	if cmd.Start() != nil {
		return
	}
	j.copy(r)
	_ = cmd.Wait()
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

