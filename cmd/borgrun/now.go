package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/pflag"
)

const nowHelp = `Usage: borgrun now [options] [-- COMMAND [ARGS...]]

Runs COMMAND now in a transient service (borgrun-NAME-now.service) with the
same service settings as a scheduled run (but no AC-power condition unless
--ac-only), streams its output, waits for it, prints a summary as
systemd-run --wait does, and exits with the command's exit status (255 if it
was killed by a signal, 1 for other failures). Ctrl-C or SIGTERM stop the
unit (borg writes a checkpoint), wait for it to end, and exit 130 or 143.
It never runs beside the scheduled run of the same NAME: if that is running,
now says so and exits 1, or waits for it with --wait-running.

With -H, on each host's system manager over ssh: the output goes to the
host's journal and is followed there (stdout and stderr merged, on
stdout); with one host the exit status is the command's, with several each
line is prefixed with "HOST: " and the exit status is 1 if it failed on any.
With -M NAME, in the local container NAME: the container's bus passes
file descriptors, so the output comes live to stdout and stderr as
without -M (followed in its journal only when the container has no bus);
-H HOST/MACHINE is followed in the container's journal.

Examples:
  borgrun now
  borgrun now --quiet -- /usr/bin/borgmatic --verbosity 1
  borgrun now --name offsite --wait-running -- /usr/bin/borgmatic -c /etc/borgmatic/offsite.yaml
  borgrun now -H root@db1 -- borgmatic --verbosity 1
  borgrun now -M web1 -- /usr/bin/borgmatic --verbosity 1
`

type nowFlags struct {
	jobFlags
	quiet       bool
	acOnly      bool
	waitRunning bool
	detach      bool
}

func newNowFlags() (*pflag.FlagSet, *nowFlags) {
	f := &nowFlags{}
	fs := newFlagSet("now")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print no unit name and no summary")
	fs.BoolVar(&f.acOnly, "ac-only", false, "skip the run unless on AC power (ConditionACPower=true)")
	fs.BoolVar(&f.waitRunning, "wait-running", false, "if the scheduled run of NAME is running, wait for it to end first")
	fs.BoolVar(&f.detach, "detach", false, "start the run and return; it goes on under systemd (its output goes to the journal)")
	f.jobFlags.add(fs)
	return fs, f
}

// runNow returns the command's exit status, or an error from borgrun itself.
func (e *env) runNow(args []string) (int, error) {
	fs, f := newNowFlags()
	if err := parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			e.printHelp(fs, nowHelp)
		}
		return 0, err
	}
	b, _, err := e.job("now", &f.jobFlags, fs.Args())
	if err != nil {
		return 0, err
	}
	b.ACPowerOnly = f.acOnly
	if len(f.targets) > 0 {
		return e.nowHosts(b, f)
	}

	dial := e.dialOptions(f.managerFlags)
	dial.Wait = true
	c, err := e.connect(dial)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	props, hooks, err := e.nowProps(c, b, f)
	if err != nil {
		return 0, err
	}
	if f.detach {
		return 0, e.detach(c, b, props, hooks, f.quiet, "journalctl -fu "+b.NowUnit())
	}
	out, err := e.outputs(c)
	if err != nil {
		return 0, err
	}
	props = append(props, out.props...)
	if !f.quiet {
		fmt.Fprintf(e.stderr, "Running as unit: %s\n", b.NowUnit())
	}
	res, err := c.RunAux(e.ctx, b.NowUnit(), props, hooks)
	out.close()
	return e.nowResult(c, b, f, res, err)
}

// nowProps prepares b's run now on the manager c is connected to, here or
// on a host: it checks b for that manager's version, drops the inhibitor
// where no logind would take its lock, refuses (or waits, with
// --wait-running) while the scheduled run of b is in progress, and returns
// the service's properties and its hook units, to create with it.
func (e *env) nowProps(c *transient.Conn, b *backup.Job, f *nowFlags) ([]transient.Property, []transient.AuxUnit, error) {
	// The three questions depend on nothing and go out together: one
	// round trip (a second only if the scheduled service is loaded, for
	// its state). The run's start and its end's read follow: 3 in all.
	var wg sync.WaitGroup
	var running bool
	var runErr error
	wg.Go(func() { running, runErr = c.Running(e.ctx, b.ServiceUnit()) })
	logind := e.askLogind(c, b, &wg)
	v, err := e.checkJob("now", c, b)
	wg.Wait()
	if err != nil {
		return nil, nil, err
	}
	e.checkInhibitor(b, logind)
	if runErr != nil {
		return nil, nil, runErr
	}
	if running {
		if err := e.besideScheduled(c, b, f.waitRunning, f.quiet); err != nil {
			return nil, nil, err
		}
	}
	props, err := b.Service(v, "exec")
	if err != nil {
		return nil, nil, err
	}
	hooks, err := b.HookUnits(v, b.NowUnit())
	return props, hooks, err
}

