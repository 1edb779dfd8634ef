package transient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

// Containers (-M): a container registered with systemd-machined is
// reached as systemd-run -M reaches it. machined on this machine's system
// bus names its leader (GetMachine, then the Leader property: the PID of
// its init); borgrun then connects to the system bus inside it by path,
// /proc/LEADER/root/run/dbus/system_bus_socket. That path needs no helper
// process and carries file descriptors, as systemd's own x-machine-unix
// transport does (which enters the container to connect to the same
// socket). The container's manager refuses a direct connection to its
// private socket from outside its PID namespace, and a Go process cannot
// enter a mount namespace (setns needs a single thread); so a container
// without a bus (no dbus-daemon), or one with a user namespace of its own
// (whose bus would take us for an unprivileged user), is reached the
// other way: nsenter into
// all the leader's namespaces runs the container's own
// systemd-stdio-bridge on its manager's private socket, as -H does over
// ssh. That stream carries no file descriptors.
//
// Commands in a container ([Host.Command]) run with nsenter in all its
// leader's namespaces and its root: the container's own tools, files and
// users, not this machine's.

// ErrNoMachine is wrapped by the error for a machine that systemd-machined
// does not know.
var ErrNoMachine = errors.New("no such machine")

// NoMachineError reports a machine that systemd-machined does not know.
type NoMachineError struct {
	Name    string
	Message string // machined's: "No machine 'NAME' known"
}

func (e *NoMachineError) Error() string { return e.Message }

func (e *NoMachineError) Is(target error) bool { return target == ErrNoMachine }

// EnterMachine is a shell script that runs the command after its first
// argument, a machine's name, in all the namespaces of that machine's
// leader and with its root and working directory (machinectl show names
// the leader; nsenter enters). Its errors are machinectl's ("Could not
// get path to machine: No machine 'x' known") or nsenter's, on stderr.
const EnterMachine = `leader=$(machinectl show --property=Leader --value -- "$1") || exit 1
shift
exec nsenter -t "$leader" -a -r -w -- "$@"`

// machineBridge is the command run in a container, in all its namespaces,
// that gives a stream to its manager when its bus cannot be used: the
// manager's private socket, else the bus.
const machineBridge = "test -w " + PrivateSocket + " && exec systemd-stdio-bridge --bus-path=unix:path=" + PrivateSocket + " || exec systemd-stdio-bridge"

// machineBusBridge is machineBridge for a caller that waits on its units
// (DialOptions.Wait): the bus first, which can pin a unit.
const machineBusBridge = "test -S /run/dbus/system_bus_socket && exec systemd-stdio-bridge || exec systemd-stdio-bridge --bus-path=unix:path=" + PrivateSocket

// ValidMachineName checks a machine's name as systemd-machined takes it: a
// host name of at most 64 characters (letters, digits, "-", "_" and "."
// between labels).
func ValidMachineName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("machine name %q: want 1 to 64 characters", name)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || strings.HasPrefix(label, "-") || !validHostWord(label, "-_") {
			return fmt.Errorf("machine name %q: want letters, digits, '-' and '_', in labels separated by '.'", name)
		}
	}
	return nil
}

// MachineLeader asks systemd-machined, on this machine's system bus
// ($DBUS_SYSTEM_BUS_ADDRESS or the default), for the PID of name's leader
// (its init), as this machine's PID namespace sees it. A machine that
// machined does not know is a [*NoMachineError].
func MachineLeader(ctx context.Context, name string) (int, error) {
	bus, err := machined(name)
	if err != nil {
		return 0, err
	}
	defer bus.Close()
	var path dbus.ObjectPath
	err = bus.Object("org.freedesktop.machine1", "/org/freedesktop/machine1").
		CallWithContext(ctx, "org.freedesktop.machine1.Manager.GetMachine", 0, name).Store(&path)
	if err != nil {
		return 0, machinedError(name, "GetMachine", err)
	}
	v, err := bus.Object("org.freedesktop.machine1", path).GetProperty("org.freedesktop.machine1.Machine.Leader")
	if err != nil {
		return 0, fmt.Errorf("machine %s: systemd-machined: %w", name, wrap("reading Leader", err))
	}
	leader, ok := v.Value().(uint32)
	if !ok || leader == 0 {
		return 0, fmt.Errorf("machine %s: systemd-machined gave no leader (%v)", name, v)
	}
	return int(leader), nil
}

