package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	osuser "os/user"
	"strings"
	"sync"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/spf13/pflag"
)

// Remote managers: -H/--host [USER@]HOST[:PORT], repeatable, reaches each
// host's system manager through ssh and systemd-stdio-bridge (see
// transient.DialOptions.Host). A command given several hosts runs on them
// in parallel, at most --parallel at a time; each host's result is printed
// in the order the hosts were given, as soon as it and the hosts before it
// are done. A host that fails is reported and does not stop the others;
// the exit status is 1 if any failed, and a last line says which.

// Containers: -M/--machine NAME, repeatable, reaches the system manager
// of a container registered with systemd-machined here, as systemd-run -M
// does (see transient/machine.go), and -H HOST/MACHINE one on a host. A
// container is a target as a host is: the same fan-out, per-target
// sandbox (derived from the container's own files) and output.

// hostFlags are -H, -M and --parallel.
type hostFlags struct {
	hosts    []string
	machines []string
	parallel int
	targets  []transient.Host // hosts, parsed by parseHosts
	// remoteProfile is the hardening profile to derive on each host
	// (hostHardening); empty if none.
	remoteProfile backup.Profile
	// remoteRelax are the relaxations (--relax) for remoteProfile.
	remoteRelax []backup.Relaxation
}

// defaultParallel is how many hosts are worked on at once.
const defaultParallel = 8

// hostDialTimeout bounds ssh's connect, login and the bus handshake with
// each host: longer than a local connection needs, short enough that a
// host that is down is reported promptly.
const hostDialTimeout = 15 * time.Second

func (h *hostFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&h.hosts, "host", "H", nil, "operate on the system manager of [USER@]HOST[:PORT] over ssh (repeatable)")
	fs.StringArrayVarP(&h.machines, "machine", "M", nil, "operate on the system manager of the local container NAME, through systemd-machined (repeatable)")
	fs.IntVar(&h.parallel, "parallel", defaultParallel, "with several -H or -M, work on at most N of them at once")
}

// parseHosts validates the -H values, each [USER@]HOST[:PORT][/MACHINE],
// and the -M values, each a machine's name (".host" is this machine's own
// manager, as in systemd): nothing twice, not with --user, and --parallel
// at least 1. The targets are the hosts, then the machines. Every error is
// a usage error.
func parseHosts(cmd string, values, machines []string, parallel int, user bool) ([]transient.Host, error) {
	if len(values) == 0 && len(machines) == 0 {
		return nil, nil
	}
	// run takes --user -M [USER@]NAME, as systemd-run does: USER's
	// manager in the container (root's without USER@).
	userMachine := user && cmd == "run" && len(values) == 0
	if user && !userMachine {
		flag := "-H"
		if len(values) == 0 {
			flag = "-M"
		}
		return nil, usagef("%s: %s reaches a system manager only; it cannot be combined with --user", cmd, flag)
	}
	if parallel < 1 {
		return nil, usagef("%s: --parallel %d: want at least 1", cmd, parallel)
	}
	var hosts []transient.Host
	seen := map[transient.Host]bool{}
	add := func(flag, v string, h transient.Host) error {
		if seen[h] {
			return usagef("%s: %s %q given twice", cmd, flag, v)
		}
		seen[h] = true
		hosts = append(hosts, h)
		return nil
	}
	for _, v := range values {
		h, err := transient.ParseHost(v)
		if err != nil {
			return nil, usagef("%s: -H: %v", cmd, err)
		}
		if err := add("-H", v, h); err != nil {
			return nil, err
		}
	}
	local := false
	for _, v := range machines {
		h := transient.Host{Machine: v}
		if u, name, ok := strings.Cut(v, "@"); ok {
			if !userMachine {
				return nil, usagef("%s: -M %q: USER@ selects a user's manager in the container, which only run --user reaches; give the container's name", cmd, v)
			}
			if u == "" {
				cur, err := osuser.Current()
				if err != nil {
					return nil, usagef("%s: -M %q: no user name before @, and ours is unknown: %v", cmd, v, err)
				}
				u = cur.Username
			}
			if strings.HasPrefix(u, "-") || !validUserName(u) {
				return nil, usagef("%s: -M %q: bad user name %q", cmd, v, u)
			}
			if name == "" || name == ".host" {
				return nil, usagef("%s: -M %q: give a container's name after @ (another user's manager here is not reached by borgrun)", cmd, v)
			}
			h = transient.Host{User: u, Machine: name}
		} else if userMachine {
			h.User = "root"
		}
		if v == ".host" {
			local = true
			continue
		}
		if err := transient.ValidMachineName(h.Machine); err != nil {
			return nil, usagef("%s: -M: %v", cmd, err)
		}
		if err := add("-M", v, h); err != nil {
			return nil, err
		}
	}
	if local && len(hosts) > 0 {
		return nil, usagef("%s: -M .host (this machine's own manager) cannot be combined with other -H or -M", cmd)
	}
	return hosts, nil
}

