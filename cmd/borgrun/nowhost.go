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
	"github.com/borgrun/borgrun/transient/backup"
)

// now -H: no file descriptor crosses ssh, so the service's output goes to
// the remote journal as a scheduled run's does, and borgrun follows it
// there with journalctl over ssh to the same host: from a cursor taken
// before the unit starts, entries of the unit (_SYSTEMD_UNIT=), which can
// only be this run's, since a now unit never runs twice at once. When the
// unit has ended, the follower is stopped and a last pass prints what it
// had not yet shown. stdout and stderr arrive merged, on stdout.
//
// journalctl 252's --after-cursor skips the first matching entry when the
// cursor's own entry does not match; hence --cursor (from the cursor's
// entry on), skipping that entry itself.

// nowHosts is now on remote hosts: with one, the command's output and
// exit status as without -H; with several, each host's lines prefixed
// with "HOST: ", and exit status 1 if the command failed on any.
func (e *env) nowHosts(b *backup.Job, f *nowFlags) (int, error) {
	if len(f.targets) == 1 {
		h := f.targets[0]
		d := e.hostDial(h)
		d.Wait = true
		c, err := transient.Dial(e.ctx, d)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		hb := *b
		if _, err := e.hostHardening(h, &hb, &f.jobFlags); err != nil {
			return 0, err
		}
		return e.nowOn(c, h, &hb, f)
	}
	var mu sync.Mutex
	return 0, e.fanOut(f.targets, f.parallel, true, false, func(h transient.Host, c *transient.Conn, _ io.Writer) (any, error) {
		he := *e
		w := &prefixWriter{mu: &mu, w: e.stdout, prefix: h.String() + ": "}
		defer w.flush()
		he.stdout, he.stderr = w, w
		hb := *b
		if _, err := e.hostHardening(h, &hb, &f.jobFlags); err != nil {
			return nil, err
		}
		code, err := he.nowOn(c, h, &hb, f)
		if err == nil && code != 0 {
			err = fmt.Errorf("exit status %d", code)
		}
		return nil, err
	})
}

// nowOn runs b now on host h, whose manager c is connected to, following
// its output in h's journal.
func (e *env) nowOn(c *transient.Conn, h transient.Host, b *backup.Job, f *nowFlags) (int, error) {
	props, hooks, err := e.nowProps(c, b, f)
	if err != nil {
		return 0, err
	}
	if f.detach {
		return 0, e.detach(c, b, props, hooks, f.quiet, "ssh "+h.String()+" journalctl -fu "+b.NowUnit())
	}
	j := &journalFollower{e: e, host: h, unit: b.NowUnit()}
	if err := j.start(); err != nil {
		return 0, err
	}
	if !f.quiet {
		fmt.Fprintf(e.stderr, "Running as unit: %s on %s (output from its journal)\n", b.NowUnit(), h)
	}
	res, err := c.RunAux(e.ctx, b.NowUnit(), props, hooks)
	j.finish(res != nil)
	return e.nowResult(c, b, f, res, err)
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
	cmd := j.host.Command(ctx, j.e.ssh, "journalctl", "--quiet", "--no-pager", "-n", "1", "-o", "json", "--output-fields=__CURSOR")
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
	j.cmd = j.host.Command(context.WithoutCancel(j.e.ctx), j.e.ssh, j.args(true)...)
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
	a := []string{"journalctl", "--quiet", "--no-pager", "-o", "json", "--output-fields=MESSAGE", "_SYSTEMD_UNIT=" + j.unit}
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
	cmd := j.host.Command(ctx, j.e.ssh, append([]string{"sh", "-c", script, "sh"}, j.args(false)...)...)
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

// prefixWriter writes whole lines to w, each prefixed, under mu (shared
// by the writers of several hosts).
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
}

// flush writes a last partial line.
func (p *prefixWriter) flush() {
	p.mu.Lock()
	partial := len(p.buf) > 0
	p.mu.Unlock()
	if partial {
		_, _ = p.Write([]byte{'\n'})
	}
}