// nowResult turns how now's unit ended into borgrun's exit status, as
// systemd-run --wait does, after the summary: 128+N when borgrun itself
// was stopped by signal N, else the command's status. It adds a line when
// the unit did not run (a condition) or probably failed to start because
// the manager could not apply its settings.
func (e *env) nowResult(c *transient.Conn, b *backup.Job, f *nowFlags, res *transient.Result, err error) (int, error) {
	if errors.Is(err, transient.ErrUnitExists) {
		return 0, e.alreadyRunning(c, b)
	}
	var exitErr *transient.ExitError
	if res == nil || (err != nil && !errors.As(err, &exitErr) && e.ctx.Err() == nil) {
		return 0, err
	}
	if !f.quiet {
		e.summary(res, true, props.OldestVersion)
	}
	if code, ok := e.signalExit(); ok {
		return code, nil
	}
	if !res.Ran {
		fmt.Fprintf(e.stderr, "borgrun: %s did not run: a condition was not met\n", b.NowUnit())
	}
	if sf := transient.SetupFailureOf(res); sf != nil && (sf.Priority && b.Priority != backup.Normal || !sf.Priority && f.hardening != string(backup.ProfileOff)) {
		fmt.Fprintf(e.stderr, "borgrun: %s probably did not start: %s\n", b.NowUnit(), setupAdvice(sf, f.hardening, b.Priority))
	}
	return res.ExitStatus(), nil
}

// alreadyRunning is now's error when the run's unit exists already:
// another borgrun now of the job runs, or the hook of an earlier run still
// runs (a running hook keeps the service that names it loaded).
func (e *env) alreadyRunning(c *transient.Conn, b *backup.Job) error {
	if running, err := c.Running(e.ctx, b.NowUnit()); err == nil && !running {
		for _, k := range backup.HookKinds() {
			h := backup.HookUnit(b.NowUnit(), k)
			if running, err := c.Running(e.ctx, h); err == nil && running {
				return fmt.Errorf("now: %s, the %s hook of an earlier borgrun now --name %s, is still running; run again once it is done", h, k, b.Name)
			}
		}
	}
	return fmt.Errorf("now: %s is already running (another borgrun now --name %s)", b.NowUnit(), b.Name)
}

// detach starts the run, and creates its hook units, and returns once it
// has started. The units unload themselves when they end
// (CollectMode=inactive-or-failed); the output goes to the journal.
func (e *env) detach(c *transient.Conn, b *backup.Job, props []transient.Property, hooks []transient.AuxUnit, quiet bool, follow string) error {
	props = append(props, transient.Property{Name: "CollectMode", Value: dbus.MakeVariant("inactive-or-failed")})
	err := c.StartTransient(e.ctx, b.NowUnit(), props, hooks, true)
	if errors.Is(err, transient.ErrUnitExists) {
		return e.alreadyRunning(c, b)
	}
	if err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(e.stderr, "Started %s; follow it with: %s\n", b.NowUnit(), follow)
	}
	return nil
}

// besideScheduled refuses (or, with wait, waits) now that the scheduled
// service of the same job was found running.
func (e *env) besideScheduled(c *transient.Conn, b *backup.Job, wait, quiet bool) error {
	if !wait {
		return fmt.Errorf("now: the scheduled run of %s (%s) is in progress; use --wait-running to run after it", b.Name, b.ServiceUnit())
	}
	if !quiet {
		fmt.Fprintf(e.stderr, "Waiting for the scheduled run %s to end...\n", b.ServiceUnit())
	}
	return c.WaitIdle(e.ctx, b.ServiceUnit())
}

