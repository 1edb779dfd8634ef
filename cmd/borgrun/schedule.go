package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/spf13/pflag"
)

const scheduleHelp = `Usage: borgrun schedule [options] [-- COMMAND [ARGS...]]

Creates borgrun-NAME.timer and borgrun-NAME.service, as transient units, in
one StartTransientUnit call. Nothing is written to disk. Running the same
command again is a no-op ("already scheduled, unchanged"), so a boot script
can re-arm the schedule on every boot; Persistent= then catches up on a run
missed while the machine was off, because the names are stable.

Defaults, each with its opt-out: Persistent=true (--no-persistent); a fixed
random delay of up to 10 minutes (--randomized-delay 0); no run within 5
minutes of boot (--boot-delay 0); AC power only (--allow-battery); after
network-online.target (--no-network-wait); background priority (--priority);
sleep and shutdown blocked while running (--inhibit=no).

With -H, on each host's system manager over ssh, in parallel: one line
per host, in the order given (--json: one object per host and line); the
command is resolved by the host's manager, and the hardening is derived
from the host's own borgmatic configuration. A host that fails is named
on stderr and the exit status is 1; the others are scheduled. -M NAME
does the same in the local container NAME (reached through
systemd-machined, as systemd-run -M), -H HOST/MACHINE in container MACHINE
on HOST: the hardening is derived from the container's own files and
tools.

--on-failure COMMAND and --on-success COMMAND run COMMAND (one string,
split as systemd splits ExecStart=) after a run that failed or succeeded,
in borgrun-NAME@on-failure.service / @on-success.service, created in the
same call; the hook gets MONITOR_SERVICE_RESULT, MONITOR_EXIT_STATUS,
MONITOR_INVOCATION_ID, ... and BORGRUN_JOB. Secrets do not go in -E:
use --passphrase-file, or --credential NAME=FILE with -E VAR=%d/NAME.

Before creating anything, schedule runs /bin/true once under the job's
sandbox and priority settings (borgrun-NAME:probe-*.service) and refuses, with
the option to use, if this service manager cannot apply them (some
containers and user managers: 226/NAMESPACE, 214/SETSCHEDULER, ...).

Examples:
  borgrun schedule --daily
  borgrun schedule --weekly --name offsite -- /usr/bin/borgmatic -c /etc/borgmatic/offsite.yaml
  borgrun schedule --on-calendar 'Mon..Fri 12:30' --randomized-delay 0 -- /usr/local/bin/backup.sh
  borgrun schedule --daily --dry-run
  borgrun schedule --daily --on-success 'curl -fsS -m 10 https://hc-ping.com/UUID' --on-failure 'curl -fsS -m 10 https://hc-ping.com/UUID/fail'
  borgrun schedule --daily -H root@db1 -H root@web1 -H root@backup.example.org:2222
  borgrun schedule --daily -M web1 -- /usr/bin/borgmatic -c /etc/borgmatic/config.yaml
`

type scheduleFlags struct {
	jobFlags
	hourly, daily, weekly, monthly bool
	calendars                      []string
	randomizedDelay                string
	accuracy                       string
	bootDelay                      string
	noPersistent                   bool
	allowBattery                   bool
	timerProperties                []string
	replace                        bool
	dryRun                         bool
	json                           bool
}

func newScheduleFlags() (*pflag.FlagSet, *scheduleFlags) {
	f := &scheduleFlags{}
	fs := newFlagSet("schedule")
	fs.BoolVar(&f.hourly, "hourly", false, "run every hour (OnCalendar=hourly)")
	fs.BoolVar(&f.daily, "daily", false, "run every day (OnCalendar=daily)")
	fs.BoolVar(&f.weekly, "weekly", false, "run every week (OnCalendar=weekly)")
	fs.BoolVar(&f.monthly, "monthly", false, "run every month (OnCalendar=monthly)")
	fs.StringArrayVar(&f.calendars, "on-calendar", nil, "run at these times (systemd calendar spec; repeatable)")
	fs.StringVar(&f.randomizedDelay, "randomized-delay", "10m", "spread the start over this span, fixed per machine (0 = off)")
	fs.StringVar(&f.accuracy, "accuracy", "", "timer accuracy (AccuracySec=; default systemd's 1min)")
	fs.StringVar(&f.bootDelay, "boot-delay", "5m", "hold back a run due less than this long after boot (0 = off)")
	fs.BoolVar(&f.noPersistent, "no-persistent", false, "do not catch up on runs missed while the machine was off")
	fs.BoolVar(&f.allowBattery, "allow-battery", false, "also run on battery (drops ConditionACPower=true)")
	f.jobFlags.add(fs)
	fs.StringArrayVar(&f.timerProperties, "timer-property", nil, "set a timer property NAME=VALUE, as systemd-run --timer-property (repeatable)")
	fs.BoolVar(&f.replace, "replace", false, "replace a different schedule of the same name (never kills a run in progress)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print both units and the next 3 runs; create nothing")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON (with -H, one object per host and line)")
	return fs, f
}

