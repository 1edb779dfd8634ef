package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// run -t/--pty and -S/--shell: systemd-run's pseudo-terminal, forwarded
// between the caller's terminal and the service (src/run/run.c and
// src/shared/ptyfwd.c of 252 to 262, read for their behaviour).

// implyShell applies what -S implies, as systemd-run does: --pty --pipe
// (unless one was given), --same-dir (unless a working directory was),
// --service-type=exec (unless a type was), --wait and --collect.
func (f *runFlags) implyShell() error {
	if !f.shell {
		return nil
	}
	if f.scope {
		// --scope --shell runs $SHELL in the scope, in this terminal.
		f.collect = true
		return nil
	}
	if !f.pty && !f.pipe {
		f.pty, f.pipe = true, true
	}
	if _, ok := f.exec["WorkingDirectory"]; !ok {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("failed to get current working directory: %w", err)
		}
		if err := f.setExec("working-directory", wd); err != nil {
			return err
		}
	}
	if _, ok := f.exec["Type"]; !ok {
		if err := f.setExec("service-type", "exec"); err != nil {
			return err
		}
	}
	f.wait, f.collect = true, true
	return nil
}

// pickStdio resolves -t and -P given together (systemd-run's "auto"): a
// pty if stdin, stdout and stderr are all terminals, else the pipe.
func (f *runFlags) pickStdio() {
	if f.pty && f.pipe {
		if isTerminal(os.Stdin) && isTerminal(os.Stdout) && isTerminal(os.Stderr) {
			f.pipe = false
		} else {
			f.pty = false
		}
	}
}

// userShell is the shell -S runs, as systemd's get_shell finds it: $SHELL
// if it is an absolute path; for root the default user shell (/bin/bash,
// Debian's build setting) if it exists, else /bin/sh; for nobody
// /usr/sbin/nologin; otherwise the user's shell in /etc/passwd.
func userShell() (string, error) {
	if s, ok := os.LookupEnv("SHELL"); ok && strings.HasPrefix(s, "/") && len(s) < unix.PathMax && !strings.ContainsRune(s, 0) {
		return s, nil
	}
	switch uid := os.Getuid(); uid {
	case 0:
		if _, err := os.Stat("/bin/bash"); err == nil {
			return "/bin/bash", nil
		}
		return "/bin/sh", nil
	case 65534:
		return "/usr/sbin/nologin", nil
	default:
		f, err := os.Open("/etc/passwd")
		if err != nil {
			return "", err
		}
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Split(s.Text(), ":")
			if len(fields) == 7 && fields[2] == strconv.Itoa(uid) && strings.HasPrefix(fields[6], "/") {
				return fields[6], nil
			}
		}
		return "", fmt.Errorf("no shell for uid %d in /etc/passwd", uid)
	}
}

