package transient

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
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
// without a bus (no dbus-daemon), or one whose bus refuses us (a user
// namespace mapping our uid away), is reached the other way: nsenter into
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
	addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	if addr == "" {
		addr = "unix:path=/run/dbus/system_bus_socket"
	}
	bus, err := dbus.Dial(addr, dbus.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("machine %s: systemd-machined: %w", name, err)
	}
	defer bus.Close()
	if err := bus.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		return 0, fmt.Errorf("machine %s: systemd-machined: %w", name, err)
	}
	if err := bus.Hello(); err != nil {
		return 0, fmt.Errorf("machine %s: systemd-machined: %w", name, err)
	}
	var path dbus.ObjectPath
	err = bus.Object("org.freedesktop.machine1", "/org/freedesktop/machine1").
		CallWithContext(ctx, "org.freedesktop.machine1.Manager.GetMachine", 0, name).Store(&path)
	var de dbus.Error
	if errors.As(err, &de) && de.Name == "org.freedesktop.machine1.NoSuchMachine" {
		msg := fmt.Sprintf("No machine '%s' known", name)
		if len(de.Body) > 0 {
			if s, ok := de.Body[0].(string); ok && s != "" {
				msg = s
			}
		}
		return 0, &NoMachineError{Name: name, Message: msg}
	}
	if err != nil {
		return 0, fmt.Errorf("machine %s: systemd-machined: %w", name, wrap("GetMachine", err))
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
	bus := candidate{"machine " + h.Machine + " bus", func(<-chan struct{}) (*dbus.Conn, error) {
		return dbus.Dial(busPath, busOpts...)
	}, true, nil}
	argv := []string{"nsenter", "-t", strconv.Itoa(leader), "-a", "-r", "-w", "--", "sh", "-c", machineBridge}
	return []candidate{bus, bridgeCandidate("machine "+h.Machine+" bridge", h, argv)}, nil
}
