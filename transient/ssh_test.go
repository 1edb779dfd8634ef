package transient_test

import (
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		in   string
		want transient.Host
		err  string
	}{
		{"db1", transient.Host{Name: "db1"}, ""},
		{"root@db1.example.org", transient.Host{User: "root", Name: "db1.example.org"}, ""},
		{"backup@10.0.0.2:2222", transient.Host{User: "backup", Name: "10.0.0.2", Port: 2222}, ""},
		{"[2001:db8::1]", transient.Host{Name: "2001:db8::1"}, ""},
		{"u@[2001:db8::1]:22", transient.Host{User: "u", Name: "2001:db8::1", Port: 22}, ""},
		{"", transient.Host{}, "bad host name"},
		{"-oProxyCommand=x", transient.Host{}, "bad host name"},
		{"a b", transient.Host{}, "bad host name"},
		{"@db1", transient.Host{}, "bad user name"},
		{"-l@db1", transient.Host{}, "bad user name"},
		{"a@b@c", transient.Host{}, "bad host name"},
		{"db1:", transient.Host{}, "empty port"},
		{"db1:0", transient.Host{}, "port must be 1..65535"},
		{"db1:65536", transient.Host{}, "port must be 1..65535"},
		{"db1:ssh", transient.Host{}, "port must be 1..65535"},
		{"db1/web1", transient.Host{Name: "db1", Machine: "web1"}, ""},
		{"root@[2001:db8::1]:2222/web-1.a_b", transient.Host{User: "root", Name: "2001:db8::1", Port: 2222, Machine: "web-1.a_b"}, ""},
		{"db1/", transient.Host{}, "machine name"},
		{"db1/a/b", transient.Host{}, "machine name"},
		{"db1/-x", transient.Host{}, "machine name"},
		{"db1/a..b", transient.Host{}, "machine name"},
		{"/web1", transient.Host{}, "bad host name"},
		{"2001:db8::1", transient.Host{}, "goes in brackets"},
		{"[2001:db8::1", transient.Host{}, "bad bracketed"},
		{"[2001:db8::1]x", transient.Host{}, "after ]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := transient.ParseHost(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), strconv.Quote(tt.in)) {
					t.Fatalf("ParseHost(%q) = %v, %v; want an error naming it and saying %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseHost(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if back, err := transient.ParseHost(got.String()); err != nil || back != got {
				t.Errorf("round trip of %q through String %q = %+v, %v", tt.in, got.String(), back, err)
			}
		})
	}
}

func TestSSHArgs(t *testing.T) {
	h := transient.Host{User: "root", Name: "db1", Port: 2222}
	got := strings.Join(h.SSHArgs([]string{"ssh", "-F", "cfg"}, "systemd-stdio-bridge"), " ")
	if want := "ssh -F cfg -xT -o BatchMode=yes -p 2222 -- root@db1 systemd-stdio-bridge"; got != want {
		t.Fatalf("SSHArgs = %q, want %q", got, want)
	}
}

