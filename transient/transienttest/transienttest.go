// Package transienttest boots a throwaway, real systemd for tests, in the
// spirit of net/http/httptest.
//
// [Start] runs /lib/systemd/systemd as PID 1 of fresh PID, mount, cgroup,
// UTS, network and IPC namespaces, with an overlay as its root (pivot_root, so
// its services can make user namespaces) whose lower layer
// is the host's root, or the root of another Debian suite ([Options.Root],
// [Suites]), and whose upper layer lives on a tmpfs that exists only inside
// the new mount namespace. The systemd that runs, and every command run
// inside, is the one of that root. Nothing the
// sandboxed systemd or its units write reaches the host: the host sees
// neither the overlay nor the tmpfs, its /tmp, /run and enabled units are
// hidden, and every process of the sandbox dies with its PID 1. PID 1 is
// started with a parent-death signal, so even a test binary that is killed
// leaves nothing running.
//
// Readiness is event-driven: the sandboxed manager reports READY=1 on a
// notify socket (as it does under systemd-nspawn) once it has reached its
// default target, so Start returns exactly when the manager is up.
package transienttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvRequire is the environment variable that turns a skip for lack of
// privileges into a test failure. CI sets it, so integration tests cannot
// silently stop running.
const EnvRequire = "BORGRUN_REQUIRE_SYSTEMD"

// Options configure [Start].
type Options struct {
	// Root is the Debian suite whose root the sandbox boots, with that
	// suite's systemd. The zero value, [Host], boots the host's own root.
	// Start fails with an error wrapping [ErrNoRoot] if the suite's root
	// has not been built (make roots).
	Root Suite
	// Binds lists absolute host directories that are bind-mounted at the
	// same path inside the sandbox (read-write). Use it to share a built
	// binary or test data with commands run inside.
	Binds []string
	// BootTimeout bounds the wait for READY=1. Zero means 30s.
	BootTimeout time.Duration
	// DropCapabilities are capabilities ("setpcap") removed from the
	// manager's bounding set, as in some containers: the manager and its
	// services never have them. (systemd 252 does not boot without
	// sys_admin.)
	DropCapabilities []string
}

// Systemd is a running throwaway systemd. Its methods are safe for
// concurrent use.
type Systemd struct {
	suite    Suite
	cmd      *exec.Cmd
	stateDir string
	done     chan struct{} // closed when PID 1 has exited
	waitErr  error

	closeOnce sync.Once
	closeErr  error
}

// Suite returns the suite the sandbox booted: [Options.Root], or for
// [Host] the host's own suite when it is one of [Suites] (so a systemd
// that GetSuite shares between the two says the same whichever asked
// first), else Host.
func (s *Systemd) Suite() Suite { return s.suite }

// PID returns the host PID of the sandbox's PID 1 (systemd).
func (s *Systemd) PID() int { return s.cmd.Process.Pid }

// Root returns the host path of the sandbox's root directory
// (/proc/PID/root). Paths below it resolve inside the sandbox.
func (s *Systemd) Root() string { return "/proc/" + strconv.Itoa(s.PID()) + "/root" }

// PrivateSocket returns the host path of the manager's private D-Bus socket,
// /run/systemd/private inside the sandbox. It can be dialled from the host.
func (s *Systemd) PrivateSocket() string { return s.Root() + "/run/systemd/private" }

// Address returns the D-Bus address of the manager's private socket, for
// godbus's Dial.
func (s *Systemd) Address() string { return "unix:path=" + s.PrivateSocket() }

// Command returns a command that runs name with args inside the sandbox:
// in all of its namespaces, with its root and working directory (nsenter -a
// -r -w). The command inherits the caller's environment.
func (s *Systemd) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	nsargs := append([]string{"-t", strconv.Itoa(s.PID()), "-a", "-r", "-w", "--", name}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", nsargs...)
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0", "LC_ALL=C.UTF-8")
	return cmd
}

