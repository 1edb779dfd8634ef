// Package transient starts and waits on transient systemd units over D-Bus,
// with systemd-run semantics. It knows systemd and nothing of backups.
//
// What it holds:
//   - Connecting: [Dial] reaches a system or user manager on its private
//     socket or a bus, or a remote host's system manager over ssh and
//     systemd-stdio-bridge ([Host], [ParseHost], [Host.Command],
//     [Host.Run]), as systemctl -H does. A [Conn] is one connection to one
//     manager, safe for concurrent use.
//   - Starting: [Conn.StartTransient] (with auxiliary units) and
//     [Conn.StartTimer] (a timer and its service in one StartTransientUnit
//     call); [Conn.Run] starts a service and waits for it to finish, as
//     systemd-run --wait does, with its exit status in a [Result]
//     ([Conn.RunOutcome]: without the accounting figures, no read at the
//     end).
//   - Waiting, always driven by the manager's signals, never by polling:
//     [Conn.WaitService], [Conn.WaitGone], [Conn.WaitActiveState],
//     [Conn.WaitUnitProperty], [Conn.WaitIdle]. Each waiter gets the
//     signals in the order the manager sent them; one whose buffer
//     overflowed knows it and reads the state again.
//   - Reading units: [Conn.Units], [Conn.UnitsMatching],
//     [Conn.Properties], [Conn.Timer], [Conn.Running], and
//     [Conn.UnitFile], a transient unit written out as the unit file that
//     gives the same unit.
//   - Stopping: [Conn.Stop].
//   - Many units at once, in a number of round trips that does not grow
//     with theirs: [Conn.PropertiesOf], [Conn.StopAll],
//     [Conn.WaitAllGone] (which a daemon-reload does not fool) and
//     [Conn.UnloadAll].
//   - Errors: D-Bus errors from the manager become a [*ManagerError]
//     that matches, by D-Bus error name and never by text, the sentinels
//     [ErrUnitExists], [ErrNoSuchUnit], [ErrAccessDenied],
//     [ErrInteractiveAuthorization], [ErrInvalidArgs] and [ErrDisconnected];
//     a failed start job is a [*JobError], a run that failed an
//     [*ExitError], and [SetupFailureOf] tells a failure to apply the
//     unit's execution settings (sandbox, priority) from the command's own.
//
// Property values come from package props, which encodes systemd-run style
// Name=Value assignments exactly as systemd-run does. Library functions
// return errors and never print.
package transient
