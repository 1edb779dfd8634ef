// Package props parses systemd-run style "Name=Value" property assignments
// into the typed D-Bus values that systemd's StartTransientUnit expects,
// byte for byte as systemd-run 252 encodes them, and parses the value
// languages that go with them: time spans, sizes, booleans and calendar
// specifications.
//
// props never opens a bus and does not depend on go-systemd; it imports
// godbus only for [dbus.Variant] and [dbus.Signature].
package props
