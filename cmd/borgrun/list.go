package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/spf13/pflag"
)

const listHelp = `Usage: borgrun list [--json]

Lists every job borgrun scheduled on the manager: calendar, next run, last
run, last result and state, as an aligned table (or JSON).
`

type listFlags struct {
	json bool
	managerFlags
}

func newListFlags() (*pflag.FlagSet, *listFlags) {
	f := &listFlags{}
	fs := newFlagSet("list")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	addManagerFlags(fs, &f.managerFlags)
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
	c, err := e.connect(e.dialOptions(f.managerFlags))
	if err != nil {
		return err
	}
	defer c.Close()
	jobs, err := c.List(e.ctx)
	if err != nil {
		return err
	}
	if f.json {
		if jobs == nil {
			jobs = []transient.Job{}
		}
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
	fmt.Fprintln(tw, "NAME\tCALENDAR\tNEXT\tLAST\tRESULT\tSTATE")
	for _, j := range jobs {
		result := j.Result
		switch {
		case result == "":
			result = "-"
		case result == "exit-code":
			result = fmt.Sprintf("exit-code (%d)", j.Status)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, strings.Join(j.Calendars, "; "),
			when(j.Next, now), when(j.Last, now), result, j.State)
	}
	return tw.Flush()
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

const removeHelp = `Usage: borgrun remove NAME... | --all [--force]

Stops and unloads each job's timer and service and resets their failed
state. A run in progress is never killed without --force (which stops it
with SIGTERM, so borg writes a checkpoint).
`

type removeFlags struct {
	all, force bool
	managerFlags
}

func newRemoveFlags() (*pflag.FlagSet, *removeFlags) {
	f := &removeFlags{}
	fs := newFlagSet("remove")
	fs.BoolVar(&f.all, "all", false, "remove every borgrun schedule")
	fs.BoolVar(&f.force, "force", false, "stop a run in progress")
	addManagerFlags(fs, &f.managerFlags)
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
		if err := transient.ValidName(n); err != nil {
			return usagef("remove: %v", err)
		}
	}
	c, err := e.connect(e.dialOptions(f.managerFlags))
	if err != nil {
		return err
	}
	defer c.Close()
	if f.all {
		jobs, err := c.List(e.ctx)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			names = append(names, j.Name)
		}
	}
	var errs []error
	for _, n := range names {
		err := c.Remove(e.ctx, n, f.force)
		switch {
		case errors.Is(err, transient.ErrRunInProgress):
			errs = append(errs, fmt.Errorf("remove: %s: a run is in progress; use --force to stop it", n))
		case errors.Is(err, transient.ErrNoSuchUnit):
			errs = append(errs, fmt.Errorf("remove: no schedule named %q", n))
		case err != nil:
			errs = append(errs, err)
		default:
			fmt.Fprintf(e.stdout, "removed %s\n", n)
		}
	}
	return errors.Join(errs...)
}
