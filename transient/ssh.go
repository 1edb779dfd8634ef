package transient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Host is where a system manager other than this machine's is: a remote
// machine reached over ssh, as systemctl -H and systemd-run -H reach it
// (ssh runs systemd-stdio-bridge on the host, which joins the remote
// system bus; nothing of borgrun runs on the host, which needs only
// systemd and sshd), a container registered with systemd-machined here
// (-M, see [machine.go]), or a container on a remote host (-H
// HOST/MACHINE). The three are systemd's transports: remote, machine, and
// remote with a machine.
type Host struct {
	// User is the remote login; empty means ssh's default. For a
	// container of this machine, it is the user whose manager is reached
	// (DialOptions.Manager User, as systemd-run --user -M USER@NAME);
	// empty there means the system manager.
	User string
	// Name is a host name, an ssh_config alias or an IP address (IPv6
	// without brackets); empty for a container of this machine.
	Name string
	// Port is the ssh port; 0 means ssh's default.
	Port int
	// Machine, if set, is a container (a machine registered with
	// systemd-machined) on the host, or on this machine when Name is
	// empty: its manager is the one reached, and commands run in it.
	Machine string
}

// ParseHost parses [USER@]HOST[:PORT][/MACHINE], the syntax of systemd's
// -H. An IPv6 address with a port goes in brackets: [2001:db8::1]:2222.
// Errors name the bad part and what is accepted.
func ParseHost(s string) (Host, error) {
	var h Host
	bad := func(why string) (Host, error) {
		return Host{}, fmt.Errorf("host %q: %s (want [USER@]HOST[:PORT][/MACHINE])", s, why)
	}
	rest := s
	if r, m, ok := strings.Cut(s, "/"); ok {
		if err := ValidMachineName(m); err != nil {
			return bad(err.Error())
		}
		rest, h.Machine = r, m
	}
	if u, r, ok := strings.Cut(rest, "@"); ok {
		if !validHostWord(u, "._-") || strings.HasPrefix(u, "-") {
			return bad("bad user name")
		}
		h.User, rest = u, r
	}
	port := ""
	switch {
	case strings.HasPrefix(rest, "["):
		addr, after, ok := strings.Cut(rest[1:], "]")
		if !ok || addr == "" || !validHostWord(addr, ":.%") || !strings.Contains(addr, ":") {
			return bad("bad bracketed IPv6 address")
		}
		h.Name = addr
		if after != "" {
			p, ok := strings.CutPrefix(after, ":")
			if !ok {
				return bad("unexpected text after ]")
			}
			port = p
			if port == "" {
				return bad("empty port")
			}
		}
	case strings.Count(rest, ":") > 1:
		return bad("an IPv6 address goes in brackets, [ADDRESS] or [ADDRESS]:PORT")
	default:
		name, p, hasPort := strings.Cut(rest, ":")
		if hasPort && p == "" {
			return bad("empty port")
		}
		h.Name, port = name, p
		if h.Name == "" || strings.HasPrefix(h.Name, "-") || !validHostWord(h.Name, ".-_") {
			return bad("bad host name")
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
			return bad("port must be 1..65535")
		}
		h.Port = n
	}
	return h, nil
}