// Output runs name with args inside the sandbox and returns its standard
// output. A non-zero exit is an error that includes the command's stderr.
func (s *Systemd) Output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := s.Command(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("transienttest: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Show returns `systemctl show UNIT` inside the sandbox as a map of
// property to value; it fails tb if systemctl fails.
func (s *Systemd) Show(tb testing.TB, unit string) map[string]string {
	tb.Helper()
	out, err := s.Output(tb.Context(), "systemctl", "show", unit)
	if err != nil {
		tb.Fatal(err)
	}
	m := make(map[string]string)
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// BusStream returns a new stream connected to the sandbox's system bus
// through systemd-stdio-bridge run inside the sandbox: the transport that
// systemd's own -M and -H options use. It is what the host needs, because
// the manager refuses direct connections from processes outside its PID
// namespace. Closing the stream ends the bridge. Use it as
// transient.DialOptions.Stream.
func (s *Systemd) BusStream(ctx context.Context) (io.ReadWriteCloser, error) {
	return s.bridge(ctx)
}

// PrivateStream is [Systemd.BusStream] to the manager's private socket
// (systemd-stdio-bridge --bus-path=unix:path=/run/systemd/private), as
// borgrun -H reaches a host's manager as root: no bus in between, so no
// Hello and no bus limit on the calls in flight.
func (s *Systemd) PrivateStream(ctx context.Context) (io.ReadWriteCloser, error) {
	return s.bridge(ctx, "--bus-path=unix:path=/run/systemd/private")
}

func (s *Systemd) bridge(ctx context.Context, args ...string) (io.ReadWriteCloser, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("transienttest: socketpair: %w", err)
	}
	local := os.NewFile(uintptr(fds[0]), "bus")
	remote := os.NewFile(uintptr(fds[1]), "bridge")
	defer local.Close()
	defer remote.Close()
	cmd := s.Command(context.WithoutCancel(ctx), "systemd-stdio-bridge", args...)
	cmd.Stdin, cmd.Stdout = remote, remote
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("transienttest: starting systemd-stdio-bridge: %w", err)
	}
	go func() { _ = cmd.Wait() }() // ends when the stream is closed
	c, err := net.FileConn(local)
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("transienttest: %w", err)
	}
	return c, nil
}

// Done returns a channel that is closed once the sandbox's PID 1 has exited.
func (s *Systemd) Done() <-chan struct{} { return s.done }

// bootScript runs as PID 1 of the new namespaces. It builds the overlay root
// on a tmpfs that exists only in the new mount namespace, then execs systemd
// inside it. Positional parameters: the overlay's lower directory (a root),
// the notify directory, then the binds.
const bootScript = `set -eu
lower=$1; notify=$2; shift 2
mount --make-rprivate /
stage=/run
mount -t tmpfs -o mode=0755 borgrun-stage "$stage"
mkdir "$stage/upper" "$stage/work" "$stage/root"
mount -t overlay -o "lowerdir=$lower,upperdir=$stage/upper,workdir=$stage/work" borgrun-root "$stage/root"
r=$stage/root
mount -t proc proc "$r/proc"
# A private /dev, as systemd-nspawn builds one: fresh nodes for the
# harmless devices (never bind mounts: the sandbox chmods and chowns its
# console and ttys, and must not do that to the host's inodes), a private
# devpts instance, and a null device as the console. No /dev/kmsg, so
# nothing is written to the host's kernel log.
mount -t tmpfs -o mode=0755,nosuid borgrun-dev "$r/dev"
mknod -m 0666 "$r/dev/null" c 1 3
mknod -m 0666 "$r/dev/zero" c 1 5
mknod -m 0666 "$r/dev/full" c 1 7
mknod -m 0666 "$r/dev/random" c 1 8
mknod -m 0666 "$r/dev/urandom" c 1 9
mknod -m 0666 "$r/dev/tty" c 5 0
mknod -m 0600 "$r/dev/console" c 1 3
mkdir "$r/dev/pts" "$r/dev/shm" "$r/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$r/dev/shm"
mount -t mqueue mqueue "$r/dev/mqueue"
ln -s /proc/self/fd "$r/dev/fd"
ln -s /proc/self/fd/0 "$r/dev/stdin"
ln -s /proc/self/fd/1 "$r/dev/stdout"
ln -s /proc/self/fd/2 "$r/dev/stderr"
mount -t sysfs -o ro sysfs "$r/sys"
mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
mount -t tmpfs -o mode=0755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$r/etc/systemd/system"
for d in "$notify" "$@"; do
	mkdir -p "$r$d"
	mount --bind "$d" "$r$d"
done
# The overlay becomes the namespace's root (pivot_root, as systemd-nspawn
# does), not a chroot: the kernel refuses user namespaces (PrivateUsers=)
# to a chrooted process. The old root goes; what runs from here on is the
# sandbox's own.
cd "$r"
pivot_root . .
umount -l .
cd /
# Shared propagation inside the sandbox, as systemd sets up on a host: it
# mounts credential directories from a helper's mount namespace.
mount --make-rshared /
drop=${BORGRUN_DROP_CAPS:-}
unset BORGRUN_DROP_CAPS
if [ -n "$drop" ]; then
	set -- setpriv --bounding-set "$drop"
else
	set --
fi
exec "$@" /lib/systemd/systemd --system --unit=basic.target --show-status=no
`

