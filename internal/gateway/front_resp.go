package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
)

// respHead is an upstream response head, parsed in place in the upstream
// connection's read buffer (valid until that buffer is read again).
type respHead struct {
	buf           []byte // the head, through its empty line
	code          int
	contentLength int64 // -1 when absent
	chunked       bool
	close         bool     // the upstream closes the connection after this response
	drop          [][]byte // header names listed in Connection
	dropBuf       [8][]byte
}

var (
	errRespHeadTooLarge = errors.New("upstream response head larger than the read buffer")
	errBadResponse      = errors.New("malformed upstream response")
)

// readRespHead reads the next final response head from uc, skipping
// interim (1xx) responses. An error wrapping errNoResponse means not one
// byte arrived.
func readRespHead(br *bufio.Reader, rh *respHead) error {
	for first := true; ; first = false {
		n, err := peekHead(br, first)
		if err != nil {
			return err
		}
		buf, _ := br.Peek(n)
		if err := rh.parse(buf); err != nil {
			return err
		}
		if rh.code >= 100 && rh.code < 200 {
			if rh.code == 101 {
				return fmt.Errorf("%w: 101 to a request that asked for no upgrade", errBadResponse)
			}
			_, _ = br.Discard(n)
			continue
		}
		return nil
	}
}

// peekHead fills br until it holds a complete head and returns its length.
func peekHead(br *bufio.Reader, first bool) (int, error) {
	for {
		buf, _ := br.Peek(br.Buffered())
		switch n := headEnd(buf); {
		case n > 0:
			return n, nil
		case n < 0:
			return 0, fmt.Errorf("%w: bare LF line end", errBadResponse)
		}
		if br.Buffered() == br.Size() {
			return 0, errRespHeadTooLarge
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			if first && br.Buffered() == 0 {
				return 0, fmt.Errorf("%w: %w", errNoResponse, err)
			}
			return 0, fmt.Errorf("read upstream response: %w", err)
		}
	}
}

func (rh *respHead) parse(buf []byte) error {
	*rh = respHead{buf: buf, contentLength: -1, drop: rh.dropBuf[:0]}
	line, rest, _ := bytes.Cut(buf, crlf)
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || (line[7] != '0' && line[7] != '1') ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return fmt.Errorf("%w: status line %q", errBadResponse, line)
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return fmt.Errorf("%w: status line %q", errBadResponse, line)
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return fmt.Errorf("%w: status line %q", errBadResponse, line)
	}
	rh.code, rh.close = code, line[7] == '0'
	for {
		line, rest, _ = bytes.Cut(rest, crlf)
		if len(line) == 0 {
			break
		}
		if err := rh.header(line); err != nil {
			return err
		}
	}
	if rh.chunked && rh.contentLength >= 0 {
		return fmt.Errorf("%w: both Content-Length and Transfer-Encoding", errBadResponse)
	}
	return nil
}

var crlf = []byte("\r\n")

func (rh *respHead) header(line []byte) error {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || !isToken(name) || !validValue(value) {
		return fmt.Errorf("%w: header line %q", errBadResponse, line)
	}
	value = trimOWS(value)
	switch {
	case equalFold(name, "Content-Length"):
		n, ok := parseLength(string(value))
		if !ok || (rh.contentLength >= 0 && rh.contentLength != n) {
			return fmt.Errorf("%w: Content-Length %q", errBadResponse, value)
		}
		rh.contentLength = n
	case equalFold(name, "Transfer-Encoding"):
		if !equalFold(value, "chunked") {
			return fmt.Errorf("%w: Transfer-Encoding %q", errBadResponse, value)
		}
		rh.chunked = true
	case equalFold(name, "Connection"):
		for tok := range bytes.SplitSeq(value, []byte(",")) {
			tok = trimOWS(tok)
			switch {
			case len(tok) == 0:
			case equalFold(tok, "close"):
				rh.close = true
			case equalFold(tok, "keep-alive"):
				// HTTP/1.0 keep-alive is not honoured: close after.
			case len(rh.drop) < len(rh.dropBuf):
				rh.drop = append(rh.drop, tok)
			default:
				return fmt.Errorf("%w: too many Connection tokens", errBadResponse)
			}
		}
	}
	return nil
}