// sshCommand is the ssh command borgrun runs: $BORGRUN_SSH, split on
// white space (a command and its options, as borg's BORG_RSH), else
// $SYSTEMD_SSH (a program path, as systemd takes it), else ssh.
func sshCommand() []string {
	if s := strings.Fields(os.Getenv("BORGRUN_SSH")); len(s) > 0 {
		return s
	}
	if s := os.Getenv("SYSTEMD_SSH"); s != "" {
		return []string{s}
	}
	return nil
}

// validUserName reports whether u is a user name: letters, digits, ".",
// "_" and "-".
func validUserName(u string) bool {
	for _, r := range u {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return u != ""
}

// hostDial returns how to reach h's system manager, or for a container
// with a user (run --user -M USER@NAME) that user's manager there.
func (e *env) hostDial(h transient.Host) transient.DialOptions {
	d := e.dial
	d.Manager = transient.System
	if h.Name == "" && h.User != "" {
		d.Manager = transient.User
	}
	d.Host = &h
	d.SSH = e.ssh
	if d.Timeout == 0 {
		d.Timeout = hostDialTimeout
	}
	return d
}

// hostRun is one host's share of a command run on several hosts.
type hostRun struct {
	host   transient.Host
	out    bytes.Buffer // what the job printed, one result per line
	result any          // what --json prints for the host
	err    error
}

// hostJob does a command's work with one host's manager, printing to w;
// its result is what --json prints.
type hostJob func(h transient.Host, c *transient.Conn, w io.Writer) (result any, err error)

// onHosts connects to each host and runs job there, at most parallel at a
// time, and calls each with every host's run in the order the hosts were
// given, as soon as that host and those before it are done. wait is
// DialOptions.Wait.
func (e *env) onHosts(hosts []transient.Host, parallel int, wait bool, job hostJob, each func(*hostRun)) []*hostRun {
	runs := make([]*hostRun, len(hosts))
	done := make([]chan struct{}, len(hosts))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, h := range hosts {
		runs[i] = &hostRun{host: h}
		done[i] = make(chan struct{})
		wg.Go(func() {
			defer close(done[i])
			select {
			case sem <- struct{}{}:
			case <-e.ctx.Done():
				runs[i].err = context.Cause(e.ctx)
				return
			}
			defer func() { <-sem }()
			r := runs[i]
			d := e.hostDial(h)
			d.Wait = wait
			c, err := transient.Dial(e.ctx, d)
			if err != nil {
				r.err = err
				return
			}
			defer c.Close()
			r.result, r.err = job(h, c, &r.out)
		})
	}
	for i := range runs {
		<-done[i]
		each(runs[i])
	}
	wg.Wait()
	return runs
}

// hostResultJSON is what --json prints for each host, one object a line.
type hostResultJSON struct {
	Host   string `json:"host"`
	OK     bool   `json:"ok"`
	Result any    `json:"result,omitempty"`
	Error  string `json:"error,omitempty"`
}

// printHostRun prints one host's run: each line of its output prefixed
// with "HOST: " on stdout, or its error on stderr; with asJSON, one JSON
// object on stdout.
func (e *env) printHostRun(r *hostRun, asJSON bool) {
	if asJSON {
		o := hostResultJSON{Host: r.host.String(), OK: r.err == nil, Result: r.result}
		if r.err != nil {
			o.Error = hostError(r.err)
		}
		b, err := json.Marshal(o)
		if err != nil {
			b, _ = json.Marshal(hostResultJSON{Host: o.Host, Error: err.Error()})
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
		return
	}
	for _, l := range strings.SplitAfter(r.out.String(), "\n") {
		if l != "" {
			fmt.Fprint(e.stdout, r.host.String()+": "+strings.TrimSuffix(l, "\n")+"\n")
		}
	}
	if r.err != nil {
		fmt.Fprintf(e.stderr, "borgrun: %s: %s\n", r.host, hostError(r.err))
	}
}

// hostError renders a host's failure on one line: ssh's own reason when
// the host could not be reached, machined's when it knows no such
// machine.
func hostError(err error) string {
	var se *transient.SSHError
	var de *transient.DialError
	var me *transient.NoMachineError
	switch {
	case errors.As(err, &me):
		return me.Message
	case errors.As(err, &se):
		return "cannot connect: " + se.Reason
	case errors.As(err, &de):
		return "cannot connect: " + strings.ReplaceAll(de.Err.Error(), "\n", "; ")
	case errors.Is(err, transient.ErrAccessDenied):
		return strings.ReplaceAll(err.Error(), "\n", "; ") + " (log in as root)"
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// hostsFailed returns nil if every run succeeded, else an error naming
// the hosts that failed (exit status 1).
func hostsFailed(runs []*hostRun) error {
	var failed []string
	for _, r := range runs {
		if r.err != nil {
			failed = append(failed, r.host.String())
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d hosts failed: %s", len(failed), len(runs), strings.Join(failed, ", "))
}

// fanOut runs job on every host and prints each host's result (see
// printHostRun); the error says which hosts failed.
func (e *env) fanOut(hosts []transient.Host, parallel int, wait, asJSON bool, job hostJob) error {
	return hostsFailed(e.onHosts(hosts, parallel, wait, job, func(r *hostRun) { e.printHostRun(r, asJSON) }))
}