// openPTY allocates a pseudo-terminal as systemd-run does (posix_openpt,
// ptsname, unlockpt) and opens its peer (TIOCGPTPEER): the master, for
// [startPTYForward], the peer, which the service gets, and the peer's path
// (/dev/pts/N), its TTYPath.
func openPTY() (master, peer *os.File, path string, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, "", fmt.Errorf("failed to acquire pseudo tty: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0)
	}
	if err != nil {
		unix.Close(fd)
		return nil, nil, "", fmt.Errorf("failed to unlock tty: %w", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	peer, err = openPeer(master)
	if err != nil {
		master.Close()
		return nil, nil, "", err
	}
	return master, peer, "/dev/pts/" + strconv.FormatUint(uint64(n), 10), nil
}

// openMachinePTY is openPTY for the local container machine, as
// systemd-run -M -t gets it: machined's OpenMachinePTY allocates it in the
// container, whose path (TTYPath) it names; its peer is opened through the
// master (openPeer), since the path is the container's.
func (e *env) openMachinePTY(machine string) (master, peer *os.File, path string, err error) {
	master, path, err = transient.OpenMachinePTY(e.ctx, machine)
	if err != nil {
		return nil, nil, "", err
	}
	if peer, err = openPeer(master); err != nil {
		master.Close()
		return nil, nil, "", err
	}
	return master, peer, path, nil
}

// openPeer opens the terminal side of the pseudo-terminal whose master is
// master (TIOCGPTPEER), without a path: it works as well for a pty of
// another mount namespace (a container's, from machined's OpenMachinePTY).
func openPeer(master *os.File) (*os.File, error) {
	rc, err := master.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd uintptr
	var errno syscall.Errno
	if err := rc.Control(func(m uintptr) {
		fd, _, errno = unix.Syscall(unix.SYS_IOCTL, m, unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	}); err != nil {
		return nil, err
	}
	if errno != 0 {
		return nil, fmt.Errorf("failed to open pty peer: %w", errno)
	}
	return os.NewFile(fd, "pty peer"), nil
}

// ptyForward copies between the caller's terminal (stdin, stdout) and a
// pseudo-terminal master as systemd-run's pty forwarder does: the caller's
// terminal in raw mode (input: all but the output flags; output: all but
// the input and local flags), its window size copied at the start and on
// each SIGWINCH, ^] pressed three times within a second detaches, and the
// master's output is drained when the service has ended.
type ptyForward struct {
	master            *os.File
	peer              *os.File // held, so that the master never reads EIO between users
	in                *os.File // our own opening of stdin, non-blocking
	out               *os.File // and of stdout
	closeIn, closeOut bool

	savedIn, savedOut *unix.Termios

	detached  chan struct{} // closed when ^] was pressed three times
	outDone   chan struct{} // closed when the master's output is no longer copied
	stopOut   sync.Once
	draining  chan struct{}
	winch     chan os.Signal
	winchDone chan struct{}

	mu       sync.Mutex
	lastChar byte
	lastSet  bool
	closed   bool
}

// escapeWindow is how soon the three ^] must follow the first.
const escapeWindow = time.Second

// startPTYForward starts forwarding between our stdin and stdout and
// master, the master of a pseudo-terminal allocated here ([openPTY]) or
// elsewhere (a container's, from machined's OpenMachinePTY: make its
// descriptor non-blocking, unix.SetNonblock, before os.NewFile, so that
// the file is pollable as openPTY's is). Close restores
// the terminal; call it on every path.
func startPTYForward(master *os.File) (*ptyForward, error) {
	f := &ptyForward{
		master:    master,
		detached:  make(chan struct{}),
		outDone:   make(chan struct{}),
		draining:  make(chan struct{}),
		winch:     make(chan os.Signal, 1),
		winchDone: make(chan struct{}),
	}
	var err error
	if f.peer, err = openPeer(master); err != nil {
		return nil, err
	}
	// Our own openings of stdin and stdout, so that making them
	// non-blocking leaves the caller's untouched; the descriptors
	// themselves where they cannot be reopened.
	f.in, f.closeIn = reopen(os.Stdin, os.O_RDONLY)
	f.out, f.closeOut = reopen(os.Stdout, os.O_WRONLY)

	ws, err := unix.IoctlGetWinsize(int(f.out.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		ws = &unix.Winsize{Row: uint16(envSize("LINES", 24)), Col: uint16(envSize("COLUMNS", 80))}
	}
	_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)

	if t, err := unix.IoctlGetTermios(int(f.in.Fd()), unix.TCGETS); err == nil {
		f.savedIn = t
		raw := *t
		makeRaw(&raw)
		raw.Oflag = t.Oflag
		_ = unix.IoctlSetTermios(int(f.in.Fd()), unix.TCSETS, &raw)
	}
	if t, err := unix.IoctlGetTermios(int(f.out.Fd()), unix.TCGETS); err == nil {
		f.savedOut = t
		raw := *t
		makeRaw(&raw)
		raw.Iflag, raw.Lflag = t.Iflag, t.Lflag
		_ = unix.IoctlSetTermios(int(f.out.Fd()), unix.TCSETS, &raw)
	}

	signal.Notify(f.winch, unix.SIGWINCH)
	go f.forwardWinch()
	go f.copyIn()
	go f.copyOut()
	return f, nil
}

// reopen opens /proc/self/fd/N of std, as systemd's fd_reopen, or returns
// std itself if that fails (a socket); owned tells whether to close it.
func reopen(std *os.File, flag int) (f *os.File, owned bool) {
	r, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(std.Fd())), flag|unix.O_NOCTTY, 0)
	if err != nil {
		return std, false
	}
	return r, true
}

// envSize is systemd's lines()/columns() fallback: $NAME if a positive
// number, else def.
func envSize(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 && n <= 0xffff {
		return n
	}
	return def
}

// makeRaw is cfmakeraw(3).
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}

func (f *ptyForward) forwardWinch() {
	defer close(f.winchDone)
	for range f.winch {
		if ws, err := unix.IoctlGetWinsize(int(f.out.Fd()), unix.TIOCGWINSZ); err == nil {
			_ = unix.IoctlSetWinsize(int(f.master.Fd()), unix.TIOCSWINSZ, ws)
		}
	}
}

