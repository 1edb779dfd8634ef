package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
)

// completeHere runs "borgrun __complete ARGS..." in this process, where no
// manager answers (or the host's does), and returns its lines.
func completeHere(t *testing.T, args ...string) []string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(t.Context(), append([]string{"__complete"}, args...), &out, &errb); code != 0 || errb.Len() > 0 {
		t.Fatalf("__complete %q: exit %d, stderr %q", args, code, errb.String())
	}
	return strings.Fields(out.String())
}

func TestComplete(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args      []string
		want, not []string
		exact     bool
	}{
		{args: []string{""}, want: []string{"schedule", "now", "list", "remove", "export", "run", "completion", "help", "--version"}, not: []string{"__complete", "__man"}},
		{args: []string{"sch"}, want: []string{"schedule"}, exact: true},
		{args: []string{"schedule", "--har"}, want: []string{"--hardening"}, exact: true},
		{args: []string{"schedule", "--hardening", ""}, want: []string{"default", "strict", "off"}, exact: true},
		{args: []string{"schedule", "--hardening=s"}, want: []string{"--hardening=strict"}, exact: true},
		{args: []string{"now", "--priority", ""}, want: []string{"background", "idle", "normal"}, exact: true},
		{args: []string{"now", "--inhibit", ""}, want: []string{"block", "no"}, exact: true},
		{args: []string{"schedule", "--relax", "wx,"}, want: []string{"wx,known-hosts", "wx,snapshots"}, exact: true},
		{args: []string{"schedule", "--on-calendar", "w"}, want: []string{"weekly"}, exact: true},
		{args: []string{"schedule", "-p", "CPUQuota"}, want: []string{"CPUQuota=", "CPUQuotaPeriodSec="}, exact: true},
		{args: []string{"schedule", "-pCPUQuota"}, want: []string{"-pCPUQuota=", "-pCPUQuotaPeriodSec="}, exact: true},
		{args: []string{"schedule", "--property=CPUQuota"}, want: []string{"--property=CPUQuota=", "--property=CPUQuotaPeriodSec="}, exact: true},
		{args: []string{"schedule", "-p", "Nice=1"}, exact: true},
		{args: []string{"schedule", "--timer-property", "AccuracyS"}, want: []string{"AccuracySec="}, exact: true},
		{args: []string{"schedule", "-q"}, exact: true},
		{args: []string{"schedule", "-"}, want: []string{"-p", "--property", "-E", "--daily", "--timer-property", "--help"}},
		{args: []string{"schedule", "--daily", "--", ""}, want: []string{completeFiles}, exact: true},
		{args: []string{"schedule", "--daily", "/usr/bin/borgmatic", "--"}, want: []string{completeFiles}, exact: true},
		{args: []string{"schedule", "--passphrase-file", ""}, want: []string{completeFiles}, exact: true},
		{args: []string{"export", "--dir", ""}, want: []string{completeDirs}, exact: true},
		{args: []string{"now", "--writable", ""}, want: []string{completeDirs}, exact: true},
		{args: []string{"run", "--service-type", "o"}, want: []string{"oneshot"}, exact: true},
		{args: []string{"run", "--json", ""}, want: []string{"pretty", "short", "off"}, exact: true},
		{args: []string{"run", "--job-mode", "re"}, want: []string{"replace", "replace-irreversibly", "restart-dependencies"}, exact: true},
		{args: []string{"run", "--expand-environment", "n"}, want: []string{"no"}, exact: true},
		{args: []string{"run", "--root-directory", ""}, want: []string{completeDirs}, exact: true},
		{args: []string{"run", "--pty-"}, want: []string{"--pty-late"}, exact: true},
		{args: []string{"run", "--timer-property", "OnCalendar"}, want: []string{"OnCalendar="}, exact: true},
		{args: []string{"run", "--path-property", "PathEx"}, want: []string{"PathExists=", "PathExistsGlob="}, exact: true},
		{args: []string{"run", "--socket-property", "ListenS"}, want: []string{"ListenSequentialPacket=", "ListenSpecial=", "ListenStream="}, exact: true},
		{args: []string{"run", "--scope", "-p", "RuntimeMax"}, want: []string{"RuntimeMaxSec="}, exact: true},
		{args: []string{"run", "--scope", "-p", "Nic"}, exact: true},
		{args: []string{"run", "-p", "Nic"}, want: []string{"Nice="}, exact: true},
		{args: []string{"run", "--sc"}, want: []string{"--scope"}, exact: true},
		{args: []string{"run", "--on-"}, want: []string{"--on-active", "--on-calendar", "--on-timezone-change"}, not: []string{"--on-failure"}},
		{args: []string{"help", ""}, want: []string{"schedule", "run", "completion"}, not: []string{"help"}},
		{args: []string{"completion", ""}, want: []string{"bash", "zsh", "fish"}, exact: true},
		{args: []string{"list", "x"}, exact: true},
		{args: []string{"nosuchcommand", ""}, exact: true},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			t.Parallel()
			got := completeHere(t, c.args...)
			if c.exact && !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			for _, w := range c.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q missing from %q", w, got)
				}
			}
			for _, n := range c.not {
				if slices.Contains(got, n) {
					t.Errorf("%q offered: %q", n, got)
				}
			}
		})
	}
}

