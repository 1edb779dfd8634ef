package transient

import (
	"errors"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Sentinels for the manager's answers, matched by D-Bus error name (never by
// message text). Test for them with errors.Is.
var (
	// ErrUnitExists: a unit of that name is already loaded or has a
	// fragment file (org.freedesktop.systemd1.UnitExists).
	ErrUnitExists = errors.New("unit exists")
	// ErrNoSuchUnit: no unit of that name is loaded
	// (org.freedesktop.systemd1.NoSuchUnit).
	ErrNoSuchUnit = errors.New("no such unit")
	// ErrAccessDenied: the manager refused the caller
	// (org.freedesktop.DBus.Error.AccessDenied, …InteractiveAuthorizationRequired).
	ErrAccessDenied = errors.New("access denied")
	// ErrInteractiveAuthorization: the manager would have allowed the
	// call after asking the user (polkit's auth_admin or auth_self), but
	// the call did not allow that (DialOptions.AskPassword unset):
	// org.freedesktop.DBus.Error.InteractiveAuthorizationRequired. Such an
	// error also matches ErrAccessDenied.
	ErrInteractiveAuthorization = errors.New("interactive authorization required")
	// ErrInvalidArgs: the manager rejected a property or argument
	// (org.freedesktop.DBus.Error.InvalidArgs, …PropertyReadOnly), or the
	// unit its properties make (org.freedesktop.systemd1.BadUnitSetting:
	// a timer with no trigger, say).
	ErrInvalidArgs = errors.New("invalid arguments")
	// ErrNotTransient: the unit was loaded from a unit file, not created
	// over the bus.
	ErrNotTransient = errors.New("not transient")
	// ErrDisconnected: the connection to the manager was lost.
	ErrDisconnected = errors.New("connection to the manager lost")
)

var busErrors = map[string][]error{
	"org.freedesktop.systemd1.UnitExists":                         {ErrUnitExists},
	"org.freedesktop.systemd1.NoSuchUnit":                         {ErrNoSuchUnit},
	"org.freedesktop.DBus.Error.UnknownObject":                    {ErrNoSuchUnit},
	"org.freedesktop.DBus.Error.AccessDenied":                     {ErrAccessDenied},
	"org.freedesktop.DBus.Error.InteractiveAuthorizationRequired": {ErrAccessDenied, ErrInteractiveAuthorization},
	"org.freedesktop.DBus.Error.InvalidArgs":                      {ErrInvalidArgs},
	"org.freedesktop.DBus.Error.PropertyReadOnly":                 {ErrInvalidArgs},
	"org.freedesktop.systemd1.BadUnitSetting":                     {ErrInvalidArgs},
	"org.freedesktop.DBus.Error.NoReply":                          {ErrDisconnected},
	"org.freedesktop.DBus.Error.Disconnected":                     {ErrDisconnected},
}

// ManagerError is an error answered by the manager (a D-Bus error), with
// the operation that provoked it. errors.Is matches it against the
// sentinels above by the D-Bus error name.
type ManagerError struct {
	Op      string // e.g. `starting "borgrun-x.timer"`
	Name    string // D-Bus error name
	Message string // the manager's message
}

func (e *ManagerError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Name
	}
	return "transient: " + e.Op + ": " + msg
}

// Is reports whether target is the sentinel for e's D-Bus error name.
func (e *ManagerError) Is(target error) bool {
	for _, s := range busErrors[e.Name] {
		if s == target {
			return true
		}
	}
	return false
}

// wrap annotates err with op, turning a D-Bus error into a *ManagerError.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var derr dbus.Error
	if errors.As(err, &derr) {
		var msg string
		if len(derr.Body) > 0 {
			msg, _ = derr.Body[0].(string)
		}
		return &ManagerError{Op: op, Name: derr.Name, Message: msg}
	}
	var pderr *dbus.Error
	if errors.As(err, &pderr) {
		return wrap(op, *pderr)
	}
	return &opError{op: op, err: err}
}

type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return "transient: " + e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// joinLine renders err on one line: the parts of a joined error are
// separated by "; ".
func joinLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