// copyIn copies our input to the master, looking for the escape: a read
// that completes ^]^]^] (each within escapeWindow of the first, nothing
// else between) is dropped and detaches. At the end of our input the
// forwarding ends, as systemd-run's does.
func (f *ptyForward) copyIn() {
	buf := make([]byte, 2048)
	var count int
	var first time.Time
	for {
		n, err := f.in.Read(buf)
		if n > 0 {
			escape := false
			for _, b := range buf[:n] {
				switch {
				case b != 0x1d:
					count = 0
				case count == 0 || time.Since(first) > escapeWindow:
					first, count = time.Now(), 1
				default:
					count++
					escape = escape || count >= 3
				}
			}
			if escape {
				close(f.detached)
				f.stopOutput()
				return
			}
			if _, err := f.master.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				f.stopOutput()
			}
			return
		}
	}
}

// copyOut copies the master's output to ours, until stopOutput, or until
// Drain has copied what is left.
func (f *ptyForward) copyOut() {
	defer close(f.outDone)
	buf := make([]byte, 4096)
	for {
		n, err := f.master.Read(buf)
		if n > 0 && !f.write(buf[:n]) {
			return
		}
		if err == nil {
			continue
		}
		select {
		case <-f.draining:
			f.drainRest(buf)
		default:
		}
		return
	}
}

// drainRest copies what the master still holds, without waiting.
func (f *ptyForward) drainRest(buf []byte) {
	_ = f.master.SetReadDeadline(time.Time{})
	rc, err := f.master.SyscallConn()
	if err != nil {
		return
	}
	for {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, rerr = unix.Read(int(fd), buf)
			return true
		}); err != nil || rerr != nil || n <= 0 {
			return
		}
		if !f.write(buf[:n]) {
			return
		}
	}
}

// write writes b to our output, noting its last byte.
func (f *ptyForward) write(b []byte) bool {
	if _, err := f.out.Write(b); err != nil {
		return false
	}
	f.mu.Lock()
	f.lastChar, f.lastSet = b[len(b)-1], true
	f.mu.Unlock()
	return true
}

// stopOutput ends the copying of the master's output, at once.
func (f *ptyForward) stopOutput() {
	f.stopOut.Do(func() { _ = f.master.SetReadDeadline(time.Now()) })
}

// Detached is closed when the user pressed ^] three times within a second.
func (f *ptyForward) Detached() <-chan struct{} { return f.detached }

// Drain copies what the master still holds to our output and stops
// copying, as systemd-run does once the service has ended; it returns at
// once if the forwarding already ended.
func (f *ptyForward) Drain() {
	f.stopOut.Do(func() {
		close(f.draining)
		_ = f.master.SetReadDeadline(time.Now())
	})
	<-f.outDone
}

// LastChar returns the last byte written to our output, if any.
func (f *ptyForward) LastChar() (byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastChar, f.lastSet
}

// Close stops forwarding and restores our terminal: output first, then
// input, as systemd-run does. It leaves master open.
func (f *ptyForward) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.mu.Unlock()
	f.stopOutput()
	<-f.outDone
	signal.Stop(f.winch)
	close(f.winch)
	<-f.winchDone
	if f.savedOut != nil {
		_ = unix.IoctlSetTermios(int(f.out.Fd()), unix.TCSETS, f.savedOut)
	}
	if f.savedIn != nil {
		_ = unix.IoctlSetTermios(int(f.in.Fd()), unix.TCSETS, f.savedIn)
	}
	for _, c := range []struct {
		file  *os.File
		owned bool
	}{{f.out, f.closeOut}, {f.in, f.closeIn}, {f.peer, true}} {
		if c.owned {
			c.file.Close()
		}
	}
}

// ptyProperties are the properties systemd-run of version v sends for a
// pty whose peer is peer, at path: 252 (Debian's, with the backport) sends
// the peer as the service's three standard streams, then TTYPath; 254 and
// later TTYPath first. Over a connection that cannot pass descriptors the
// manager opens the path itself (StandardInput/Output/Error=tty), as those
// versions do for a pty they cannot open.
func ptyProperties(v props.Version, path string, peer *os.File, passesFDs bool) []transient.Property {
	tty := transient.Property{Name: "TTYPath", Value: dbus.MakeVariant(path)}
	if !passesFDs {
		ps := []transient.Property{tty}
		for _, n := range []string{"StandardInput", "StandardOutput", "StandardError"} {
			ps = append(ps, transient.Property{Name: n, Value: dbus.MakeVariant("tty")})
		}
		return ps
	}
	var ps []transient.Property
	for _, n := range []string{"StandardInputFileDescriptor", "StandardOutputFileDescriptor", "StandardErrorFileDescriptor"} {
		ps = append(ps, transient.Property{Name: n, Value: dbus.MakeVariant(dbus.UnixFD(peer.Fd()))})
	}
	if v < props.V254 {
		return append(ps, tty)
	}
	return append([]transient.Property{tty}, ps...)
}