// Every command's every flag is offered, and every value-taking flag the
// completion knows the values of is one of the command's flags.
func TestCompleteEveryFlag(t *testing.T) {
	t.Parallel()
	for _, cmd := range commands() {
		opts := commandOptions(cmd.name)
		got := completeHere(t, cmd.name, "--")
		for _, o := range opts {
			if !slices.Contains(got, "--"+o.long) {
				t.Errorf("%s: --%s not offered", cmd.name, o.long)
			}
		}
	}
}

func TestCompletionScriptsUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), args, &out, &errb); code != exitUsage || out.Len() > 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout", args, code, out.String(), errb.String())
		}
	}
}

// The property names offered are those of the manager's systemd: a name
// newer than the sandbox's systemd is not offered there.
func TestCompletePropertiesOfManager(t *testing.T) {
	out, err := sandbox.Get(t).Output(t.Context(), "systemctl", "--version")
	if err != nil {
		t.Fatal(err)
	}
	var v props.Version
	if _, err := fmt.Sscanf(out, "systemd %d", &v); err != nil {
		t.Fatalf("systemctl --version: %q: %v", out, err)
	}
	if v >= props.NewestVersion {
		t.Skipf("the sandbox's systemd %d is the newest borgrun knows", v)
	}
	var newer string
	for _, n := range props.NamesFor(props.NewestVersion, props.Service) {
		if since, _ := props.Since(props.Service, n); since > v {
			newer = n
			break
		}
	}
	if newer == "" {
		t.Skip("no property newer than the sandbox's systemd")
	}
	stdout, stderr, code := borgrunEnv(t, []string{noRaceExitSleep}, "__complete", "schedule", "-p", newer[:len(newer)-1])
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout, _, _ := borgrunEnv(t, []string{noRaceExitSleep}, "__complete", "schedule", "-p", "CPUQuot"); !slices.Contains(strings.Fields(stdout), "CPUQuota=") {
		t.Errorf("CPUQuota= not offered: %q", stdout)
	}
	if slices.Contains(strings.Fields(stdout), newer+"=") {
		t.Errorf("%s= (systemd %d) offered for a systemd %d manager: %q", newer, mustSince(newer), v, stdout)
	}
	// Here, with no manager answering, the newest systemd's names.
	if got := completeHere(t, "schedule", "-p", newer); !slices.Contains(got, newer+"=") && systemdAbsent() {
		t.Errorf("%s= not offered without a manager: %q", newer, got)
	}
}

func mustSince(name string) props.Version {
	v, _ := props.Since(props.Service, name)
	return v
}

// systemdAbsent reports whether no system manager runs here.
func systemdAbsent() bool {
	_, err := os.Stat("/run/systemd/private")
	return err != nil
}

// noRaceExitSleep spares borgrun, this test binary, the race runtime's
// second of sleep at exit (under -race) on each completion.
const noRaceExitSleep = "GORACE=atexit_sleep_ms=0"

// shellCase is a completion typed into a shell: the line up to the
// cursor, and what must and must not be offered.
type shellCase struct {
	line      string
	bashWords []string // the line as bash splits it (COMP_WORDBREAKS), if not at blanks
	want, not []string
	bashWant  []string // what bash offers instead of want (the text after = or :)
}

func shellCases(a, b string) []shellCase {
	return []shellCase{
		{line: "borgrun sch", want: []string{"schedule"}},
		{line: "borgrun schedule --hard", want: []string{"--hardening"}},
		{line: "borgrun schedule --hardening=st", bashWords: []string{"borgrun", "schedule", "--hardening", "=", "st"},
			want: []string{"--hardening=strict"}, bashWant: []string{"strict"}},
		{line: "borgrun now --priority i", want: []string{"idle"}},
		{line: "borgrun schedule --inhibit ", want: []string{"block", "no"}},
		{line: "borgrun schedule --relax known-hosts,", want: []string{"known-hosts,wx", "known-hosts,snapshots"}},
		{line: "borgrun schedule -p CPUQuo", want: []string{"CPUQuota="}},
		{line: "borgrun schedule --timer-property Accur", want: []string{"AccuracySec="}},
		{line: "borgrun schedule --on-calendar wee", want: []string{"weekly"}},
		{line: "borgrun remove ", want: []string{a, b}},
		{line: "borgrun export " + a + " ", want: []string{b}, not: []string{a}},
		{line: "borgrun now --name " + a[:len(a)-1], want: []string{a, b}},
		{line: "borgrun completion ", want: []string{"bash", "zsh", "fish"}},
	}
}

