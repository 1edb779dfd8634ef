package transient

import (
	"context"
	"errors"
	"fmt"

	"github.com/borgrun/borgrun/props"
	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// D-Bus interfaces of a unit's object, for [Conn.Properties].
const (
	UnitInterface    = "org.freedesktop.systemd1.Unit"
	ServiceInterface = "org.freedesktop.systemd1.Service"
	TimerInterface   = "org.freedesktop.systemd1.Timer"
)

// UnitStatus is one unit as the manager lists it: name, description, load,
// active and sub state, and object path.
type UnitStatus = sddbus.UnitStatus

// Units returns the status of each unit called one of names, in one call,
// so that all are seen at one instant. A unit that does not exist is
// listed with LoadState "not-found".
func (c *Conn) Units(ctx context.Context, names ...string) ([]UnitStatus, error) {
	sts, err := c.sd.ListUnitsByNamesContext(ctx, names)
	if err != nil {
		return nil, wrap(fmt.Sprintf("looking up %q", names), err)
	}
	return sts, nil
}

// UnitsMatching returns the status of every unit the manager has loaded
// (or has in memory) whose name matches one of the shell patterns.
func (c *Conn) UnitsMatching(ctx context.Context, patterns ...string) ([]UnitStatus, error) {
	sts, err := c.sd.ListUnitsByPatternsContext(ctx, nil, patterns)
	if err != nil {
		return nil, wrap(fmt.Sprintf("listing %q", patterns), err)
	}
	return sts, nil
}

// Properties reads all properties of one interface (such as
// [UnitInterface]) of the unit called name. A unit that is not loaded
// reads as LoadState "not-found". A unit that exists only as a "stub"
// (just created as the auxiliary unit of a StartTransientUnit call, still
// in the manager's load queue, with none of its properties yet) is loaded
// first with LoadUnit, so its properties are real. (LoadUnit is not used
// for names that do not exist: it would leave not-found units behind.)
func (c *Conn) Properties(ctx context.Context, name, iface string) (map[string]dbus.Variant, error) {
	var path dbus.ObjectPath
	err := c.object(managerPath).CallWithContext(ctx, "org.freedesktop.systemd1.Manager.GetUnit", 0, name).Store(&path)
	if err != nil {
		if err = wrap(fmt.Sprintf("looking up %q", name), err); errors.Is(err, ErrNoSuchUnit) {
			return map[string]dbus.Variant{"LoadState": dbus.MakeVariant("not-found")}, nil
		}
		return nil, err
	}
	var ls dbus.Variant
	if err := c.object(path).CallWithContext(ctx, ifaceProps+".Get", 0, UnitInterface, "LoadState").Store(&ls); err != nil {
		return nil, wrap(fmt.Sprintf("reading %q", name), err)
	}
	if ls.Value() == "stub" {
		if err := c.object(managerPath).CallWithContext(ctx, "org.freedesktop.systemd1.Manager.LoadUnit", 0, name).Store(&path); err != nil {
			return nil, wrap(fmt.Sprintf("loading %q", name), err)
		}
	}
	var all map[string]dbus.Variant
	if err := c.object(path).CallWithContext(ctx, ifaceProps+".GetAll", 0, iface).Store(&all); err != nil {
		return nil, wrap(fmt.Sprintf("reading %q", name), err)
	}
	return all, nil
}

// IsRunning reports whether a unit's ActiveState means it is running or
// changing state: active, activating, deactivating or reloading.
func IsRunning(activeState any) bool {
	switch activeState {
	case "active", "activating", "deactivating", "reloading":
		return true
	}
	return false
}

// ManagerVersion returns the manager's Version property, the version of
// systemd that this connection talks to, as the manager states it
// ("252.38-1~deb12u1"; systemctl --version shows the same). It is read
// once per connection, as the connection is made ([Dial]), in the same
// round trip as the connection's own last call: no round trip of its own
// unless that read failed.
func (c *Conn) ManagerVersion(ctx context.Context) (string, error) {
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v != "" {
		return v, nil
	}
	var val dbus.Variant
	if err := c.object(managerPath).CallWithContext(ctx, ifaceProps+".Get", 0, managerInterface, "Version").Store(&val); err != nil {
		return "", wrap("reading the manager's version", err)
	}
	v, ok := val.Value().(string)
	if !ok || v == "" {
		return "", fmt.Errorf("transient: the manager's Version is %s %v, want a non-empty string", val.Signature(), val.Value())
	}
	c.mu.Lock()
	c.version = v
	c.mu.Unlock()
	return v, nil
}

// Version returns the major version of the systemd this connection talks
// to (see [Conn.ManagerVersion]), which selects the property language
// that package props speaks to it.
func (c *Conn) Version(ctx context.Context) (props.Version, error) {
	s, err := c.ManagerVersion(ctx)
	if err != nil {
		return 0, err
	}
	v, err := props.ParseVersion(s)
	if err != nil {
		return 0, fmt.Errorf("transient: the manager's version: %w", err)
	}
	return v, nil
}
