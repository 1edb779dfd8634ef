package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// fleet is a set of throwaway machines for -H: each a real systemd in its
// own namespaces running sshd on port 22, joined to a client network
// namespace by a veth pair. Host i (from 1) is 10.77.i.2; the client's
// side of its link is 10.77.i.1. borgrun runs in the client namespace,
// with BORGRUN_SSH pointing ssh at a config that knows every host's key.
type fleet struct {
	machines []*transienttest.Systemd
	addrs    []string
	netns    string // the client's network namespace (ip netns)
	sshEnv   string // BORGRUN_SSH=...
	sshDir   string // holds an ssh wrapper for systemd-run -H
}

func newFleet(t *testing.T, n int) *fleet {
	t.Helper()
	return newSuiteFleet(t, make([]transienttest.Suite, n))
}

// newSuiteFleet is newFleet with machine i booting suites[i]'s root.
func newSuiteFleet(t *testing.T, suites []transienttest.Suite) *fleet {
	t.Helper()
	transienttest.Require(t)
	for _, s := range suites {
		transienttest.RequireSuite(t, s)
	}
	n := len(suites)
	ctx := t.Context()
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	f := &fleet{netns: "borgrun-test-" + hex.EncodeToString(tag[:])}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	run("ip", "netns", "add", f.netns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", f.netns).Run() })
	run("ip", "-n", f.netns, "link", "set", "lo", "up")

	// Boot the machines in parallel.
	f.machines = make([]*transienttest.Systemd, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f.machines[i], errs[i] = transienttest.Start(ctx, transienttest.Options{Root: suites[i]}) })
	}
	wg.Wait()
	for i, m := range f.machines {
		if m != nil {
			t.Cleanup(func() { _ = m.Close() })
		}
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}

	dir := t.TempDir()
	var known, config strings.Builder
	for i, m := range f.machines {
		addr := fmt.Sprintf("10.77.%d.2", i+1)
		f.addrs = append(f.addrs, addr)
		link := "vh" + strconv.Itoa(i+1)
		run("ip", "link", "add", link, "netns", f.netns, "type", "veth", "peer", "name", "eth0", "netns", strconv.Itoa(m.PID()))
		run("ip", "-n", f.netns, "addr", "add", fmt.Sprintf("10.77.%d.1/24", i+1), "dev", link)
		run("ip", "-n", f.netns, "link", "set", link, "up")
		for _, args := range [][]string{{"addr", "add", addr + "/24", "dev", "eth0"}, {"link", "set", "eth0", "up"}, {"link", "set", "lo", "up"}} {
			if out, err := m.NetCommand(ctx, "ip", args...).CombinedOutput(); err != nil {
				t.Fatalf("ip %v in machine %d: %v: %s", args, i+1, err, out)
			}
		}
		keys := filepath.Join(dir, strconv.Itoa(i+1))
		if err := os.Mkdir(keys, 0o700); err != nil {
			t.Fatal(err)
		}
		d, err := m.StartSSHD(ctx, keys, 22)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&known, "%s %s\n", addr, d.HostKey)
		fmt.Fprintf(&config, "Host %s\n  IdentityFile %s\n", addr, d.IdentityFile)
	}
	fmt.Fprintf(&config, "Host *\n  User root\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  ConnectTimeout 5\n  LogLevel ERROR\n",
		filepath.Join(dir, "known_hosts"))
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(known.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(cfg, []byte(config.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f.sshEnv = "BORGRUN_SSH=ssh -F " + cfg
	// systemd-run -H runs "ssh" from PATH: a wrapper adds the config.
	f.sshDir = filepath.Join(dir, "bin")
	if err := os.Mkdir(f.sshDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.sshDir, "ssh"), []byte("#!/bin/sh\nexec /usr/bin/ssh -F "+cfg+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return f
}

// systemdRun runs systemd-run with args in the client namespace, its ssh
// configured for the fleet.
func (f *fleet) systemdRun(t *testing.T, args ...string) outcome {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "nsenter", append([]string{"--net=/run/netns/" + f.netns, "--", "systemd-run"}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+f.sshDir+":"+os.Getenv("PATH"), "SYSTEMD_PAGER=cat", "LC_ALL=C.UTF-8")
	stdout, stderr, code := runCapture(t, cmd)
	return outcome{stdout, stderr, code}
}

// testRun: run with one -H does what systemd-run -H does (messages, exit
// status, units); with several, each host's lines are prefixed and a
// failed service fails its host.
func (f *fleet) testRun(t *testing.T) {
	m := f.machines[0]
	cases := [][]string{
		{"--wait", "-u", "@U", "/bin/sh", "-c", "exit 3"},
		{"--wait", "/bin/true"},
		{"-u", "@U", "-r", "--description=remote", "/bin/true"},
		{"-u", "@U", "--on-active=1h", "/bin/true"},
		{"-u", "@U", "-p", "Bogus=1", "/bin/true"},
	}
	for i, args := range cases {
		sdStem, brStem := fmt.Sprintf("sdhost%d", i), fmt.Sprintf("brhost%d", i)
		sd := f.systemdRun(t, append([]string{"-H", f.addrs[0]}, subst(args, sdStem)...)...)
		stdout, stderr, code := f.borgrun(t, append([]string{"run", "-H", f.addrs[0]}, subst(args, brStem)...)...)
		if slices.Contains(args, "Bogus=1") {
			// Bad input: systemd-run says so after connecting; borgrun
			// before, with exit status 2.
			if sd.code != 1 || code != exitUsage || !strings.Contains(stderr, `"Bogus=1"`) {
				t.Errorf("%v: systemd-run %d, borgrun %d %q; want 1 and 2", args, sd.code, code, stderr)
			}
			continue
		}
		// The comparison compares something: the first case fails with
		// its status, the third stays loaded.
		if i == 0 && (sd.code != 3 || !strings.Contains(sd.stderr, "status=3")) || i == 2 && showOn(t, m, sdStem+".service", "LoadState")["LoadState"] != "loaded" {
			t.Errorf("%v: systemd-run -H: exit %d, stderr %q", args, sd.code, sd.stderr)
		}
		if code != sd.code || stdout != sd.stdout {
			t.Errorf("%v: exit %d stdout %q; systemd-run -H %d %q (stderr %q)", args, code, stdout, sd.code, sd.stdout, sd.stderr)
		}
		if a, b := normalizeMessages(stderr, brStem), normalizeMessages(sd.stderr, sdStem); a != b {
			t.Errorf("%v: stderr differs\nborgrun:\n%s\nsystemd-run -H:\n%s", args, a, b)
		}
		for _, unit := range []string{".service", ".timer"} {
			props := []string{"LoadState", "Description", "RemainAfterExit", "ExecStart", "Result", "ExecMainStatus", "TimersMonotonic"}
			a, b := showOn(t, m, brStem+unit, props...), showOn(t, m, sdStem+unit, props...)
			for _, k := range props {
				av := strings.ReplaceAll(reInValues.ReplaceAllString(a[k], "$1=X"), brStem, "UNIT")
				bv := strings.ReplaceAll(reInValues.ReplaceAllString(b[k], "$1=X"), sdStem, "UNIT")
				if av != bv {
					t.Errorf("%v: %s %s = %q, systemd-run -H %q", args, unit, k, av, bv)
				}
			}
		}
	}

	// Several hosts: prefixed lines, and a failed service fails its host.
	stdout, stderr, code := f.borgrun(t, "run", "-H", f.addrs[0], "-H", f.addrs[1], "--wait", "-q", "--", "/bin/sh", "-c", `test "$(hostname)" != nothing && exit 4`)
	if code != 1 || !strings.HasSuffix(stderr, "borgrun: 2 of 2 hosts failed: "+f.addrs[0]+", "+f.addrs[1]+"\n") ||
		!strings.Contains(stderr, "borgrun: "+f.addrs[1]+": exit status 4\n") {
		t.Errorf("run on two hosts, exit 4: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = f.borgrun(t, "run", "-H", f.addrs[0], "-H", f.addrs[1], "--wait", "--", "true")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, f.addrs[0]+": Running as unit: run-u") || !strings.Contains(stdout, "\n"+f.addrs[1]+": Finished with result: success\n") {
		t.Errorf("run on two hosts: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
}

// borgrun runs borgrun with args in the fleet's client namespace and
// returns its stdout, stderr and exit status.
func (f *fleet) borgrun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "nsenter", append([]string{"--net=/run/netns/" + f.netns, "--", exe}, args...)...)
	cmd.Env = append(os.Environ(), "BORGRUN_TEST_MAIN=1", f.sshEnv)
	return runCapture(t, cmd)
}

// hostArgs returns -H for each address.
func hostArgs(addrs ...string) []string {
	var a []string
	for _, h := range addrs {
		a = append(a, "-H", h)
	}
	return a
}

// show returns systemctl show of unit on machine m.
func showOn(t *testing.T, m *transienttest.Systemd, unit string, names ...string) map[string]string {
	t.Helper()
	out, err := m.Output(t.Context(), "systemctl", "show", unit, "--property="+strings.Join(names, ","))
	if err != nil {
		t.Fatal(err)
	}
	p := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			p[k] = v
		}
	}
	return p
}

// TestFleet schedules on three machines at once over ssh, lists and
// removes there, then takes one machine down and checks that it is
// reported while the others succeed.
func TestFleet(t *testing.T) {
	f := newFleet(t, 3)
	all := hostArgs(f.addrs...)

	args := append([]string{"schedule", "--daily", "--name", "fleet"}, all...)
	start := time.Now()
	stdout, stderr, code := f.borgrun(t, append(args, "--", "true")...)
	t.Logf("schedule on %d hosts: %v", len(f.addrs), time.Since(start))
	if code != 0 || stderr != "" {
		t.Fatalf("schedule -H: exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("schedule -H printed %q, want one line per host", stdout)
	}
	for i, m := range f.machines {
		// In the order given, one line each.
		if want := f.addrs[i] + ": scheduled fleet: borgrun-fleet.timer triggers borgrun-fleet.service; next run "; !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d = %q, want it to start %q", i, lines[i], want)
		}
		timer := showOn(t, m, "borgrun-fleet.timer", "ActiveState", "Persistent")
		if timer["ActiveState"] != "active" || timer["Persistent"] != "yes" {
			t.Errorf("machine %d: timer %v", i+1, timer)
		}
		// Bare command names, left to the remote manager's search path.
		svc := showOn(t, m, "borgrun-fleet.service", "ExecStart", "ProtectSystem")
		if !strings.Contains(svc["ExecStart"], "path=systemd-inhibit ;") || !strings.Contains(svc["ExecStart"], " true ;") {
			t.Errorf("machine %d: ExecStart %q, want systemd-inhibit and true as given", i+1, svc["ExecStart"])
		}
		if svc["ProtectSystem"] != "strict" {
			t.Errorf("machine %d: ProtectSystem = %q, want the default hardening", i+1, svc["ProtectSystem"])
		}
	}
	// ... which finds them: a triggered run succeeds.
	if _, err := f.machines[0].Output(t.Context(), "systemctl", "start", "borgrun-fleet.service"); err != nil {
		t.Fatal(err)
	}
	if got := showOn(t, f.machines[0], "borgrun-fleet.service", "Result", "ExecMainStatus", "ConditionResult"); got["Result"] != "success" || got["ExecMainStatus"] != "0" || got["ConditionResult"] != "yes" {
		t.Errorf("a run of the remotely scheduled service: %v, want it run and succeeded", got)
	}

	// Again: unchanged everywhere, as JSON, one object per host.
	stdout, stderr, code = f.borgrun(t, append(append(args, "--json"), "--", "true")...)
	if code != 0 || stderr != "" {
		t.Fatalf("schedule -H --json: exit %d, stderr %q", code, stderr)
	}
	var objs []hostResultJSON
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		var o hostResultJSON
		if err := json.Unmarshal([]byte(l), &o); err != nil {
			t.Fatalf("--json line %q: %v", l, err)
		}
		objs = append(objs, o)
	}
	if len(objs) != 3 {
		t.Fatalf("--json printed %d objects, want 3: %q", len(objs), stdout)
	}
	for i, o := range objs {
		r, _ := o.Result.(map[string]any)
		if o.Host != f.addrs[i] || !o.OK || r["outcome"] != "unchanged" || r["timer"] != "borgrun-fleet.timer" {
			t.Errorf("--json object %d = %+v", i, o)
		}
	}

	start = time.Now()
	if _, stderr, code := f.borgrun(t, append([]string{"list", "--parallel", "1"}, all...)...); code != 0 {
		t.Fatalf("list -H --parallel 1: exit %d, stderr %q", code, stderr)
	}
	sequential := time.Since(start)
	start = time.Now()
	stdout, stderr, code = f.borgrun(t, append([]string{"list"}, all...)...)
	if code != 0 || stderr != "" {
		t.Fatalf("list -H: exit %d, stderr %q", code, stderr)
	}
	t.Logf("list on %d hosts: %v in parallel, %v one at a time", len(f.addrs), time.Since(start), sequential)
	if !strings.HasPrefix(stdout, "HOST ") || strings.Count(stdout, " fleet ") != 3 {
		t.Errorf("list -H = %q, want a table with a HOST column and fleet on every host", stdout)
	}
	for _, a := range f.addrs {
		if !strings.Contains(stdout, "\n"+a+" ") {
			t.Errorf("list -H lacks a row for %s: %q", a, stdout)
		}
	}

	t.Run("borgmatic -H", func(t *testing.T) { f.testBorgmatic(t) })
	t.Run("run -H", func(t *testing.T) { f.testRun(t) })
	t.Run("now -H", func(t *testing.T) { f.testNow(t) })

	t.Run("unprivileged caller", func(t *testing.T) { f.testUnprivileged(t) })

	// A host that refuses the login is reported with the reason.
	stdout, stderr, code = f.borgrun(t, "list", "-H", f.addrs[0], "-H", "nobody@"+f.addrs[1])
	if code != 1 || !strings.Contains(stderr, "borgrun: nobody@"+f.addrs[1]+": cannot connect: ") || !strings.Contains(stderr, "This account is currently not available.") ||
		!strings.HasSuffix(stderr, "borgrun: 1 of 2 hosts failed: nobody@"+f.addrs[1]+"\n") || !strings.Contains(stdout, f.addrs[0]+" ") {
		t.Errorf("list with a refusing host: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// Machine 3 goes down: its link goes with it. The others succeed,
	// the down host is reported, and the exit status is 1.
	if err := f.machines[2].Close(); err != nil {
		t.Fatal(err)
	}
	down := f.addrs[2]
	for _, cmd := range [][]string{
		{"schedule", "--daily", "--name", "fleet2", "--", "true"},
		{"list"},
		{"remove", "fleet"},
		{"run", "--wait", "--", "true"},
	} {
		t.Run(cmd[0], func(t *testing.T) {
			stdout, stderr, code := f.borgrun(t, append(append(cmd[:1:1], all...), cmd[1:]...)...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			wantErr := "borgrun: " + down + ": cannot connect: "
			summary := "borgrun: 1 of 3 hosts failed: " + down + "\n"
			if !strings.Contains(stderr, wantErr) || !strings.HasSuffix(stderr, summary) || strings.Count(stderr, "\n") != 2 {
				t.Errorf("stderr %q, want the down host's reason (%q) and the summary %q", stderr, wantErr, summary)
			}
			for _, a := range f.addrs[:2] {
				if !strings.Contains(stdout, a) {
					t.Errorf("stdout %q lacks the result of %s", stdout, a)
				}
			}
			if strings.Contains(stdout, down) {
				t.Errorf("stdout %q has a result for the down host", stdout)
			}
			for i, m := range f.machines[:2] {
				switch cmd[0] {
				case "schedule":
					if got := showOn(t, m, "borgrun-fleet2.timer", "ActiveState")["ActiveState"]; got != "active" {
						t.Errorf("machine %d: fleet2 timer %q, want active", i+1, got)
					}
				case "remove":
					if got := showOn(t, m, "borgrun-fleet.timer", "LoadState")["LoadState"]; got != "not-found" {
						t.Errorf("machine %d: fleet timer LoadState %q after remove, want not-found", i+1, got)
					}
				}
			}
		})
	}
}

// testNow: now -H runs the command on the host and shows its output,
// followed in the host's journal, and exits with its status; a second
// run shows only its own output. On several hosts, lines are prefixed.
func (f *fleet) testNow(t *testing.T) {
	for _, run := range []string{"first", "second"} {
		script := "echo " + run + "; echo to-stderr >&2; for i in 1 2 3; do echo line $i; done; exit 5"
		start := time.Now()
		stdout, stderr, code := f.borgrun(t, "now", "-H", f.addrs[0], "--name", "fleetnow", "--", "/bin/sh", "-c", script)
		t.Logf("now -H (%s run): %v", run, time.Since(start))
		if code != 5 {
			t.Errorf("%s run: exit %d, want 5; stderr %q", run, code, stderr)
		}
		// systemd-inhibit's own line too, which without -H goes to
		// borgrun's stderr.
		if want := run + "\nto-stderr\nline 1\nline 2\nline 3\n/bin/sh failed with exit status 5.\n"; stdout != want {
			t.Errorf("%s run: stdout %q, want %q (the run's own output, from the journal)", run, stdout, want)
		}
		for _, want := range []string{"Running as unit: borgrun-fleetnow-now.service on " + f.addrs[0], "Finished with result: exit-code\n", "code=exited/status=5\n"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s run: stderr %q lacks %q", run, stderr, want)
			}
		}
	}
	if got := showOn(t, f.machines[0], "borgrun-fleetnow-now.service", "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("after now -H, LoadState = %q, want not-found", got)
	}

	// Ctrl-C at a terminal: SIGINT to borgrun's whole process group. The
	// remote unit is stopped over the bus, which survives (ssh is in its
	// own group), and borgrun exits 130 with the summary.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// nsenter --net execs borgrun: one process, the group's leader.
	cmd := exec.CommandContext(t.Context(), "nsenter", "--net=/run/netns/"+f.netns, "--", exe,
		"now", "-H", f.addrs[0], "--name", "fleetsig", "--", "/bin/sh", "-c", "echo started; exec sleep 300")
	cmd.Env = append(os.Environ(), "BORGRUN_TEST_MAIN=1", f.sshEnv)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "started\n" {
		t.Fatalf("first line of now -H: %q, %v; stderr %q", line, err, errb.String())
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { _, _ = io.Copy(io.Discard, out); waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-time.After(30 * time.Second):
		t.Fatal("now -H did not end within 30s of SIGINT")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(errb.String(), "Finished with result:") {
		t.Errorf("now -H after SIGINT: %v, stderr %q; want exit 130 and the summary", err, errb.String())
	}
	if got := showOn(t, f.machines[0], "borgrun-fleetsig-now.service", "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("after SIGINT, the remote unit's LoadState = %q, want not-found (stopped)", got)
	}

	stdout, stderr, code := f.borgrun(t, "now", "-H", f.addrs[0], "-H", f.addrs[1], "--quiet", "--name", "fleetnow", "--", "/bin/sh", "-c", "echo hello from $(cat /etc/hostname 2>/dev/null || echo a host)")
	if code != 0 || stderr != "" {
		t.Fatalf("now on two hosts: exit %d, stderr %q", code, stderr)
	}
	for _, a := range f.addrs[:2] {
		if !strings.Contains(stdout, a+": hello from ") {
			t.Errorf("now on two hosts: stdout %q lacks a line from %s", stdout, a)
		}
	}
}

// testBorgmatic: with -H, the default hardening of a borgmatic job is
// derived on each host from that host's configuration.
func (f *fleet) testBorgmatic(t *testing.T) {
	for i, m := range f.machines[:2] {
		conf := fmt.Sprintf("location:\n  source_directories: [/etc]\n  repositories: [/srv/repo-%d]\n", i+1)
		if err := os.WriteFile(m.Root()+"/etc/borgmatic-fleet.yaml", []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	stdout, stderr, code := f.borgrun(t, "schedule", "--daily", "--name", "bm", "-H", f.addrs[0], "-H", f.addrs[1], "--", "borgmatic", "-c", "/etc/borgmatic-fleet.yaml")
	t.Logf("schedule borgmatic with remote derivation on 2 hosts: %v", time.Since(start))
	if code != 0 || stderr != "" || strings.Count(stdout, ": scheduled bm: ") != 2 {
		t.Fatalf("schedule -H borgmatic: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for i, m := range f.machines[:2] {
		svc := showOn(t, m, "borgrun-bm.service", "ReadWritePaths", "PrivateNetwork", "RequiresMountsFor", "Environment")
		own, other := fmt.Sprintf("/srv/repo-%d", i+1), fmt.Sprintf("/srv/repo-%d", 2-i)
		if !strings.Contains(svc["ReadWritePaths"], own) || strings.Contains(svc["ReadWritePaths"], other) ||
			!strings.Contains(svc["RequiresMountsFor"], own) || svc["PrivateNetwork"] != "yes" || !strings.Contains(svc["Environment"], "HOME=/root") {
			t.Errorf("machine %d: %v; want its own repository %s writable, no network", i+1, svc, own)
		}
	}
	// --dry-run shows each host's own sandbox, creating nothing.
	stdout, stderr, code = f.borgrun(t, "schedule", "--daily", "--dry-run", "--name", "bmdry", "-H", f.addrs[0], "-H", f.addrs[1], "--", "borgmatic", "-c", "/etc/borgmatic-fleet.yaml")
	first, second, _ := strings.Cut(stdout, "### on "+f.addrs[1]+"\n")
	if code != 0 || stderr != "" || !strings.HasPrefix(first, "### on "+f.addrs[0]+"\n") ||
		!strings.Contains(first, `ReadWritePaths=-"/srv/repo-1"`) || !strings.Contains(second, `ReadWritePaths=-"/srv/repo-2"`) || strings.Contains(second, "repo-1") {
		t.Errorf("schedule -H --dry-run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if got := showOn(t, f.machines[0], "borgrun-bmdry.timer", "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("--dry-run created borgrun-bmdry.timer: %s", got)
	}

	// A host whose configuration is missing fails alone.
	if err := os.Remove(f.machines[1].Root() + "/etc/borgmatic-fleet.yaml"); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = f.borgrun(t, "schedule", "--daily", "--name", "bm2", "-H", f.addrs[0], "-H", f.addrs[1], "--", "borgmatic", "-c", "/etc/borgmatic-fleet.yaml")
	if code != 1 || !strings.Contains(stdout, f.addrs[0]+": scheduled bm2") || !strings.Contains(stderr, "borgrun: "+f.addrs[1]+": --hardening=default: on "+f.addrs[1]+": borgmatic configuration \"/etc/borgmatic-fleet.yaml\"") {
		t.Errorf("a host without the configuration: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestParallelBound: --parallel 1 works on one host at a time. A stand-in
// for ssh logs its start and end and fails; with the bound, the log
// alternates strictly, and every host is reported.
func TestParallelBound(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	var stdout, stderr bytes.Buffer
	e := newBadInputEnv(t, &stdout, &stderr)
	e.ssh = []string{"sh", "-c", `echo start >> "$1"; echo end >> "$1"; exit 255`, "ssh", log}
	var args []string
	for i := range 6 {
		args = append(args, "-H", "h"+strconv.Itoa(i))
	}
	if code := e.main(append(append([]string{"list"}, args...), "--parallel", "1")); code != exitFailure {
		t.Fatalf("exit %d, want 1; stderr %q", code, stderr.String())
	}
	if !strings.HasSuffix(stderr.String(), "borgrun: 6 of 6 hosts failed: h0, h1, h2, h3, h4, h5\n") || strings.Count(stderr.String(), "cannot connect: ssh: exit status 255") != 6 {
		t.Errorf("stderr %q, want each host's failure and the summary", stderr.String())
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), strings.Repeat("start\nend\n", 6); got != want {
		t.Errorf("ssh ran %q, want one at a time: %q", got, want)
	}
}

// testUnprivileged: borgrun run by an unprivileged local user (nobody)
// reaches the host's manager as root: the bus handshake does not depend on
// the local uid.
func (f *fleet) testUnprivileged(t *testing.T) {
	dir, err := os.MkdirTemp("", "borgrun-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the test binary, the ssh config and the key, all
	// readable by nobody (the key owned by nobody, as ssh requires).
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := strings.Fields(strings.TrimPrefix(f.sshEnv, "BORGRUN_SSH="))[2]
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var keyPath string
	for _, l := range strings.Split(string(cfg), "\n") {
		if k, ok := strings.CutPrefix(strings.TrimSpace(l), "IdentityFile "); ok && keyPath == "" {
			keyPath = k
		}
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	known, err := os.ReadFile(filepath.Join(filepath.Dir(cfgPath), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"borgrun": bin, "id": key, "known_hosts": known,
		"ssh_config": []byte("Host *\n  User root\n  IdentityFile " + dir + "/id\n  IdentitiesOnly yes\n  UserKnownHostsFile " + dir + "/known_hosts\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n")}
	for name, data := range files {
		mode := os.FileMode(0o644)
		switch name {
		case "borgrun":
			mode = 0o755
		case "id":
			mode = 0o600
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "nsenter", "--net=/run/netns/"+f.netns, "-S", "65534", "-G", "65534", "--",
		filepath.Join(dir, "borgrun"), "list", "-H", f.addrs[0])
	cmd.Env = []string{"BORGRUN_TEST_MAIN=1", "BORGRUN_SSH=ssh -F " + dir + "/ssh_config", "PATH=/usr/bin:/bin", "HOME=" + dir}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), f.addrs[0]+"  fleet ") {
		t.Fatalf("list -H as nobody: %v, output %q", err, out)
	}
}
