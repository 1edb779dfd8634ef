package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"

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

// now -M: a container's bus, reached by path (transient/machine.go),
// carries file descriptors, so the service writes to borgrun's own stdout
// and stderr as it does without -M: live, unbuffered, the two kept apart,
// and independent of the container's journal. Only a container reached
// through its bridge (no bus in it) is followed in its journal, as a host
// is, with its own journalctl.

// nowOn runs b now on host h, whose manager c is connected to: with its
// output passed to ours when c can pass file descriptors (a container
// here), else following it in h's journal.
func (e *env) nowOn(c *transient.Conn, h transient.Host, b *backup.Job, f *nowFlags) (int, error) {
	props, hooks, err := e.nowProps(c, b, f)
	if err != nil {
		return 0, err
	}
	follow := "ssh " + h.String() + " journalctl -fu " + b.NowUnit()
	if h.Name == "" {
		follow = "journalctl -M " + h.Machine + " -fu " + b.NowUnit()
	}
	if f.detach {
		return 0, e.detach(c, b, props, hooks, f.quiet, follow)
	}
	if c.PassesFDs() {
		out, err := e.outputs(c)
		if err != nil {
			return 0, err
		}
		props = append(props, out.props...)
		if !f.quiet {
			fmt.Fprintf(e.stderr, "Running as unit: %s on %s\n", b.NowUnit(), h)
		}
		res, err := c.RunAux(e.ctx, b.NowUnit(), props, hooks)
		out.close()
		return e.nowResult(c, b, f, res, err)
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
