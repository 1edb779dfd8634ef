package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient/transienttest"
	"golang.org/x/sys/unix"
)

// testTerm is a pseudo-terminal the test owns: the command under test gets
// its peer as stdin, stdout, stderr and controlling terminal; the test
// types into the master and reads what the terminal shows.
type testTerm struct {
	master, peer *os.File
	mu           sync.Mutex
	shown        bytes.Buffer
	changed      chan struct{} // closed and replaced on each read
	readDone     chan struct{}
}

func newTestTerm(t *testing.T, rows, cols uint16) *testTerm {
	t.Helper()
	master, peer, _, err := openPTY()
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	tt := &testTerm{master: master, peer: peer, changed: make(chan struct{}), readDone: make(chan struct{})}
	go func() {
		defer close(tt.readDone)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			tt.mu.Lock()
			tt.shown.Write(buf[:n])
			close(tt.changed)
			tt.changed = make(chan struct{})
			tt.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { master.Close(); peer.Close(); <-tt.readDone })
	return tt
}

// startBorgrunOnTerm starts the test binary as borgrun with args in sys,
// on a new 24×80 test terminal.
func startBorgrunOnTerm(t *testing.T, sys *transienttest.Systemd, args ...string) (*testTerm, *exec.Cmd) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tt := newTestTerm(t, 24, 80)
	cmd := sys.Command(t.Context(), exe, args...)
	cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1")
	tt.start(t, cmd)
	return tt, cmd
}

// start starts cmd on the terminal, as a session leader whose controlling
// terminal it is.
func (tt *testTerm) start(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tt.peer, tt.peer, tt.peer
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits (at most 20 s) until the terminal has shown s.
func (tt *testTerm) waitFor(t *testing.T, s string) {
	t.Helper()
	tt.waitUntil(t, fmt.Sprintf("%q", s), func(shown string) bool { return strings.Contains(shown, s) })
}

// waitUntil waits (at most 20 s) until what the terminal has shown
// satisfies ok, which what describes.
func (tt *testTerm) waitUntil(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		tt.mu.Lock()
		done, ch := ok(tt.shown.String()), tt.changed
		tt.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("the terminal did not show %s within 20s; it shows %q", what, tt.output())
		}
	}
}

// waitForCount waits (at most 20 s) until the terminal has shown s n times.
func (tt *testTerm) waitForCount(t *testing.T, s string, n int) {
	t.Helper()
	tt.waitUntil(t, fmt.Sprintf("%q %d times", s, n), func(shown string) bool { return strings.Count(shown, s) >= n })
}

// allOutput returns all the terminal has shown, once nothing else holds
// it: the test lets go of its peer and reads the master to its end.
func (tt *testTerm) allOutput(t *testing.T) string {
	t.Helper()
	tt.peer.Close()
	select {
	case <-tt.readDone:
	case <-time.After(20 * time.Second):
		t.Fatal("the terminal is still held 20s after the command exited")
	}
	return tt.output()
}

func (tt *testTerm) output() string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.shown.String()
}

func (tt *testTerm) typeIn(t *testing.T, s string) {
	t.Helper()
	if _, err := tt.master.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

func (tt *testTerm) termios(t *testing.T) unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(tt.peer.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return *tio
}

// waitExit waits (at most 30 s) for cmd and returns its exit status.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return exitStatusOf(t, err)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("%s did not exit within 30s", cmd.Args)
	}
	return 0
}

// ptyTool runs one of the two tools: systemd-run, or borgrun run.
type ptyTool struct {
	name, stem string
	command    func(ctx context.Context, args ...string) *exec.Cmd
}

func ptyTools(t *testing.T, sys *transienttest.Systemd, tag string) []ptyTool {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []ptyTool{
		{"systemd-run", "sdpty" + tag, func(ctx context.Context, args ...string) *exec.Cmd {
			return sys.Command(ctx, "systemd-run", args...)
		}},
		{"borgrun", "brpty" + tag, func(ctx context.Context, args ...string) *exec.Cmd {
			cmd := sys.Command(ctx, exe, append([]string{"run"}, args...)...)
			cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1")
			return cmd
		}},
	}
}

var (
	rePTS = regexp.MustCompile(`/dev/pts/[0-9]+`)
	// The figures of the summary, here with the terminal's line ends.
	rePTYFigures = regexp.MustCompile(`(Service runtime|CPU time consumed|Memory peak|IP traffic received|IP traffic sent|IO bytes read|IO bytes written|IP traffic|IO bytes|IP Traffic|IO Bytes): [^\r\n]*`)
)