// Start boots a throwaway systemd and returns once its manager has finished
// starting up. It needs root (CAP_SYS_ADMIN). The caller must call Close.
func Start(ctx context.Context, opts Options) (*Systemd, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("transienttest: booting a throwaway systemd needs root")
	}
	for _, b := range opts.Binds {
		if !filepath.IsAbs(b) {
			return nil, fmt.Errorf("transienttest: bind %q: not an absolute path", b)
		}
	}
	lower, err := opts.Root.Root()
	if err != nil {
		return nil, err
	}
	timeout := opts.BootTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}

	stateDir, err := os.MkdirTemp("", "borgrun-systemd-")
	if err != nil {
		return nil, fmt.Errorf("transienttest: %w", err)
	}
	notifyPath := filepath.Join(stateDir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		os.RemoveAll(stateDir)
		return nil, fmt.Errorf("transienttest: notify socket: %w", err)
	}
	defer notify.Close()

	args := append([]string{"-c", bootScript, "borgrun-boot", lower, stateDir}, opts.Binds...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"container=borgrun-test",
		"NOTIFY_SOCKET=" + notifyPath,
	}
	if len(opts.DropCapabilities) > 0 {
		drop := make([]string, len(opts.DropCapabilities))
		for i, c := range opts.DropCapabilities {
			drop[i] = "-" + strings.ToLower(strings.TrimPrefix(strings.ToLower(c), "cap_"))
		}
		cmd.Env = append(cmd.Env, "BORGRUN_DROP_CAPS="+strings.Join(drop, ","))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWCGROUP |
			syscall.CLONE_NEWUTS | syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC,
		// If the test binary dies, so does PID 1, and with it every
		// process of the sandbox.
		Pdeathsig: syscall.SIGKILL,
		Setsid:    true,
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(stateDir)
		return nil, fmt.Errorf("transienttest: starting sandbox: %w", err)
	}
	suite := opts.Root
	if h := hostSuite(); suite == Host && h.SystemdMajor() != 0 {
		suite = h
	}
	s := &Systemd{suite: suite, cmd: cmd, stateDir: stateDir, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	ready := make(chan error, 1)
	go func() { ready <- waitReady(notify) }()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case err = <-ready:
	case <-s.done:
		err = fmt.Errorf("sandbox exited before it was ready: %v", s.waitErr)
	case <-deadline.C:
		err = fmt.Errorf("no READY=1 within %v", timeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		s.kill()
		return nil, fmt.Errorf("transienttest: booting systemd: %w", err)
	}
	// The notify socket has served its purpose. Removing its directory now
	// means a test binary that is killed later leaves nothing on the host.
	_ = os.RemoveAll(stateDir)
	return s, nil
}

// waitReady reads sd_notify datagrams until one carries READY=1.
func waitReady(c *net.UnixConn) error {
	buf := make([]byte, 4096)
	for {
		n, _, err := c.ReadFromUnix(buf)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			if line == "READY=1" {
				return nil
			}
		}
	}
}

