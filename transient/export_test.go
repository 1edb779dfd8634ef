package transient

import (
	"context"
	"strings"
	"testing"

	"github.com/borgrun/borgrun/props"
	"github.com/godbus/dbus/v5"
)

// SetWaitBuffer makes the batched waits of c buffer only n signals, so
// that a test can make them drop some.
func SetWaitBuffer(c *Conn, n int) { c.batchBuffer = n }

// Drops returns the number of signals c dropped for full waiters.
func Drops(c *Conn) int64 { return c.drops.Load() }

// WatchManager registers a waiter for the manager object's signals
// called member (all of them, on a private socket), with a buffer of n.
func WatchManager(ctx context.Context, c *Conn, member string, n int) (<-chan *dbus.Signal, func(), error) {
	w, unwatch, err := c.watchManagerN(ctx, n, member)
	if err != nil {
		return nil, nil, err
	}
	return w.ch, unwatch, nil
}

// HoldDispatch keeps c from handing signals on to its waiters until the
// returned function is called; meanwhile they queue behind dispatch.
func HoldDispatch(c *Conn) (release func()) {
	c.mu.Lock()
	return c.mu.Unlock
}

// WaitAllGoneLooked is c.WaitAllGone, calling looked once it has looked
// up the units the first time.
func WaitAllGoneLooked(ctx context.Context, c *Conn, looked func(), units ...string) error {
	return c.waitAllGone(ctx, nil, looked, units...)
}

func TestExecLine(t *testing.T) {
	tests := []struct {
		e    execEntry
		want string
	}{
		{execEntry{Path: "/bin/true", Argv: []string{"/bin/true"}}, `ExecStart="/bin/true"`},
		{execEntry{Path: "/bin/sh", Argv: []string{"/bin/sh", "-c", "u=$$(cut); [ \"$$u\" ]"}}, `ExecStart="/bin/sh" "-c" "u=$$(cut); [ \"$$u\" ]"`},
		{execEntry{Path: "/bin/echo", Argv: []string{"/bin/echo", ";", "50%", `a\b`, "tab\there", ""}}, `ExecStart="/bin/echo" \; "50%%" "a\\b" "tab\there" ""`},
		{execEntry{Path: "/bin/mkdir", Argv: []string{"/bin/mkdir", "-p"}, Flags: []string{"privileged"}}, `ExecStart=+"/bin/mkdir" "-p"`},
		{execEntry{Path: "/bin/x", Argv: []string{"/bin/x"}, Flags: []string{"ignore-failure", "no-env-expand"}}, `ExecStart=-:"/bin/x"`},
		{execEntry{Path: "/bin/x", Argv: []string{"/bin/x"}, Flags: []string{"ambient"}}, `ExecStart=!!"/bin/x"`},
		{execEntry{Path: "/bin/busybox", Argv: []string{"sh", "-c", "true"}}, `ExecStart=@"/bin/busybox" "sh" "-c" "true"`},
	}
	for _, tt := range tests {
		line, err := props.FormatExecUnitFile(tt.e.Path, tt.e.Argv, tt.e.Flags)
		if got := "ExecStart=" + line; err != nil || got != tt.want {
			t.Errorf("FormatExecUnitFile(%+v) = %q, %v; want %q", tt.e, got, err, tt.want)
		}
	}
	if _, err := props.FormatExecUnitFile("/bin/x", []string{"/bin/x"}, []string{"via-ssh"}); err == nil || !strings.Contains(err.Error(), `"via-ssh"`) {
		t.Errorf("unknown flag: error %v, want one naming it", err)
	}
}

// namespaceAll is systemd 252's every namespace: no restriction.
const namespaceAll = 0x7E020000

func TestNamespaceValue(t *testing.T) {
	for flags, want := range map[uint64]string{
		0:                          "yes",
		namespaceAll:               "no",
		0x02000000 | 0x08000000:    "cgroup ipc",
		namespaceAll &^ 0x40000000: "cgroup ipc mnt pid user uts",
	} {
		if got := props.FormatNamespaces(flags); got != want {
			t.Errorf("FormatNamespaces(%#x) = %q, want %q", flags, got, want)
		}
	}
}

func TestRewriteService(t *testing.T) {
	execs := func(es ...execEntry) dbus.Variant { return dbus.MakeVariant(es) }
	tr := execEntry{Path: "/bin/true", Argv: []string{"/bin/true"}}
	tests := []struct {
		name  string
		text  string
		props map[string]dbus.Variant
		want  string
		err   string
	}{
		{"in place, Ex lines dropped",
			"[Service]\nType=oneshot\nExecStartPre=\nExecStartPre=\"/bin/sh\" \"-c\" \"\\$\\$\"\nNice=19\nRestrictNamespaces=\nExecStartPreEx=+\"/bin/true\"\nExecStart=\nExecStart=\"/bin/true\"\n",
			map[string]dbus.Variant{
				"ExecStartPreEx":     execs(execEntry{Path: "/bin/sh", Argv: []string{"/bin/sh", "-c", "$$"}}, execEntry{Path: "/bin/true", Argv: []string{"/bin/true"}, Flags: []string{"privileged"}}),
				"ExecStartEx":        execs(tr),
				"ExecStopEx":         execs(),
				"RestrictNamespaces": dbus.MakeVariant(uint64(0)),
			},
			"[Service]\nType=oneshot\nExecStartPre=\"/bin/sh\" \"-c\" \"$$\"\nExecStartPre=+\"/bin/true\"\nNice=19\nRestrictNamespaces=yes\nExecStart=\"/bin/true\"\n", ""},
		{"continuation lines go with their key",
			"[Service]\nExecStart=\"/bin/true\" \\\n  \"x\"\nNice=1\n",
			map[string]dbus.Variant{"ExecStartEx": execs(tr), "RestrictNamespaces": dbus.MakeVariant(uint64(namespaceAll))},
			"[Service]\nExecStart=\"/bin/true\"\nNice=1\n", ""},
		{"never restricted (all bits: NAMESPACE_FLAGS_INITIAL)",
			"[Service]\nExecStart=\"/bin/true\"\n",
			map[string]dbus.Variant{"ExecStartEx": execs(tr), "RestrictNamespaces": dbus.MakeVariant(^uint64(0))},
			"[Service]\nExecStart=\"/bin/true\"\n", ""},
		{"a command the text lacks",
			"[Service]\nType=oneshot\n",
			map[string]dbus.Variant{"ExecStartEx": execs(tr)},
			"", "ExecStart is set but not in the unit's file"},
		{"a restriction the text lacks",
			"[Service]\nExecStart=\"/bin/true\"\n",
			map[string]dbus.Variant{"ExecStartEx": execs(tr), "RestrictNamespaces": dbus.MakeVariant(uint64(0))},
			"", "RestrictNamespaces is set but not in the unit's file"},
		{"unknown flag",
			"[Service]\nExecStartEx=\"/bin/true\"\n",
			map[string]dbus.Variant{"ExecStartEx": execs(execEntry{Path: "/bin/true", Argv: []string{"/bin/true"}, Flags: []string{"new"}})},
			"", `unknown exec flag "new"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rewriteService(props.V252, tt.text, tt.props)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("rewriteService = %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}