// scheduleResult is what schedule prints with --json.
type scheduleResult struct {
	Name      string    `json:"name"`
	Timer     string    `json:"timer"`
	Service   string    `json:"service"`
	Outcome   string    `json:"outcome"`
	Calendars []string  `json:"calendars"`
	Command   []string  `json:"command"`
	Next      time.Time `json:"next,omitzero"`
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
	var cals []*props.Calendar
	for _, s := range specs {
		cal, err := props.ValidateCalendar(s, now)
		if err != nil {
			return usagef("schedule: --on-calendar: %v", err)
		}
		cals = append(cals, cal)
	}
	delay, err := parseSpan("schedule", "randomized-delay", f.randomizedDelay)
	if err != nil {
		return err
	}
	var accuracy time.Duration
	if fs.Changed("accuracy") {
		if accuracy, err = parseSpan("schedule", "accuracy", f.accuracy); err != nil {
			return err
		}
	}
	bootDelay, err := parseSpan("schedule", "boot-delay", f.bootDelay)
	if err != nil {
		return err
	}
	if _, err := props.ParseAllFor(props.NewestVersion, props.Timer, f.timerProperties); err != nil {
		return usagef("schedule: --timer-property: %v", err)
	}
	for _, a := range f.timerProperties {
		// props sends OnCalendar= verbatim, as systemd-run does; we
		// check it as we check --on-calendar.
		if spec, ok := strings.CutPrefix(a, "OnCalendar="); ok && spec != "" {
			if _, err := props.ValidateCalendar(spec, now); err != nil {
				return usagef("schedule: --timer-property: %v", err)
			}
		}
	}
	b, sb, err := e.job("schedule", &f.jobFlags, fs.Args())
	if err != nil {
		return err
	}
	b.QuietSyslog()
	b.Calendars = specs
	b.Persistent = !f.noPersistent
	b.RandomizedDelay = delay
	b.Accuracy = accuracy
	b.BootDelay = bootDelay
	b.ACPowerOnly = !f.allowBattery
	b.TimerProperties = f.timerProperties
	if err := b.CheckSchedule(props.NewestVersion); err != nil {
		return usagef("schedule: %v", err)
	}

	if f.dryRun && len(f.targets) > 0 {
		return e.dryRunHosts(b, &f.jobFlags, cals, now)
	}
	if f.dryRun {
		return e.dryRun(b, sb, cals, now)
	}
	if len(f.targets) > 0 {
		return e.fanOut(f.targets, f.parallel, false, f.json, func(h transient.Host, c *transient.Conn, w io.Writer) (any, error) {
			hb := *b // this host's sandbox; checkInhibitor may change it
			if _, err := e.hostHardening(h, &hb, &f.jobFlags); err != nil {
				return nil, err
			}
			he := *e
			he.stdout, he.stderr = w, w
			r, err := he.scheduleOn(c, &hb, f.replace, f.hardening)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(w, "%s %s: %s triggers %s; next run %s\n", outcomeWord(r.Outcome),
				r.Name, r.Timer, r.Service, formatNext(r.Next, e.now()))
			return r, nil
		})
	}
	c, err := e.connect(e.dialOptions(f.managerFlags))
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := e.scheduleOn(c, b, f.replace, f.hardening)
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(e.stdout, "%s %s: %s triggers %s\n", outcomeWord(r.Outcome), b.Name, b.TimerUnit(), b.ServiceUnit())
	fmt.Fprintf(e.stdout, "  when:    %s\n", strings.Join(r.Calendars, "; "))
	fmt.Fprintf(e.stdout, "  command: %s\n", strings.Join(b.Command, " "))
	fmt.Fprintf(e.stdout, "  next run %s\n", formatNext(r.Next, e.now()))
	return nil
}

