package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/spf13/pflag"
)

const logsHelp = `Usage: borgrun logs NAME [-n N] [-f] [-H [USER@]HOST[:PORT][/MACHINE]...] [-M CONTAINER...]

Shows the journal of the job's last run (-n N: of its last N runs), as
journalctl shows it: the manager's lines about the unit and the command's
output. Runs are told apart by their invocation ID; the journal keeps
them after the job is removed, for as long as it keeps anything. -f
follows on, through later runs, until interrupted. With -H, the journal
of each host, read with journalctl over ssh; with several hosts each line
is prefixed with the host. With -M CONTAINER, the container's journal, read
with its own journalctl.

Examples:
  borgrun logs nightly
  borgrun logs nightly -n 3
  borgrun logs nightly -f -H root@db1
`

type logsFlags struct {
	runs   int
	follow bool
	managerFlags
	hostFlags
}

func newLogsFlags() (*pflag.FlagSet, *logsFlags) {
	f := &logsFlags{}
	fs := newFlagSet("logs")
	fs.SetInterspersed(true)
	fs.IntVarP(&f.runs, "lines", "n", 1, "show the last N runs")
	fs.BoolVarP(&f.follow, "follow", "f", false, "follow the journal on")
	addManagerFlags(fs, &f.managerFlags)
	f.hostFlags.add(fs)
	return fs, f
}

// errNoRuns: the journal holds no run of the job.
var errNoRuns = errors.New("no run in the journal")

func (e *env) logs(args []string) error {
	fs, f := newLogsFlags()
	if err := parse(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			e.printHelp(fs, logsHelp)
		}
		return err
	}
	if fs.NArg() != 1 {
		return usagef("logs: give one NAME")
	}
	name := fs.Arg(0)
	if err := backup.ValidName(name); err != nil {
		return usagef("logs: %v", err)
	}
	if f.runs < 1 {
		return usagef("logs: -n %d: want at least 1", f.runs)
	}
	hosts, err := parseHosts("logs", f.hosts, f.machines, f.parallel, f.user)
	if err != nil {
		return err
	}
	unit := (&backup.Job{Name: name}).ServiceUnit()
	if len(hosts) == 0 {
		return e.logsOn(nil, f.user, unit, f.runs, f.follow, e.stdout, e.stderr, name)
	}
	if len(hosts) == 1 {
		return e.logsOn(&hosts[0], false, unit, f.runs, f.follow, e.stdout, e.stderr, name)
	}
	// Several hosts: at most --parallel at once (all at once with -f,
	// which never ends), each line prefixed with its host.
	parallel := f.parallel
	if f.follow {
		parallel = len(hosts)
	}
	var mu sync.Mutex
	sem := make(chan struct{}, parallel)
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			w := &prefixWriter{mu: &mu, w: e.stdout, prefix: h.String() + ": "}
			defer w.flush()
			errs[i] = e.logsOn(&h, false, unit, f.runs, f.follow, w, w, name)
		})
	}
	wg.Wait()
	var runs []*hostRun
	for i, h := range hosts {
		runs = append(runs, &hostRun{host: h, err: errs[i]})
		if errs[i] != nil {
			fmt.Fprintf(e.stderr, "borgrun: %s: %s\n", h, hostError(errs[i]))
		}
	}
	return hostsFailed(runs)
}

// logsOn prints the journal of unit's last runs, here or on host.
func (e *env) logsOn(host *transient.Host, user bool, unit string, runs int, follow bool, stdout, stderr io.Writer, name string) error {
	cursor, err := e.runsStart(host, user, unit, runs)
	if err != nil {
		return err
	}
	if cursor == "" && !follow {
		return fmt.Errorf("logs: %s: %w (%s)", name, errNoRuns, unit)
	}
	args := []string{"--no-pager", "--quiet"}
	if user {
		args = append(args, "--user", "--user-unit="+unit)
	} else {
		args = append(args, "--unit="+unit)
	}
	if cursor != "" {
		args = append(args, "--cursor="+cursor)
	} else {
		args = append(args, "--lines=0")
	}
	if follow {
		args = append(args, "--follow")
	}
	ctx := e.ctx
	if !follow {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, journalTimeout)
		defer cancel()
	}
	cmd := e.journalctl(ctx, host, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		if follow && e.ctx.Err() != nil {
			return nil // interrupted: the way -f ends
		}
		return fmt.Errorf("logs: journalctl: %w", err)
	}
	return nil
}
