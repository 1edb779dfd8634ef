package transient

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/godbus/dbus/v5"
)

// Batched calls: questions that do not depend on each other's answers are
// all sent before any answer is awaited (godbus keeps every call in flight
// on the one connection and routes each answer by its serial), so that
// asking about N units costs one round trip, not N. Over a link with a
// 50 ms round trip this is what makes a fleet of hundreds of jobs
// manageable.

// The manager's signals the batched waits follow. (On a private socket a
// waiter on the manager's object gets all of them: JobNew too.)
const (
	// jobRemoved: a job has finished (not sent for the jobs a
	// daemon-reload takes down and puts back).
	jobRemoved = managerInterface + ".JobRemoved"
	// unitRemoved: a unit was freed. A daemon-reload frees every unit
	// and loads it again, and sends a UnitRemoved for each.
	unitRemoved = managerInterface + ".UnitRemoved"
	// reloading: a daemon-reload begins (true) or has ended (false).
	reloading = managerInterface + ".Reloading"
)

// reloadState reports whether s is the manager's Reloading signal (ok),
// and if so whether a daemon-reload begins (true) or has ended (false).
func reloadState(s *dbus.Signal) (active, ok bool) {
	if s.Name != reloading || len(s.Body) == 0 {
		return false, false
	}
	active, ok = s.Body[0].(bool)
	return active, ok
}

// UnitProperties is what [Conn.PropertiesOf] read of one unit.
type UnitProperties struct {
	Unit       string
	Properties map[string]dbus.Variant
	// Err is this unit's error (for example a unit unloaded meanwhile),
	// nil if all its properties were read.
	Err error
}

// PropertiesOf reads properties of the interface iface (such as
// [ServiceInterface]) of each of units, in one round trip: every call is
// sent before any answer is awaited. With names, it asks for just those
// properties (one Get each: the cheapest in bytes when an interface has
// many, as a service's hundreds); without, for all of the interface
// (GetAll). The units should be loaded (as [Conn.UnitsMatching] and
// [Conn.Units] list them): reading a name that is not makes the manager
// load it as "not-found". The result is in the order of units; an error
// that is not a unit's own (the connection, ctx) is returned alone.
func (c *Conn) PropertiesOf(ctx context.Context, units []string, iface string, names ...string) ([]UnitProperties, error) {
	type pending struct {
		unit int
		name string // "" for GetAll
	}
	var reqs []request
	var which []pending
	out := make([]UnitProperties, len(units))
	for i, u := range units {
		out[i] = UnitProperties{Unit: u, Properties: map[string]dbus.Variant{}}
		obj := c.object(unitPath(u))
		if len(names) == 0 {
			reqs = append(reqs, request{obj, ifaceProps + ".GetAll", []any{iface}})
			which = append(which, pending{i, ""})
			continue
		}
		for _, name := range names {
			reqs = append(reqs, request{obj, ifaceProps + ".Get", []any{iface, name}})
			which = append(which, pending{i, name})
		}
	}
	calls, err := c.callAll(ctx, reqs)
	if err != nil {
		return nil, wrap(fmt.Sprintf("reading %d units", len(units)), err)
	}
	for k, call := range calls {
		p := which[k]
		u := &out[p.unit]
		err := call.Err
		if err == nil {
			if p.name == "" {
				var all map[string]dbus.Variant
				if err = call.Store(&all); err == nil {
					maps.Copy(u.Properties, all)
				}
			} else {
				var v dbus.Variant
				if err = call.Store(&v); err == nil {
					u.Properties[p.name] = v
				}
			}
		}
		if err != nil {
			if errors.Is(err, dbus.ErrClosed) {
				return nil, wrap(fmt.Sprintf("reading %q", u.Unit), err)
			}
			if u.Err == nil {
				u.Err = wrap(fmt.Sprintf("reading %q", u.Unit), err)
			}
		}
	}
	return out, nil
}

// StopAll stops the named units as [Conn.Stop] does (waits for their stop
// jobs, then resets their failed state so that transient units are
// unloaded; units that are not loaded are skipped), but all at once: every
// stop is sent in one round, their jobs are waited for together (one
// match on the manager's JobRemoved), and the resets go in a second
// round. The cost in round trips does not grow with the number of units.
//
// If ctx is done before the stops are sent, none is; once they are sent
// their answers are waited for (bounded), and if ctx is done while the
// jobs run, the error says which units are still stopping.
func (c *Conn) StopAll(ctx context.Context, units ...string) error {
	stopped, err := c.stopAll(ctx, units)
	return errors.Join(err, c.resetAll(ctx, stopped))
}

