package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sampleBackup is the demo's backup command: a small real archive, its
// file names listed as they are stored.
var sampleBackup = []string{"/bin/tar", "-C", "/", "-czvf", "/var/tmp/borgrun-demo.tgz", "etc/hostname", "etc/os-release"}

// TestDemo is "make demo": it shows borgrun end to end, on the host's
// systemd if it is PID 1, otherwise in a throwaway systemd. It runs only
// with BORGRUN_DEMO=1 and prints to stdout for a person to read.
func TestDemo(t *testing.T) {
	if os.Getenv("BORGRUN_DEMO") != "1" {
		t.Skip("set BORGRUN_DEMO=1 (make demo)")
	}
	exe := os.Getenv("BORGRUN_BIN") // the binary make build built
	if !filepath.IsAbs(exe) {
		t.Fatalf("BORGRUN_BIN=%q: want the absolute path of the built borgrun", exe)
	}
	var command func(name string, args ...string) *exec.Cmd
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		fmt.Println("== systemd is PID 1 here: the demo uses the host's manager")
		command = func(name string, args ...string) *exec.Cmd { return exec.CommandContext(t.Context(), name, args...) }
	} else {
		fmt.Println("== systemd is not PID 1 here: booting a throwaway systemd 252 (overlay root, private namespaces)")
		sandbox.Options.Binds = append(sandbox.Options.Binds, filepath.Dir(exe))
		sys := sandbox.Get(t)
		fmt.Printf("== booted; its PID 1 is host PID %d\n", sys.PID())
		command = func(name string, args ...string) *exec.Cmd { return sys.Command(t.Context(), name, args...) }
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
	quoted := strings.Join(sampleBackup, " ")
	defer command("systemctl", "stop", "borgrun-demo.timer", "borgrun-demo.service").Run()

	if code := step("borgrun schedule --daily --name demo --writable /var/tmp -- "+quoted, exe, append([]string{"schedule", "--daily", "--name", "demo", "--writable", "/var/tmp", "--"}, sampleBackup...)...); code != 0 {
		t.Fatalf("schedule: exit %d", code)
	}
	step("systemctl list-timers 'borgrun-*'", "systemctl", "list-timers", "--no-pager", "borgrun-*")
	step("systemctl cat borgrun-demo.service   # transient: lives in /run, gone at reboot", "systemctl", "cat", "--no-pager", "borgrun-demo.service")
	if code := step("borgrun now --name demo --writable /var/tmp -- "+quoted, exe, append([]string{"now", "--name", "demo", "--writable", "/var/tmp", "--"}, sampleBackup...)...); code != 0 {
		t.Fatalf("now: exit %d", code)
	}
	if code := step("borgrun now -- /bin/sh -c 'exit 7'   # the command's exit status is borgrun's", exe, "now", "--", "/bin/sh", "-c", "exit 7"); code != 7 {
		t.Fatalf("now exit 7: got %d", code)
	}
	out, _ := command("systemctl", "list-units", "--all", "--no-legend", "borgrun-*now*").Output()
	fmt.Printf("\n== units left behind by now: %d\n", len(strings.TrimSpace(string(out))))
}