// hopByHop reports whether a response header stops at the gateway.
func (rh *respHead) hopByHop(name []byte) bool {
	for _, h := range hopHeaders {
		if equalFold(name, h) {
			return true
		}
	}
	for _, d := range rh.drop {
		if bytes.EqualFold(name, d) {
			return true
		}
	}
	return false
}

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// writeHead writes the response head for the client: the upstream's status
// and end-to-end headers, then the gateway's framing headers.
func (rh *respHead) writeHead(w *bufio.Writer, chunkedOut, closeClient bool) {
	line, rest, _ := bytes.Cut(rh.buf, crlf)
	_, _ = w.WriteString("HTTP/1.1")
	_, _ = w.Write(line[8:])
	_, _ = w.Write(crlf)
	for {
		line, rest, _ = bytes.Cut(rest, crlf)
		if len(line) == 0 {
			break
		}
		name, _, _ := bytes.Cut(line, []byte(":"))
		if rh.hopByHop(name) && !(rh.chunked && equalFold(name, "Trailer")) {
			continue
		}
		_, _ = w.Write(line)
		_, _ = w.Write(crlf)
	}
	if chunkedOut {
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if closeClient {
		_, _ = w.WriteString("Connection: close\r\n")
	}
	_, _ = w.Write(crlf)
}

// relayError says which side of a body copy failed.
type relayError struct {
	read bool // reading the source failed (else writing the destination)
	err  error
}

func (e *relayError) Error() string { return e.err.Error() }
func (e *relayError) Unwrap() error { return e.err }

// relayN copies exactly n bytes from src to dst, through src's buffer.
// Before it waits for src it flushes dst, so that a slow stream reaches
// the other side as it comes and a fast one leaves in few writes.
func relayN(dst *bufio.Writer, src *bufio.Reader, n int64) (int64, error) {
	var done int64
	for done < n {
		if src.Buffered() == 0 {
			if err := dst.Flush(); err != nil {
				return done, &relayError{err: err}
			}
			if _, err := src.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return done, &relayError{read: true, err: err}
			}
		}
		k := int(min(int64(src.Buffered()), n-done))
		p, _ := src.Peek(k)
		if _, err := dst.Write(p); err != nil {
			return done, &relayError{err: err}
		}
		_, _ = src.Discard(k)
		done += int64(k)
	}
	return done, nil
}

// relayChunked copies a chunked body, chunk framing and trailers included,
// decoding and encoding it again so that its end is known.
func relayChunked(dst *bufio.Writer, src *bufio.Reader, buf []byte) (int64, error) {
	cr, cw := httputil.NewChunkedReader(src), httputil.NewChunkedWriter(dst)
	var done int64
	for {
		if src.Buffered() == 0 {
			if err := dst.Flush(); err != nil {
				return done, &relayError{err: err}
			}
		}
		n, err := cr.Read(buf)
		if n > 0 {
			if _, werr := cw.Write(buf[:n]); werr != nil {
				return done, &relayError{err: werr}
			}
			done += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return done, &relayError{read: true, err: err}
		}
	}
	if err := cw.Close(); err != nil {
		return done, &relayError{err: err}
	}
	return done, relayTrailers(dst, src)
}

// relayTrailers copies the trailer section after the last chunk.
func relayTrailers(dst *bufio.Writer, src *bufio.Reader) error {
	for range maxFastHeaders {
		line, err := src.ReadSlice('\n')
		if err != nil {
			return &relayError{read: true, err: err}
		}
		if !bytes.HasSuffix(line, crlf) {
			return &relayError{read: true, err: fmt.Errorf("%w: trailer line", errBadResponse)}
		}
		if name, value, ok := bytes.Cut(line[:len(line)-2], []byte(":")); len(line) > 2 &&
			(!ok || !isToken(name) || !validValue(value)) {
			return &relayError{read: true, err: fmt.Errorf("%w: trailer line", errBadResponse)}
		}
		if _, err := dst.Write(line); err != nil {
			return &relayError{err: err}
		}
		if len(line) == 2 {
			return nil
		}
	}
	return &relayError{read: true, err: fmt.Errorf("%w: too many trailers", errBadResponse)}
}

// relayToEOF copies a body delimited by the upstream closing its
// connection, chunk-encoded for the client.
func relayToEOF(dst *bufio.Writer, src *bufio.Reader) (int64, error) {
	cw := httputil.NewChunkedWriter(dst)
	var done int64
	for {
		if src.Buffered() == 0 {
			if err := dst.Flush(); err != nil {
				return done, &relayError{err: err}
			}
			if _, err := src.Peek(1); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return done, &relayError{read: true, err: err}
			}
		}
		p, _ := src.Peek(src.Buffered())
		if _, err := cw.Write(p); err != nil {
			return done, &relayError{err: err}
		}
		_, _ = src.Discard(len(p))
		done += int64(len(p))
	}
	if err := cw.Close(); err != nil {
		return done, &relayError{err: err}
	}
	if _, err := dst.Write(crlf); err != nil {
		return done, &relayError{err: err}
	}
	return done, nil
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 || (c|0x20 < 'a' || c|0x20 > 'z') && c != d {
			return false
		}
	}
	return true
}