// TestDialHost reaches the sandbox's manager through a real sshd running
// in it, as systemctl -H does, and checks the failures a fleet meets: a
// host whose sshd is down, one whose host key is not the known one, and
// one that accepts and never answers.
func TestDialHost(t *testing.T) {
	sys := sandbox.Get(t)
	dir := t.TempDir()
	d, err := sys.StartSSHD(t.Context(), dir, 2301)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.ClientConfig(dir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// ssh runs in the sandbox's network namespace, where 127.0.0.1 is
	// the sandbox.
	inNet := []string{"nsenter", "-t", strconv.Itoa(sys.PID()), "-n", "--", "ssh", "-F", cfg}
	host := &transient.Host{Name: "127.0.0.1"}

	start := time.Now()
	c, err := transient.Dial(t.Context(), transient.DialOptions{Host: host, SSH: inNet})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("connect over ssh: %v", time.Since(start))
	defer c.Close()
	if c.PassesFDs() {
		t.Error("PassesFDs over ssh = true, want false")
	}
	ps, err := encode(props.Service, "Type=exec", "ExecStart=/bin/sh -c \"exit 3\"")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(t.Context(), "ssh-dial.service", ps)
	var ee *transient.ExitError
	if !errors.As(err, &ee) || res == nil || res.ExitStatus() != 3 {
		t.Fatalf("Run over ssh = %+v, %v; want exit status 3", res, err)
	}

	// The same host key for another server: refused by ssh.
	other, err := sys.StartSSHD(t.Context(), t.TempDir(), 2302)
	if err != nil {
		t.Fatal(err)
	}
	other.HostKey = d.HostKey
	badKey, err := other.ClientConfig(t.TempDir(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ssh  []string
		host transient.Host
		want string
	}{
		{"sshd down", inNet, transient.Host{Name: "127.0.0.1", Port: 2309}, "Connection refused"},
		{"unknown host key", []string{"nsenter", "-t", strconv.Itoa(sys.PID()), "-n", "--", "ssh", "-F", badKey}, transient.Host{Name: "127.0.0.1"}, "Host key verification failed."},
		{"login shell refuses", inNet, transient.Host{User: "nobody", Name: "127.0.0.1"}, `not systemd-stdio-bridge: it wrote "This account is currently not available."`},
		{"no such ssh", []string{"/nonexistent/ssh"}, transient.Host{Name: "127.0.0.1"}, "/nonexistent/ssh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := transient.Dial(t.Context(), transient.DialOptions{Host: &tt.host, SSH: tt.ssh, Timeout: 10 * time.Second})
			var de *transient.DialError
			var se *transient.SSHError
			if !errors.As(err, &de) || !errors.As(err, &se) || !strings.Contains(se.Reason, tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Dial = %v; want a one-line *DialError with an *SSHError saying %q", err, tt.want)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("failure took %v, want it reported at once", elapsed)
			}
		})
	}
}

// TestDialHostSilent: an ssh server that accepts and never answers is
// given up on after Timeout, and ssh is killed (its connection closes).
func TestDialHostSilent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- c
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = transient.Dial(t.Context(), transient.DialOptions{
		Host:    &transient.Host{Name: "127.0.0.1", Port: port},
		SSH:     []string{"ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null"},
		Timeout: 300 * time.Millisecond,
	})
	var de *transient.DialError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("Dial = %v, want a *DialError saying there was no answer", err)
	}
	var c net.Conn
	select {
	case c = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("ssh never connected")
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// ssh sends its banner, then waits for ours; once killed, EOF.
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("ssh's connection did not close after the timeout: %v", err)
	}
}

// TestDialHostUserManager: only a host's system manager is reachable, as
// with systemctl -H; asking for the user manager fails before ssh runs.
func TestDialHostUserManager(t *testing.T) {
	_, err := transient.Dial(t.Context(), transient.DialOptions{Manager: transient.User,
		Host: &transient.Host{Name: "db1"}, SSH: []string{"/nonexistent/ssh"}})
	if err == nil || !strings.Contains(err.Error(), "only the system manager") || strings.Contains(err.Error(), "/nonexistent/ssh") {
		t.Fatalf("Dial(User, Host) = %v, want a refusal before ssh", err)
	}
}

// TestMachineCommand: a command in a container of this machine enters it
// with EnterMachine; one in a container on a host does the same over ssh,
// each word quoted for the remote shell.
func TestMachineCommand(t *testing.T) {
	local := transient.Host{Machine: "web1"}.Command(t.Context(), nil, "cat", "/etc/it's")
	if want := []string{"sh", "-c", transient.EnterMachine, "sh", "web1", "cat", "/etc/it's"}; !slices.Equal(local.Args, want) {
		t.Errorf("local machine: %q, want %q", local.Args, want)
	}
	remote := transient.Host{Name: "db1", Machine: "web1"}.Command(t.Context(), []string{"ssh"}, "cat", "/etc/it's")
	n := len(remote.Args)
	if n < 3 || remote.Args[n-3] != "--" || remote.Args[n-2] != "db1" ||
		!strings.HasPrefix(remote.Args[n-1], "'sh' '-c' '") || !strings.HasSuffix(remote.Args[n-1], `' 'sh' 'web1' 'cat' '/etc/it'\''s'`) {
		t.Errorf("machine on a host: %q", remote.Args)
	}
	if got := (transient.Host{Machine: "web1"}).String(); got != "web1" {
		t.Errorf("String = %q, want web1", got)
	}
}

func TestValidMachineName(t *testing.T) {
	for _, ok := range []string{"web1", "a.b-c_d", strings.Repeat("a", 64)} {
		if err := transient.ValidMachineName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "a..b", ".a", "a.", "-a", "a/b", "a b", "a@b", strings.Repeat("a", 65)} {
		if err := transient.ValidMachineName(bad); err == nil || !strings.Contains(err.Error(), strconv.Quote(bad)) {
			t.Errorf("%q: %v, want an error naming it", bad, err)
		}
	}
}
