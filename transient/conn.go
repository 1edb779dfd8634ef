package transient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// PrivateSocket is the system manager's private socket: a direct
// connection to PID 1, no bus daemon involved. Only root may use it.
const PrivateSocket = "/run/systemd/private"

// Manager selects which manager [Dial] connects to.
type Manager int

const (
	// System is the system manager (PID 1).
	System Manager = iota
	// User is the calling user's manager (systemd --user).
	User
)

func (m Manager) String() string {
	if m == User {
		return "user"
	}
	return "system"
}

// DialOptions configure [Dial].
type DialOptions struct {
	// Manager selects the system (default) or the user manager.
	Manager Manager
	// Address, if set, is the D-Bus address of a manager's private socket
	// (e.g. "unix:path=/run/systemd/private"), dialled directly instead
	// of the default selection.
	Address string
	// Stream, if set, opens a byte stream to a bus on which the manager
	// is reachable (for example systemd-stdio-bridge over ssh or in a
	// container), used instead of the default selection. It is called
	// once per underlying connection.
	Stream func(ctx context.Context) (io.ReadWriteCloser, error)
	// Host, if set, is a remote machine whose system manager is reached
	// over ssh running systemd-stdio-bridge there, as systemctl -H does
	// (see [Host.SSHArgs]), or a container (Host.Machine) here or on
	// that host, as systemctl -M and -H HOST/MACHINE do (see machine.go).
	// Only the system manager can be reached so (systemd refuses -H with
	// --user too). Over ssh the connection cannot pass file descriptors;
	// to a container here it can when its bus is reached
	// ([Conn.PassesFDs]). Timeout bounds the whole of ssh's connect,
	// login and the bus handshake; an error says why ssh failed
	// ([SSHError]), or that machined knows no such machine
	// ([NoMachineError]).
	Host *Host
	// SSH is the ssh command and its own options (for example
	// {"ssh", "-F", "/path/config"}); nil means "ssh" from PATH.
	SSH []string
	// Wait says the caller will wait on the units it starts ([Conn.Run]).
	// Then the system bus is preferred to the private socket, as
	// systemd-run --wait does: only a bus connection can pin a unit
	// (AddRef) so that its final accounting can still be read after it
	// ends. The private socket remains the fallback.
	Wait bool
	// AskPassword allows the manager to have polkit ask the user, through
	// an authentication agent, whether to allow a privileged call such as
	// starting a unit: every method call to the manager carries D-Bus's
	// ALLOW_INTERACTIVE_AUTHORIZATION flag, as systemd-run's calls do
	// unless --no-ask-password. It matters only on a bus, for callers
	// other than root; running the agent is the caller's business
	// (pkttyagent on a terminal). Without it, a call that polkit would
	// allow after asking fails with [ErrInteractiveAuthorization].
	AskPassword bool
	// Timeout bounds each connection attempt, from connect to the end of
	// authentication, against a peer that accepts and never answers.
	// Zero means DefaultDialTimeout.
	Timeout time.Duration
}

// DefaultDialTimeout bounds a connection attempt when DialOptions.Timeout
// is zero.
const DefaultDialTimeout = 5 * time.Second

// Conn is a connection to a systemd manager. It is safe for concurrent use.
// Close it when done.
type Conn struct {
	sd     *sddbus.Conn
	bus    *dbus.Conn // the one connection: calls and signals
	direct bool       // a private socket: signals arrive unasked, no unique name
	via    string     // what was dialled, for error messages
	redial func() (*Conn, error)

	mu      sync.Mutex
	version string // the manager's Version, once read
	subs    int    // users of the manager's Subscribe
	waiters map[dbus.ObjectPath][]*waiter
	sigch   chan *dbus.Signal
	// window holds a slot for each batched call awaiting its answer on
	// a bus (see callAll); nil on a private socket, which has no limit.
	window chan struct{}
	// batchBuffer, if not zero, is the number of signals the batched
	// waits buffer (see waitBuffer); tests make it small to force drops.
	batchBuffer int
	// drops counts the signals dispatch dropped for a waiter whose
	// buffer was full.
	drops atomic.Int64
}

