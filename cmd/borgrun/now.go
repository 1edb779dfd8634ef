package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
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

Examples:
  borgrun now
  borgrun now --quiet -- /usr/bin/borgmatic --verbosity 1
  borgrun now --name offsite --wait-running -- /usr/bin/borgmatic -c /etc/borgmatic/offsite.yaml
  borgrun now -H root@db1 -- borgmatic --verbosity 1
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
	v, err := e.checkJob("now", c, b)
	if err != nil {
		return nil, nil, err
	}
	e.checkInhibitor(c, b)
	if err := e.notBesideScheduled(c, b, f.waitRunning, f.quiet); err != nil {
		return nil, nil, err
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
		e.summary(res, true)
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
		for _, k := range backup.Hooks {
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

// notBesideScheduled refuses (or, with wait, waits) while the scheduled
// service of the same job is running.
func (e *env) notBesideScheduled(c *transient.Conn, b *backup.Job, wait, quiet bool) error {
	running, err := c.Running(e.ctx, b.ServiceUnit())
	if err != nil || !running {
		return err
	}
	if !wait {
		return fmt.Errorf("now: the scheduled run of %s (%s) is in progress; use --wait-running to run after it", b.Name, b.ServiceUnit())
	}
	if !quiet {
		fmt.Fprintf(e.stderr, "Waiting for the scheduled run %s to end...\n", b.ServiceUnit())
	}
	return c.WaitIdle(e.ctx, b.ServiceUnit())
}

// summary prints what systemd-run 252 --wait prints when a service has
// ended: the result, how the main process ended, and the figures that are
// known. always is borgrun now's form: the result and runtime lines even
// when unknown, and the exit line only for a process that exited, was
// killed or dumped core.
func (e *env) summary(r *transient.Result, always bool) {
	w := e.stderr
	if r.Result != "" || always {
		fmt.Fprintf(w, "Finished with result: %s\n", r.Result)
	}
	switch r.Code {
	case "":
	case "exited":
		fmt.Fprintf(w, "Main processes terminated with: code=exited/status=%d\n", r.Status)
	default:
		if !always || r.Code == "killed" || r.Code == "dumped" {
			fmt.Fprintf(w, "Main processes terminated with: code=%s/status=%s\n", r.Code, props.SignalName(int(r.Status)))
		}
	}
	if r.Runtime > 0 || always {
		fmt.Fprintf(w, "Service runtime: %s\n", formatSpan(r.Runtime, time.Millisecond))
	}
	if r.CPU >= 0 {
		fmt.Fprintf(w, "CPU time consumed: %s\n", formatSpan(r.CPU, time.Millisecond))
	}
	for _, l := range []struct {
		what string
		n    uint64
	}{{"IP traffic received", r.IPIngressBytes}, {"IP traffic sent", r.IPEgressBytes}, {"IO bytes read", r.IOReadBytes}, {"IO bytes written", r.IOWriteBytes}} {
		if l.n != math.MaxUint64 {
			fmt.Fprintf(w, "%s: %s\n", l.what, formatBytes(l.n))
		}
	}
}

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
