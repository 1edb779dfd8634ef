package transienttest

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"sync"
	"time"
)

// Link stands between a D-Bus client and its bus stream (wrap
// transient.DialOptions.Stream with [Link.Wrap]), and measures what
// crosses it: the method calls the client sends, the round trips they
// cost and the bytes each way. With Delay, it also holds back every chunk
// that crosses it, each way, by that long (a round trip of 2×Delay):
// distance, in a test.
//
// A round trip is counted when the client sends a method call that
// expects an answer while no other such call is waiting for one: calls
// sent together, before the answers of the first arrive, cost one round
// trip; a call sent only after the answer to the previous one costs
// another. With a Delay, answers cannot arrive early, so the count does
// not depend on the machine's speed.
type Link struct {
	Delay time.Duration

	mu          sync.Mutex
	calls       int
	roundTrips  int
	outstanding int
	out, in     int64
}

// LinkCounts are what a [Link] has seen since it was made or reset.
type LinkCounts struct {
	Calls      int   // method calls that expect an answer
	RoundTrips int   // turn-arounds: see Link
	BytesOut   int64 // client to bus
	BytesIn    int64 // bus to client
}

// Counts returns what the link has seen.
func (l *Link) Counts() LinkCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LinkCounts{l.calls, l.roundTrips, l.out, l.in}
}

// Reset zeroes the counts (answers still awaited stay awaited).
func (l *Link) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls, l.roundTrips, l.out, l.in = 0, 0, 0, 0
}

// Wrap returns open with every stream it opens passing through l.
func (l *Link) Wrap(open func(context.Context) (io.ReadWriteCloser, error)) func(context.Context) (io.ReadWriteCloser, error) {
	return func(ctx context.Context) (io.ReadWriteCloser, error) {
		rwc, err := open(ctx)
		if err != nil {
			return nil, err
		}
		s := &linkStream{l: l, rwc: rwc, wq: make(chan chunk, 1024), rq: make(chan chunk, 1024), closed: make(chan struct{})}
		go s.writer()
		go s.reader()
		return s, nil
	}
}

type chunk struct {
	due  time.Time
	data []byte
	err  error
}

type linkStream struct {
	l         *Link
	rwc       io.ReadWriteCloser
	wq, rq    chan chunk
	closed    chan struct{}
	closeOnce sync.Once

	wmu  sync.Mutex
	wbuf []byte // client's bytes not yet parsed
	wbin bool   // past the client's BEGIN
	rbuf []byte // bus's bytes not yet parsed
	rbin bool   // the bus's first message seen
	rest []byte // of the chunk being read
	rerr error
	rmu  sync.Mutex
}

func (s *linkStream) Write(b []byte) (int, error) {
	s.wmu.Lock()
	s.wbuf = append(s.wbuf, b...)
	s.parseOut()
	s.wmu.Unlock()
	select {
	case s.wq <- chunk{due: time.Now().Add(s.l.Delay), data: bytes.Clone(b)}:
		return len(b), nil
	case <-s.closed:
		return 0, io.ErrClosedPipe
	}
}

func (s *linkStream) writer() {
	for {
		select {
		case c := <-s.wq:
			time.Sleep(time.Until(c.due))
			if _, err := s.rwc.Write(c.data); err != nil {
				s.Close()
				return
			}
		case <-s.closed:
			return
		}
	}
}

func (s *linkStream) reader() {
	for {
		buf := make([]byte, 64<<10)
		n, err := s.rwc.Read(buf)
		c := chunk{due: time.Now().Add(s.l.Delay), data: buf[:n], err: err}
		select {
		case s.rq <- c:
		case <-s.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

func (s *linkStream) Read(b []byte) (int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	for len(s.rest) == 0 {
		if s.rerr != nil {
			return 0, s.rerr
		}
		var c chunk
		select {
		case c = <-s.rq:
		case <-s.closed:
			return 0, io.ErrClosedPipe
		}
		time.Sleep(time.Until(c.due))
		s.rest, s.rerr = c.data, c.err
		// Counted when the client gets it.
		s.rbuf = append(s.rbuf, c.data...)
		s.parseIn()
	}
	n := copy(b, s.rest)
	s.rest = s.rest[n:]
	return n, nil
}

func (s *linkStream) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		err = s.rwc.Close()
	})
	return err
}

// message returns the length of the whole D-Bus message at the start of
// b, or 0 if b does not hold one yet.
func message(b []byte) int {
	if len(b) < 16 {
		return 0
	}
	var order binary.ByteOrder = binary.LittleEndian
	if b[0] == 'B' {
		order = binary.BigEndian
	}
	body := int(order.Uint32(b[4:8]))
	fields := int(order.Uint32(b[12:16]))
	n := 16 + fields
	n = (n + 7) &^ 7
	n += body
	if len(b) < n {
		return 0
	}
	return n
}

// parseOut counts the client's method calls in wbuf.
func (s *linkStream) parseOut() {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if !s.wbin {
		i := bytes.Index(s.wbuf, []byte("BEGIN\r\n"))
		if i < 0 {
			return
		}
		s.wbuf = s.wbuf[i+len("BEGIN\r\n"):]
		s.wbin = true
	}
	for {
		n := message(s.wbuf)
		if n == 0 {
			return
		}
		typ, flags := s.wbuf[1], s.wbuf[2]
		l.out += int64(n)
		if typ == 1 && flags&1 == 0 { // a method call that wants an answer
			l.calls++
			if l.outstanding == 0 {
				l.roundTrips++
			}
			l.outstanding++
		}
		s.wbuf = s.wbuf[n:]
	}
}

// parseIn counts the answers in rbuf.
func (s *linkStream) parseIn() {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for !s.rbin {
		if len(s.rbuf) >= 4 && (s.rbuf[0] == 'l' || s.rbuf[0] == 'B') && s.rbuf[1] >= 1 && s.rbuf[1] <= 4 && s.rbuf[3] == 1 {
			s.rbin = true
			break
		}
		i := bytes.Index(s.rbuf, []byte("\r\n"))
		if i < 0 {
			return
		}
		s.rbuf = s.rbuf[i+2:]
	}
	for {
		n := message(s.rbuf)
		if n == 0 {
			return
		}
		l.in += int64(n)
		if typ := s.rbuf[1]; (typ == 2 || typ == 3) && l.outstanding > 0 {
			l.outstanding--
		}
		s.rbuf = s.rbuf[n:]
	}
}

// DelayCopy copies src to dst, holding every chunk back by d from when it
// was read (chunks keep flowing meanwhile: a link's latency, not its
// bandwidth). It returns when src ends, after the last chunk is written.
func DelayCopy(dst io.Writer, src io.Reader, d time.Duration) error {
	q := make(chan chunk, 4096)
	done := make(chan error, 1)
	go func() {
		var werr error
		for c := range q {
			time.Sleep(time.Until(c.due))
			if werr == nil && len(c.data) > 0 {
				_, werr = dst.Write(c.data)
			}
		}
		done <- werr
	}()
	for {
		buf := make([]byte, 64<<10)
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{due: time.Now().Add(d), data: buf[:n]}
		}
		if err != nil {
			close(q)
			werr := <-done
			if err == io.EOF {
				err = nil
			}
			if err == nil {
				err = werr
			}
			return err
		}
	}
}