// Dial connects to a manager. With no Address: as root, the system
// manager's private socket, falling back to the system bus (the other way
// round with Wait); otherwise the system bus. For the user manager, $XDG_RUNTIME_DIR/systemd/private, then
// the session bus. This is how systemd-run chooses.
//
// A manager that cannot be reached gives an error naming every address
// tried, at once (no retries). ctx bounds only the dialling; the connection
// lives until Close, so that a caller whose context is cancelled can still
// stop what it started.
func Dial(ctx context.Context, opts DialOptions) (*Conn, error) {
	var busOpts []dbus.ConnOption
	if opts.AskPassword {
		busOpts = append(busOpts, dbus.WithOutgoingInterceptor(allowInteractive))
	}
	direct := func(address string) candidate {
		return candidate{address, func(_ <-chan struct{}, opts []dbus.ConnOption) (*dbus.Conn, error) {
			return dbus.Dial(address, opts...)
		}, false, nil}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	var cands []candidate
	switch {
	case opts.Host != nil:
		h := *opts.Host
		if opts.Manager == User && h.Name == "" && h.Machine != "" && h.User != "" {
			var err error
			if cands, err = machineUserCandidates(ctx, h, timeout, busOpts); err != nil {
				return nil, err
			}
			break
		}
		if opts.Manager != System {
			return nil, fmt.Errorf("transient: host %s: only the system manager can be reached on a host or in a container", h)
		}
		if h.Name == "" && h.Machine == "" {
			return nil, errors.New("transient: host has no name")
		}
		if h.Name == "" {
			var err error
			if cands, err = machineCandidates(ctx, h, timeout, busOpts); err != nil {
				return nil, err
			}
			break
		}
		remoteCmd := sshPrivateBridge
		if opts.Wait {
			// Only a bus connection can pin a unit (AddRef).
			remoteCmd = sshBridge
		}
		argv := h.SSHArgs(opts.SSH, remoteCmd)
		if h.Machine != "" {
			remoteCmd = machineBridge
			if opts.Wait {
				remoteCmd = machineBusBridge
			}
			argv = h.argv(opts.SSH, []string{"sh", "-c", remoteCmd})
		}
		cands = []candidate{bridgeCandidate("ssh "+h.String(), h, argv)}
	case opts.Stream != nil:
		cands = []candidate{{"bus stream", func(_ <-chan struct{}, copts []dbus.ConnOption) (*dbus.Conn, error) {
			rwc, err := opts.Stream(ctx)
			if err != nil {
				return nil, err
			}
			return dbus.NewConn(rwc, append(copts, busOpts...)...)
		}, true, nil}}
	case opts.Address != "":
		cands = []candidate{direct(opts.Address)}
	case opts.Manager == System:
		addr := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
		if addr == "" {
			addr = "unix:path=/run/dbus/system_bus_socket"
		}
		bus := candidate{"system bus " + addr, func(_ <-chan struct{}, opts []dbus.ConnOption) (*dbus.Conn, error) {
			return dbus.Dial(addr, append(opts, busOpts...)...)
		}, true, nil}
		switch {
		case os.Geteuid() != 0:
			cands = []candidate{bus}
		case opts.Wait:
			cands = []candidate{bus, direct("unix:path=" + PrivateSocket)}
		default:
			cands = []candidate{direct("unix:path=" + PrivateSocket), bus}
		}
	case opts.Manager == User:
		if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			cands = append(cands, direct("unix:path="+rt+"/systemd/private"))
		}
		cands = append(cands, candidate{"session bus", func(_ <-chan struct{}, opts []dbus.ConnOption) (*dbus.Conn, error) {
			return dbus.SessionBusPrivate(append(opts, busOpts...)...)
		}, true, nil})
	default:
		return nil, fmt.Errorf("transient: unknown manager %d", opts.Manager)
	}
	var tried []error
	for _, cand := range cands {
		c, err := dialBounded(ctx, timeout, cand.what, cand.open, cand.hello, cand.explain)
		if err == nil {
			return c, nil
		}
		tried = append(tried, err)
	}
	return nil, &DialError{Manager: opts.Manager, Err: errors.Join(tried...)}
}

// candidate is one way Dial may reach a manager.
type candidate struct {
	what    string
	open    opener
	hello   bool              // a bus: authenticate, then Hello; else a manager's private socket
	explain func(error) error // if set, says why a handshake failed
}