// summary prints what systemd-run of version v --wait prints when a
// service has ended (run passes the manager's version; now passes
// props.OldestVersion, the format its output keeps). With always (now),
// the result and runtime lines are printed even when systemd-run would
// leave them out, and a plain termination by signal is not.
//
// Per version: 252 prints "code=exited/status=7" and one line per figure;
// 255 adds the memory peak; 257 names exit statuses ("code=exited,
// status=7/NOTRUNNING", props.ExitStatusName) and prints the IP and IO
// figures on one line each, leaving out zeros; 262 (from 258, assumed:
// the versions between were not compared) prints the lot as a vertical
// table, the field names right-aligned.
func (e *env) summary(r *transient.Result, always bool, v props.Version) {
	var rows [][2]string
	add := func(field, value string) { rows = append(rows, [2]string{field, value}) }
	if r.Result != "" || always {
		add("Finished with result", r.Result)
	}
	switch {
	case r.Code == "":
	case v >= props.V257:
		name := props.SignalName(int(r.Status))
		if r.Code == "exited" {
			name = props.ExitStatusName(int(r.Status), v)
		}
		if name == "" {
			name = "n/a"
		}
		add("Main processes terminated with", fmt.Sprintf("code=%s, status=%d/%s", r.Code, uint32(r.Status), name))
	case r.Code == "exited":
		add("Main processes terminated with", fmt.Sprintf("code=exited/status=%d", r.Status))
	case !always || r.Code == "killed" || r.Code == "dumped":
		add("Main processes terminated with", fmt.Sprintf("code=%s/status=%s", r.Code, props.SignalName(int(r.Status))))
	}
	if r.Runtime > 0 || always {
		add("Service runtime", formatSpan(r.Runtime, time.Millisecond))
	}
	if r.CPU >= 0 {
		add("CPU time consumed", formatSpan(r.CPU, time.Millisecond))
	}
	if v >= props.V255 && r.MemoryPeak != math.MaxUint64 {
		swap := ""
		if r.MemorySwapPeak != math.MaxUint64 {
			swap = " (swap: " + formatBytes(r.MemorySwapPeak) + ")"
		}
		add("Memory peak", formatBytes(r.MemoryPeak)+swap)
	}
	if v < props.V257 {
		for _, l := range []struct {
			what string
			n    uint64
		}{{"IP traffic received", r.IPIngressBytes}, {"IP traffic sent", r.IPEgressBytes}, {"IO bytes read", r.IOReadBytes}, {"IO bytes written", r.IOWriteBytes}} {
			if l.n != math.MaxUint64 {
				add(l.what, formatBytes(l.n))
			}
		}
	} else {
		// 257: "IP traffic received: 1K sent: 2K"; 258 and later:
		// "IP Traffic: received 1K, sent 2K". Zeros are left out.
		pair := func(field, tableField, a, b string, na, nb uint64) {
			var parts []string
			for _, x := range []struct {
				what string
				n    uint64
			}{{a, na}, {b, nb}} {
				if x.n != 0 && x.n != math.MaxUint64 {
					parts = append(parts, x.what+" "+formatBytes(x.n))
				}
			}
			switch {
			case len(parts) == 0:
			case v >= summaryTableVersion:
				add(tableField, strings.Join(parts, ", "))
			default:
				first, rest, _ := strings.Cut(parts[0], " ")
				line := []string{rest}
				for _, p := range parts[1:] {
					what, n, _ := strings.Cut(p, " ")
					line = append(line, what+": "+n)
				}
				add(field+" "+first, strings.Join(line, " "))
			}
		}
		pair("IP traffic", "IP Traffic", "received", "sent", r.IPIngressBytes, r.IPEgressBytes)
		pair("IO bytes", "IO Bytes", "read", "written", r.IOReadBytes, r.IOWriteBytes)
	}

	if v < summaryTableVersion {
		for _, row := range rows {
			fmt.Fprintf(e.stderr, "%s: %s\n", row[0], row[1])
		}
		return
	}
	// A vertical table (format-table.c): the fields with a colon,
	// right-aligned to the longest, a space, the values; printed, not
	// logged, so with plain "\n" line ends even on a terminal.
	out := e.stderr
	if c, ok := out.(crlfWriter); ok {
		out = c.w
	}
	width := 0
	for _, row := range rows {
		width = max(width, len(row[0])+1)
	}
	for _, row := range rows {
		fmt.Fprintf(out, "%*s %s\n", width, row[0]+":", row[1])
	}
}

// summaryTableVersion is the first systemd-run whose --wait summary is a
// table: 262's is, 257's is not; 258 is assumed (not compared).
const summaryTableVersion = props.V258

// outputs hands the service our stdout and stderr, as systemd-run --pipe
// does: an *os.File is passed as is; any other writer gets a pipe whose
// contents are copied to it.
type outputs struct {
	props  []transient.Property
	closes []func()
}

func (o *outputs) close() {
	for _, c := range o.closes {
		c()
	}
}

func (e *env) outputs(c *transient.Conn) (*outputs, error) {
	o := &outputs{}
	if !c.PassesFDs() {
		return o, nil
	}
	for _, s := range []struct {
		prop string
		w    io.Writer
	}{{"StandardOutputFileDescriptor", e.stdout}, {"StandardErrorFileDescriptor", e.stderr}} {
		f, ok := s.w.(*os.File)
		if !ok {
			r, pw, err := os.Pipe()
			if err != nil {
				o.close()
				return nil, err
			}
			done := make(chan struct{})
			go func() { _, _ = io.Copy(s.w, r); close(done) }()
			f = pw
			o.closes = append(o.closes, func() {
				pw.Close()
				// The manager holds its copy until the unit is
				// unloaded; bound the wait for the last bytes.
				select {
				case <-done:
				case <-time.After(5 * time.Second):
				}
				r.Close()
			})
		}
		o.props = append(o.props, transient.Property{Name: s.prop, Value: dbus.MakeVariant(dbus.UnixFD(f.Fd()))})
	}
	return o, nil
}
