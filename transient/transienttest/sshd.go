package transienttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// SSHD is an OpenSSH server running inside a sandbox as a transient
// service, for tests of what crosses ssh: remote repositories, remote
// managers. It accepts one key, for root, and nothing else.
type SSHD struct {
	// Unit is the sandbox's service that runs sshd.
	Unit string
	// Port is the TCP port sshd listens on, on every IPv4 address of the
	// sandbox's network namespace (127.0.0.1 among them).
	Port int
	// IdentityFile is the host path of the private key that logs in as
	// root. Its public half is the only authorized key.
	IdentityFile string
	// HostKey is the server's public host key, "ssh-ed25519 AAAA...".
	HostKey string
}

// sshdDir is where StartSSHD puts the server's files inside the sandbox.
const sshdDir = "/etc/borgrun-test-sshd"

// StartSSHD starts sshd (Debian's openssh-server, /usr/sbin/sshd of the
// sandbox's root) in the sandbox on port, with a host key and a client key
// freshly generated in dir, a host directory the caller owns (t.TempDir(),
// say). It returns once sshd has told the manager it is ready
// (Type=notify). The service ends with the sandbox, or earlier by
// systemctl stop of [SSHD.Unit].
func (s *Systemd) StartSSHD(ctx context.Context, dir string, port int) (*SSHD, error) {
	if _, err := os.Stat(s.Root() + "/usr/sbin/sshd"); err != nil {
		return nil, fmt.Errorf("transienttest: sshd: %w (install Debian's openssh-server, or rebuild the suite's root)", err)
	}
	d := &SSHD{
		Unit:         "borgrun-test-sshd-" + strconv.Itoa(port) + ".service",
		Port:         port,
		IdentityFile: filepath.Join(dir, "id_ed25519"),
	}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	for _, k := range []string{d.IdentityFile, hostKey} {
		if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "borgrun-test", "-f", k).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("transienttest: ssh-keygen: %w: %s", err, out)
		}
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return nil, fmt.Errorf("transienttest: %w", err)
	}
	d.HostKey = strings.Join(strings.Fields(string(pub))[:2], " ")
	authorized, err := os.ReadFile(d.IdentityFile + ".pub")
	if err != nil {
		return nil, fmt.Errorf("transienttest: %w", err)
	}
	key, err := os.ReadFile(hostKey)
	if err != nil {
		return nil, fmt.Errorf("transienttest: %w", err)
	}
	cfgPath := sshdDir + "/sshd_config." + strconv.Itoa(port)
	config := strings.Join([]string{
		"Port " + strconv.Itoa(port),
		"ListenAddress 0.0.0.0",
		"HostKey " + sshdDir + "/host_key." + strconv.Itoa(port),
		"AuthorizedKeysFile " + sshdDir + "/authorized_keys." + strconv.Itoa(port),
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"PidFile none",
		"LogLevel VERBOSE",
		"",
	}, "\n")
	root := s.Root()
	if err := os.MkdirAll(root+sshdDir, 0o755); err != nil {
		return nil, fmt.Errorf("transienttest: %w", err)
	}
	for name, f := range map[string]struct {
		data []byte
		mode os.FileMode
	}{
		"host_key." + strconv.Itoa(port):        {key, 0o600},
		"authorized_keys." + strconv.Itoa(port): {authorized, 0o644},
		"sshd_config." + strconv.Itoa(port):     {[]byte(config), 0o644},
	} {
		if err := os.WriteFile(root+sshdDir+"/"+name, f.data, f.mode); err != nil {
			return nil, fmt.Errorf("transienttest: %w", err)
		}
	}
	// systemd-run returns when the start job is done, which for
	// Type=notify is when sshd has sent READY=1.
	if _, err := s.Output(ctx, "systemd-run", "--quiet", "--unit="+d.Unit, "--service-type=notify",
		"--property=RuntimeDirectory=sshd", "--property=RuntimeDirectoryPreserve=yes",
		"/usr/sbin/sshd", "-D", "-e", "-f", cfgPath); err != nil {
		return nil, err
	}
	return d, nil
}

// ClientConfig writes into dir the files an ssh client needs to log in to
// d as root at host (an address the client reaches the sandbox by), and
// returns the path of an ssh_config for `ssh -F`. The config applies to
// every host name, checks the host key strictly and never prompts.
func (d *SSHD) ClientConfig(dir, host string) (string, error) {
	known := filepath.Join(dir, "known_hosts."+host+"."+strconv.Itoa(d.Port))
	pattern := host
	if d.Port != 22 {
		pattern = "[" + host + "]:" + strconv.Itoa(d.Port)
	}
	if err := os.WriteFile(known, []byte(pattern+" "+d.HostKey+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("transienttest: %w", err)
	}
	config := strings.Join([]string{
		"Host *",
		"  HostName " + host,
		"  Port " + strconv.Itoa(d.Port),
		"  User root",
		"  IdentityFile " + d.IdentityFile,
		"  IdentitiesOnly yes",
		"  UserKnownHostsFile " + known,
		"  GlobalKnownHostsFile /dev/null",
		"  StrictHostKeyChecking yes",
		"  BatchMode yes",
		"  LogLevel ERROR",
		"",
	}, "\n")
	path := filepath.Join(dir, "ssh_config."+host+"."+strconv.Itoa(d.Port))
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return "", fmt.Errorf("transienttest: %w", err)
	}
	return path, nil
}

// NetCommand returns a command that runs name with args on the host, in
// the sandbox's network namespace only: it sees the host's files and the
// sandbox's addresses (127.0.0.1 is the sandbox's own loopback).
func (s *Systemd) NetCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	nsargs := append([]string{"-t", strconv.Itoa(s.PID()), "-n", "--", name}, args...)
	return exec.CommandContext(ctx, "nsenter", nsargs...)
}
