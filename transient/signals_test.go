package transient_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/godbus/dbus/v5"
)

// TestSignalsInOrder: a waiter gets the manager's signals in the order
// the manager sent them, even when more come than the connection's
// channel to dispatch holds (a waiter that merges PropertiesChanged
// would otherwise keep an older state than the manager's). Dispatch is
// held while another connection starts units, so that hundreds of
// signals queue on the private socket (which gets every one of them);
// a round trip on the same socket then proves that all were read.
func TestSignalsInOrder(t *testing.T) {
	sys := sandbox.Get(t)
	const units = 100
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	c := dialVia(t, sys.PrivateStream)
	other := dialVia(t, sys.BusStream)
	oneshot, err := encode(props.Service, "Type=oneshot", "ExecStart=/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	ch, unwatch, err := transient.WatchManager(ctx, c, "JobRemoved", 100*units)
	if err != nil {
		t.Fatal(err)
	}
	defer unwatch()

	release := transient.HoldDispatch(c)
	held := true
	defer func() {
		if held {
			release()
		}
	}()
	var names []string
	for i := range units {
		n := "order-" + strconv.Itoa(i) + ".service"
		if err := other.StartTransient(ctx, n, oneshot, nil, false); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	// Each start job ends when its /bin/true has run: wait for every
	// job on the other connection, then read on c, whose answer comes
	// after every signal the manager sent it before.
	if err := other.WaitAllGone(ctx, names...); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PropertiesOf(ctx, []string{"-.slice"}, "org.freedesktop.systemd1.Unit", "Id"); err != nil {
		t.Fatal(err)
	}
	release()
	held = false

	ended := map[string]bool{}
	var last dbus.Sequence
	var n, outOfOrder int
	for len(ended) < units {
		select {
		case s, ok := <-ch:
			if !ok {
				t.Fatal("connection lost")
			}
			n++
			if s.Sequence <= last {
				outOfOrder++
			}
			last = s.Sequence
			if s.Name == "org.freedesktop.systemd1.Manager.JobRemoved" && len(s.Body) >= 3 {
				if u, ok := s.Body[2].(string); ok {
					ended[u] = true
				}
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d start jobs' JobRemoved seen: %v", len(ended), units, ctx.Err())
		}
	}
	if outOfOrder > 0 {
		t.Errorf("%d of %d signals came after a later one", outOfOrder, n)
	}
	if d := transient.Drops(c); d > 0 {
		t.Errorf("%d signals dropped with a buffer of %d", d, 100*units)
	}
	t.Logf("%d signals", n)
}
