package transient

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// StartTimer creates a timer and the service it triggers in one
// StartTransientUnit call (the service travels as the call's auxiliary
// unit, as systemd-run sends it) and waits for the timer's start job. The
// two names must share their stem (x.timer triggers x.service). Units in
// extra are created (not started) in the same call, such as those the
// service names in OnFailure=. Either every unit is created or, if the
// manager refuses, none is.
func (c *Conn) StartTimer(ctx context.Context, timer string, timerProps []Property, service string, serviceProps []Property, extra ...AuxUnit) error {
	if stem(timer) != stem(service) || !strings.HasSuffix(timer, ".timer") || !strings.HasSuffix(service, ".service") {
		return fmt.Errorf("transient: timer %q and service %q must be STEM.timer and STEM.service", timer, service)
	}
	return c.StartTransient(ctx, timer, timerProps, append([]AuxUnit{{Name: service, Properties: serviceProps}}, extra...), true)
}

func stem(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return name
}

// TimerStatus is what the manager says about a loaded timer.
type TimerStatus struct {
	Unit        string
	ActiveState string
	// Next is the next elapse in wall-clock time; zero if none is
	// scheduled.
	Next time.Time
	// Last is when the timer last triggered; zero if never.
	Last time.Time
	// Calendars are the timer's OnCalendar specifications, normalised by
	// the manager.
	Calendars []string
}

// Timer reads the status of a loaded timer.
func (c *Conn) Timer(ctx context.Context, name string) (*TimerStatus, error) {
	// Both interfaces in one round trip.
	ps, err := c.propertiesOfInterfaces(ctx, name, UnitInterface, TimerInterface)
	if err != nil {
		return nil, err
	}
	unit, timer := ps[0], ps[1]
	if ls, _ := unit["LoadState"].Value().(string); ls != "loaded" {
		return nil, &ManagerError{Op: fmt.Sprintf("reading %q", name), Name: "org.freedesktop.systemd1.NoSuchUnit", Message: "Unit " + name + " not loaded."}
	}
	st := &TimerStatus{Unit: name}
	st.ActiveState, _ = unit["ActiveState"].Value().(string)
	st.Next = usecTime(timer["NextElapseUSecRealtime"])
	st.Last = usecTime(timer["LastTriggerUSec"])
	if cals, ok := timer["TimersCalendar"].Value().([][]any); ok {
		for _, e := range cals {
			if len(e) >= 2 {
				if spec, ok := e[1].(string); ok {
					st.Calendars = append(st.Calendars, spec)
				}
			}
		}
	}
	return st, nil
}

func usecTime(v dbus.Variant) time.Time {
	u, _ := v.Value().(uint64)
	if u == 0 || u == math.MaxUint64 {
		return time.Time{}
	}
	return time.UnixMicro(int64(u))
}

