package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
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
		// Cancel, not Process.Kill: in a container the follower is
		// nsenter's child, killed with its process group.
		_ = j.cmd.Cancel()
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

// unitSucceeded is the MESSAGE_ID of the manager's "Deactivated
// successfully" entry (SD_MESSAGE_UNIT_SUCCESS, systemd 248 and later).
const unitSucceeded = "7ad2d189f7e94e70a38c781354912448"

// journalSuccesses fills in the last success, from the journal, of each
// job whose last run failed: the manager knows only the last run. One
// journalctl (over ssh, with a host) asks for the manager's
// unit-succeeded entries of all of them, newest first, and stops at the
// newest of each. Nothing is run when every job's last run succeeded.
// The journal may have been rotated or be volatile: a job whose success
// it no longer holds keeps a zero LastSuccess. Errors are ignored: a
// journal that cannot be read leaves the manager's view.
func (e *env) journalSuccesses(host *transient.Host, user bool, jobs []backup.JobStatus) {
	want := map[string]int{}
	field := "UNIT="
	if user {
		field = "USER_UNIT="
	}
	args := []string{"--quiet", "--no-pager", "--reverse", "-o", "json", "--output-fields=UNIT,USER_UNIT", "MESSAGE_ID=" + unitSucceeded}
	if user {
		args = append(args, "--user")
	}
	for i, j := range jobs {
		if j.Failed() && j.LastSuccess.IsZero() {
			want[j.Service] = i
			args = append(args, field+j.Service)
		}
	}
	if len(want) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(e.ctx, journalTimeout)
	defer cancel()
	cmd := e.journalctl(ctx, host, args...)
	r, err := cmd.StdoutPipe()
	if err != nil || cmd.Start() != nil {
		return
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	br := bufio.NewReader(r)
	for len(want) > 0 {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return
		}
		var entry struct {
			Unit     string `json:"UNIT"`
			UserUnit string `json:"USER_UNIT"`
			Realtime string `json:"__REALTIME_TIMESTAMP"`
		}
		if json.Unmarshal(line, &entry) != nil {
			continue
		}
		u := entry.Unit
		if user {
			u = entry.UserUnit
		}
		i, ok := want[u]
		if !ok {
			continue
		}
		us, err := strconv.ParseInt(entry.Realtime, 10, 64)
		if err != nil {
			continue
		}
		jobs[i].LastSuccess = time.UnixMicro(us)
		delete(want, u)
	}
}

// runsStart returns the cursor of the first journal entry of the last n
// runs of unit (by invocation ID), or "" if the journal holds none.
func (e *env) runsStart(host *transient.Host, user bool, unit string, n int) (string, error) {
	ctx, cancel := context.WithTimeout(e.ctx, journalTimeout)
	defer cancel()
	args := []string{"--quiet", "--no-pager", "--reverse", "-o", "json", "--output-fields=_SYSTEMD_INVOCATION_ID,INVOCATION_ID,_SYSTEMD_USER_UNIT"}
	if user {
		args = append(args, "--user", "--user-unit="+unit)
	} else {
		args = append(args, "--unit="+unit)
	}
	cmd := e.journalctl(ctx, host, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	r, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("logs: reading the journal: %w", err)
	}
	br := bufio.NewReader(r)
	seen := map[string]bool{}
	cursor := ""
	complete := false // the reading stopped at an older run
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			break
		}
		var entry struct {
			Cursor string `json:"__CURSOR"`
			Inv    string `json:"_SYSTEMD_INVOCATION_ID"`
			MgrInv string `json:"INVOCATION_ID"`
		}
		if json.Unmarshal(line, &entry) != nil {
			continue
		}
		inv := entry.Inv
		if inv == "" {
			inv = entry.MgrInv
		}
		if inv != "" && !seen[inv] {
			if len(seen) == n {
				complete = true
				break
			}
			seen[inv] = true
		}
		if len(seen) > 0 {
			cursor = entry.Cursor
		}
	}
	if complete {
		cancel() // the older runs are not needed
	}
	werr := cmd.Wait()
	if !complete && werr != nil && len(seen) == 0 {
		return "", fmt.Errorf("logs: reading the journal: %v: %s", werr, lastLine(stderr.String()))
	}
	return cursor, nil
}
