package backup_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/borgrun/borgrun/transient/transienttest"
)

var sandbox transienttest.Shared

func TestMain(m *testing.M) { os.Exit(sandbox.Run(m)) }

// dial connects to the shared throwaway systemd's system bus.
func dial(t *testing.T) (*transient.Conn, *transienttest.Systemd) {
	t.Helper()
	sys := sandbox.Get(t)
	c, err := transient.Dial(t.Context(), transient.DialOptions{Stream: sys.BusStream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, sys
}

// waitActiveState waits, driven by the manager's signals, until unit is in
// state.
func waitActiveState(t *testing.T, c *transient.Conn, unit, state string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return c.WaitActiveState(ctx, unit, state)
}

func TestStartTimerCreatesPair(t *testing.T) {
	c, sys := dial(t)
	b := backup.Job{
		Name:            "pair",
		Command:         []string{"/bin/true"},
		Calendars:       []string{"daily"},
		Persistent:      true,
		RandomizedDelay: 10 * time.Minute,
		ACPowerOnly:     true,
		Inhibitor:       "/usr/bin/systemd-inhibit",
	}
	v, err := c.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	timerProps, err := b.Timer(v)
	if err != nil {
		t.Fatal(err)
	}
	serviceProps, err := b.Service(v, "oneshot")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartTimer(t.Context(), b.TimerUnit(), timerProps, b.ServiceUnit(), serviceProps); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background(), b.TimerUnit(), b.ServiceUnit()); err != nil {
			t.Error(err)
		}
	})
	timer := sys.Show(t, b.TimerUnit())
	for k, want := range map[string]string{
		"ActiveState":         "active",
		"TimersCalendar":      "{ OnCalendar=*-*-* 00:00:00 ; next_elapse=",
		"Persistent":          "yes",
		"RandomizedDelayUSec": "10min",
		"FixedRandomDelay":    "yes",
		"Triggers":            b.ServiceUnit(),
		"FragmentPath":        "/run/systemd/transient/" + b.TimerUnit(),
	} {
		if got := timer[k]; !strings.HasPrefix(got, want) {
			t.Errorf("timer %s = %q, want prefix %q", k, got, want)
		}
	}
	svc := sys.Show(t, b.ServiceUnit())
	for k, want := range map[string]string{
		"LoadState":        "loaded",
		"ActiveState":      "inactive",
		"Type":             "oneshot",
		"ConditionResult":  "no", // not evaluated yet
		"SyslogIdentifier": "true",
		"ExecStart":        "{ path=/usr/bin/systemd-inhibit ; argv[]=/usr/bin/systemd-inhibit --what=sleep:shutdown --mode=block --who=borgrun --why=borgrun backup pair is running /bin/true ;",
		"FragmentPath":     "/run/systemd/transient/" + b.ServiceUnit(),
	} {
		if got := svc[k]; !strings.HasPrefix(got, want) {
			t.Errorf("service %s = %q, want prefix %q", k, got, want)
		}
	}
	st, err := c.Timer(t.Context(), b.TimerUnit())
	if err != nil {
		t.Fatal(err)
	}
	if st.Next.IsZero() || time.Until(st.Next) > 24*time.Hour+10*time.Minute {
		t.Errorf("next elapse %v is not within the next day", st.Next)
	}
	// A second identical start is refused by name: UnitExists.
	err = c.StartTimer(t.Context(), b.TimerUnit(), timerProps, b.ServiceUnit(), serviceProps)
	if !errors.Is(err, transient.ErrUnitExists) {
		t.Fatalf("second StartTimer error = %v, want ErrUnitExists", err)
	}
}

