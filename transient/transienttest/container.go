package transienttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ErrNoContainers is wrapped by the errors that report a sandbox without
// systemd-nspawn and systemd-machined (Debian's systemd-container, which
// make debs installs on the host; the sandbox of the host's root has it
// then).
var ErrNoContainers = errors.New("no systemd-nspawn in the sandbox (apt-get install systemd-container, or make debs)")

// ContainerOptions configure [Systemd.NewContainer].
type ContainerOptions struct {
	// Name is the machine's name (systemd-nspawn -M): letters, digits,
	// "-" and ".".
	Name string
	// Suite is the Debian suite whose root is the container's base
	// layer, read-only. Its root must be visible inside the sandbox at
	// its host path (the sandbox of the host's root sees /var/cache).
	Suite Suite
	// Ephemeral makes every boot start from the layers alone, as
	// systemd-nspawn --ephemeral or docker run --rm do: whatever the
	// container wrote is dropped when it stops. Without it, what the
	// container writes is kept from one boot to the next (a persistent
	// root, as a directory booted by systemd-nspawn or a container
	// restarted by docker restart).
	Ephemeral bool
	// Binds are systemd-nspawn --bind= arguments (SRC[:DST]), SRC a path
	// in the sandbox: volumes that outlive each boot even when Ephemeral
	// is set.
	Binds []string
	// PrivateUsers, if set, is systemd-nspawn --private-users= (for
	// example "100000:65536"): the container gets a user namespace of
	// its own, as systemd-nspawn@.service's -U gives it, with its files'
	// ownership left as it is (--private-users-ownership=off: the layers
	// are owned by the sandbox's root, which the container sees as
	// nobody, so some of its services fail; its manager boots).
	PrivateUsers string
	// BootTimeout bounds each boot, until the container's manager has
	// reached its default target, and each shutdown. Zero means 30s.
	BootTimeout time.Duration
}

// Container is a systemd container (systemd-nspawn --boot, registered with
// systemd-machined) running inside a throwaway systemd, booted as users boot
// theirs: its own systemd as its PID 1, reachable with -M NAME.
//
// Its root is an overlay: the suite's root, read-only, below the image
// layer ([Container.Image]), which the caller fills before the first boot,
// below a writable layer on the sandbox's tmpfs. The layers are
// directories of the sandbox, so nothing reaches the host.
type Container struct {
	sys  *Systemd
	opts ContainerOptions
	root string // the suite's root, the lowest layer
	dir  string // in the sandbox: image/ and rw/upper
}