// normalizeTerm makes two terminals' transcripts comparable: unit names,
// pty numbers, invocation IDs and the summary's figures vary.
func normalizeTerm(s, stem string) string {
	s = strings.ReplaceAll(s, stem, "UNIT")
	s = reRunName.ReplaceAllStringFunc(s, func(m string) string { return m[:5] })
	s = reInvID.ReplaceAllString(s, "")
	s = rePTS.ReplaceAllString(s, "/dev/pts/N")
	return rePTYFigures.ReplaceAllString(s, "$1: X")
}

// ptyRun is one tool's session on a terminal of its own.
type ptyRun struct {
	shown         string
	code          int
	before, after unix.Termios
	show          string
}

// TestRunPTY runs systemd-run -t (and -S, and -t -P) and borgrun run with
// the same arguments on terminals the test owns, inside the throwaway
// systemd of each suite, types the same input into both and requires the
// same: what the terminal shows, exit status, the unit's properties (the
// pty's number aside), and the terminal's mode restored afterwards.
func TestRunPTY(t *testing.T) {
	for _, suite := range transienttest.Suites() {
		t.Run(fmt.Sprintf("%s/%d", suite, suite.SystemdMajor()), func(t *testing.T) {
			transienttest.RequireSuite(t, suite)
			sys := sandbox.GetSuite(t, suite)
			runPTYCases(t, sys, suite.SystemdMajor())
		})
	}
}