// validHostWord reports whether s is non-empty and made of ASCII letters,
// digits and the given extra characters.
func validHostWord(s, extra string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

// String returns the host as ParseHost accepts it ([USER@]HOST[:PORT]
// [/MACHINE]), or for a container of this machine its name, as -M takes
// it.
func (h Host) String() string {
	if h.Name == "" {
		if h.User != "" {
			return h.User + "@" + h.Machine
		}
		return h.Machine
	}
	s := h.Name
	if strings.Contains(s, ":") {
		s = "[" + s + "]"
	}
	if h.User != "" {
		s = h.User + "@" + s
	}
	if h.Port != 0 {
		s += ":" + strconv.Itoa(h.Port)
	}
	if h.Machine != "" {
		s += "/" + h.Machine
	}
	return s
}

// target is the ssh destination: [USER@]NAME.
func (h Host) target() string {
	if h.User != "" {
		return h.User + "@" + h.Name
	}
	return h.Name
}

// SSHArgs returns the argv that runs remote, a command line for the
// remote shell, on h: ssh (or the given ssh command and its own options,
// nil meaning "ssh") with no X11 forwarding and no tty (-xT, as systemd
// does), BatchMode (a prompt could not be answered within a bounded
// connect, nor from several hosts at once), the port if set, then "--"
// and the destination, so that no host can pass for an option.
func (h Host) SSHArgs(ssh []string, remote string) []string {
	if len(ssh) == 0 {
		ssh = []string{"ssh"}
	}
	argv := append(append([]string(nil), ssh...), "-xT", "-o", "BatchMode=yes")
	if h.Port != 0 {
		argv = append(argv, "-p", strconv.Itoa(h.Port))
	}
	return append(argv, "--", h.target(), remote)
}

// Command returns a command that runs argv on h: over ssh (see
// [Host.SSHArgs]), each word quoted for the remote shell; in h's
// container, entered as [EnterMachine] does, on the host over ssh or
// here.
//
// In a container of this machine, nsenter forks to enter the PID
// namespace, so the command is not the process started: it runs in a
// process group of its own, and the command's Cancel (called when ctx is
// done) kills the whole group.
func (h Host) Command(ctx context.Context, ssh []string, argv ...string) *exec.Cmd {
	args := h.argv(ssh, argv)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	if h.Name == "" {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	}
	return cmd
}

// argv returns the command line, run here, that runs argv on h.
func (h Host) argv(ssh []string, argv []string) []string {
	if h.Machine != "" {
		argv = append([]string{"sh", "-c", EnterMachine, "sh", h.Machine}, argv...)
		if h.Name == "" {
			return argv
		}
	}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return h.SSHArgs(ssh, strings.Join(quoted, " "))
}

// Run runs argv on h over ssh (see [Host.Command]), copying its standard
// output to stdout, and waits for it. A failure is an [*SSHError] whose
// Reason is the last line ssh or the command wrote to standard error (or
// how it exited).
func (h Host) Run(ctx context.Context, ssh []string, stdout io.Writer, argv ...string) error {
	cmd := h.Command(ctx, ssh, argv...)
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Run(); err != nil {
		reason := stderr.lastLine()
		if reason == "" {
			reason = err.Error()
		}
		return &SSHError{Host: h, Reason: reason, Err: err}
	}
	return nil
}

// SSHError reports that the ssh connection to a host ended; Reason is the
// last line ssh (or the remote shell) wrote to its standard error, or how
// ssh exited.
type SSHError struct {
	Host   Host
	Reason string
	Err    error // what the read saw
}

func (e *SSHError) Error() string { return e.Reason }

func (e *SSHError) Unwrap() error { return e.Err }

// sshStream is a bus stream through ssh and systemd-stdio-bridge: one end
// of a socket pair whose other end is ssh's standard input and output.
type sshStream struct {
	net.Conn
	host   Host
	cmd    *exec.Cmd
	stderr *tailBuffer
	exited chan struct{} // closed when ssh has exited
	once   sync.Once

	mu    sync.Mutex
	first []byte // the first bytes read, to explain a failed handshake
}

// dialSSH starts argv, ssh to h running systemd-stdio-bridge (or the
// bridge in h's container), and returns the stream. argv is killed if
// abort is closed before the stream is.
func dialSSH(h Host, argv []string, abort <-chan struct{}) (*sshStream, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	local := os.NewFile(uintptr(fds[0]), "bus")
	remote := os.NewFile(uintptr(fds[1]), "ssh")
	defer local.Close()
	defer remote.Close()
	s := &sshStream{host: h, stderr: &tailBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = remote, remote, s.stderr
	// Its own process group: a Ctrl-C at the terminal is ours to handle
	// (we stop what we started), not ssh's.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, &SSHError{Host: h, Reason: err.Error(), Err: err}
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	if s.Conn, err = net.FileConn(local); err != nil {
		_ = s.cmd.Process.Kill()
		return nil, err
	}
	go func() {
		select {
		case <-abort:
			_ = s.cmd.Process.Kill()
		case <-s.exited:
		}
	}()
	return s, nil
}

// Read reads from the bridge. When the stream ends, the error says why,
// from what ssh wrote to its standard error ("Connection refused", "Host
// key verification failed.", "systemd-stdio-bridge: command not found").
func (s *sshStream) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	s.mu.Lock()
	if k := min(n, firstSize-len(s.first)); k > 0 {
		s.first = append(s.first, p[:k]...)
	}
	s.mu.Unlock()
	if err != nil && n == 0 {
		return 0, s.why(err)
	}
	return n, err
}

// firstSize is how much of the start of the stream is kept.
const firstSize = 120

// explain turns a failed bus handshake over s into an *SSHError saying
// why: ssh's reason, or what the remote side wrote instead of speaking
// D-Bus (a login shell that refuses, a shell start-up file that prints).
func (s *sshStream) explain(err error) error {
	var se *SSHError
	if errors.As(err, &se) {
		return err
	}
	s.Conn.Close()
	t := time.NewTimer(sshExitWait)
	defer t.Stop()
	select {
	case <-s.exited:
	case <-t.C:
	}
	stderr := s.stderr.lastLine()
	s.mu.Lock()
	first := strings.TrimSpace(string(s.first))
	s.mu.Unlock()
	if first != "" && !strings.HasPrefix(first, "OK ") && !strings.HasPrefix(first, "REJECTED ") {
		reason := fmt.Sprintf("the remote side is not systemd-stdio-bridge: it wrote %q", first)
		if stderr != "" {
			reason += "; then " + stderr
		}
		return &SSHError{Host: s.host, Reason: reason, Err: err}
	}
	if stderr != "" {
		return &SSHError{Host: s.host, Reason: stderr, Err: err}
	}
	select {
	case <-s.exited:
		// Gone before the handshake (a write to it failed): say how.
		return &SSHError{Host: s.host, Reason: "ssh: " + s.cmd.ProcessState.String(), Err: err}
	default:
	}
	return err
}

// Remote commands that give a stream to a host's manager. sshBridge joins
// the host's system bus, as systemctl -H does. sshPrivateBridge reaches
// PID 1's private socket when the login may (root), else the bus: no bus
// between borgrun and the manager means no limit on the calls in flight
// (dbus-daemon allows 128 awaiting answers per connection) and no Hello.
// The manager answers a Hello on its private socket with UnknownObject,
// which is how [dial] tells the two apart.
const (
	sshBridge        = "systemd-stdio-bridge"
	sshPrivateBridge = "test -w " + PrivateSocket + " && exec systemd-stdio-bridge --bus-path=unix:path=" + PrivateSocket + " || exec systemd-stdio-bridge"
)

// sshExitWait bounds the wait for ssh's exit once its stream has ended,
// to read why.
const sshExitWait = 2 * time.Second

func (s *sshStream) why(err error) error {
	t := time.NewTimer(sshExitWait)
	defer t.Stop()
	select {
	case <-s.exited:
	case <-t.C:
	}
	reason := s.stderr.lastLine()
	if reason == "" {
		select {
		case <-s.exited:
			reason = "ssh: " + s.cmd.ProcessState.String()
		default:
			reason = "connection closed"
		}
	}
	return &SSHError{Host: s.host, Reason: reason, Err: err}
}

// Close closes the stream. ssh sees the end of its input and exits, as
// does the bridge; ssh is killed if it has not exited within a bound.
func (s *sshStream) Close() error {
	err := s.Conn.Close()
	s.once.Do(func() {
		go func() {
			t := time.NewTimer(sshExitWait)
			defer t.Stop()
			select {
			case <-s.exited:
			case <-t.C:
				_ = s.cmd.Process.Kill()
			}
		}()
	})
	return err
}

// tailBuffer keeps the last 4 KiB written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 4096

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailSize {
		b.buf = b.buf[len(b.buf)-tailSize:]
	}
	return len(p), nil
}

// lastLine returns the last non-empty line written, trimmed.
func (b *tailBuffer) lastLine() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(string(b.buf), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}
