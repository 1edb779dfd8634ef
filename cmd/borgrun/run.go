package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/godbus/dbus/v5"
	"github.com/spf13/pflag"
)

// version is the program's version, printed by --version.
const version = "0.1.0"

const usage = `borgrun runs backups as transient systemd units: no unit files, one
StartTransientUnit call per schedule.

Usage:
  borgrun schedule [options] [-- COMMAND [ARGS...]]   run COMMAND on a timer
  borgrun now [options] [-- COMMAND [ARGS...]]        run COMMAND now, wait, exit with its status
  borgrun help [COMMAND]
  borgrun --version

COMMAND defaults to the borgmatic found in PATH. Run "borgrun help COMMAND"
for a command's options and examples.
`

// Exit statuses of borgrun itself (the command's own status is passed
// through by "now").
const (
	exitFailure = 1 // the manager refused, or something else went wrong
	exitUsage   = 2 // bad input: nothing was created
)

// signalCause is the cancellation cause main sets when a signal arrives.
type signalCause struct{ sig os.Signal }

func (s signalCause) Error() string { return "received " + s.sig.String() }

// usageError is bad input: reported on one line, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// env is what a command needs from its surroundings.
type env struct {
	ctx            context.Context
	stdout, stderr io.Writer
	now            func() time.Time
	lookPath       func(string) (string, error)
	dial           transient.DialOptions
}

// run is borgrun with its arguments (without the program name); it returns
// the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, now: time.Now, lookPath: exec.LookPath}
	return e.main(args)
}

func (e *env) main(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "schedule":
		err = e.schedule(rest)
	case "now":
		var code int
		code, err = e.runNow(rest)
		if err == nil {
			return code
		}
	case "help", "-h", "--help":
		err = e.help(rest)
	case "--version", "version":
		fmt.Fprintln(e.stdout, "borgrun", version)
	default:
		err = usagef("unknown command %q (want schedule, now, help)", cmd)
	}
	return e.report(err)
}

// report prints err on one line and returns the exit status it calls for.
func (e *env) report(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(e.stderr, "borgrun:", ue.msg)
		return exitUsage
	default:
		fmt.Fprintln(e.stderr, "borgrun:", strings.ReplaceAll(err.Error(), "\n", "; "))
		return exitFailure
	}
}

func (e *env) help(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stdout, usage)
		return nil
	}
	switch args[0] {
	case "schedule":
		fs, _ := newScheduleFlags()
		e.printHelp(fs, scheduleHelp)
	case "now":
		fs, _ := newNowFlags()
		e.printHelp(fs, nowHelp)
	default:
		return usagef("help: unknown command %q (want schedule, now)", args[0])
	}
	return nil
}

func (e *env) printHelp(fs *pflag.FlagSet, text string) {
	fmt.Fprint(e.stdout, text, "\nOptions:\n", fs.FlagUsages())
}

// jobFlags are the options shared by schedule and now.
type jobFlags struct {
	name    string
	nameSet bool // --name was given (possibly empty)
	inhibit string
}

func (j *jobFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&j.name, "name", "", "job name; units are borgrun-NAME.* (default: borgmatic, or the command's base name)")
	fs.StringVar(&j.inhibit, "inhibit", "block", "block sleep and shutdown while the backup runs: block|no")
}

// newFlagSet returns a flag set that reports errors (we print them) and
// stops at the first non-flag argument, so COMMAND's own flags are kept.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(false)
	fs.SortFlags = false
	return fs
}

// parse parses args into fs, turning pflag's errors into usage errors.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// backup builds the job from the shared flags and the command line after
// the flags, resolving the command as systemd-run does (argv[0] made
// absolute with the caller's PATH).
func (e *env) backup(cmd string, j *jobFlags, argv []string) (*transient.Backup, error) {
	if len(argv) == 0 {
		path, err := e.lookPath("borgmatic")
		if err != nil {
			return nil, usagef("%s: no command given and borgmatic not found in PATH; give one after --", cmd)
		}
		argv = []string{path}
	} else {
		path, err := e.lookPath(argv[0])
		if err != nil {
			return nil, usagef("%s: command %q not found or not executable", cmd, argv[0])
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, usagef("%s: command %q: %v", cmd, argv[0], err)
		}
		argv = append([]string{abs}, argv[1:]...)
	}
	name := j.name
	if !j.nameSet {
		name = "borgmatic"
		if base := filepath.Base(argv[0]); transient.ValidName(base) == nil {
			name = base
		}
	}
	if err := transient.ValidName(name); err != nil {
		return nil, usagef("%s: --name: %v", cmd, err)
	}
	b := &transient.Backup{Name: name, Command: argv}
	switch j.inhibit {
	case "block":
		inh, err := e.lookPath("systemd-inhibit")
		if err != nil {
			return nil, usagef("%s: --inhibit=block needs systemd-inhibit, not found in PATH (use --inhibit=no)", cmd)
		}
		b.Inhibitor = inh
	case "no":
	default:
		return nil, usagef("%s: --inhibit: %q is not block or no", cmd, j.inhibit)
	}
	return b, nil
}