// UnloadAll is [Conn.StopAll] and then [Conn.WaitAllGone] of the same
// units, one round trip shorter: the first look at which units are still
// loaded goes out with the resets, after them (the manager handles a
// connection's calls in order, so the look sees what the resets did).
// If StopAll fails, the units stopped are reset and its error returned,
// without waiting.
func (c *Conn) UnloadAll(ctx context.Context, units ...string) error {
	stopped, err := c.stopAll(ctx, units)
	if err != nil {
		return errors.Join(err, c.resetAll(ctx, stopped))
	}
	return c.waitAllGone(ctx, stopped, nil, units...)
}

// resetAll resets the failed state of units, in one round.
func (c *Conn) resetAll(ctx context.Context, units []string) error {
	if len(units) == 0 {
		return nil
	}
	send, cancel, err := sendContext(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	calls, err := c.callAll(send, c.resets(units))
	if err != nil {
		return wrap("resetting failed units", err)
	}
	return resetErrors(units, calls)
}

// resets are the calls that reset the failed state of units.
func (c *Conn) resets(units []string) []request {
	mgr := c.object(managerPath)
	var reqs []request
	for _, u := range units {
		reqs = append(reqs, request{mgr, "org.freedesktop.systemd1.Manager.ResetFailedUnit", []any{u}})
	}
	return reqs
}

// resetErrors are the errors of the answered resets of units: those of
// units that are loaded no more are none.
func resetErrors(units []string, calls []*dbus.Call) error {
	var errs []error
	for k, call := range calls {
		if err := wrap(fmt.Sprintf("resetting %q", units[k]), call.Err); err != nil && !errors.Is(err, ErrNoSuchUnit) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopAll sends the stops of units and waits for their jobs, as StopAll
// does, and returns the units it stopped, whose failed state is to be
// reset: all of those whose stop the manager took, also when others'
// failed; none when the wait for the jobs failed.
func (c *Conn) stopAll(ctx context.Context, units []string) (stopped []string, err error) {
	if len(units) == 0 {
		return nil, nil
	}
	w, unwatch, err := c.watchManagerN(ctx, c.waitBuffer(len(units)), "JobRemoved", "Reloading")
	if err != nil {
		return nil, err
	}
	defer unwatch()
	// No Subscribe: the manager sends a job's JobRemoved to the client
	// that queued it (and a private socket gets everything). A
	// subscription would have every unit's PropertiesChanged broadcast
	// while hundreds of units stop at once.

	send, cancel, err := sendContext(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	mgr := c.object(managerPath)
	var reqs []request
	for _, u := range units {
		reqs = append(reqs, request{mgr, "org.freedesktop.systemd1.Manager.StopUnit", []any{u, "replace"}})
	}
	calls, err := c.callAll(send, reqs)
	if err != nil {
		return nil, wrap(fmt.Sprintf("stopping %q", units), err)
	}
	var errs []error
	jobs := map[dbus.ObjectPath]string{} // job -> unit, still running
	for k, call := range calls {
		u := units[k]
		var job dbus.ObjectPath
		if err := call.Store(&job); err != nil {
			if err = wrap(fmt.Sprintf("stopping %q", u), err); !errors.Is(err, ErrNoSuchUnit) {
				errs = append(errs, err)
			}
			continue
		}
		stopped = append(stopped, u)
		jobs[job] = u
	}
	// Wait for the jobs, by their JobRemoved (those that came while the
	// answers were read are in the buffer). None can be
	// missed unseen: the match was in place before the stops were sent,
	// the manager sends a job's JobRemoved to the client that queued it
	// (a private socket gets every signal), and the signals reach the
	// waiter in the order they were sent (see dispatch). A signal is
	// dropped only when the waiter's buffer is full, and then lost is
	// set: a drop cannot happen while this loop waits on an empty
	// buffer, so the flag is seen at the next turn, which asks after
	// each job still pending (one round); a job that is gone is done.
	// A daemon-reload puts the jobs back as they were, without a
	// signal; when its end reaches us (a private socket gets it, a bus
	// only while some client subscribes), the jobs are asked after all
	// the same.
	for len(jobs) > 0 {
		if w.lost.Swap(false) {
			var reqs []request
			var paths []dbus.ObjectPath
			for p := range jobs {
				reqs = append(reqs, request{c.object(p), ifaceProps + ".Get", []any{"org.freedesktop.systemd1.Job", "State"}})
				paths = append(paths, p)
			}
			calls, err := c.callAll(ctx, reqs)
			if err != nil {
				return nil, errors.Join(append(errs, err)...)
			}
			for k, call := range calls {
				if isUnknownObject(call.Err) {
					delete(jobs, paths[k])
				} else if call.Err != nil {
					return nil, errors.Join(append(errs, wrap(fmt.Sprintf("reading job %s", paths[k]), call.Err))...)
				}
			}
			continue
		}
		select {
		case s, ok := <-w.ch:
			if !ok {
				return nil, errors.Join(append(errs, fmt.Errorf("transient: waiting for %d stop jobs: %w", len(jobs), ErrDisconnected))...)
			}
			if active, ok := reloadState(s); ok && !active {
				w.lost.Store(true)
			}
			if s.Name == jobRemoved && len(s.Body) >= 2 {
				if p, ok := s.Body[1].(dbus.ObjectPath); ok {
					delete(jobs, p)
				}
			}
		case <-ctx.Done():
			var left []string
			for _, u := range jobs {
				left = append(left, u)
			}
			return nil, errors.Join(append(errs, fmt.Errorf("transient: %q are stopping; stopped waiting for them: %w", left, ctx.Err()))...)
		}
	}
	return stopped, errors.Join(errs...)
}

// WaitAllGone is [Conn.WaitGone] for several units at once: it asks after
// all of them in one round and then waits for the manager's UnitRemoved
// of each that was still loaded, or until ctx is done. It is driven by
// the signals alone; it asks again only when signals were dropped, or
// when a daemon-reload (which frees every unit and loads it again) ends.
func (c *Conn) WaitAllGone(ctx context.Context, units ...string) error {
	return c.waitAllGone(ctx, nil, nil, units...)
}

// waitAllGone is WaitAllGone; its first look goes out after the resets
// of the units reset (some of units), whose errors it returns, and it
// calls looked (if not nil) once it has looked the first time.
func (c *Conn) waitAllGone(ctx context.Context, reset []string, looked func(), units ...string) error {
	if len(units) == 0 {
		return nil
	}
	// The resets change the manager: once sent, their answers are
	// read whatever ctx does (see sendContext).
	first := ctx
	if len(reset) > 0 {
		send, cancel, err := sendContext(ctx)
		if err != nil {
			return err
		}
		defer cancel()
		first = send
	}
	w, unwatch, err := c.watchManagerN(ctx, c.waitBuffer(len(units)), "UnitRemoved", "Reloading")
	if err != nil {
		return err
	}
	defer unwatch()
	release, err := c.subscribe()
	if err != nil {
		return err
	}
	defer release()
	// left holds each unit still loaded, with the sequence number of
	// the answer that found it so: a UnitRemoved read before that answer
	// is of an earlier life of the unit, not of this one. floor is the
	// first answer's of the latest look: what was read before it, the
	// look has overtaken.
	left := map[string]dbus.Sequence{}
	var floor dbus.Sequence
	// during says a daemon-reload is under way: the UnitRemoved it sends
	// for every unit are not believed.
	var during bool
	mgr := c.object(managerPath)
	look := func(ctx context.Context, reset []string, names []string) error {
		reqs := c.resets(reset)
		for _, u := range names {
			reqs = append(reqs, request{mgr, "org.freedesktop.systemd1.Manager.GetUnit", []any{u}})
		}
		calls, err := c.callAll(ctx, reqs)
		if err != nil {
			return wrap(fmt.Sprintf("looking up %q", names), err)
		}
		errs := []error{resetErrors(reset, calls[:len(reset)])}
		calls = calls[len(reset):]
		floor = calls[0].ResponseSequence
		for k, call := range calls {
			u := names[k]
			floor = min(floor, call.ResponseSequence)
			err := wrap(fmt.Sprintf("looking up %q", u), call.Err)
			switch {
			case errors.Is(err, ErrNoSuchUnit):
				delete(left, u)
			case err != nil:
				errs = append(errs, err)
			default:
				left[u] = call.ResponseSequence
			}
		}
		// The manager answers no call during a reload, and tells
		// that one has ended before it answers the next: no answer
		// is within one. So a reload begun before floor had ended
		// before it, and the one that ends after it began after.
		during = false
		return errors.Join(errs...)
	}
	if err := look(first, reset, units); err != nil {
		return err
	}
	if looked != nil {
		looked()
	}
	// Wait for the UnitRemoved of each left. None can be missed unseen:
	// the match, and on a bus the subscription, were in place before
	// the GetUnits (the manager handles one connection's messages in
	// order, and sends UnitRemoved to its subscribers, as it frees the
	// unit), and the signals reach the waiter in the order they were
	// read (see dispatch); a unit freed before its GetUnit is not left.
	// A signal is dropped only when the waiter's buffer is full, and
	// then lost is set: a drop cannot happen while this loop waits on
	// an empty buffer, so the flag is seen at the next turn, which looks
	// again. The UnitRemoved of a daemon-reload are not believed: when
	// it ends, the units left are looked up again (and when the signal
	// that it ended was dropped, they are looked up for that).
	for len(left) > 0 {
		if w.lost.Swap(false) {
			if err := look(ctx, nil, slices.Collect(maps.Keys(left))); err != nil {
				return err
			}
			continue
		}
		select {
		case s, ok := <-w.ch:
			if !ok {
				return fmt.Errorf("transient: waiting for %d units to unload: %w", len(left), ErrDisconnected)
			}
			if s.Sequence < floor {
				continue
			}
			if active, ok := reloadState(s); ok {
				during = active
				if !active {
					w.lost.Store(true)
				}
			}
			if s.Name == unitRemoved && !during && len(s.Body) > 0 {
				if u, ok := s.Body[0].(string); ok {
					if seq, ok := left[u]; ok && s.Sequence > seq {
						delete(left, u)
					}
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("transient: waiting for %q to unload: %w", slices.Sorted(maps.Keys(left)), ctx.Err())
		}
	}
	return nil
}

// waitBuffer is how many signals a batched wait for n units buffers: room
// for each unit's few (on a private socket the waiter gets every signal
// of the manager's object: JobNew, JobRemoved, UnitNew, UnitRemoved),
// and more. A signal that finds the buffer full is dropped, and the wait
// asks again (see lost).
func (c *Conn) waitBuffer(n int) int {
	if c.batchBuffer > 0 {
		return c.batchBuffer
	}
	return 4*n + 64
}

// request is one method call of a batch.
type request struct {
	obj    dbus.BusObject
	method string
	args   []any
}

// busWindow is how many batched calls a connection to a bus keeps
// awaiting answers at once, all batches together: dbus-daemon refuses more
// than 128 per connection (max_replies_per_connection), and other calls
// may be in flight. A manager's private socket has no such limit.
const busWindow = 100

// callAll sends reqs and returns their answered calls, in order. All are
// sent before any answer is awaited; on a bus at most busWindow of the
// connection's batched calls await answers at a time (the next is sent as
// an answer arrives). The error is ctx's, or the connection's when it is
// lost; each call carries its own.
func (c *Conn) callAll(ctx context.Context, reqs []request) ([]*dbus.Call, error) {
	calls := make([]*dbus.Call, len(reqs))
	index := make(map[*dbus.Call]int, len(reqs))
	ch := make(chan *dbus.Call, len(reqs))
	next, outstanding, done := 0, 0, 0
	abandon := func() {
		// Answers still to come free their slots of the window.
		if c.window != nil && outstanding > 0 {
			go func(n int) {
				for range n {
					<-ch
					<-c.window
				}
			}(outstanding)
		}
	}
	for done < len(reqs) {
	send:
		for next < len(reqs) {
			if c.window != nil {
				if outstanding == 0 {
					select {
					case c.window <- struct{}{}:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				} else {
					select {
					case c.window <- struct{}{}:
					default:
						break send
					}
				}
			}
			r := reqs[next]
			call := r.obj.GoWithContext(ctx, r.method, 0, ch, r.args...)
			index[call] = next
			next++
			outstanding++
		}
		select {
		case call := <-ch:
			outstanding--
			done++
			if c.window != nil {
				<-c.window
			}
			calls[index[call]] = call
			if errors.Is(call.Err, dbus.ErrClosed) {
				abandon()
				return nil, fmt.Errorf("%w: %w", ErrDisconnected, call.Err)
			}
		case <-ctx.Done():
			abandon()
			return nil, ctx.Err()
		}
	}
	return calls, nil
}

// propertiesOfInterfaces reads all properties of each of ifaces of the
// unit called name, in one round trip.
func (c *Conn) propertiesOfInterfaces(ctx context.Context, name string, ifaces ...string) ([]map[string]dbus.Variant, error) {
	obj := c.object(unitPath(name))
	var reqs []request
	for _, iface := range ifaces {
		reqs = append(reqs, request{obj, ifaceProps + ".GetAll", []any{iface}})
	}
	calls, err := c.callAll(ctx, reqs)
	if err != nil {
		return nil, wrap(fmt.Sprintf("reading %q", name), err)
	}
	out := make([]map[string]dbus.Variant, len(calls))
	for i, call := range calls {
		if err := call.Store(&out[i]); err != nil {
			return nil, wrap(fmt.Sprintf("reading %q", name), err)
		}
	}
	return out, nil
}