// outcomeWord starts schedule's report of an outcome.
func outcomeWord(o string) string {
	switch backup.Outcome(o) {
	case backup.Unchanged:
		return "already scheduled, unchanged:"
	case backup.Replaced:
		return "replaced"
	}
	return "scheduled"
}

// scheduleOn creates b's schedule on the manager c is connected to.
//
// Its round trips, beyond the connection's (over -H, each costs the link's
// round-trip time): a pair to be created costs 4, an unchanged one 2.
//  1. The questions that depend on nothing: the manager's version (the
//     encoding of every unit), whether it has logind (the inhibitor) and
//     what is loaded under the job's names (backup.Look), sent together.
//  2. Only if something is loaded: whether it is ours, its fingerprint and
//     the timer's status, read together (they need the names loaded).
//  3. The probe (only for a pair to be created): its start; the outcome
//     comes in its signals, with nothing to read after a success. It
//     needs the version and the lookup's answer (no probe if unchanged).
//  4. The pair's creation (StartTransientUnit), which needs the probe's
//     outcome (nothing is created if it failed); its start job's end comes
//     as a signal.
//  5. The timer's next run and calendars as the manager normalised them,
//     which exist only once its start job has run.
func (e *env) scheduleOn(c *transient.Conn, b *backup.Job, replace bool, profile string) (*scheduleResult, error) {
	var wg sync.WaitGroup
	var look *backup.Lookup
	var lookErr error
	wg.Go(func() { look, lookErr = backup.Look(e.ctx, c, b) })
	logind := e.askLogind(c, b, &wg)
	_, err := e.checkJob("schedule", c, b)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	e.checkInhibitor(b, logind)
	if lookErr != nil {
		return nil, lookErr
	}
	// Probe only for a pair about to be created: re-running an unchanged
	// schedule (at every boot, say) costs no probe unit.
	if !look.Unchanged(b) {
		if err := e.probeSetup(c, b, profile); err != nil {
			return nil, err
		}
	}
	outcome, err := backup.ScheduleLooked(e.ctx, c, b, replace, look)
	if errors.Is(err, backup.ErrScheduleDiffers) {
		return nil, fmt.Errorf("schedule: %s is already scheduled with a different definition; use --replace to replace it", b.Name)
	}
	if errors.Is(err, transient.ErrCreated) {
		// Interrupted once the pair existed: report it as it stands.
		return &scheduleResult{Name: b.Name, Timer: b.TimerUnit(), Service: b.ServiceUnit(),
			Outcome: string(outcome), Calendars: b.Calendars, Command: b.Command}, nil
	}
	if err != nil {
		return nil, err
	}
	st := look.Timer
	if outcome != backup.Unchanged || st == nil {
		// The pair exists: what the report reads back must not be cut
		// short by an interruption now.
		if st, err = c.Timer(context.WithoutCancel(e.ctx), b.TimerUnit()); err != nil {
			return nil, err
		}
	}
	return &scheduleResult{Name: b.Name, Timer: b.TimerUnit(), Service: b.ServiceUnit(),
		Outcome: string(outcome), Calendars: st.Calendars, Command: b.Command, Next: st.Next}, nil
}

// dryRunHosts is --dry-run with -H: the units for each host in turn,
// whose sandbox is derived from the host's own files (over ssh; the
// managers are not contacted). A host whose files cannot be read is
// reported and the others printed; the error names the hosts that failed.
func (e *env) dryRunHosts(b *backup.Job, j *jobFlags, cals []*props.Calendar, now time.Time) error {
	runs := make([]*hostRun, len(j.targets))
	for i, h := range j.targets {
		runs[i] = &hostRun{host: h}
		hb := *b
		var sb *backup.Sandbox
		if sb, runs[i].err = e.hostHardening(h, &hb, j); runs[i].err != nil {
			fmt.Fprintf(e.stderr, "borgrun: %s: %s\n", h, hostError(runs[i].err))
			continue
		}
		fmt.Fprintf(e.stdout, "### on %s\n", h)
		if err := e.dryRun(&hb, sb, cals, now); err != nil {
			return err
		}
	}
	return hostsFailed(runs)
}