var machineName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$`)

// NewContainer prepares a container in the sandbox without booting it:
// call [Container.Boot] once its image layer holds what it needs. It
// returns an error wrapping [ErrNoContainers] when the sandbox has no
// systemd-nspawn, and one wrapping [ErrNoRoot] when the suite's root has
// not been built. Close removes it.
func (s *Systemd) NewContainer(ctx context.Context, opts ContainerOptions) (*Container, error) {
	if !machineName.MatchString(opts.Name) {
		return nil, fmt.Errorf("transienttest: container name %q: want letters, digits, '-' and '.'", opts.Name)
	}
	for _, tool := range []string{"/usr/bin/systemd-nspawn", "/lib/systemd/systemd-machined"} {
		if _, err := os.Stat(s.Root() + tool); err != nil {
			return nil, fmt.Errorf("transienttest: %s: %w", tool, ErrNoContainers)
		}
	}
	root, err := opts.Suite.Root()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(s.Root() + root + "/lib/systemd/systemd"); err != nil {
		return nil, fmt.Errorf("transienttest: suite %s: its root %s is not visible inside the sandbox (bind it): %w", opts.Suite, root, err)
	}
	if opts.BootTimeout == 0 {
		opts.BootTimeout = 30 * time.Second
	}
	c := &Container{sys: s, opts: opts, root: root, dir: "/run/borgrun-containers/" + opts.Name}
	if _, err := os.Stat(s.Root() + c.dir); err == nil {
		return nil, fmt.Errorf("transienttest: container %s exists in this sandbox", opts.Name)
	}
	// machined is started on demand by the tools that ask it; starting it
	// first makes nspawn's registration not depend on bus activation.
	if out, err := s.Output(ctx, "/bin/sh", "-c", `mkdir -p "$1/image" "$1/rw/upper" && systemctl start systemd-machined.service`, "sh", c.dir); err != nil {
		return nil, fmt.Errorf("%w%s", err, out)
	}
	return c, nil
}

// TestContainer is [Systemd.NewContainer] for a test: it skips tb when
// the sandbox has no systemd-nspawn, unless [EnvRequire] is set (then it
// fails it, as [Require] does), fails tb on any other error, and closes
// the container when tb ends, failing tb if that fails.
func (s *Systemd) TestContainer(tb testing.TB, opts ContainerOptions) *Container {
	tb.Helper()
	c, err := s.NewContainer(tb.Context(), opts)
	if errors.Is(err, ErrNoContainers) && os.Getenv(EnvRequire) == "" {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

// StartContainer is NewContainer followed by Boot, for a container whose
// image layer stays empty: the suite's root as it was built.
func (s *Systemd) StartContainer(ctx context.Context, opts ContainerOptions) (*Container, error) {
	c, err := s.NewContainer(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := c.Boot(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Name returns the machine's name, as -M and machinectl take it.
func (c *Container) Name() string { return c.opts.Name }

// Unit returns the sandbox's service that runs systemd-nspawn.
func (c *Container) Unit() string { return "borgrun-container-" + c.opts.Name + ".service" }

// Image returns the host path of the container's image layer: files put
// there before [Container.Boot] are in the container's root at the same
// path below it, as a layer of an image is. Do not change it while the
// container runs.
func (c *Container) Image() string { return c.sys.Root() + c.dir + "/image" }

// Upper returns the host path of the container's writable layer, which
// holds what the container wrote and, unless Ephemeral, keeps it across
// boots. Read it only while the container is stopped.
func (c *Container) Upper() string { return c.sys.Root() + c.dir + "/rw/upper" }

// Boot boots the container and returns once its manager has reached its
// default target (systemd-nspawn --notify-ready=yes under a Type=notify
// service, so the sandbox's manager, bounded by BootTimeout, says when):
// every unit the container starts at boot has run. With Ephemeral, the
// writable layer is emptied first.
func (c *Container) Boot(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.BootTimeout+5*time.Second)
	defer cancel()
	if c.opts.Ephemeral {
		if out, err := c.sys.Output(ctx, "/bin/sh", "-c", `rm -rf --one-file-system "$1/rw" && mkdir -p "$1/rw/upper"`, "sh", c.dir); err != nil {
			return fmt.Errorf("%w%s", err, out)
		}
	}
	// A unit that failed stays loaded; a new boot needs the name.
	_, _ = c.sys.Output(ctx, "systemctl", "reset-failed", c.Unit())
	timeout := c.opts.BootTimeout.String()
	args := []string{"--quiet", "--unit=" + c.Unit(), "--service-type=notify",
		// As systemd-nspawn@.service: the container manages its own
		// cgroup subtree; its PID 1 is told to shut down on stop.
		"-p", "Delegate=yes", "-p", "KillMode=mixed",
		"-p", "TimeoutStartSec=" + timeout, "-p", "TimeoutStopSec=" + timeout,
		"--", "/usr/bin/systemd-nspawn", "--quiet", "--boot", "--keep-unit", "--notify-ready=yes",
		"--machine=" + c.opts.Name, "--directory=" + c.root,
		"--overlay=" + c.root + ":" + c.dir + "/image:" + c.dir + "/rw/upper:/"}
	for _, b := range c.opts.Binds {
		args = append(args, "--bind="+b)
	}
	if c.opts.PrivateUsers != "" {
		args = append(args, "--private-users="+c.opts.PrivateUsers, "--private-users-ownership=off")
	}
	if _, err := c.sys.Output(ctx, "systemd-run", args...); err != nil {
		log, _ := c.sys.Output(context.WithoutCancel(ctx), "journalctl", "--no-pager", "-o", "cat", "-n", "40", "-u", c.Unit())
		return fmt.Errorf("transienttest: booting container %s: %w\n%s", c.opts.Name, err, log)
	}
	return nil
}

// Stop powers the container off (its systemd stops every unit) and
// returns once systemd-nspawn has exited, bounded by BootTimeout.
func (c *Container) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.BootTimeout+5*time.Second)
	defer cancel()
	cmd := c.sys.Command(ctx, "systemctl", "stop", c.Unit())
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("transienttest: stopping container %s: %w: %s", c.opts.Name, err, out)
	}
	return nil
}

// Reboot stops the container and boots it again: a new boot of the same
// machine, with what it wrote kept unless Ephemeral.
func (c *Container) Reboot(ctx context.Context) error {
	if err := c.Stop(ctx); err != nil {
		return err
	}
	return c.Boot(ctx)
}

// Close stops the container, if it runs, and removes its layers. It is
// safe to call more than once.
func (c *Container) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.BootTimeout+10*time.Second)
	defer cancel()
	var err error
	if _, aerr := c.sys.Output(ctx, "systemctl", "is-active", "--quiet", c.Unit()); aerr == nil {
		err = c.Stop(ctx)
	}
	_, _ = c.sys.Output(ctx, "systemctl", "reset-failed", c.Unit())
	if out, rerr := c.sys.Output(ctx, "rm", "-rf", "--one-file-system", c.dir); rerr != nil && err == nil {
		err = fmt.Errorf("%w%s", rerr, out)
	}
	return err
}

// enter runs the command after it in all the namespaces of the
// container's PID 1 and its root, as machinectl shell or docker exec do.
const enter = `leader=$(machinectl show "$1" --property=Leader --value) && [ -n "$leader" ] || { echo "container $1 is not running" >&2; exit 125; }
shift
exec nsenter -t "$leader" -a -r -w -- "$@"`

// Command returns a command that runs name with args inside the running
// container, with its root, in all its namespaces (nsenter into its
// PID 1's). It inherits the caller's environment.
func (c *Container) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return c.sys.Command(ctx, "/bin/sh", append([]string{"-c", enter, "sh", c.opts.Name, name}, args...)...)
}

// Output runs name with args inside the container and returns its
// standard output. A non-zero exit is an error that includes the command's
// stderr.
func (c *Container) Output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := c.Command(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("transienttest: in container %s: %s %s: %w: %s", c.opts.Name, name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// ImagePath returns the host path of p (an absolute path in the container) in
// its image layer.
func (c *Container) ImagePath(p string) string { return c.Image() + path.Clean("/"+p) }
