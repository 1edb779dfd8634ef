package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sampleBackup is the demo's backup command where borgmatic is not
// installed: a small real archive, its file names listed as they are
// stored.
var sampleBackup = []string{"/bin/tar", "-C", "/", "-czvf", "/var/tmp/borgrun-demo.tgz", "etc/hostname", "etc/os-release"}

// The demo's files when borgmatic and borg are installed (not below
// /tmp or /var/tmp, which the sandbox makes private): its
// configuration, repository and failure hook live below demoDir, and the
// hook reports through the FIFO demoHookFIFO.
const (
	demoDir      = "/var/lib/borgrun-demo"
	demoHookFIFO = "/run/borgrun-demo/hook"
)

// TestDemo is "make demo": it shows borgrun end to end, on the host's
// systemd if it is PID 1, otherwise in a throwaway systemd. With borgmatic
// and borg installed (make deps) it schedules and runs a real borgmatic
// backup into a real repository and shows a failure hook firing;
// otherwise it backs up with tar. It runs only with BORGRUN_DEMO=1 and
// prints to stdout for a person to read.
func TestDemo(t *testing.T) {
	if os.Getenv("BORGRUN_DEMO") != "1" {
		t.Skip("set BORGRUN_DEMO=1 (make demo)")
	}
	exe := os.Getenv("BORGRUN_BIN") // the binary make build built
	if !filepath.IsAbs(exe) {
		t.Fatalf("BORGRUN_BIN=%q: want the absolute path of the built borgrun", exe)
	}
	var command func(name string, args ...string) *exec.Cmd
	root := "" // where the manager's / is, seen from here
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		fmt.Println("== systemd is PID 1 here: the demo uses the host's manager")
		command = func(name string, args ...string) *exec.Cmd { return exec.CommandContext(t.Context(), name, args...) }
	} else {
		fmt.Println("== systemd is not PID 1 here: booting a throwaway systemd 252 (overlay root, private namespaces)")
		sandbox.Options.Binds = append(sandbox.Options.Binds, filepath.Dir(exe))
		sys := sandbox.Get(t)
		fmt.Printf("== booted; its PID 1 is host PID %d\n", sys.PID())
		command = func(name string, args ...string) *exec.Cmd { return sys.Command(t.Context(), name, args...) }
		root = sys.Root()
	}
	step := func(show string, name string, args ...string) int {
		fmt.Printf("\n$ %s\n", show)
		cmd := command(name, args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		err := cmd.Run()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("[exit status %d]\n", code)
		return code
	}
	borgrun := func(args ...string) int {
		shown := make([]string, len(args))
		for i, a := range args {
			if strings.ContainsAny(a, " \t\"") {
				a = "'" + a + "'"
			}
			shown[i] = a
		}
		return step("borgrun "+strings.Join(shown, " "), exe, args...)
	}

	borgmatic, errBM := exec.LookPath("borgmatic")
	borg, errB := exec.LookPath("borg")
	if errBM != nil || errB != nil {
		fmt.Println("\n== borgmatic or borg is not installed (make deps installs them): the backup is a tar archive")
		demoTar(t, command, step, borgrun)
	} else {
		demoBorgmatic(t, root, command, step, borgrun, borgmatic, borg)
	}

	if code := borgrun("now", "--", "/bin/sh", "-c", "exit 7"); code != 7 {
		t.Fatalf("now exit 7: got %d", code)
	}
	out, _ := command("systemctl", "list-units", "--all", "--no-legend", "borgrun-*now*").Output()
	fmt.Printf("\n== units left behind by now: %d\n", len(strings.TrimSpace(string(out))))
}

// demoTar is the demo without borgmatic: tar, scheduled and now.
func demoTar(t *testing.T, command func(string, ...string) *exec.Cmd, step func(string, string, ...string) int, borgrun func(...string) int) {
	defer command("systemctl", "stop", "borgrun-demo.timer", "borgrun-demo.service").Run()
	if code := borgrun(append([]string{"schedule", "--daily", "--name", "demo", "--writable", "/var/tmp", "--"}, sampleBackup...)...); code != 0 {
		t.Fatalf("schedule: exit %d", code)
	}
	step("systemctl list-timers 'borgrun-*'", "systemctl", "list-timers", "--no-pager", "borgrun-*")
	step("systemctl cat borgrun-demo.service   # transient: lives in /run, gone at reboot", "systemctl", "cat", "--no-pager", "borgrun-demo.service")
	if code := borgrun(append([]string{"now", "--name", "demo", "--writable", "/var/tmp", "--"}, sampleBackup...)...); code != 0 {
		t.Fatalf("now: exit %d", code)
	}
}