// bridgeCandidate is a candidate that runs argv, a command whose standard
// input and output are a bus stream (ssh and systemd-stdio-bridge on a
// host, or nsenter and the bridge in a container), h being where it
// leads, for error messages.
func bridgeCandidate(what string, h Host, argv []string) candidate {
	var last atomic.Pointer[sshStream] // the latest attempt's
	return candidate{what, func(abort <-chan struct{}, opts []dbus.ConnOption) (*dbus.Conn, error) {
		s, err := dialSSH(h, argv, abort)
		if err != nil {
			return nil, err
		}
		last.Store(s)
		c, err := dbus.NewConn(s, opts...)
		if err != nil {
			s.Close()
		}
		return c, err
	}, true, func(err error) error {
		if s := last.Load(); s != nil {
			return s.explain(err)
		}
		return err
	}}
}

// DialError reports that no connection to a manager could be made. Err
// joins the error of every address tried.
type DialError struct {
	Manager Manager
	Err     error
}

func (e *DialError) Error() string {
	return "transient: cannot reach the " + e.Manager.String() + " manager: " + joinLine(e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// opener opens one connection, with opts (and any of its own). It may
// give up when abort is closed: the attempt is past its bound and its
// result will be thrown away.
type opener func(abort <-chan struct{}, opts []dbus.ConnOption) (*dbus.Conn, error)

// dialBounded is dial, bounded by timeout and ctx. A connection that
// completes after the bound is closed.
func dialBounded(ctx context.Context, timeout time.Duration, what string, open opener, hello bool, explain func(error) error) (*Conn, error) {
	type result struct {
		c   *Conn
		err error
	}
	done := make(chan result, 1)
	abort := make(chan struct{})
	go func() {
		c, err := dial(what, open, abort, hello, explain)
		done <- result{c, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case r := <-done:
		return r.c, r.err
	case <-t.C:
		err = fmt.Errorf("%s: no answer within %v", what, timeout)
	case <-ctx.Done():
		err = fmt.Errorf("%s: %w", what, ctx.Err())
	}
	close(abort)
	go func() {
		if r := <-done; r.c != nil {
			r.c.Close()
		}
	}()
	return nil, err
}

// allowInteractive marks a method call to the manager as one for which
// polkit may ask the user (an outgoing interceptor: go-systemd's calls take
// no flags).
func allowInteractive(m *dbus.Message) {
	if m.Type == dbus.TypeMethodCall && m.Headers[dbus.FieldDestination].Value() == "org.freedesktop.systemd1" {
		m.Flags |= dbus.FlagAllowInteractiveAuthorization
	}
}

// dial opens one connection with open, authenticates as the caller's uid
// (and says Hello on a bus), and hands it to go-systemd for both of its
// roles (calls and signals): one connection, not two, is one setup fewer
// and keeps our AddMatch and our calls in one ordered stream.
func dial(what string, open opener, abort <-chan struct{}, hello bool, explain func(error) error) (*Conn, error) {
	// Signals are handed on in the order they came, each waiter's
	// after the one before (see dispatch). godbus's default handler
	// hands a signal that finds a reader's channel full to a goroutine
	// of its own, and a later one can overtake it: a burst of more than
	// the channel holds (the private socket carries every unit's
	// signals; with one thread the reading goroutine can take them all
	// before dispatch runs) would reach a waiter out of order, and a
	// waiter that merges PropertiesChanged would end up with an older
	// state than the manager's.
	bc, err := open(abort, []dbus.ConnOption{dbus.WithSignalHandler(dbus.NewSequentialSignalHandler())})
	direct := !hello
	if err == nil {
		// Over ssh too: systemd-stdio-bridge accepts EXTERNAL
		// whatever our uid, which need not be the remote login's.
		err = bc.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))})
		if err == nil && hello {
			err = bc.Hello()
			if isUnknownObject(err) {
				// A manager's private socket behind a bridge
				// (sshPrivateBridge): no bus, no Hello.
				err, direct = nil, true
			}
		}
		if err != nil {
			bc.Close()
			if explain != nil {
				err = explain(err)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	// The manager's version, which most callers need first (it selects
	// how units are encoded), is asked beside go-systemd's AddMatch, which
	// NewConnection waits for: the two share one round trip.
	version := bc.Object("org.freedesktop.systemd1", managerPath).Go(ifaceProps+".Get", 0, make(chan *dbus.Call, 1), managerInterface, "Version")
	sd, err := sddbus.NewConnection(func() (*dbus.Conn, error) { return bc, nil })
	if err != nil {
		bc.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	c := newConn(sd, bc, direct, what)
	// Its answer is taken here, so that a dialled connection has nothing
	// in flight (on a bus, dbus-daemon's answer to AddMatch can come
	// before the manager's). A refusal is left for ManagerVersion to
	// meet again.
	select {
	case <-version.Done:
		var v dbus.Variant
		if version.Store(&v) == nil {
			if s, ok := v.Value().(string); ok {
				c.version = s
			}
		}
	case <-abort:
	}
	c.redial = func() (*Conn, error) {
		return dialBounded(context.Background(), DefaultDialTimeout, what, open, hello, explain)
	}
	return c, nil
}

func isUnknownObject(err error) bool {
	var me *ManagerError
	return errors.As(wrap("", err), &me) && me.Name == "org.freedesktop.DBus.Error.UnknownObject"
}

// reconnectTimeout bounds how long a lost connection is re-dialled, for
// example while the manager re-executes itself.
const reconnectTimeout = 30 * time.Second

// reconnect dials the same manager again, the way c was dialled, retrying
// with a short exponential backoff (the manager's socket is back within a
// second of a daemon-reexec) for up to reconnectTimeout.
func (c *Conn) reconnect(ctx context.Context) (*Conn, error) {
	delay := 10 * time.Millisecond
	deadline := time.NewTimer(reconnectTimeout)
	defer deadline.Stop()
	for {
		n, err := c.redial()
		if err == nil {
			return n, nil
		}
		retry := time.NewTimer(delay)
		select {
		case <-retry.C:
			delay = min(2*delay, 500*time.Millisecond)
		case <-deadline.C:
			retry.Stop()
			return nil, fmt.Errorf("transient: reconnecting to %s: %w", c.via, err)
		case <-ctx.Done():
			retry.Stop()
			return nil, ctx.Err()
		}
	}
}

func newConn(sd *sddbus.Conn, bus *dbus.Conn, direct bool, via string) *Conn {
	c := &Conn{
		sd:      sd,
		bus:     bus,
		direct:  direct,
		via:     via,
		waiters: make(map[dbus.ObjectPath][]*waiter),
		sigch:   make(chan *dbus.Signal, 64),
	}
	if !direct {
		c.window = make(chan struct{}, busWindow)
	}
	bus.Signal(c.sigch)
	go c.dispatch()
	return c
}

// waiter receives the signals for one object path. If its buffer is full a
// signal is dropped and lost is set, so that the waiter re-reads the state
// it would have carried.
type waiter struct {
	ch   chan *dbus.Signal
	lost atomic.Bool
}

// dispatch routes signals to the waiters registered for their object
// path, in the order the connection read them (godbus's sequential
// handler keeps it, see dial): a waiter never gets a signal after one
// that the manager sent later.
func (c *Conn) dispatch() {
	for s := range c.sigch {
		c.mu.Lock()
		for _, w := range c.waiters[s.Path] {
			select {
			case w.ch <- s:
			default:
				w.lost.Store(true)
				c.drops.Add(1)
			}
		}
		c.mu.Unlock()
	}
	// The connection is gone: wake every waiter so it notices.
	c.mu.Lock()
	for _, ws := range c.waiters {
		for _, w := range ws {
			close(w.ch)
		}
	}
	c.waiters = nil
	c.mu.Unlock()
}

// watch registers interest in the PropertiesChanged signals of the object
// at path. The waiter's channel is closed when the connection is lost. Call
// the returned function to unregister.
func (c *Conn) watch(ctx context.Context, path dbus.ObjectPath) (*waiter, func(), error) {
	return c.watchRule(ctx, path, "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path='"+string(path)+"'")
}

// watchSubscribed is watch for a unit the connection does not reference:
// on a bus the manager sends a unit's PropertiesChanged only to
// subscribers (and to the clients that reference the unit), so it also
// subscribes. The returned function undoes both.
func (c *Conn) watchSubscribed(ctx context.Context, path dbus.ObjectPath) (*waiter, func(), error) {
	w, unwatch, err := c.watch(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	release, err := c.subscribe()
	if err != nil {
		unwatch()
		return nil, nil, err
	}
	return w, func() { release(); unwatch() }, nil
}

// watchManagerN registers interest in the manager's signals called
// members, with a buffer of n signals. (On a private socket the waiter
// gets all of the manager object's signals.)
func (c *Conn) watchManagerN(ctx context.Context, n int, members ...string) (*waiter, func(), error) {
	var matches []string
	for _, m := range members {
		matches = append(matches, "interface='"+managerInterface+"',member='"+m+"'")
	}
	return c.watchRulesN(ctx, managerPath, n, matches...)
}

const (
	managerPath      = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerInterface = "org.freedesktop.systemd1.Manager"
)

func (c *Conn) watchRule(ctx context.Context, path dbus.ObjectPath, match string) (*waiter, func(), error) {
	return c.watchRulesN(ctx, path, 32, match)
}

// watchRulesN registers a waiter, with a buffer of n signals, for the
// signals of the object at path; on a bus, those that match one of
// matches are asked for.
func (c *Conn) watchRulesN(ctx context.Context, path dbus.ObjectPath, n int, matches ...string) (*waiter, func(), error) {
	w := &waiter{ch: make(chan *dbus.Signal, n)}
	c.mu.Lock()
	if c.waiters == nil {
		c.mu.Unlock()
		return nil, nil, fmt.Errorf("transient: %s: %w", c.via, ErrDisconnected)
	}
	c.waiters[path] = append(c.waiters[path], w)
	c.mu.Unlock()
	var rules []string
	if !c.direct {
		// On a bus, ask the broker to route the signals to us. (A
		// private connection gets every signal unasked.)
		// No need to wait for the answer: the broker applies the rule
		// before it routes anything we send after it on this connection.
		for _, m := range matches {
			rule := "type='signal',sender='org.freedesktop.systemd1'," + m
			c.bus.BusObject().Go("org.freedesktop.DBus.AddMatch", dbus.FlagNoReplyExpected, nil, rule)
			rules = append(rules, rule)
		}
	}
	return w, func() {
		for _, rule := range rules {
			c.bus.BusObject().Go("org.freedesktop.DBus.RemoveMatch", dbus.FlagNoReplyExpected, nil, rule)
		}
		c.unwatch(path, w)
	}, nil
}

func (c *Conn) unwatch(path dbus.ObjectPath, w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.waiters[path]
	for i, x := range ws {
		if x == w {
			c.waiters[path] = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(c.waiters[path]) == 0 {
		delete(c.waiters, path)
	}
}

// Close closes the connection.
func (c *Conn) Close() { c.sd.Close() }

// object returns the manager's object at path, on the call connection.
func (c *Conn) object(path dbus.ObjectPath) dbus.BusObject {
	return c.bus.Object("org.freedesktop.systemd1", path)
}

// subscribe asks the manager to send all its signals (Manager.Subscribe),
// which UnitNew/UnitRemoved need on a bus. The subscription is shared by the
// connection's users; call release when done.
func (c *Conn) subscribe() (release func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs == 0 {
		// Sent without waiting for the answer, as AddMatch is: the
		// manager handles one connection's messages in order, so the
		// subscription is in effect for every call made after this one.
		// Subscribe needs no privilege; a failure would show as a lost
		// connection.
		if call := c.object(managerPath).Go("org.freedesktop.systemd1.Manager.Subscribe", dbus.FlagNoReplyExpected, nil); call.Err != nil {
			return nil, wrap("subscribing to the manager's signals", call.Err)
		}
	}
	c.subs++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.subs--; c.subs == 0 {
			c.object(managerPath).Go("org.freedesktop.systemd1.Manager.Unsubscribe", dbus.FlagNoReplyExpected, nil)
		}
	}, nil
}

// PassesFDs reports whether file descriptors can be sent to the manager on
// this connection (a local Unix socket that negotiated fd passing).
func (c *Conn) PassesFDs() bool { return c.bus.SupportsUnixFDs() }
