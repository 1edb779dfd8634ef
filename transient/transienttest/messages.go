package transienttest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Messages is a FIFO inside a throwaway systemd to which the units of a
// test write what they saw, as blocks of lines each ended by a line
// "END". The test waits for the next block with a deadline ([Messages.Next]),
// driven by the write itself: no polling of files, no sleeps.
type Messages struct {
	// Path is the FIFO's path inside the throwaway systemd.
	Path string
	f    *os.File
	r    *bufio.Reader
}

// Messages makes a FIFO at path (absolute, inside the throwaway systemd;
// its directory is created) and opens it for the test. Close it when done.
func (s *Systemd) Messages(path string) (*Messages, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("transienttest: messages %q: not an absolute path", path)
	}
	host := s.Root() + path
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		return nil, err
	}
	_ = os.Remove(host)
	if err := syscall.Mkfifo(host, 0o666); err != nil {
		return nil, fmt.Errorf("transienttest: messages %q: %w", path, err)
	}
	// Read and write: the open does not wait for a writer, and a writer
	// that closes does not end the stream.
	f, err := os.OpenFile(host, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &Messages{Path: path, f: f, r: bufio.NewReader(f)}, nil
}

// Next returns the next block written to the FIFO, without its "END"
// line, or an error if none is complete within timeout.
func (m *Messages) Next(timeout time.Duration) (string, error) {
	if err := m.f.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	var b strings.Builder
	for {
		line, err := m.r.ReadString('\n')
		if err != nil {
			return b.String(), fmt.Errorf("transienttest: no complete message on %s within %v (read %q): %w", m.Path, timeout, b.String()+line, err)
		}
		if line == "END\n" {
			return b.String(), nil
		}
		b.WriteString(line)
	}
}

// Close closes the test's end of the FIFO.
func (m *Messages) Close() error { return m.f.Close() }