const scheduleHelp = `Usage: borgrun schedule [options] [-- COMMAND [ARGS...]]

Creates borgrun-NAME.timer and borgrun-NAME.service, as transient units, in
one StartTransientUnit call. Nothing is written to disk; re-run the same
command at boot to re-arm the schedule (Persistent= catches up on a run
missed while the machine was off, because the names are stable).

Examples:
  borgrun schedule --daily
  borgrun schedule --weekly --name offsite -- /usr/bin/borgmatic -c /etc/borgmatic/offsite.yaml
  borgrun schedule --on-calendar 'Mon..Fri 12:30' --randomized-delay 0 -- /usr/local/bin/backup.sh
`

type scheduleFlags struct {
	jobFlags
	hourly, daily, weekly, monthly bool
	calendars                      []string
	randomizedDelay                string
	noPersistent                   bool
	allowBattery                   bool
}

func newScheduleFlags() (*pflag.FlagSet, *scheduleFlags) {
	f := &scheduleFlags{}
	fs := newFlagSet("schedule")
	fs.BoolVar(&f.hourly, "hourly", false, "run every hour (OnCalendar=hourly)")
	fs.BoolVar(&f.daily, "daily", false, "run every day (OnCalendar=daily)")
	fs.BoolVar(&f.weekly, "weekly", false, "run every week (OnCalendar=weekly)")
	fs.BoolVar(&f.monthly, "monthly", false, "run every month (OnCalendar=monthly)")
	fs.StringArrayVar(&f.calendars, "on-calendar", nil, "run at these times (systemd calendar spec; repeatable)")
	fs.StringVar(&f.randomizedDelay, "randomized-delay", "10m", "spread the start over this span (0 = off)")
	fs.BoolVar(&f.noPersistent, "no-persistent", false, "do not catch up on runs missed while the machine was off")
	fs.BoolVar(&f.allowBattery, "allow-battery", false, "also run on battery (drops ConditionACPower=true)")
	f.jobFlags.add(fs)
	return fs, f
}

func (e *env) schedule(args []string) error {
	fs, f := newScheduleFlags()
	if err := parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			e.printHelp(fs, scheduleHelp)
		}
		return err
	}
	var specs []string
	for _, s := range []struct {
		on   bool
		spec string
	}{{f.hourly, "hourly"}, {f.daily, "daily"}, {f.weekly, "weekly"}, {f.monthly, "monthly"}} {
		if s.on {
			specs = append(specs, s.spec)
		}
	}
	specs = append(specs, f.calendars...)
	if len(specs) == 0 {
		return usagef("schedule: say when: --hourly, --daily, --weekly, --monthly or --on-calendar SPEC")
	}
	now := e.now()
	var normalized []string
	for _, s := range specs {
		cal, err := props.ValidateCalendar(s, now)
		if err != nil {
			return usagef("schedule: --on-calendar: %v", err)
		}
		normalized = append(normalized, cal.String())
	}
	delay, err := props.ParseTimespan(f.randomizedDelay)
	if err != nil || delay == math.MaxUint64 {
		return usagef("schedule: --randomized-delay %q: want a time span such as 10m, 1h 30min or 0", f.randomizedDelay)
	}
	f.nameSet = fs.Changed("name")
	b, err := e.backup("schedule", &f.jobFlags, fs.Args())
	if err != nil {
		return err
	}
	b.Calendars = specs
	b.Persistent = !f.noPersistent
	b.RandomizedDelay = time.Duration(delay) * time.Microsecond
	b.ACPowerOnly = !f.allowBattery

	c, err := transient.Dial(e.ctx, e.dial)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StartTimer(e.ctx, b.TimerUnit(), b.Timer(), b.ServiceUnit(), b.Service("oneshot")); err != nil {
		return err
	}
	st, err := c.Timer(e.ctx, b.TimerUnit())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "scheduled %s: %s triggers %s\n", b.Name, b.TimerUnit(), b.ServiceUnit())
	fmt.Fprintf(e.stdout, "  when:    %s\n", strings.Join(normalized, "; "))
	fmt.Fprintf(e.stdout, "  command: %s\n", strings.Join(b.Command, " "))
	fmt.Fprintf(e.stdout, "  next run %s\n", formatNext(st.Next, e.now()))
	return nil
}