// Close powers the sandbox off (systemctl poweroff: every unit is stopped),
// waits up to 5 seconds for PID 1 to exit, and then kills whatever is left
// (systemd-shutdown's final unmount loop can linger in a container; killing
// PID 1 ends the namespaces and their mounts with it). It returns an error
// only if the poweroff request itself failed. It is safe to call more than
// once.
func (s *Systemd) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		select {
		case <-s.done:
		default:
			// nsenter's child can outlive nsenter, killed at the
			// deadline, and hold the pipes: bound that wait too (a
			// manager without some capabilities answers slowly).
			cmd := s.Command(ctx, "systemctl", "poweroff", "--no-block")
			cmd.WaitDelay = time.Second
			if err := cmd.Run(); err != nil {
				s.closeErr = fmt.Errorf("transienttest: systemctl poweroff: %w", err)
			}
		}
		select {
		case <-s.done:
		case <-ctx.Done():
		}
		s.kill()
	})
	return s.closeErr
}

// kill ends PID 1 and with it the whole sandbox, then removes the state
// directory.
func (s *Systemd) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
	_ = os.RemoveAll(s.stateDir)
}

// skipReason reports why no throwaway systemd can be booted here, or "".
func skipReason() string {
	if os.Geteuid() != 0 {
		return "needs root to boot a throwaway systemd (set " + EnvRequire + "=1 to make this a failure)"
	}
	return ""
}

// Require skips tb when a throwaway systemd cannot be booted here (not
// root), unless EnvRequire is set, in which case it fails tb.
func Require(tb testing.TB) {
	tb.Helper()
	if why := skipReason(); why != "" {
		if os.Getenv(EnvRequire) != "" {
			tb.Fatalf("%s is set but %s", EnvRequire, why)
		}
		tb.Skip(why)
	}
}

// Shared is one throwaway systemd shared by the tests of a package, and one
// per other suite they ask for. Each boots lazily, on its first use, and is
// powered off by Run when the tests end:
//
//	var sandbox transienttest.Shared
//
//	func TestMain(m *testing.M) { os.Exit(sandbox.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		sys := sandbox.Get(t) // skips, or fails under BORGRUN_REQUIRE_SYSTEMD
//		...
//	}
//
//	func TestEverySuite(t *testing.T) {
//		for _, s := range transienttest.Suites() {
//			t.Run(s.String(), func(t *testing.T) {
//				sys := sandbox.GetSuite(t, s)
//				...
//			})
//		}
//	}
//
// The zero value is ready to use; set Options before the first Get. Get and
// GetSuite are safe for concurrent use.
type Shared struct {
	Options Options

	mu    sync.Mutex
	boots map[string]*sharedBoot // by the root's directory
}

// sharedBoot is one lazily booted systemd of a Shared.
type sharedBoot struct {
	once sync.Once
	sys  *Systemd
	err  error
}

// Get returns the shared systemd of Options.Root, booting it on first use.
// It skips tb (or fails it, see [RequireSuite]) when that systemd cannot be
// booted here, and fails tb when booting fails.
func (s *Shared) Get(tb testing.TB) *Systemd {
	tb.Helper()
	return s.GetSuite(tb, s.Options.Root)
}

// GetSuite returns the shared systemd of suite, booted with Options but
// suite as its root, booting it on first use. Suites with the same root
// (the host's own suite and [Host]) share one systemd, whose
// [Systemd.Suite] is the host's suite. It skips or fails tb as Get
// does, and says how to build a root that is missing.
func (s *Shared) GetSuite(tb testing.TB, suite Suite) *Systemd {
	tb.Helper()
	RequireSuite(tb, suite)
	root, err := suite.Root()
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	if s.boots == nil {
		s.boots = make(map[string]*sharedBoot)
	}
	b := s.boots[root]
	if b == nil {
		b = new(sharedBoot)
		s.boots[root] = b
	}
	s.mu.Unlock()
	b.once.Do(func() {
		opts := s.Options
		opts.Root = suite
		b.sys, b.err = Start(context.Background(), opts)
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.sys
}

// Run runs the tests and powers off every shared systemd that was booted,
// together. It returns m.Run's exit code, or 1 if powering off failed.
func (s *Shared) Run(m *testing.M) int {
	code := m.Run()
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := make(chan error, len(s.boots))
	var wg sync.WaitGroup
	for _, b := range s.boots {
		if b.sys != nil {
			wg.Go(func() { errs <- b.sys.Close() })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}