// TestCompletionShells drives bash, zsh and fish themselves, inside the
// throwaway systemd, with the scripts installed as make install installs
// them, against the manager's jobs there.
func TestCompletionShells(t *testing.T) {
	sys := sandbox.Get(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A directory the sandbox sees (the test binary's is bound): borgrun
	// on PATH is this test binary, and the completion directories.
	dir, err := os.MkdirTemp(filepath.Dir(exe), "completion-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Mkdir(dir+"/bin", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, dir+"/bin/borgrun"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ shell, file string }{
		{"bash", "bash-completion/completions/borgrun"},
		{"zsh", "zsh/vendor-completions/_borgrun"},
		{"fish", "fish/vendor_completions.d/borgrun.fish"},
	} {
		var script, stderr bytes.Buffer
		if code := run(t.Context(), []string{"completion", s.shell}, &script, &stderr); code != 0 {
			t.Fatalf("completion %s: exit %d: %s", s.shell, code, stderr.String())
		}
		p := filepath.Join(dir, "share", s.file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, script.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	a, b := "cmpl-a", "cmpl-b"
	for _, n := range []string{a, b} {
		cleanupJob(t, n)
		if _, stderr, code := borgrunEnv(t, []string{noRaceExitSleep}, "schedule", "--daily", "--name", n, "--", "/bin/true"); code != 0 {
			t.Fatalf("schedule %s: exit %d: %s", n, code, stderr)
		}
	}
	cases := shellCases(a, b)

	shell := func(t *testing.T, name string, args ...string) string {
		t.Helper()
		if _, err := sys.Output(t.Context(), "sh", "-c", "command -v "+name); err != nil {
			skipUnlessRequired(t, "%s is not installed (make debs)", name)
		}
		cmd := sys.Command(t.Context(), name, args...)
		cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1", noRaceExitSleep, "PATH="+dir+"/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME="+dir, "XDG_DATA_DIRS="+dir+"/share")
		stdout, stderr, code := runCapture(t, cmd)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", name, code, stdout, stderr)
		}
		return stdout
	}
	check := func(t *testing.T, out string, want func(shellCase) []string) {
		t.Helper()
		got := splitCases(out, len(cases))
		for i, c := range cases {
			for _, w := range want(c) {
				if !slices.Contains(got[i], w) {
					t.Errorf("%q: %q not offered: %q", c.line, w, got[i])
				}
			}
			for _, n := range c.not {
				if slices.Contains(got[i], n) {
					t.Errorf("%q: %q offered: %q", c.line, n, got[i])
				}
			}
		}
	}

	t.Run("bash", func(t *testing.T) {
		var s strings.Builder
		s.WriteString("source /usr/share/bash-completion/bash_completion\n")
		// The completion of borgrun, loaded on demand from the directory
		// as bash-completion does for an installed package.
		s.WriteString("_completion_loader borgrun\nf=$(complete -p borgrun | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')\n[ -n \"$f\" ] || { complete -p borgrun; exit 1; }\n")
		for i, c := range cases {
			words := c.bashWords
			if words == nil {
				words = strings.Split(c.line, " ")
			}
			fmt.Fprintf(&s, "COMP_LINE=%s; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(", shq(c.line))
			for _, w := range words {
				s.WriteString(shq(w) + " ")
			}
			fmt.Fprintf(&s, "); COMP_CWORD=%d; COMPREPLY=(); echo '@@ %d'\n", len(words)-1, i)
			s.WriteString(`"$f" borgrun "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; printf '%s\n' "${COMPREPLY[@]}"` + "\n")
		}
		out := shell(t, "bash", "-c", s.String())
		check(t, out, func(c shellCase) []string {
			if c.bashWant != nil {
				return c.bashWant
			}
			return c.want
		})
	})

	t.Run("zsh", func(t *testing.T) {
		var s strings.Builder
		// compinit finds _borgrun in the vendor directory, as it does
		// /usr/share/zsh/vendor-completions; compadd and _files report
		// what they would offer.
		s.WriteString("fpath=(" + dir + "/share/zsh/vendor-completions $fpath)\nautoload -Uz compinit && compinit -u -D\n")
		s.WriteString("[[ $_comps[borgrun] == _borgrun ]] || { print -r -- \"borgrun not registered: $_comps[borgrun]\"; exit 1 }\n")
		s.WriteString("compadd() { while [[ $# -gt 0 && $1 != -- ]]; do shift; done; shift; print -rl -- \"$@\" }\n_files() { print -r -- \":files $*\" }\n")
		for i, c := range cases {
			words := strings.Split(c.line, " ")
			fmt.Fprintf(&s, "words=(")
			for _, w := range words {
				s.WriteString(shq(w) + " ")
			}
			fmt.Fprintf(&s, "); CURRENT=%d; print -r -- '@@ %d'; _borgrun\n", len(words), i)
		}
		out := shell(t, "zsh", "-f", "-c", s.String())
		check(t, out, func(c shellCase) []string { return c.want })

		// Sourced instead (source <(borgrun completion zsh)), it registers itself.
		out = shell(t, "zsh", "-f", "-c", "autoload -Uz compinit && compinit -u -D; source <(borgrun completion zsh); print -r -- $_comps[borgrun]")
		if strings.TrimSpace(out) != "_borgrun" {
			t.Errorf("sourced zsh completion: _comps[borgrun] = %q", out)
		}
	})

	t.Run("fish", func(t *testing.T) {
		var s strings.Builder
		// fish loads borgrun.fish from a vendor_completions.d of
		// XDG_DATA_DIRS, as it does /usr/share/fish/vendor_completions.d.
		for i, c := range cases {
			fmt.Fprintf(&s, "echo '@@ %d'; complete -C %s\n", i, fishq(c.line))
		}
		out := shell(t, "fish", "-c", s.String())
		var cut strings.Builder
		for _, l := range strings.Split(out, "\n") {
			l, _, _ = strings.Cut(l, "\t")
			cut.WriteString(l + "\n")
		}
		check(t, cut.String(), func(c shellCase) []string { return c.want })
	})
}

// splitCases splits a driver's output at its "@@ N" lines.
func splitCases(out string, n int) [][]string {
	got := make([][]string, n)
	i := -1
	for _, l := range strings.Split(out, "\n") {
		var j int
		if _, err := fmt.Sscanf(l, "@@ %d", &j); err == nil && j >= 0 && j < n {
			i = j
			continue
		}
		if i >= 0 && l != "" {
			got[i] = append(got[i], l)
		}
	}
	return got
}

// shq quotes s for sh, bash and zsh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// fishq quotes s for fish.
func fishq(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// A manager that does not answer costs a completion at most about a
// second, and its names are silently not offered.
func TestCompleteSilentWithoutManager(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "private")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() }) // after the parallel subtests
	// Accepts, then never says a word.
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	for _, c := range []struct {
		name, address string
		args          []string
		want          []string
	}{
		{"absent", "unix:path=" + filepath.Join(t.TempDir(), "none"), []string{"remove", ""}, nil},
		{"silent", "unix:path=" + sock, []string{"export", ""}, nil},
		{"silent property", "unix:path=" + sock, []string{"now", "-p", "CPUQuotaP"}, []string{"CPUQuotaPeriodSec="}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			e := &env{ctx: t.Context(), stdout: &out, stderr: &errb, dial: transient.DialOptions{Address: c.address}}
			start := time.Now()
			e.complete(c.args)
			if d := time.Since(start); d > 3*completeTimeout {
				t.Errorf("took %v", d)
			}
			if got := strings.Fields(out.String()); !slices.Equal(got, c.want) || errb.Len() > 0 {
				t.Errorf("got %q, stderr %q; want %q", got, errb.String(), c.want)
			}
		})
	}
}