func TestScheduleIsIdempotent(t *testing.T) {
	c, sys := dial(t)
	b := &backup.Job{Name: "idem", Command: []string{"/bin/true"}, Calendars: []string{"daily"}, Persistent: true}
	t.Cleanup(func() {
		if err := backup.Remove(context.Background(), c, b.Name, true); err != nil {
			t.Error(err)
		}
	})

	// Concurrent identical schedules end with exactly one pair: one
	// Created, the rest Unchanged.
	const n = 20
	outcomes := make(chan backup.Outcome, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			o, err := backup.Schedule(t.Context(), c, b, false)
			outcomes <- o
			errs <- err
		}()
	}
	count := map[backup.Outcome]int{}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		count[<-outcomes]++
	}
	if count[backup.Created] != 1 || count[backup.Unchanged] != n-1 {
		t.Fatalf("outcomes %v, want 1 created and %d unchanged", count, n-1)
	}
	if got := sys.Show(t, b.ServiceUnit())["Environment"]; !strings.Contains(got, backup.FingerprintVar+"="+b.Fingerprint()) {
		t.Errorf("service Environment = %q, want the fingerprint", got)
	}

	// A different definition under the same name is refused...
	other := *b
	other.Calendars = []string{"weekly"}
	if _, err := backup.Schedule(t.Context(), c, &other, false); !errors.Is(err, backup.ErrScheduleDiffers) {
		t.Fatalf("different schedule: err = %v, want ErrScheduleDiffers", err)
	}
	if got := sys.Show(t, b.TimerUnit())["TimersCalendar"]; !strings.Contains(got, "*-*-* 00:00:00") {
		t.Fatalf("refused replacement changed the timer: %q", got)
	}
	// ...unless replace is asked for.
	if o, err := backup.Schedule(t.Context(), c, &other, true); err != nil || o != backup.Replaced {
		t.Fatalf("replace: %v, %v; want replaced", o, err)
	}
	if got := sys.Show(t, b.TimerUnit())["TimersCalendar"]; !strings.Contains(got, "Mon *-*-* 00:00:00") {
		t.Fatalf("after replace, TimersCalendar = %q, want weekly", got)
	}
	if o, err := backup.Schedule(t.Context(), c, &other, true); err != nil || o != backup.Unchanged {
		t.Fatalf("same schedule with replace: %v, %v; want unchanged", o, err)
	}
	// A stopped timer (its service left behind) is re-armed, not
	// "unchanged".
	if _, err := sys.Output(t.Context(), "systemctl", "stop", b.TimerUnit()); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitGone(t.Context(), b.TimerUnit()); err != nil {
		t.Fatal(err)
	}
	if o, err := backup.Schedule(t.Context(), c, &other, false); err != nil || o != backup.Created {
		t.Fatalf("after the timer was stopped: %v, %v; want created", o, err)
	}
	if got := sys.Show(t, b.TimerUnit())["ActiveState"]; got != "active" {
		t.Fatalf("re-armed timer ActiveState = %q", got)
	}
}

func TestScheduleNeverKillsARun(t *testing.T) {
	c, sys := dial(t)
	b := &backup.Job{Name: "busy", Command: []string{"/bin/sleep", "300"}, Calendars: []string{"daily"}}
	t.Cleanup(func() { _ = c.Stop(context.Background(), b.TimerUnit(), b.ServiceUnit()) })
	if _, err := backup.Schedule(t.Context(), c, b, false); err != nil {
		t.Fatal(err)
	}
	// Start the scheduled run by hand; it is a oneshot, so the start job
	// stays pending while it runs (--no-block).
	if _, err := sys.Output(t.Context(), "systemctl", "start", "--no-block", b.ServiceUnit()); err != nil {
		t.Fatal(err)
	}
	if err := waitActiveState(t, c, b.ServiceUnit(), "activating"); err != nil {
		t.Fatal(err)
	}
	other := *b
	other.Calendars = []string{"weekly"}
	if _, err := backup.Schedule(t.Context(), c, &other, true); !errors.Is(err, backup.ErrRunInProgress) {
		t.Fatalf("replace during a run: err = %v, want ErrRunInProgress", err)
	}
	if got := sys.Show(t, b.ServiceUnit())["ActiveState"]; got != "activating" {
		t.Fatalf("the run was disturbed: ActiveState = %q", got)
	}
}