// dryRun prints the units schedule would create, the paths the sandbox
// opens up and why (sb nil: no sandbox), and their next 3 runs.
func (e *env) dryRun(b *backup.Job, sb *backup.Sandbox, cals []*props.Calendar, now time.Time) error {
	timer, service := b.UnitFiles()
	fmt.Fprintf(e.stdout, "# %s (transient, not created: --dry-run)\n%s\n", b.TimerUnit(), timer)
	fmt.Fprintf(e.stdout, "# %s\n%s\n", b.ServiceUnit(), service)
	for _, h := range b.HookUnitFiles(b.ServiceUnit()) {
		fmt.Fprintf(e.stdout, "# %s\n%s\n", h.Name, h.Text)
	}
	if sb != nil {
		printSandbox(e.stdout, sb)
	}
	fmt.Fprintln(e.stdout, "# next runs (before the randomized delay):")
	at := now
	for range 3 {
		var next time.Time
		for _, c := range cals {
			if t, ok := c.Next(at); ok && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if next.IsZero() {
			break
		}
		fmt.Fprintf(e.stdout, "#   %s\n", formatNext(next, now))
		at = next
	}
	return nil
}

// probeSetup refuses to schedule a job whose service the manager cannot
// start here: it runs /bin/true once under the job's sandbox and priority
// settings (a transient service, waited on by its signals) and reports a
// setting the manager could not apply. A job with neither (--hardening=off
// and --priority normal, no passphrase) is not probed. Nothing is cached:
// borgrun keeps no state, and the manager's abilities can change.
func (e *env) probeSetup(c *transient.Conn, b *backup.Job, profile string) error {
	if b.Sandbox == nil && len(b.Hardening) == 0 && b.Priority == backup.Normal {
		return nil
	}
	f, err := backup.ProbeSetup(e.ctx, c, b)
	if err != nil {
		return fmt.Errorf("schedule: not scheduled: /bin/true, run once under the job's settings to check them, failed: %w", err)
	}
	if f != nil {
		return fmt.Errorf("schedule: not scheduled: %s", setupAdvice(f, profile, b.Priority))
	}
	return nil
}

// setupAdvice says, on one line, which setting the manager could not apply
// and the option that drops it.
func setupAdvice(f *transient.SetupFailure, profile string, priority backup.Priority) string {
	msg := fmt.Sprintf("this service manager cannot %s (exit status %d/%s; some containers and user managers cannot)", f.What, f.Status, f.Name)
	switch {
	case f.Priority && priority != backup.Normal:
		return msg + fmt.Sprintf("; use --priority normal instead of --priority %s", priority)
	case !f.Priority && profile != string(backup.ProfileOff):
		return msg + fmt.Sprintf("; use --hardening=off instead of --hardening=%s", profile)
	}
	return msg + "; check the -p settings"
}

// printSandbox prints, as comment lines, the paths the sandbox opens up or
// creates and why, aligned, and whether the job keeps the network.
func printSandbox(w io.Writer, sb *backup.Sandbox) {
	fmt.Fprintf(w, "# sandbox (--hardening=%s): paths opened up, and why:\n", sb.Profile)
	if len(sb.Paths) == 0 {
		fmt.Fprintln(w, "#   none (everything but /tmp and /run/borgrun/NAME is read-only)")
	}
	width := 0
	for _, p := range sb.Paths {
		width = max(width, len(p.Path))
	}
	for _, p := range sb.Paths {
		var how []string
		if p.Writable {
			how = append(how, "writable")
		} else {
			how = append(how, "read-only")
		}
		if p.Create {
			how = append(how, "created before each run")
		}
		fmt.Fprintf(w, "#   %-*s  %s: %s\n", width, p.Path, strings.Join(how, ", "), p.Why)
	}
	if sb.Network {
		fmt.Fprintln(w, "# network: allowed (a repository is remote, a hook may need it, or the command is not borg or borgmatic)")
	} else {
		fmt.Fprintln(w, "# network: none (every repository is local and no hook needs it)")
	}
	if sb.Profile == backup.ProfileOff || sb.Version != 0 {
		return
	}
	// Without a manager to ask, the units above are systemd 252's; newer
	// managers get more.
	base := sb.Assignments()
	for _, v := range []props.Version{props.V257, props.V258} {
		nv := *sb
		nv.Version = v
		newer := nv.Assignments()
		var added, dropped []string
		for _, a := range newer {
			if !slices.Contains(base, a) {
				added = append(added, a)
			}
		}
		for _, a := range base {
			if !slices.Contains(newer, a) {
				dropped = append(dropped, a)
			}
		}
		if len(added) > 0 {
			which := v.String()
			if v == props.V258 {
				which += " or newer"
			}
			fmt.Fprintf(w, "# a manager of %s gets %s instead of %s\n", which, strings.Join(added, " "), strings.Join(dropped, " "))
		}
	}
}