// termEnvironment is the environment systemd-run of version v passes with
// --pty (pty) or --pipe: up to 257, TERM=$TERM if it is set (for --pipe
// only when one of stdin, stdout or stderr is a terminal); 262 (258
// assumed: the versions between were not compared) adds $COLORTERM and
// $NO_COLOR beside TERM, and with --pty when none is a terminal sends
// TERM=dumb.
func termEnvironment(v props.Version, pty bool) []string {
	tty := isTerminal(os.Stdin) || isTerminal(os.Stdout) || isTerminal(os.Stderr)
	term, ok := os.LookupEnv("TERM")
	switch {
	case v < props.V258:
		if ok && (pty || tty) {
			return []string{"TERM=" + term}
		}
		return nil
	case !tty && pty:
		return []string{"TERM=dumb"}
	case !tty || !ok:
		return nil
	}
	env := []string{"TERM=" + term}
	for _, n := range []string{"COLORTERM", "NO_COLOR"} {
		if val, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+val)
		}
	}
	return env
}

// encodeEach encodes one assignment name=VALUE for each value, each its
// own property, as systemd-run appends them.
func (p *runPlan) encodeEach(t props.UnitType, name string, values []string) ([]transient.Property, error) {
	var ps []transient.Property
	for _, val := range values {
		q, err := p.encode(t, name+"="+props.Quote(val))
		if err != nil {
			return nil, err
		}
		ps = append(ps, q...)
	}
	return ps, nil
}

// forwardPTY is systemd-run --pty once the service is started: it prints
// how to detach, forwards between our terminal and master until the
// service has ended (then drains its output) or the user detaches (then,
// without --wait, returns at once with the service's state of that
// moment), restores our terminal, and ends the last line as systemd-run
// does. The summary (with --wait) and exit status are those of --wait. If
// borgrun is interrupted it stops the service, as run --wait does.
func (e *env) forwardPTY(c *transient.Conn, p *runPlan, master *os.File) (int, error) {
	f := p.f
	if !f.quiet {
		fmt.Fprintln(e.stderr, "Press ^] three times within 1s to disconnect TTY.")
	}
	fw, err := startPTYForward(master)
	if err != nil {
		return 0, fmt.Errorf("run: failed to create PTY forwarder: %w", err)
	}

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	type waited struct {
		res *transient.Result
		err error
	}
	done := make(chan waited, 1)
	go func() {
		res, err := c.WaitServiceReport(ctx, p.service, nil)
		done <- waited{res, err}
	}()
	// restore ends the forwarding and restores our terminal. 262 (258
	// assumed) then ends a last line left open, even with --quiet: the
	// terminal shows "\r\n" (measured), as a "\n" written to it restored.
	restore := sync.OnceFunc(func() {
		fw.Close()
		if last, ok := fw.LastChar(); ok && last != '\n' && p.v >= props.V258 {
			fmt.Fprintln(e.stdout)
		}
	})
	defer restore()
	var res *transient.Result
	detached := fw.Detached()
	for res == nil {
		select {
		case w := <-done:
			if w.err != nil {
				restore()
				if _, ok := e.signalExit(); ok {
					return e.stopInterrupted(c, p.service)
				}
				return 0, w.err
			}
			res = w.res
			fw.Drain()
		case <-detached:
			// The forwarding ends; with --wait the waiting goes on.
			detached = nil
			restore()
			if f.wait {
				continue
			}
			cancel()
			<-done
			if res, err = c.ServiceResult(e.ctx, p.service); err != nil {
				if _, ok := e.signalExit(); ok {
					return e.stopInterrupted(c, p.service)
				}
				return 0, err
			}
		}
	}
	// Before 258, a last line left open is ended (unless --quiet) before
	// the terminal is restored after a drain (in raw mode, a bare "\n"),
	// after it on a detach.
	if last, ok := fw.LastChar(); ok && last != '\n' && !f.quiet && p.v < props.V258 {
		fmt.Fprintln(e.stdout)
	}
	restore()
	if f.wait && !f.quiet {
		e.summary(res, false, p.v)
	}
	return res.ExitStatus(), nil
}

// consoleCRLF reports whether systemd-run of version v ends the lines it
// logs to w with "\r\n" rather than "\n", so that they start at the
// beginning of a line even on a terminal in raw mode: when w is a
// terminal, and from 254 only if $TERM is set and not "dumb".
func consoleCRLF(w io.Writer, v props.Version) bool {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		return false
	}
	term, ok := os.LookupEnv("TERM")
	return v < props.V254 || ok && term != "dumb"
}

// crlfWriter ends each write that ends in "\n" with "\r\n" instead, as
// systemd's logging does on a terminal: one write is one logged message,
// whose inner line breaks stay as they are.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(b []byte) (int, error) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return c.w.Write(b)
	}
	out := make([]byte, 0, len(b)+1)
	out = append(append(out, b[:len(b)-1]...), '\r', '\n')
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}
