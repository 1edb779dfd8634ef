package backup

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DeriveLocalSandbox is [DeriveSandbox] for a job that runs on a manager
// of this machine: what o leaves empty is learnt here, as
// [DeriveRemoteSandbox] learns it on a remote host. That is the home of
// the service's user (root's, or the caller's own when userManager is
// set, and then the manager's runtime directory), the versions that borg
// and borgmatic print (both are asked at once: each takes a while to
// start), the borg host ID from the host name
// and /etc/machine-id, and, for [ProfileStrict], a resolver and the name
// servers of /etc/resolv.conf for pinning the repositories' addresses.
// ctx bounds those questions (each also at most 30 s).
func DeriveLocalSandbox(ctx context.Context, o SandboxOptions, userManager bool) (*Sandbox, error) {
	if o.Home == "" {
		u, err := user.LookupId("0")
		if userManager {
			u, err = user.Current()
		}
		if err != nil {
			return nil, fmt.Errorf("finding the service user's home: %w", err)
		}
		o.Home = u.HomeDir
	}
	if o.Profile == ProfileStrict && o.Resolve == nil {
		o.Resolve = func(host string) ([]string, error) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return net.DefaultResolver.LookupHost(ctx, host)
		}
		if f, err := os.ReadFile("/etc/resolv.conf"); err == nil && o.Nameservers == nil {
			o.Nameservers = nameservers(string(f))
		}
	}
	// The versions choose the directory rules; unknown versions open up
	// the directories of every version.
	var borg string
	bmDone := make(chan struct{})
	tool := ""
	if len(o.Command) > 0 {
		tool = filepath.Base(o.Command[0])
	}
	switch {
	case tool == "borg":
		borg = o.Command[0]
		close(bmDone)
	case tool == "borgmatic" && o.BorgmaticVersion == "":
		borg, _ = exec.LookPath("borg") // what borgmatic runs by default
		go func() { o.BorgmaticVersion = toolVersion(ctx, o.Command[0]); close(bmDone) }()
	default:
		close(bmDone)
	}
	if borg != "" && o.BorgVersion == "" {
		o.BorgVersion = toolVersion(ctx, borg)
	}
	<-bmDone
	o.UserManager = o.UserManager || userManager
	if o.UserManager && o.RuntimeDir == "" {
		// The manager's own, which its services inherit; borgrun found
		// the manager there.
		o.RuntimeDir = os.Getenv("XDG_RUNTIME_DIR")
		if o.RuntimeDir == "" {
			o.RuntimeDir = "/run/user/" + strconv.Itoa(os.Getuid())
		}
	}
	if o.HostID == "" {
		if id, err := os.ReadFile("/etc/machine-id"); err == nil && len(bytes.TrimSpace(id)) > 0 {
			host, _ := os.Hostname()
			o.HostID = host + "@" + string(bytes.TrimSpace(id))
		}
	}
	return DeriveSandbox(o)
}

// nameservers returns the name servers' addresses in a resolv.conf.
func nameservers(resolvConf string) []string {
	var ns []string
	for _, l := range strings.Split(resolvConf, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "nameserver" && net.ParseIP(f[1]) != nil {
			ns = append(ns, f[1])
		}
	}
	return ns
}

// toolVersion returns what tool --version prints, or "" if it fails (in
// 30 s).
func toolVersion(ctx context.Context, tool string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