const nowHelp = `Usage: borgrun now [options] [-- COMMAND [ARGS...]]

Runs COMMAND now in a transient service (borgrun-NAME-now.service), streams
its output, waits for it, prints a summary as systemd-run --wait does, and
exits with the command's exit status (255 if it was killed by a signal, 1
for other failures). Ctrl-C or SIGTERM stop the unit, wait for it to end,
and exit 130 or 143.

Examples:
  borgrun now
  borgrun now --quiet -- /usr/bin/borgmatic --verbosity 1
`

type nowFlags struct {
	jobFlags
	quiet  bool
	acOnly bool
}

func newNowFlags() (*pflag.FlagSet, *nowFlags) {
	f := &nowFlags{}
	fs := newFlagSet("now")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "print no unit name and no summary")
	fs.BoolVar(&f.acOnly, "ac-only", false, "skip the run unless on AC power (ConditionACPower=true)")
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
	f.nameSet = fs.Changed("name")
	b, err := e.backup("now", &f.jobFlags, fs.Args())
	if err != nil {
		return 0, err
	}
	b.ACPowerOnly = f.acOnly

	dial := e.dial
	dial.Wait = true
	c, err := transient.Dial(e.ctx, dial)
	if err != nil {
		return 0, err
	}
	defer c.Close()

	props := b.Service("exec")
	out, err := e.outputs(c)
	if err != nil {
		return 0, err
	}
	props = append(props, out.props...)
	if !f.quiet {
		fmt.Fprintf(e.stderr, "Running as unit: %s\n", b.NowUnit())
	}
	res, err := c.Run(e.ctx, b.NowUnit(), props)
	out.close()
	var exitErr *transient.ExitError
	if res == nil || (err != nil && !errors.As(err, &exitErr) && e.ctx.Err() == nil) {
		return 0, err
	}
	if !f.quiet {
		e.summary(res)
	}
	var sc signalCause
	if errors.As(context.Cause(e.ctx), &sc) {
		if s, ok := sc.sig.(syscall.Signal); ok {
			return 128 + int(s), nil
		}
		return 130, nil
	}
	if !res.Ran {
		fmt.Fprintf(e.stderr, "borgrun: %s did not run: a condition was not met\n", b.NowUnit())
	}
	return res.ExitStatus(), nil
}

// summary prints what systemd-run --wait prints when a service has ended.
func (e *env) summary(r *transient.Result) {
	w := e.stderr
	fmt.Fprintf(w, "Finished with result: %s\n", r.Result)
	switch r.Code {
	case "exited":
		fmt.Fprintf(w, "Main processes terminated with: code=exited/status=%d\n", r.Status)
	case "killed", "dumped":
		fmt.Fprintf(w, "Main processes terminated with: code=%s/status=%s\n", r.Code, signalName(r.Status))
	}
	fmt.Fprintf(w, "Service runtime: %s\n", formatSpan(r.Runtime, time.Millisecond))
	if r.CPU >= 0 {
		fmt.Fprintf(w, "CPU time consumed: %s\n", formatSpan(r.CPU, time.Millisecond))
	}
	if r.IPIngressBytes != math.MaxUint64 {
		fmt.Fprintf(w, "IP traffic received: %s\n", formatBytes(r.IPIngressBytes))
	}
	if r.IPEgressBytes != math.MaxUint64 {
		fmt.Fprintf(w, "IP traffic sent: %s\n", formatBytes(r.IPEgressBytes))
	}
	if r.IOReadBytes != math.MaxUint64 {
		fmt.Fprintf(w, "IO bytes read: %s\n", formatBytes(r.IOReadBytes))
	}
	if r.IOWriteBytes != math.MaxUint64 {
		fmt.Fprintf(w, "IO bytes written: %s\n", formatBytes(r.IOWriteBytes))
	}
}

func signalName(n int32) string {
	names := map[int32]string{1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 6: "ABRT", 9: "KILL", 11: "SEGV", 13: "PIPE", 14: "ALRM", 15: "TERM"}
	if s, ok := names[n]; ok {
		return s
	}
	return fmt.Sprint(n)
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
