package transient

import (
	"context"
	"errors"
	"fmt"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

const (
	ifaceProps = "org.freedesktop.DBus.Properties"
)

// Result is how a service run ended, as systemd-run --wait reports it.
type Result struct {
	Unit string
	// Result is the service's Result property: "success", "exit-code",
	// "signal", "core-dump", "timeout", …
	Result string
	// Code is how the main process ended: "exited", "killed" or "dumped"
	// ("" if it never ran). Status is its exit status, or the signal
	// number when Code is "killed" or "dumped".
	Code   string
	Status int32
	// Ran reports whether the unit was started at all; false when a
	// condition (such as ConditionACPower) was not met.
	Ran bool
	// Runtime is the time from leaving to re-entering the inactive state.
	Runtime time.Duration
	// CPU is the CPU time consumed, or -1 if accounting is off.
	CPU time.Duration
	// IOReadBytes, IOWriteBytes, IPIngressBytes and IPEgressBytes are
	// math.MaxUint64 when unknown (accounting off), as systemd reports.
	IOReadBytes, IOWriteBytes     uint64
	IPIngressBytes, IPEgressBytes uint64
	// MemoryPeak and MemorySwapPeak are math.MaxUint64 when unknown: off,
	// or a manager older than 255 (peak) or 256 (swap peak).
	MemoryPeak, MemorySwapPeak uint64
	// PreCode and PreStatus are how the ExecStartPre= command that failed
	// ended, as Code and Status; "" and 0 if none failed (or unknown).
	// The manager reports settings it cannot apply (226/NAMESPACE …) on
	// the first command it spawns.
	PreCode   string
	PreStatus int32
}

// ExitStatus maps r to a process exit status exactly as systemd-run does:
// 0 for Result "success" (which honours SuccessExitStatus= and counts
// SIGTERM, SIGINT, SIGHUP and SIGPIPE as clean), the exit status for
// "exit-code", 255 for "signal", and 1 for anything else.
func (r *Result) ExitStatus() int {
	switch {
	case r.Result == "success":
		return 0
	case r.Result == "exit-code" && r.Status > 0:
		return int(r.Status)
	case r.Result == "signal":
		return 255
	default:
		return 1
	}
}

// ExitError is returned by [Conn.Run] when the service did not succeed. It
// carries the full [Result]; use ExitStatus for the process exit status.
type ExitError struct{ *Result }

func (e *ExitError) Error() string {
	if e.Code == "exited" {
		return fmt.Sprintf("transient: %s failed with result %q (exit status %d)", e.Unit, e.Result.Result, e.Status)
	}
	if e.Code != "" {
		return fmt.Sprintf("transient: %s failed with result %q (%s by signal %d)", e.Unit, e.Result.Result, e.Code, e.Status)
	}
	return fmt.Sprintf("transient: %s failed with result %q", e.Unit, e.Result.Result)
}

// Property is a unit property as sent to StartTransientUnit.
type Property = sddbus.Property

// Run starts name (a .service) as a transient unit with the given
// properties, waits until it has finished, and returns how it ended. A
// service that did not succeed gives a *Result and an *ExitError. Waiting is
// driven by the manager's PropertiesChanged signals; nothing is polled.
//
// Over a bus, Run pins the unit (AddRef) while it waits so that its final
// accounting can be read; over the private socket, which cannot pin, the
// accounting of a unit already unloaded is reported as unknown. Run leaves
// nothing behind: the unit is collected even if it failed.
//
// If the connection is lost while waiting (a daemon-reexec closes the
// private socket), Run dials the manager again and carries on with the
// unit's true state. If ctx is done before the service ends, Run stops the
// unit, waits for it to end (up to stopTimeout) and returns ctx's error
// joined with the result.
func (c *Conn) Run(ctx context.Context, name string, props []Property) (*Result, error) {
	return c.RunAux(ctx, name, props, nil)
}

// RunAux is [Conn.Run] with auxiliary units created in the same
// StartTransientUnit call (created, not started), such as the units the
// service names in OnFailure= or OnSuccess=.
func (c *Conn) RunAux(ctx context.Context, name string, props []Property, aux []AuxUnit) (*Result, error) {
	return c.run(ctx, name, props, aux, true)
}

// RunOutcome is [Conn.Run] for a caller that needs only how the service
// ended, not what it consumed: the Result's accounting figures (CPU, IO,
// IP, memory) are left unknown. That saves the read after the end: a run
// that succeeded costs no call after its start on a private socket (the
// signals carry its outcome), and only the release of the pin on a bus; a
// failed one costs one round trip (its ExecStartPre, for
// [SetupFailureOf], read as it is reset).
func (c *Conn) RunOutcome(ctx context.Context, name string, props []Property) (*Result, error) {
	return c.run(ctx, name, props, nil, false)
}

// run is RunAux, reading the accounting figures at the end if figures.
func (c *Conn) run(ctx context.Context, name string, props []Property, aux []AuxUnit, figures bool) (*Result, error) {
	path := unitPath(name)
	cc := c // the connection in use; a new one after a reconnect
	w, unwatch, err := cc.watch(ctx, path)
	if err != nil {
		return nil, err
	}
	defer func() {
		unwatch()
		if cc != c {
			cc.Close()
		}
	}()

	props = props[:len(props):len(props)]
	if c.direct {
		// The private socket cannot pin the unit. Keep the default
		// CollectMode instead: a failed unit stays loaded, so its result
		// can be read even after a reconnect, until finish resets it; a
		// unit that is gone therefore succeeded.
	} else {
		// Pin the unit while we wait so its final state stays readable.
		props = append(props,
			Property{Name: "CollectMode", Value: dbus.MakeVariant("inactive-or-failed")},
			Property{Name: "AddRef", Value: dbus.MakeVariant(true)})
	}
	jobs := make(chan string, 1)
	send, cancel, err := sendContext(ctx)
	if err != nil {
		return nil, err
	}
	if len(aux) == 0 {
		_, err = cc.sd.StartTransientUnitContext(send, name, "fail", props, jobs)
	} else {
		_, err = cc.sd.StartTransientUnitAux(send, name, "fail", props, auxCollections(aux), jobs)
	}
	cancel()
	if err != nil {
		return nil, wrap(fmt.Sprintf("starting %q", name), err)
	}
	finished := false
	defer func() {
		if !cc.direct && !finished {
			cc.unref(ctx, path)
		}
	}()

	// The signals, watched since before the start, carry every change of
	// the properties we need; no initial read is needed (and on the
	// private socket a unit that has already finished and been collected
	// would read back as a fresh stub).
	st := unitState{}
	stopping := false
	ctxDone := ctx.Done()
	var stopDeadline <-chan time.Time
	for !st.done() {
		select {
		case s, ok := <-w.ch:
			if !ok {
				n, err := c.reconnect(ctx)
				if err != nil {
					return nil, fmt.Errorf("transient: waiting for %s: %w: %w", name, ErrDisconnected, err)
				}
				unwatch()
				if cc != c {
					cc.Close()
				}
				cc = n
				if w, unwatch, err = cc.watch(ctx, path); err != nil {
					unwatch = func() {}
					return nil, err
				}
				if err := cc.resume(ctx, name, path, &st); err != nil {
					return nil, err
				}
				continue
			}
			st.merge(s)
			if w.lost.Swap(false) {
				if err := cc.readState(ctx, path, &st); err != nil && !errors.Is(err, ErrNoSuchUnit) {
					return nil, err
				}
			}
		case res := <-jobs:
			st.jobResult = res
		case <-ctxDone:
			ctxDone = nil
			stopping = true
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, err := cc.sd.StopUnitContext(stopCtx, name, "replace", nil)
			cancel()
			if err != nil && !errors.Is(wrap("", err), ErrNoSuchUnit) {
				return nil, wrap(fmt.Sprintf("stopping %q", name), err)
			}
			stopDeadline = time.After(stopTimeout)
		case <-stopDeadline:
			return nil, fmt.Errorf("transient: %s did not stop within %v: %w", name, stopTimeout, ctx.Err())
		}
	}
	finished = true
	res, err := cc.finish(context.WithoutCancel(ctx), name, path, &st, !cc.direct, figures)
	if stopping {
		return res, errors.Join(ctx.Err(), err)
	}
	return res, err
}

// resume catches up with a unit after a reconnect: it re-reads its state
// and, on a bus, pins it again. A unit that is gone ended while we were
// away; on the private socket (default CollectMode) that means it
// succeeded, elsewhere its result is unknown.
func (c *Conn) resume(ctx context.Context, name string, path dbus.ObjectPath, st *unitState) error {
	err := c.readState(ctx, path, st)
	switch {
	case errors.Is(err, ErrNoSuchUnit) && c.direct:
		st.props["ActiveState"] = dbus.MakeVariant("inactive")
		st.props["Result"] = dbus.MakeVariant("success")
		st.props["Job"] = dbus.MakeVariant([]any{uint32(0), dbus.ObjectPath("/")})
		return nil
	case errors.Is(err, ErrNoSuchUnit):
		return fmt.Errorf("transient: %s ended while the connection was lost; its result is unknown", name)
	case err != nil:
		return err
	}
	if !c.direct {
		if err := c.object(path).CallWithContext(ctx, UnitInterface+".Ref", 0).Err; err != nil {
			return wrap("pinning "+name, err)
		}
	}
	return nil
}

// stopTimeout bounds the wait for a unit stopped because the caller gave up.
// It is generous: a command may need a while to end cleanly on SIGTERM.
const stopTimeout = 5 * time.Minute

// unitState accumulates the properties that decide when a run is over.
type unitState struct {
	props     map[string]dbus.Variant
	jobResult string
}

func (st *unitState) merge(s *dbus.Signal) {
	if s.Name != ifaceProps+".PropertiesChanged" || len(s.Body) < 2 {
		return
	}
	changed, ok := s.Body[1].(map[string]dbus.Variant)
	if !ok {
		return
	}
	if st.props == nil {
		st.props = make(map[string]dbus.Variant)
	}
	for k, v := range changed {
		st.props[k] = v
	}
}

func (st *unitState) str(k string) string {
	s, _ := st.props[k].Value().(string)
	return s
}

func (st *unitState) u64or(k string, def uint64) uint64 {
	if u, ok := st.props[k].Value().(uint64); ok {
		return u
	}
	return def
}

func (st *unitState) i32(k string) int32 {
	i, _ := st.props[k].Value().(int32)
	return i
}

// done reports whether the unit is inactive or failed with no job pending,
// systemd-run's own criterion.
func (st *unitState) done() bool {
	as := st.str("ActiveState")
	if as != "inactive" && as != "failed" {
		return false
	}
	job, ok := st.props["Job"].Value().([]any)
	if !ok || len(job) != 2 {
		return false
	}
	id, _ := job[0].(uint32)
	return id == 0
}

// readState re-reads the Unit and Service properties of the unit at path.
// If the manager answers for another invocation of the unit (the original
// was collected and the path now names a fresh, unloaded stub), st is left
// unchanged and ErrNoSuchUnit returned.
func (c *Conn) readState(ctx context.Context, path dbus.ObjectPath, st *unitState) error {
	obj := c.object(path)
	fresh := unitState{}
	for _, iface := range []string{UnitInterface, ServiceInterface} {
		var all map[string]dbus.Variant
		if err := obj.CallWithContext(ctx, ifaceProps+".GetAll", 0, iface).Store(&all); err != nil {
			return wrap("reading "+string(path), err)
		}
		fresh.merge(&dbus.Signal{Name: ifaceProps + ".PropertiesChanged", Body: []any{iface, all}})
	}
	if id := fresh.props["InvocationID"].Value(); fresh.str("LoadState") != "loaded" ||
		fmt.Sprint(id) != fmt.Sprint(st.props["InvocationID"].Value()) {
		return fmt.Errorf("transient: reading %s: %w", path, ErrNoSuchUnit)
	}
	for k, v := range fresh.props {
		st.props[k] = v
	}
	return nil
}

// finish reads the final accounting figures of a finished unit (without
// figures, only the ExecStartPre of a failed one) and builds its Result;
// in the same round trip it resets a failed unit and, if pinned, drops our
// reference, so that the unit is unloaded when finish returns. Without
// figures, a unit that succeeded and is not pinned costs no call.
func (c *Conn) finish(ctx context.Context, name string, path dbus.ObjectPath, st *unitState, pinned, figures bool) (*Result, error) {
	var after []call
	if st.str("ActiveState") == "failed" {
		// Resetting unloads it (at once on the private socket, once
		// unreferenced on a bus) and is harmless if it is gone.
		after = append(after, call{c.object(managerPath), "org.freedesktop.systemd1.Manager.ResetFailedUnit", []any{name}})
	}
	if pinned {
		after = append(after, call{c.object(path), UnitInterface + ".Unref", nil})
	}
	switch {
	case figures:
		c.readFigures(ctx, path, st, allFigures, after...)
	case st.str("ActiveState") == "failed":
		c.readFigures(ctx, path, st, []string{"ExecStartPre"}, after...)
	case len(after) > 0:
		c.readFigures(ctx, path, st, nil, after...)
	}
	r := waitResult(name, st.props)
	if r.Result != "success" {
		return r, &ExitError{r}
	}
	return r, nil
}

// readFigures reads the named figures (properties of the service
// interface) of a finished unit into st. It sends everything at once and
// waits once: a Get for each figure (not a GetAll of some 300
// properties), then the calls that after makes, which
// the manager handles in order behind the Gets. Figures that cannot be
// read, or that belong to another invocation (a collected unit reads back
// as a fresh stub), are left unknown.
func (c *Conn) readFigures(ctx context.Context, path dbus.ObjectPath, st *unitState, figures []string, after ...call) {
	send := func(o dbus.BusObject, method string, args ...any) *dbus.Call {
		return o.GoWithContext(ctx, method, 0, make(chan *dbus.Call, 1), args...)
	}
	obj := c.object(path)
	var inv *dbus.Call
	if len(figures) > 0 {
		inv = send(obj, ifaceProps+".Get", UnitInterface, "InvocationID")
	}
	gets := make([]*dbus.Call, len(figures))
	for i, f := range figures {
		gets[i] = send(obj, ifaceProps+".Get", ServiceInterface, f)
	}
	var calls []*dbus.Call
	for _, a := range after {
		calls = append(calls, send(a.obj, a.method, a.args...))
	}
	var id dbus.Variant
	same := inv != nil && (<-inv.Done).Store(&id) == nil && fmt.Sprint(id.Value()) == fmt.Sprint(st.props["InvocationID"].Value())
	for i, g := range gets {
		var v dbus.Variant
		if (<-g.Done).Store(&v) == nil && same {
			st.props[figures[i]] = v
		}
	}
	for _, a := range calls {
		<-a.Done
	}
}

// allFigures are the properties readFigures reads for a Result's
// accounting (and the ExecStartPre of a setup failure).
var allFigures = []string{"CPUUsageNSec", "IOReadBytes", "IOWriteBytes", "IPIngressBytes", "IPEgressBytes", "ExecStartPre", "MemoryPeak", "MemorySwapPeak"}

// call is a method call to send later.
type call struct {
	obj    dbus.BusObject
	method string
	args   []any
}

// unref drops the reference Run took, so the manager unloads the unit. It
// waits for the answer, so that the unit is gone when Run returns.
func (c *Conn) unref(ctx context.Context, path dbus.ObjectPath) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = c.object(path).CallWithContext(ctx, UnitInterface+".Unref", 0).Err
}
