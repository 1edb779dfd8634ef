package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/spf13/pflag"
)

const checkHelp = `Usage: borgrun check [NAME...] [--max-age DUR] [-H [USER@]HOST[:PORT][/MACHINE]...] [-M CONTAINER...]

For monitoring (a Nagios-style check): exits 1 when any of the named jobs
(default: all) failed its last run, is overdue (see borgrun help list), or
is not scheduled, printing one line per problem; otherwise prints one OK
line and exits 0. With -H, on every host: each line is prefixed with the
host, and a host that cannot be reached is a problem too. -M CONTAINER
checks a local container's jobs the same way.

Examples:
  borgrun check
  borgrun check nightly --max-age 26h
  borgrun check -H root@db1 -H root@web1
`

type checkFlags struct {
	maxAge string
	managerFlags
	hostFlags
}

func newCheckFlags() (*pflag.FlagSet, *checkFlags) {
	f := &checkFlags{}
	fs := newFlagSet("check")
	fs.SetInterspersed(true)
	fs.StringVar(&f.maxAge, "max-age", "", "a job is overdue when its last success is older than this (default: from its calendar)")
	addManagerFlags(fs, &f.managerFlags)
	f.hostFlags.add(fs)
	return fs, f
}

// errProblems is check's exit status 1 when it found problems (already
// printed, one a line).
var errProblems = errors.New("")

func (e *env) check(args []string) error {
	fs, f := newCheckFlags()
	if err := parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			e.printHelp(fs, checkHelp)
		}
		return err
	}
	names := fs.Args()
	for _, n := range names {
		if err := backup.ValidName(n); err != nil {
			return usagef("check: %v", err)
		}
	}
	maxAge, err := parseMaxAge("check", f.maxAge)
	if err != nil {
		return err
	}
	hosts, err := parseHosts("check", f.hosts, f.machines, f.parallel, f.user)
	if err != nil {
		return err
	}
	if len(hosts) > 0 {
		var problems, checked int
		runs := e.onHosts(hosts, f.parallel, false, func(h transient.Host, c *transient.Conn, w io.Writer) (any, error) {
			p, n, err := e.checkOn(c, &h, false, names, maxAge, w)
			return [2]int{p, n}, err
		}, func(r *hostRun) {
			e.printHostRun(r, false)
			if r.err != nil {
				problems++
				return
			}
			n := r.result.([2]int)
			problems += n[0]
			checked += n[1]
		})
		if problems > 0 || hostsFailed(runs) != nil {
			return errProblems
		}
		fmt.Fprintf(e.stdout, "OK: %d %s on %d %s\n", checked, plural(checked, "job", "jobs"), len(hosts), plural(len(hosts), "host", "hosts"))
		return nil
	}
	c, err := e.connect(e.dialOptions(f.managerFlags))
	if err != nil {
		return err
	}
	defer c.Close()
	problems, checked, err := e.checkOn(c, nil, f.user, names, maxAge, e.stdout)
	if err != nil {
		return err
	}
	if problems > 0 {
		return errProblems
	}
	fmt.Fprintf(e.stdout, "OK: %d %s\n", checked, plural(checked, "job", "jobs"))
	return nil
}

// checkOn checks the named jobs (all if none) of the manager c is
// connected to, printing one line per problem to w; it returns the
// number of problems and of jobs checked.
func (e *env) checkOn(c *transient.Conn, host *transient.Host, user bool, names []string, maxAge time.Duration, w io.Writer) (problems, checked int, err error) {
	jobs, err := e.jobStatuses(c, host, user, maxAge)
	if err != nil {
		return 0, 0, err
	}
	byName := map[string]listedJob{}
	for _, j := range jobs {
		byName[j.Name] = j
	}
	if len(names) == 0 {
		for _, j := range jobs {
			names = append(names, j.Name)
		}
	}
	now := e.now()
	for _, n := range names {
		j, ok := byName[n]
		if !ok {
			fmt.Fprintf(w, "%s: not scheduled\n", n)
			problems++
			continue
		}
		checked++
		success := "never succeeded (as far as the manager and the journal know)"
		if !j.LastSuccess.IsZero() {
			success = "last success " + when(j.LastSuccess, now)
		}
		if j.Failed() {
			result := j.Result
			if result == "exit-code" {
				result = fmt.Sprintf("exit-code (%d)", j.Status)
			}
			ended := ""
			if !j.Ended.IsZero() {
				ended = ", ended " + when(j.Ended, now)
			}
			fmt.Fprintf(w, "%s: last run failed: %s%s; %s\n", n, result, ended, success)
			problems++
		}
		if j.Overdue {
			fmt.Fprintf(w, "%s: overdue: %s; due by %s\n", n, success, when(j.Due, now))
			problems++
		}
	}
	return problems, checked, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