func runPTYCases(t *testing.T, sys *transienttest.Systemd, major int) {
	type ptyCase struct {
		name string
		args []string
		env  []string
		// session types into the terminal and waits for what it shows.
		session func(t *testing.T, tt *testTerm)
		// show: compare the units once the session is over (before
		// detaching).
		show bool
		// normalize, if set, removes what may differ between runs.
		normalize func(string) string
		// detach: then type ^]^]^].
		detach bool
		// stop: then stop the unit.
		stop     bool
		wantCode int
		want     []string // shown on the terminal (normalised)
		since    int      // the first systemd-run with the case's options
	}
	cases := []ptyCase{{
		name: "detach",
		args: []string{"-t", "-u", "@U", "/bin/sh", "-c", "tty; stty size; echo TERM=$TERM; read x; echo got:$x; while read x; do echo size:$(stty size); done"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "TERM=xterm-borgrun\r\n")
			tt.typeIn(t, "hello there\r")
			tt.waitFor(t, "got:hello there\r\n")
			// A new window size reaches the service (SIGWINCH): the
			// tool copies it when the signal arrives, so ask the
			// service for it, a line at a time, until it shows.
			if err := unix.IoctlSetWinsize(int(tt.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
				t.Fatal(err)
			}
			for i := 1; !strings.Contains(tt.output(), "size:40 120\r\n"); i++ {
				if i > 50 {
					t.Fatalf("the new window size did not reach the service: %q", tt.output())
				}
				tt.typeIn(t, "\r")
				tt.waitUntil(t, fmt.Sprintf("%d whole size lines", i), func(s string) bool {
					return strings.Count(s, "size:33 101\r\n")+strings.Count(s, "size:40 120\r\n") >= i
				})
			}
		},
		// The sizes seen before the new one: as many as it took.
		normalize: func(s string) string { return strings.ReplaceAll(s, "\r\nsize:33 101\r\n", "") },
		show:      true,
		detach:    true,
		want:      []string{"Press ^] three times within 1s to disconnect TTY.\r\r\n", "/dev/pts/N\r\n33 101\r\nTERM=xterm-borgrun\r\n", "got:hello there\r\n\r\nsize:40 120\r\n"},
	}, {
		name: "wait exit status",
		args: []string{"-t", "--wait", "-u", "@U", "/bin/sh", "-c", "echo ready; read x; echo got:$x; exit 7"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "ready\r\n")
			tt.typeIn(t, "abc\r")
		},
		wantCode: 7,
		want:     []string{"got:abc\r\n", "Finished with result: exit-code\r"},
	}, {
		name: "no newline at the end",
		args: []string{"-t", "-u", "@U", "/bin/sh", "-c", "echo ready; read x; printf %s no-newline-$x; exit 3"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "ready\r\n")
			tt.typeIn(t, "z\r")
		},
		wantCode: 3,
		want:     []string{"no-newline-z\n"},
		// systemd-run ends the open line before restoring the terminal
		// ("\n") if it sees the unit end before the pty's hangup, after
		// it ("\r\n") otherwise: a race of its own. Either will do.
		normalize: func(s string) string {
			if t, ok := strings.CutSuffix(s, "\r\n"); ok {
				return t + "\n"
			}
			return s
		},
	}, {
		name: "quiet",
		args: []string{"-t", "-q", "--wait", "-u", "@U", "/bin/sh", "-c", "echo ready; read x; printf %s quiet-$x; exit 2"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "ready\r\n")
			tt.typeIn(t, "q\r")
		},
		wantCode: 2,
		want:     []string{"ready\r\nq\r\nquiet-q"},
		normalize: func(s string) string {
			if t, ok := strings.CutSuffix(s, "\r\n"); ok {
				return t + "\n"
			}
			return s
		},
	}, {
		name: "detach with --wait",
		args: []string{"-t", "--wait", "-u", "@U", "/bin/sh", "-c", "echo ready; read x; exit 6"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "ready\r\n")
			tt.typeIn(t, "\x1d\x1d\x1d")
			// The tool still waits for the service, which still waits
			// for a line: stop it (SIGTERM, a clean end).
		},
		stop:     true,
		wantCode: 0,
		want:     []string{"ready\r\n", "Finished with result: success\r"},
	}, {
		name: "shell",
		args: []string{"-S", "-u", "@U"},
		env:  []string{"SHELL=/bin/sh"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "# ")
			tt.typeIn(t, "echo shell:$((6*7)) $(pwd)\r")
			tt.waitFor(t, "shell:42")
			tt.waitForCount(t, "# ", 2) // the next prompt
			tt.typeIn(t, "exit 5\r")
		},
		wantCode: 5,
		want:     []string{"shell:42 ", "Finished with result: exit-code\r"},
	}, {
		name: "auto on a terminal",
		args: []string{"-t", "-P", "--wait", "-u", "@U", "/bin/sh", "-c", "tty"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "Finished with result")
		},
		want: []string{"disconnect TTY.\r\r\n/dev/pts/N\r\n"},
	}, {
		name: "pty-late",
		args: []string{"-T", "--wait", "-u", "@U", "/bin/sh", "-c", "echo ready; read x; echo got:$x; exit 7"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "ready\r\n")
			tt.typeIn(t, "late\r")
		},
		wantCode: 7,
		want:     []string{"got:late\r\n", "Finished with result: exit-code\r"},
		since:    258,
	}, {
		// The tint is systemd-run's only when it colours the terminal,
		// which it does not here (as borgrun never does).
		name: "background",
		args: []string{"-t", "--background=44", "--wait", "-u", "@U", "/bin/sh", "-c", "echo ready; read x; echo got:$x; exit 2"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "ready\r\n")
			tt.typeIn(t, "bg\r")
		},
		wantCode: 2,
		want:     []string{"got:bg\r\n"},
		since:    256,
	}, {
		name: "pty-late show",
		args: []string{"-T", "-u", "@U", "/bin/sh", "-c", "echo ready; read x; echo got:$x"},
		session: func(t *testing.T, tt *testTerm) {
			tt.waitFor(t, "ready\r\n")
		},
		show:   true,
		detach: true,
		want:   []string{"ready\r\n"},
		since:  258,
	}}
	for i, tc := range cases {
		if major < tc.since {
			continue // refusal: TestRunDifferential
		}
		t.Run(tc.name, func(t *testing.T) {
			var runs []ptyRun
			tools := ptyTools(t, sys, strconv.Itoa(i))
			for _, tool := range tools {
				tt := newTestTerm(t, 33, 101)
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				cmd := tool.command(ctx, subst(tc.args, tool.stem)...)
				cmd.Env = append(cmd.Env, "TERM=xterm-borgrun")
				cmd.Env = append(cmd.Env, tc.env...)
				t.Cleanup(func() { cleanupUnits(t, sys, tool.stem) })
				r := ptyRun{before: tt.termios(t)}
				tt.start(t, cmd)
				tc.session(t, tt)
				if tc.show {
					r.show = rePTS.ReplaceAllString(showUnit(t, sys, tool.stem+".service", tool.stem), "/dev/pts/N")
				}
				if tc.detach {
					tt.typeIn(t, "\x1d\x1d\x1d")
				}
				if tc.stop {
					if _, err := sys.Output(t.Context(), "systemctl", "stop", tool.stem+".service"); err != nil {
						t.Fatal(err)
					}
				}
				r.code = waitExit(t, cmd)
				r.after = tt.termios(t)
				r.shown = normalizeTerm(tt.allOutput(t), tool.stem)
				if tc.normalize != nil {
					r.shown = tc.normalize(r.shown)
				}
				if r.after != r.before {
					t.Errorf("%s left the terminal's mode changed:\nbefore %+v\nafter  %+v", tool.name, r.before, r.after)
				}
				runs = append(runs, r)
			}
			sd, br := runs[0], runs[1]
			if sd.code != tc.wantCode {
				t.Errorf("systemd-run exit %d, the case wants %d; it showed %q", sd.code, tc.wantCode, sd.shown)
			}
			if br.code != sd.code {
				t.Errorf("borgrun exit %d, systemd-run %d", br.code, sd.code)
			}
			if br.shown != sd.shown {
				t.Errorf("the terminals differ:\nborgrun:     %q\nsystemd-run: %q", br.shown, sd.shown)
			}
			for _, w := range tc.want {
				if !strings.Contains(br.shown, w) {
					t.Errorf("borgrun's terminal shows %q, want %q in it", br.shown, w)
				}
			}
			if br.show != sd.show {
				t.Errorf("the units differ:\n%s", lineDiff(br.show, sd.show))
			}
		})
	}

	// -t without a terminal: the pty's output is forwarded until our
	// input ends (at once, from /dev/null), then no more, as systemd-run
	// does; the exit status is the service's.
	t.Run("pty without a terminal", func(t *testing.T) {
		var outs []outcome
		for _, tool := range ptyTools(t, sys, "pt") {
			t.Cleanup(func() { cleanupUnits(t, sys, tool.stem) })
			cmd := tool.command(t.Context(), subst([]string{"-t", "-q", "-u", "@U", "/bin/sh", "-c", "exit 4"}, tool.stem)...)
			stdout, stderr, code := runCapture(t, cmd)
			outs = append(outs, outcome{stdout, stderr, code})
		}
		if outs[0] != outs[1] {
			t.Errorf("borgrun %+v, systemd-run %+v", outs[1], outs[0])
		}
		if outs[1].code != 4 {
			t.Errorf("borgrun exit %d, want 4", outs[1].code)
		}
	})

	// -t -P without a terminal: the pipe, as systemd-run picks it.
	t.Run("auto without a terminal", func(t *testing.T) {
		var outs []outcome
		for _, tool := range ptyTools(t, sys, "nt") {
			t.Cleanup(func() { cleanupUnits(t, sys, tool.stem) })
			cmd := tool.command(t.Context(), subst([]string{"-t", "-P", "-q", "-u", "@U", "/bin/sh", "-c", "tty; echo TERM=$TERM"}, tool.stem)...)
			cmd.Env = append(cmd.Env, "TERM=xterm-borgrun")
			stdout, stderr, code := runCapture(t, cmd)
			outs = append(outs, outcome{stdout, stderr, code})
		}
		if outs[0] != outs[1] {
			t.Errorf("borgrun %+v, systemd-run %+v", outs[1], outs[0])
		}
		if want := "not a tty\nTERM=\n"; outs[1].stdout != want || outs[1].code != 0 {
			t.Errorf("borgrun: stdout %q, exit %d; want %q, exit 0", outs[1].stdout, outs[1].code, want)
		}
	})
}

