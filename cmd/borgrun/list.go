package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/spf13/pflag"
)

const listHelp = `Usage: borgrun list [--json] [--max-age DUR] [-H [USER@]HOST[:PORT][/MACHINE]...] [-M CONTAINER...]

Lists every job borgrun scheduled on the manager: calendar, next run, last
run, last result, last success and state, as an aligned table (or JSON).
A job is OVERDUE when it has not succeeded since the first run its
calendar set after its last success (plus its randomized delay and an
hour's grace), or, with --max-age, within that span. The last success is
the manager's when the last run succeeded; for a job whose last run
failed, it is looked up in the journal (one journalctl for all such
jobs). With -H, the
jobs of every host in one table with a HOST column (a host that cannot be
reached is reported on stderr), or with --json one object per host and
line: {"host":…,"ok":true,"result":[jobs]} or {"host":…,"ok":false,"error":…}.
-M CONTAINER is a local container (through systemd-machined), a target as
a host is; its HOST is its name.

Examples:
  borgrun list
  borgrun list -H root@db1 -H root@web1 -H backup.example.org:2222
  borgrun list -M web1 -M web2
`

type listFlags struct {
	json   bool
	maxAge string
	managerFlags
	hostFlags
}

func newListFlags() (*pflag.FlagSet, *listFlags) {
	f := &listFlags{}
	fs := newFlagSet("list")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	fs.StringVar(&f.maxAge, "max-age", "", "a job is overdue when its last success is older than this (default: from its calendar)")
	addManagerFlags(fs, &f.managerFlags)
	f.hostFlags.add(fs)
	return fs, f
}

func (e *env) list(args []string) error {
	fs, f := newListFlags()
	if err := parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			e.printHelp(fs, listHelp)
		}
		return err
	}
	if fs.NArg() > 0 {
		return usagef("list: unexpected argument %q", fs.Arg(0))
	}
	maxAge, err := parseMaxAge("list", f.maxAge)
	if err != nil {
		return err
	}
	hosts, err := parseHosts("list", f.hosts, f.machines, f.parallel, f.user)
	if err != nil {
		return err
	}
	if len(hosts) > 0 {
		return e.listHosts(hosts, f, maxAge)
	}
	c, err := e.connect(e.dialOptions(f.managerFlags))
	if err != nil {
		return err
	}
	defer c.Close()
	jobs, err := e.jobStatuses(c, nil, f.user, maxAge)
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(jobs)
	}
	if len(jobs) == 0 {
		fmt.Fprintln(e.stdout, "no borgrun schedules")
		return nil
	}
	now := e.now()
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCALENDAR\tNEXT\tLAST\tRESULT\tLAST SUCCESS\tSTATE\tHOOKS")
	for _, j := range jobs {
		fmt.Fprintln(tw, jobRow(j, now))
	}
	return tw.Flush()
}

// parseMaxAge parses --max-age: "" is none (the calendar decides).
func parseMaxAge(cmd, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := parseSpan(cmd, "max-age", v)
	if err == nil && d <= 0 {
		return 0, usagef("%s: --max-age %q: want a span above 0", cmd, v)
	}
	return d, err
}

// listedJob is a job as list and check report it: its status, and
// whether it is overdue.
type listedJob struct {
	backup.JobStatus
	Overdue bool      `json:"overdue"`
	Due     time.Time `json:"due,omitzero"` // the deadline of its next success
}

// jobStatuses lists the jobs of the manager c is connected to (on host,
// if not nil), with the last success of each whose last run failed from
// the journal, and whether each is overdue.
func (e *env) jobStatuses(c *transient.Conn, host *transient.Host, user bool, maxAge time.Duration) ([]listedJob, error) {
	jobs, err := backup.List(e.ctx, c)
	if err != nil {
		return nil, err
	}
	e.journalSuccesses(host, user, jobs)
	now := e.now()
	out := []listedJob{}
	for _, j := range jobs {
		out = append(out, listedJob{JobStatus: j, Overdue: j.Overdue(now, maxAge), Due: j.Deadline(maxAge)})
	}
	return out, nil
}

// jobRow is a job's row of the list table, tab-separated.
func jobRow(j listedJob, now time.Time) string {
	result := j.Result
	switch {
	case result == "":
		result = "-"
	case result == "exit-code":
		result = fmt.Sprintf("exit-code (%d)", j.Status)
	}
	hooks := "-"
	if len(j.Hooks) > 0 {
		hooks = ""
		for i, h := range j.Hooks {
			if i > 0 {
				hooks += ","
			}
			hooks += string(h)
		}
	}
	success := when(j.LastSuccess, now)
	if j.LastSuccess.IsZero() && j.Failed() {
		success = "never (in the journal)"
	}
	if j.Overdue {
		success += " OVERDUE"
	}
	return strings.Join([]string{j.Name, strings.Join(j.Calendars, "; "),
		when(j.Next, now), when(j.Last, now), result, success, j.State, hooks}, "\t")
}