// Stop stops the named units, waits for their stop jobs, and resets their
// failed state, so that transient units are unloaded. Units that are not
// loaded are skipped.
//
// If ctx is done before a stop is sent, no further stop is sent; a stop
// that was sent has its answer waited for (see [sendContext]), and if ctx
// is done while its job runs, the error says the stop was asked for.
func (c *Conn) Stop(ctx context.Context, units ...string) error {
	var errs []error
	for _, u := range units {
		jobs := make(chan string, 1)
		send, cancel, err := sendContext(ctx)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		_, err = c.sd.StopUnitContext(send, u, "replace", jobs)
		cancel()
		if err != nil {
			if err = wrap(fmt.Sprintf("stopping %q", u), err); !errors.Is(err, ErrNoSuchUnit) {
				errs = append(errs, err)
			}
			continue
		}
		select {
		case <-jobs:
		case <-ctx.Done():
			return errors.Join(append(errs, fmt.Errorf("transient: %s is stopping; stopped waiting for it: %w", u, ctx.Err()))...)
		}
		send, cancel, err = sendContext(ctx)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		err = c.sd.ResetFailedUnitContext(send, u)
		cancel()
		if err != nil {
			if err = wrap(fmt.Sprintf("resetting %q", u), err); !errors.Is(err, ErrNoSuchUnit) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// WaitGone waits until the manager has unloaded the unit called name: it
// returns at once if no such unit is loaded, otherwise when the manager's
// UnitRemoved signal for it arrives or ctx is done.
func (c *Conn) WaitGone(ctx context.Context, name string) error {
	return c.WaitAllGone(ctx, name)
}

// WaitActiveState waits until the unit called name is in the given
// ActiveState ("active", "activating", "inactive", "failed", …), driven by
// its PropertiesChanged signals.
func (c *Conn) WaitActiveState(ctx context.Context, name, state string) error {
	return c.WaitUnitProperty(ctx, name, "ActiveState", state)
}

// WaitUnitProperty waits until the string property key of the unit's
// org.freedesktop.systemd1.Unit interface (ActiveState, SubState, …) has
// the given value, driven by its PropertiesChanged signals.
func (c *Conn) WaitUnitProperty(ctx context.Context, name, key, value string) error {
	path := unitPath(name)
	w, unwatch, err := c.watchSubscribed(ctx, path)
	if err != nil {
		return err
	}
	defer unwatch()
	unit, err := c.Properties(ctx, name, UnitInterface)
	if err != nil {
		return err
	}
	if v, _ := unit[key].Value().(string); v == value {
		return nil
	}
	for {
		select {
		case s, ok := <-w.ch:
			if !ok {
				return fmt.Errorf("transient: waiting for %s %s=%s: %w", name, key, value, ErrDisconnected)
			}
			var st unitState
			st.merge(s)
			if st.str(key) == value {
				return nil
			}
			if w.lost.Swap(false) {
				if unit, err = c.Properties(ctx, name, UnitInterface); err != nil {
					return err
				}
				if v, _ := unit[key].Value().(string); v == value {
					return nil
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("transient: waiting for %s %s=%s: %w", name, key, value, ctx.Err())
		}
	}
}

// HasLogind reports whether the manager's machine has systemd-logind (it
// is bus-activated, so a loadable unit is enough): systemd-inhibit needs it.
// It costs one call: reading a unit's object makes the manager load it, as
// LoadUnit would.
func (c *Conn) HasLogind(ctx context.Context) (bool, error) {
	var ls dbus.Variant
	if err := c.object(unitPath("systemd-logind.service")).CallWithContext(ctx, ifaceProps+".Get", 0, UnitInterface, "LoadState").Store(&ls); err != nil {
		return false, wrap("reading systemd-logind.service", err)
	}
	return ls.Value() == "loaded", nil
}

// Running reports whether the unit called name is active, activating,
// deactivating or reloading: a run is in progress. A unit that is not
// loaded is not running (and is not loaded by asking): that costs one
// round trip, a loaded unit two.
func (c *Conn) Running(ctx context.Context, name string) (bool, error) {
	var path dbus.ObjectPath
	err := c.object(managerPath).CallWithContext(ctx, "org.freedesktop.systemd1.Manager.GetUnit", 0, name).Store(&path)
	if err != nil {
		if err = wrap(fmt.Sprintf("looking up %q", name), err); errors.Is(err, ErrNoSuchUnit) {
			return false, nil
		}
		return false, err
	}
	// Reading a unit's object loads a stub (an auxiliary unit just
	// created) first, as LoadUnit would.
	var as dbus.Variant
	if err := c.object(path).CallWithContext(ctx, ifaceProps+".Get", 0, UnitInterface, "ActiveState").Store(&as); err != nil {
		return false, wrap(fmt.Sprintf("reading %q", name), err)
	}
	return IsRunning(as.Value()), nil
}

// WaitIdle waits until the unit called name is no longer running (inactive
// or failed, or unloaded), driven by its signals.
func (c *Conn) WaitIdle(ctx context.Context, name string) error {
	path := unitPath(name)
	w, unwatch, err := c.watchSubscribed(ctx, path)
	if err != nil {
		return err
	}
	defer unwatch()
	for {
		if ok, err := c.Running(ctx, name); err != nil || !ok {
			return err
		}
		select {
		case _, ok := <-w.ch:
			if !ok {
				return fmt.Errorf("transient: waiting for %s to end: %w", name, ErrDisconnected)
			}
			w.lost.Store(false)
		case <-ctx.Done():
			return fmt.Errorf("transient: waiting for %s to end: %w", name, ctx.Err())
		}
	}
}