// machined connects to this machine's system bus ($DBUS_SYSTEM_BUS_ADDRESS
// or the default), where systemd-machined answers.
func machined(name string) (*dbus.Conn, error) {
	addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	if addr == "" {
		addr = "unix:path=/run/dbus/system_bus_socket"
	}
	bus, err := dbus.Dial(addr)
	if err == nil {
		if err = bus.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err == nil {
			err = bus.Hello()
		}
		if err != nil {
			bus.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("machine %s: systemd-machined: %w", name, err)
	}
	return bus, nil
}

// machinedError is machined's answer err to op about machine name: a
// [*NoMachineError] for NoSuchMachine.
func machinedError(name, op string, err error) error {
	var de dbus.Error
	if errors.As(err, &de) && de.Name == "org.freedesktop.machine1.NoSuchMachine" {
		msg := fmt.Sprintf("No machine '%s' known", name)
		if len(de.Body) > 0 {
			if s, ok := de.Body[0].(string); ok && s != "" {
				msg = s
			}
		}
		return &NoMachineError{Name: name, Message: msg}
	}
	return fmt.Errorf("machine %s: systemd-machined: %w", name, wrap(op, err))
}

// OpenMachinePTY has systemd-machined allocate a pseudo-terminal in the
// container name (OpenMachinePTY, as systemd-run -M -t does) and returns
// its master, non-blocking (pollable), and the path of its terminal in
// the container.
func OpenMachinePTY(ctx context.Context, name string) (*os.File, string, error) {
	bus, err := machined(name)
	if err != nil {
		return nil, "", err
	}
	defer bus.Close()
	var fd dbus.UnixFD
	var path string
	err = bus.Object("org.freedesktop.machine1", "/org/freedesktop/machine1").
		CallWithContext(ctx, "org.freedesktop.machine1.Manager.OpenMachinePTY", 0, name).Store(&fd, &path)
	if err != nil {
		return nil, "", machinedError(name, "OpenMachinePTY", err)
	}
	syscall.CloseOnExec(int(fd))
	if err := syscall.SetNonblock(int(fd), true); err != nil {
		syscall.Close(int(fd))
		return nil, "", err
	}
	return os.NewFile(uintptr(fd), "machine pty master"), path, nil
}

// machineCandidates returns how Dial reaches the system manager of the
// container h.Machine on this machine: its bus by path, then the bridge
// in it (see the comment at the top of this file).
func machineCandidates(ctx context.Context, h Host, timeout time.Duration, busOpts []dbus.ConnOption) ([]candidate, error) {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	leader, err := MachineLeader(lctx, h.Machine)
	if err != nil {
		return nil, err
	}
	busPath := "unix:path=/proc/" + strconv.Itoa(leader) + "/root/run/dbus/system_bus_socket"
	bus := candidate{"machine " + h.Machine + " bus", func(_ <-chan struct{}, opts []dbus.ConnOption) (*dbus.Conn, error) {
		return dbus.Dial(busPath, append(opts, busOpts...)...)
	}, true, nil}
	argv := []string{"nsenter", "-t", strconv.Itoa(leader), "-a", "-r", "-w", "--", "sh", "-c", machineBridge}
	bridge := bridgeCandidate("machine "+h.Machine+" bridge", h, argv)
	if !sameUserNamespace(leader) {
		// Our uid is not root's in the container: its bus would take
		// us for an unprivileged user (measured: the manager answers
		// StartTransientUnit with Permission denied). The bridge runs
		// in its user namespace, as its root.
		return []candidate{bridge}, nil
	}
	return []candidate{bus, bridge}, nil
}

// sameUserNamespace reports whether the process pid is in our user
// namespace: only then is our uid the same in the container.
func sameUserNamespace(pid int) bool {
	ours, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		return false
	}
	theirs, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/user")
	return err == nil && ours == theirs
}