// TestCompleteHosts: -H completes the hosts ssh knows, from ~/.ssh/config
// (no patterns) and ~/.ssh/known_hosts (no hashed names, [name]:port as
// name:port), after a USER@ already typed.
func TestCompleteHosts(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	config := "Host web1 web2 *.corp !bad\n  User root\nHost=db1\nMatch host x\n"
	known := "web1,10.0.0.7 ssh-ed25519 AAAA\n[backup.example]:2222 ssh-rsa AAAA\n|1|abc=|def= ssh-rsa AAAA\n@cert-authority *.example ssh-rsa AAAA\n# comment\n"
	for name, text := range map[string]string{"config": config, "known_hosts": known} {
		if err := os.WriteFile(filepath.Join(home, ".ssh", name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"10.0.0.7", "backup.example:2222", "db1", "web1", "web2"}
	var system []string // the host's own /etc/ssh/ssh_known_hosts, if any
	for _, h := range sshHosts("") {
		if !slices.Contains(want, h) {
			system = append(system, h)
		}
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"list", "-H", ""}, want},
		{[]string{"list", "--host=we"}, []string{"--host=web1", "--host=web2"}},
		{[]string{"run", "-H", "root@d"}, []string{"root@db1"}},
	} {
		got := completeHere(t, c.args...)
		got = slices.DeleteFunc(got, func(s string) bool {
			for _, h := range system {
				if strings.HasSuffix(s, h) {
					return true
				}
			}
			return false
		})
		if !slices.Equal(got, c.want) {
			t.Errorf("__complete %q = %q, want %q", c.args, got, c.want)
		}
	}
}