// listHosts lists the jobs of every host: one table with a HOST column
// (a host with no jobs has a row saying so), or one JSON object per host.
func (e *env) listHosts(hosts []transient.Host, f *listFlags, maxAge time.Duration) error {
	job := func(h transient.Host, c *transient.Conn, _ io.Writer) (any, error) {
		return e.jobStatuses(c, &h, false, maxAge)
	}
	if f.json {
		return e.fanOut(hosts, f.parallel, false, true, job)
	}
	now := e.now()
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tNAME\tCALENDAR\tNEXT\tLAST\tRESULT\tLAST SUCCESS\tSTATE\tHOOKS")
	runs := e.onHosts(hosts, f.parallel, false, job, func(r *hostRun) {
		if r.err != nil {
			fmt.Fprintf(e.stderr, "borgrun: %s: %s\n", r.host, hostError(r.err))
			return
		}
		jobs := r.result.([]listedJob)
		if len(jobs) == 0 {
			fmt.Fprintf(tw, "%s\t(no borgrun schedules)\t\t\t\t\t\t\n", r.host)
		}
		for _, j := range jobs {
			fmt.Fprintf(tw, "%s\t%s\n", r.host, jobRow(j, now))
		}
	})
	if err := tw.Flush(); err != nil {
		return err
	}
	return hostsFailed(runs)
}

// when renders t for the list table: "Thu 2026-11-26 00:07 UTC (in 6h 52min)".
func when(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(now)
	rel := "in " + formatSpan(d.Truncate(time.Minute), time.Minute)
	if d < 0 {
		rel = formatSpan((-d).Truncate(time.Minute), time.Minute) + " ago"
	}
	if d > -time.Minute && d < time.Minute {
		rel = "now"
	}
	return t.Format("Mon 2006-01-02 15:04 MST") + " (" + rel + ")"
}

const removeHelp = `Usage: borgrun remove NAME... | --all [--force] [-H [USER@]HOST[:PORT][/MACHINE]...] [-M CONTAINER...]

Stops and unloads each job's timer and service and resets their failed
state. A run in progress is never killed without --force (which stops it
with SIGTERM, so borg writes a checkpoint). With -H, on every host: one
line per job removed, prefixed with the host; a host where a removal
failed is named in a last line and the exit status is 1. -M CONTAINER
does the same in a local container.

Examples:
  borgrun remove offsite
  borgrun remove --all -H root@db1 -H root@web1
`

type removeFlags struct {
	all, force bool
	managerFlags
	json bool
	hostFlags
}

func newRemoveFlags() (*pflag.FlagSet, *removeFlags) {
	f := &removeFlags{}
	fs := newFlagSet("remove")
	fs.BoolVar(&f.all, "all", false, "remove every borgrun schedule")
	fs.BoolVar(&f.force, "force", false, "stop a run in progress")
	addManagerFlags(fs, &f.managerFlags)
	f.hostFlags.add(fs)
	fs.BoolVar(&f.json, "json", false, "with -H, print one JSON object per host")
	return fs, f
}

func (e *env) remove(args []string) error {
	fs, f := newRemoveFlags()
	fs.SetInterspersed(true)
	if err := parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			e.printHelp(fs, removeHelp)
		}
		return err
	}
	names := fs.Args()
	switch {
	case f.all && len(names) > 0:
		return usagef("remove: give NAMEs or --all, not both")
	case !f.all && len(names) == 0:
		return usagef("remove: say which: NAME... or --all")
	}
	for _, n := range names {
		if err := backup.ValidName(n); err != nil {
			return usagef("remove: %v", err)
		}
	}
	hosts, err := parseHosts("remove", f.hosts, f.machines, f.parallel, f.user)
	if err != nil {
		return err
	}
	if f.json && len(hosts) == 0 {
		return usagef("remove: --json goes with -H")
	}
	if len(hosts) > 0 {
		return e.fanOut(hosts, f.parallel, false, f.json, func(_ transient.Host, c *transient.Conn, w io.Writer) (any, error) {
			return e.removeOn(c, w, names, f)
		})
	}
	c, err := e.connect(e.dialOptions(f.managerFlags))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = e.removeOn(c, e.stdout, names, f)
	return err
}

// removeOn removes the named jobs (or all, with --all) from the manager c
// is connected to, printing a line for each removed; it returns the names
// removed.
func (e *env) removeOn(c *transient.Conn, w io.Writer, names []string, f *removeFlags) ([]string, error) {
	if f.all {
		var err error
		if names, err = backup.Names(e.ctx, c); err != nil {
			return nil, err
		}
	}
	removed := []string{}
	var errs []error
	seen := map[string]bool{} // an error common to several jobs, once
	for i, err := range backup.RemoveJobs(e.ctx, c, names, f.force) {
		n := names[i]
		switch {
		case errors.Is(err, backup.ErrRunInProgress):
			errs = append(errs, fmt.Errorf("remove: %s: a run is in progress; use --force to stop it", n))
		case errors.Is(err, transient.ErrNoSuchUnit):
			errs = append(errs, fmt.Errorf("remove: no schedule named %q", n))
		case err != nil:
			if !seen[err.Error()] {
				seen[err.Error()] = true
				errs = append(errs, err)
			}
		default:
			removed = append(removed, n)
			fmt.Fprintf(w, "removed %s\n", n)
		}
	}
	return removed, errors.Join(errs...)
}