// The manager of a user in a container (--user -M USER@NAME): as
// systemd's sd_bus_open_user_machine does, the container's system manager
// starts a service as USER with a PAM session (PAMName=login, so logind
// starts the user's manager and sets $XDG_RUNTIME_DIR) whose standard
// input and output are one end of a socket pair, passed over the
// container's bus; the service runs the container's systemd-stdio-bridge
// on the user manager's private socket (no user bus needed, unlike
// systemd-run 252's, which needs dbus-user-session in the container),
// else on the user's bus. The service ends when the stream is closed.

// userBridge is the user's side of the stream: the user manager's private
// socket, else the user's bus.
const userBridge = `p="$XDG_RUNTIME_DIR/systemd/private"; test -w "$p" && exec systemd-stdio-bridge --bus-path="unix:path=$p" || exec systemd-stdio-bridge --user`

// machineUserCandidates returns how Dial reaches the manager of user
// h.User in the container h.Machine on this machine.
func machineUserCandidates(ctx context.Context, h Host, timeout time.Duration, busOpts []dbus.ConnOption) ([]candidate, error) {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	leader, err := MachineLeader(lctx, h.Machine)
	if err != nil {
		return nil, err
	}
	// A user the container does not know would only make the service
	// fail (status 217/USER) and the stream end without a word.
	out, err := exec.CommandContext(lctx, "nsenter", "-t", strconv.Itoa(leader), "-a", "-r", "-w", "--", "getent", "passwd", "--", h.User).Output()
	if err != nil || len(out) == 0 {
		return nil, fmt.Errorf("machine %s: no user %q in the container", h.Machine, h.User)
	}
	busPath := "unix:path=/proc/" + strconv.Itoa(leader) + "/root/run/dbus/system_bus_socket"
	return []candidate{{"machine " + h.Machine + " user " + h.User, func(_ <-chan struct{}, opts []dbus.ConnOption) (*dbus.Conn, error) {
		s, err := startUserBridge(busPath, h.User)
		if err != nil {
			return nil, err
		}
		c, err := dbus.NewConn(s, append(opts, busOpts...)...)
		if err != nil {
			s.Close()
		}
		return c, err
	}, true, nil}}, nil
}

// startUserBridge has the system manager on the bus at busPath start
// userBridge as user, on a socket pair, and returns our end.
func startUserBridge(busPath, user string) (net.Conn, error) {
	sys, err := dbus.Dial(busPath)
	if err != nil {
		return nil, err
	}
	defer sys.Close()
	if err := sys.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		return nil, err
	}
	if err := sys.Hello(); err != nil {
		return nil, err
	}
	if !sys.SupportsUnixFDs() {
		return nil, errors.New("the container's bus does not pass file descriptors")
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	local := os.NewFile(uintptr(fds[0]), "bus")
	remote := os.NewFile(uintptr(fds[1]), "bridge")
	defer local.Close()
	defer remote.Close()
	type execCmd struct {
		Path        string
		Args        []string
		UncleanExit bool
	}
	props := []Property{
		{Name: "Description", Value: dbus.MakeVariant("borgrun bridge to " + user + "'s manager")},
		{Name: "User", Value: dbus.MakeVariant(user)},
		{Name: "PAMName", Value: dbus.MakeVariant("login")},
		{Name: "StandardInputFileDescriptor", Value: dbus.MakeVariant(dbus.UnixFD(remote.Fd()))},
		{Name: "StandardOutputFileDescriptor", Value: dbus.MakeVariant(dbus.UnixFD(remote.Fd()))},
		{Name: "CollectMode", Value: dbus.MakeVariant("inactive-or-failed")},
		{Name: "ExecStart", Value: dbus.MakeVariant([]execCmd{{"/bin/sh", []string{"sh", "-c", userBridge}, false}})},
	}
	name := "borgrun-user-bridge-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".service"
	var job dbus.ObjectPath
	err = sys.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
		Call("org.freedesktop.systemd1.Manager.StartTransientUnit", 0, name, "fail", props, []struct {
			Name  string
			Props []Property
		}{}).Store(&job)
	if err != nil {
		return nil, wrap("starting "+name, err)
	}
	return net.FileConn(local)
}