func TestScheduleRefusesForeignUnit(t *testing.T) {
	c, sys := dial(t)
	// A unit that borgrun did not create, under a job's name.
	if _, err := sys.Output(t.Context(), "systemd-run", "--unit=borgrun-foreign", "--on-calendar=daily", "/bin/true"); err != nil {
		t.Fatal(err)
	}
	b := &backup.Job{Name: "foreign", Command: []string{"/bin/true"}, Calendars: []string{"daily"}}
	t.Cleanup(func() { _ = c.Stop(context.Background(), b.TimerUnit(), b.ServiceUnit()) })
	if _, err := backup.Schedule(t.Context(), c, b, true); !errors.Is(err, backup.ErrNotOurs) {
		t.Fatalf("err = %v, want ErrNotOurs", err)
	}
}

// TestDeriveRemoteSandbox derives a borgmatic job's sandbox from files
// that exist only on the host (in the sandbox), read over ssh, following
// an !include.
func TestDeriveRemoteSandbox(t *testing.T) {
	sys := sandbox.Get(t)
	dir := t.TempDir()
	d, err := sys.StartSSHD(t.Context(), dir, 2303)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.ClientConfig(dir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ssh := []string{"nsenter", "-t", strconv.Itoa(sys.PID()), "-n", "--", "ssh", "-F", cfg}
	conf := "/etc/borgrun-remote-test"
	if _, err := os.Stat(conf); err == nil {
		t.Fatalf("%s exists here; the test needs it only on the host", conf)
	}
	for name, data := range map[string]string{
		"config.yaml":   "location: !include location.yaml\nstorage:\n  ssh_command: ssh -i /root/.ssh/key\n",
		"location.yaml": "source_directories: [/etc]\nrepositories: [/srv/remote-repo]\n",
		"broken.yaml":   "location: !include missing.yaml\n",
	} {
		if err := os.MkdirAll(sys.Root()+conf, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sys.Root()+conf+"/"+name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	machineID, err := os.ReadFile(sys.Root() + "/etc/machine-id")
	if err != nil {
		t.Fatal(err)
	}
	host := transient.Host{Name: "127.0.0.1"}
	s, err := backup.DeriveRemoteSandbox(t.Context(), host, ssh, backup.SandboxOptions{
		Profile: backup.ProfileDefault, Name: "remote", Command: []string{"borgmatic", "-c", conf + "/config.yaml"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Network || !slices.Equal(s.Repositories, []string{"/srv/remote-repo"}) {
		t.Errorf("sandbox: network %v, repositories %q; want no network and the included repository", s.Network, s.Repositories)
	}
	env := strings.Join(s.Environment, " ")
	for _, want := range []string{"HOME=/root", "@" + strings.TrimSpace(string(machineID)), "BORG_CACHE_DIR=/root/.cache/borg"} {
		if !strings.Contains(env, want) {
			t.Errorf("environment %q lacks %q", env, want)
		}
	}
	// borgmatic's state directory for the version found on the host
	// (1.7: ~/.borgmatic only).
	var paths []string
	for _, p := range s.Paths {
		paths = append(paths, p.Path)
	}
	if !slices.Contains(paths, "/root/.borgmatic") || slices.Contains(paths, "/root/.local/state/borgmatic") {
		t.Errorf("paths %q: want borgmatic 1.7's state directory only (the host's version)", paths)
	}

	_, err = backup.DeriveRemoteSandbox(t.Context(), host, ssh, backup.SandboxOptions{
		Profile: backup.ProfileDefault, Name: "remote", Command: []string{"borgmatic", "-c", conf + "/broken.yaml"}})
	if err == nil || !strings.Contains(err.Error(), conf+"/missing.yaml") || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("a missing include: %v, want an error naming it and the host", err)
	}
	_, err = backup.DeriveRemoteSandbox(t.Context(), host, ssh, backup.SandboxOptions{
		Profile: backup.ProfileDefault, Name: "remote", Command: []string{"borgmatic", "-c", conf + "/none.yaml"}})
	if err == nil || !strings.Contains(err.Error(), conf+"/none.yaml") {
		t.Errorf("a missing configuration: %v, want an error naming it", err)
	}
}

// TestScheduleRefusesInvalidJob: the library enforces the rules the CLI
// relies on: an invalid job is ErrInvalid, naming the bad value, and
// nothing reaches the manager.
func TestScheduleRefusesInvalidJob(t *testing.T) {
	c, sys := dial(t)
	for _, tt := range []struct {
		name string
		job  backup.Job
		want string
	}{
		{"dollar", backup.Job{Name: "bad-dollar", Command: []string{"/bin/echo", "$HOME"}, Calendars: []string{"daily"}}, `argument "$HOME"`},
		{"semicolon", backup.Job{Name: "bad-semicolon", Command: []string{"/bin/sh", "-c", "true; true"}, Calendars: []string{"daily"}}, `argument "true; true"`},
		{"no calendar", backup.Job{Name: "bad-nocal", Command: []string{"/bin/true"}}, "no calendar"},
		{"calendar", backup.Job{Name: "bad-cal", Command: []string{"/bin/true"}, Calendars: []string{"dayly"}}, `"dayly"`},
		{"name", backup.Job{Name: "../etc", Command: []string{"/bin/true"}, Calendars: []string{"daily"}}, `"../etc"`},
		{"priority", backup.Job{Name: "bad-prio", Command: []string{"/bin/true"}, Calendars: []string{"daily"}, Priority: "urgent"}, `"urgent"`},
		{"property", backup.Job{Name: "bad-prop", Command: []string{"/bin/true"}, Calendars: []string{"daily"}, ServiceProperties: []string{"Nice=99"}}, `"Nice=99"`},
		{"no command", backup.Job{Name: "bad-nocmd", Calendars: []string{"daily"}}, "no command"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := backup.Schedule(t.Context(), c, &tt.job, false)
			if !errors.Is(err, backup.ErrInvalid) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Schedule = %v; want one line wrapping ErrInvalid and naming %s", err, tt.want)
			}
			if tt.job.Name != "../etc" {
				if got := sys.Show(t, tt.job.TimerUnit())["LoadState"]; got != "not-found" {
					t.Errorf("%s LoadState = %q after a refused schedule, want not-found", tt.job.TimerUnit(), got)
				}
			}
		})
	}
}

func TestQuietSyslog(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{[]string{"/usr/bin/borgmatic"}, []string{"/usr/bin/borgmatic", "--log-file", "/dev/null"}},
		{[]string{"/usr/bin/borgmatic", "create"}, []string{"/usr/bin/borgmatic", "--log-file", "/dev/null", "create"}},
		{[]string{"/usr/bin/borgmatic", "--syslog-verbosity", "1"}, []string{"/usr/bin/borgmatic", "--syslog-verbosity", "1"}},
		{[]string{"/usr/bin/borgmatic", "--log-file=/var/log/b"}, []string{"/usr/bin/borgmatic", "--log-file=/var/log/b"}},
		{[]string{"/usr/bin/borg", "create"}, []string{"/usr/bin/borg", "create"}},
	} {
		j := backup.Job{Name: "q", Command: slices.Clone(tt.in)}
		j.QuietSyslog()
		if !slices.Equal(j.Command, tt.want) {
			t.Errorf("QuietSyslog(%q) = %q, want %q", tt.in, j.Command, tt.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"nightly", ""},
		{"a.b-c_d9", ""},
		{"", "1 to 64 characters"},
		{strings.Repeat("x", 65), "1 to 64 characters"},
		{"../etc", `name "../etc": must start with a letter or digit, not '.'`},
		{"-x", `must start with a letter or digit, not '-'`},
		{"a/b", `name "a/b": character '/' not allowed (letters, digits, '-', '_' and '.' are)`},
		{"a b", `character ' ' not allowed`},
	} {
		err := backup.ValidName(tt.name)
		if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ValidName(%q) = %v, want %q", tt.name, err, tt.want)
		}
	}
}
