package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/borgrun/borgrun/transient"
)

// DeriveRemoteSandbox is [DeriveSandbox] for a job that runs on host h's
// system manager (as root): what it reads is read on h, over ssh (ssh as
// in [Host.SSHArgs]), not here. It learns root's home, the host ID and,
// for borgmatic, its version by one remote shell command, then copies the
// configuration files the command line names (or borgmatic's defaults),
// and the files they !include, into a private temporary directory with
// tar, and derives from that copy. o.Home, o.BorgmaticVersion and
// o.HostID are filled in when empty. o.Writable must be empty: those
// paths are on the host, and only its configuration is copied.
//
// The host needs sh, getent, tar (GNU or busybox) besides systemd and sshd.
func DeriveRemoteSandbox(ctx context.Context, h transient.Host, ssh []string, o SandboxOptions) (*Sandbox, error) {
	if len(o.Writable) > 0 {
		return nil, fmt.Errorf("writable paths on %s cannot be checked from here", h)
	}
	if o.Profile == ProfileOff {
		return DeriveSandbox(o)
	}
	tool := ""
	if len(o.Command) > 0 {
		tool = filepath.Base(o.Command[0])
	}
	if tool != "borg" && tool != "borgmatic" {
		// Nothing is read for other commands.
		return DeriveSandbox(o)
	}
	facts, err := remoteFacts(ctx, h, ssh, o.Command[0], tool == "borgmatic")
	if err != nil {
		return nil, err
	}
	if o.Home == "" {
		o.Home = facts.home
	}
	if o.BorgmaticVersion == "" {
		o.BorgmaticVersion = facts.borgmatic
	}
	if o.HostID == "" && facts.hostname != "" && facts.machineID != "" {
		o.HostID = facts.hostname + "@" + facts.machineID
	}
	if tool != "borgmatic" {
		return DeriveSandbox(o)
	}
	dir, err := os.MkdirTemp("", "borgrun-remote-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	o.Root = os.DirFS(dir)
	paths, _ := borgmaticConfigPaths(o.Command, o.Home)
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("borgmatic configuration %q on %s: must be an absolute path", p, h)
		}
	}
	fetched := map[string]bool{}
	copied := 0
	for round := 0; ; round++ {
		var want []string
		for _, p := range paths {
			if !fetched[p] {
				want = append(want, p)
				fetched[p] = true
			}
		}
		if len(want) > 0 {
			n, err := copyRemoteFiles(ctx, h, ssh, want, dir, maxRemoteCopy-copied)
			if err != nil {
				return nil, err
			}
			copied += n
		}
		s, err := DeriveSandbox(o)
		var pe *fs.PathError
		if err == nil || round == maxIncludeRounds || !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) ||
			!filepath.IsAbs(pe.Path) || fetched[pe.Path] {
			if err != nil {
				return nil, fmt.Errorf("on %s: %w", h, err)
			}
			return s, nil
		}
		// An !include not copied yet.
		paths = append(paths, pe.Path)
	}
}

// maxIncludeRounds bounds the rounds of copying !included files.
const maxIncludeRounds = 16

// maxRemoteCopy bounds what is copied of a host's configuration.
const maxRemoteCopy = 16 << 20

// hostFacts are what a sandbox needs to know about a host.
type hostFacts struct {
	home, hostname, machineID, borgmatic string
}

// remoteFacts reads root's home, the host name, the machine ID and, if
// asked, what borgmatic --version prints.
func remoteFacts(ctx context.Context, h transient.Host, ssh []string, borgmatic string, version bool) (*hostFacts, error) {
	script := `getent passwd 0 | cut -d: -f6; hostname; cat /etc/machine-id; ` +
		`if [ "$2" = yes ]; then "$1" --version 2>/dev/null | head -n 1; fi; echo .`
	want := "no"
	if version {
		want = "yes"
	}
	out, err := remoteOutput(ctx, h, ssh, "sh", "-c", script, "sh", borgmatic, want)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 4 || !slices.Contains(lines, ".") {
		return nil, fmt.Errorf("ssh %s: unexpected answer %q", h, out)
	}
	f := &hostFacts{home: lines[0], hostname: lines[1], machineID: lines[2]}
	if lines[3] != "." {
		f.borgmatic = strings.TrimSpace(lines[3])
	}
	if !filepath.IsAbs(f.home) {
		return nil, fmt.Errorf("ssh %s: root's home %q is not an absolute path", h, f.home)
	}
	return f, nil
}

// remoteOutput runs argv on h and returns its standard output; a failure
// says what ssh or the command wrote to standard error.
func remoteOutput(ctx context.Context, h transient.Host, ssh []string, argv ...string) (string, error) {
	var out bytes.Buffer
	if err := h.Run(ctx, ssh, &out, argv...); err != nil {
		return "", err
	}
	return out.String(), nil
}

// copyRemoteFiles copies paths (files or directory trees, symbolic links
// followed) from h into dir, at the same names below it, by tar over ssh;
// a path that does not exist on h is left out. It copies at most limit
// bytes and returns how many it copied.
func copyRemoteFiles(ctx context.Context, h transient.Host, ssh []string, paths []string, dir string, limit int) (int, error) {
	var rel []string
	for _, p := range paths {
		rel = append(rel, "."+filepath.Clean(p))
	}
	// Missing paths make tar complain and exit non-zero after writing
	// the others: its status is not an error, a broken archive is.
	script := `cd / || exit 1; for p do [ -e "$p" ] && set -- "$@" "$p"; shift; done; ` +
		`[ $# -eq 0 ] || exec tar -chf - -- "$@"`
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := h.Run(ctx, ssh, pw, append([]string{"sh", "-c", script, "sh"}, rel...)...)
		pw.Close()
		done <- err
	}()
	n, xerr := extractTar(io.LimitReader(pr, int64(limit)+1), dir, limit)
	_, _ = io.Copy(io.Discard, pr)
	werr := <-done
	switch {
	case xerr != nil:
		return 0, fmt.Errorf("copying borgmatic configuration from %s: %w", h, xerr)
	case werr != nil:
		return 0, fmt.Errorf("copying borgmatic configuration: %w", werr)
	}
	return n, nil
}

// extractTar writes the directories and regular files of the archive r
// below dir, refusing names that would leave it, and at most limit bytes.
func extractTar(r io.Reader, dir string, limit int) (int, error) {
	tr := tar.NewReader(r)
	total := 0
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		name := filepath.Clean("/" + hdr.Name)
		if name == "/" {
			continue
		}
		target := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o700); err != nil {
				return total, err
			}
		case tar.TypeReg:
			if total += int(hdr.Size); total > limit {
				return total, fmt.Errorf("more than %d bytes", limit)
			}
			var data bytes.Buffer
			if _, err := io.Copy(&data, tr); err != nil {
				return total, err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return total, err
			}
			if err := os.WriteFile(target, data.Bytes(), 0o600); err != nil {
				return total, err
			}
		}
	}
}