// demoBorgmatic is the demo with borgmatic and borg: a real repository, a
// scheduled borgmatic job with a failure hook, a backup now, the archive
// listed, and a scheduled run that fails and fires its hook.
func demoBorgmatic(t *testing.T, root string, command func(string, ...string) *exec.Cmd, step func(string, string, ...string) int, borgrun func(...string) int, borgmatic, borg string) {
	version, _ := exec.Command(borgmatic, "--version").Output()
	fmt.Printf("\n== borgmatic %s is installed: a real borgmatic backup into a real repository\n", strings.TrimSpace(string(version)))
	config, broken, notify := demoDir+"/config.yaml", demoDir+"/broken.yaml", demoDir+"/notify"
	repo := demoDir + "/repo"
	defer command("systemctl", "stop", "borgrun-demo.timer", "borgrun-demo.service", "borgrun-demo-broken.timer", "borgrun-demo-broken.service",
		"borgrun-demo@on-failure.service", "borgrun-demo-broken@on-failure.service").Run()
	defer os.RemoveAll(root + demoDir)
	if err := os.MkdirAll(root+demoDir, 0o700); err != nil {
		t.Fatal(err)
	}
	sections := borgmaticWantsSections(string(version))
	for file, repository := range map[string]string{config: repo, broken: demoDir + "/no-such-repo"} {
		if err := os.WriteFile(root+file, []byte(demoConfig(sections, repository)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The failure hook: what a ping to a monitoring service would do,
	// here written to a FIFO the demo reads.
	hook := "#!/bin/sh\n{ echo \"BORGRUN_JOB=$BORGRUN_JOB\"; echo \"MONITOR_SERVICE_RESULT=$MONITOR_SERVICE_RESULT\";" +
		" echo \"MONITOR_EXIT_STATUS=$MONITOR_EXIT_STATUS\"; echo END; } > " + demoHookFIFO + "\n"
	if err := os.WriteFile(root+notify, []byte(hook), 0o700); err != nil {
		t.Fatal(err)
	}
	fifo, err := openDemoFIFO(root + demoHookFIFO)
	if err != nil {
		t.Fatal(err)
	}
	defer fifo.Close()

	create := "init"
	if !sections {
		create = "repo-create"
	}
	if code := step("borgmatic -c "+config+" "+create+" --encryption none   # a new repository", borgmatic, "-c", config, create, "--encryption", "none"); code != 0 {
		t.Fatalf("borgmatic %s: exit %d", create, code)
	}
	if code := borgrun("schedule", "--daily", "--name", "demo", "--on-failure", notify, "--", "borgmatic", "-c", config); code != 0 {
		t.Fatalf("schedule: exit %d", code)
	}
	step("systemctl list-timers 'borgrun-*'", "systemctl", "list-timers", "--no-pager", "borgrun-*")
	step("systemctl cat borgrun-demo.service   # transient: lives in /run, gone at reboot", "systemctl", "cat", "--no-pager", "borgrun-demo.service")
	if code := borgrun("now", "--name", "demo", "--", "borgmatic", "-c", config, "--verbosity", "1"); code != 0 {
		t.Fatalf("now: exit %d", code)
	}
	if code := step("borg list "+repo+"   # the archive borgmatic made", borg, "list", repo); code != 0 {
		t.Fatalf("borg list: exit %d", code)
	}

	fmt.Println("\n== a job whose repository does not exist: its scheduled run fails, and its failure hook fires")
	if code := borgrun("schedule", "--daily", "--name", "demo-broken", "--on-failure", notify, "--", "borgmatic", "-c", broken); code != 0 {
		t.Fatalf("schedule demo-broken: exit %d", code)
	}
	step("systemctl start borgrun-demo-broken.service   # the run the timer would start", "systemctl", "start", "borgrun-demo-broken.service")
	msg, err := readDemoFIFO(fifo, 2*time.Minute)
	if err != nil {
		t.Fatalf("the failure hook did not report: %v", err)
	}
	fmt.Printf("\n== the failure hook ran (%s) with:\n%s", notify, msg)
	if !strings.Contains(msg, "BORGRUN_JOB=demo-broken\n") || !strings.Contains(msg, "MONITOR_SERVICE_RESULT=exit-code\n") {
		t.Fatalf("the failure hook saw %q", msg)
	}
	borgrun("list")
}

// borgmaticWantsSections reports whether the borgmatic that printed
// version (1.7.7) wants its options in location:/storage: sections, as
// before 1.8.
func borgmaticWantsSections(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimSpace(version), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major == 1 && minor < 8
}

// demoConfig is a borgmatic configuration backing up two small files of
// /etc into repository, unencrypted.
func demoConfig(sections bool, repository string) string {
	if sections {
		return "location:\n  source_directories: [/etc/hostname, /etc/os-release]\n  repositories: [" + repository + "]\n" +
			"retention:\n  keep_daily: 7\n"
	}
	return "source_directories: [/etc/hostname, /etc/os-release]\nrepositories:\n  - path: " + repository + "\nkeep_daily: 7\n"
}

// demoFIFO is the demo's end of the hook's FIFO.
type demoFIFO struct {
	f *os.File
	r *bufio.Reader
}

func openDemoFIFO(path string) (*demoFIFO, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	_ = os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return nil, err
	}
	// Read and write: the open does not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &demoFIFO{f, bufio.NewReader(f)}, nil
}

// readDemoFIFO returns the next block the hook wrote, up to its "END"
// line, waiting at most timeout: the write itself wakes the demo.
func readDemoFIFO(d *demoFIFO, timeout time.Duration) (string, error) {
	if err := d.f.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	var b strings.Builder
	for {
		line, err := d.r.ReadString('\n')
		if err != nil {
			return b.String(), err
		}
		if line == "END\n" {
			return b.String(), nil
		}
		b.WriteString(line)
	}
}

func (d *demoFIFO) Close() error {
	os.Remove(d.f.Name())
	return d.f.Close()
}