// childPID returns the first child of pid: the tool nsenter runs.
func childPID(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		t.Fatalf("nsenter %d has no child", pid)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRunPTYInterrupted sends SIGTERM to both tools forwarding a pty:
// both restore the terminal; systemd-run exits and leaves its service to
// the hangup; borgrun, as its run --wait does, stops the service, waits
// for it and exits 128+15.
func TestRunPTYInterrupted(t *testing.T) {
	sys := sandbox.Get(t)
	for _, tool := range ptyTools(t, sys, "int") {
		t.Run(tool.name, func(t *testing.T) {
			tt := newTestTerm(t, 24, 80)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := tool.command(ctx, "-t", "-u", tool.stem, "/bin/sh", "-c", "echo ready; exec sleep 600")
			cmd.Env = append(cmd.Env, "TERM=xterm-borgrun")
			t.Cleanup(func() { cleanupUnits(t, sys, tool.stem) })
			before := tt.termios(t)
			tt.start(t, cmd)
			tt.waitFor(t, "ready\r\n")
			if err := syscall.Kill(childPID(t, cmd.Process.Pid), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			code := waitExit(t, cmd)
			if after := tt.termios(t); after != before {
				t.Errorf("the terminal's mode changed:\nbefore %+v\nafter  %+v", before, after)
			}
			if tool.name == "systemd-run" {
				// It exits with the state it last saw and lets go of
				// the pty: the service then ends of the hangup's
				// SIGHUP, at a moment of its own.
				return
			}
			// borgrun's stop is waited for: the service is down now.
			state := showPropsIn(t, sys, tool.stem+".service", "ActiveState")["ActiveState"]
			if code != 128+int(syscall.SIGTERM) || state == "active" || state == "deactivating" {
				t.Errorf("borgrun exit %d, its service %s; want %d and the service stopped", code, state, 128+int(syscall.SIGTERM))
			}
		})
	}
}
