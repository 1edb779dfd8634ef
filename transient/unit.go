package transient

import (
	"strings"

	"github.com/godbus/dbus/v5"
)

// unitPath returns the manager's object path for the unit called name, with
// the name escaped as systemd's bus_label_escape does: ASCII letters and
// digits stay, every other byte becomes _xx (lower-case hex).
func unitPath(name string) dbus.ObjectPath {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteString("/org/freedesktop/systemd1/unit/")
	if name == "" {
		b.WriteByte('_')
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return dbus.ObjectPath(b.String())
}
