package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
)

// readResponseKeepingConnection is http.ReadResponse that keeps the
// response's Connection header. net/http deletes that header when it
// names "close" (it becomes resp.Close), and with it the list of the other
// hop-by-hop headers it names: "Connection: close, X-Secret" would
// otherwise let X-Secret through to the client. The header's values are
// read from the buffered head first and put back after parsing, so the
// proxy removes what they name.
//
// A head larger than br's buffer may hold a Connection header past what
// can be peeked; if net/http then reports one that named "close", the
// response is refused rather than relayed with headers that should have
// been dropped.
func readResponseKeepingConnection(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	conn, whole := peekConnectionHeader(br)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, err
	}
	if _, kept := resp.Header["Connection"]; kept || !resp.Close {
		return resp, nil
	}
	if !whole {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: Connection: close in a head larger than %d bytes", errBadResponse, br.Size())
	}
	if len(conn) > 0 {
		resp.Header["Connection"] = conn
	}
	return resp, nil
}

// peekConnectionHeader returns the values of the Connection header lines
// of the response head buffered in br (continuation lines joined), and
// whether the whole head was seen. It reads more into the buffer while the
// head is incomplete but consumes nothing.
func peekConnectionHeader(br *bufio.Reader) (values []string, whole bool) {
	var buf []byte
	for {
		buf, _ = br.Peek(br.Buffered())
		if end := headEndLF(buf); end >= 0 {
			buf, whole = buf[:end], true
			break
		}
		// Read on only while the head is incomplete and fits the buffer:
		// Peek beyond what the upstream sent would wait for it.
		if br.Buffered() >= br.Size() {
			break
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			break
		}
	}
	// Line by line, without allocating unless a Connection header is
	// there: this runs for every response net/http reads.
	_, rest, _ := bytes.Cut(buf, []byte("\n")) // the status line
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		name, value, ok := bytes.Cut(bytes.TrimSuffix(line, []byte("\r")), []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimRight(name, " \t"), []byte("Connection")) {
			continue
		}
		for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			var cont []byte
			cont, rest, _ = bytes.Cut(rest, []byte("\n"))
			value = append(append(bytes.Clone(value), ' '), bytes.TrimSuffix(cont, []byte("\r"))...)
		}
		values = append(values, string(bytes.TrimSpace(value)))
	}
	return values, whole
}

// headEndLF returns the length of the head in buf up to the blank line
// that ends it (CRLF or bare LF line ends), or -1.
func headEndLF(buf []byte) int {
	for i := 0; i < len(buf); i++ {
		if buf[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(buf) && buf[i+1] == '\n':
			return i + 1
		case i+2 < len(buf) && buf[i+1] == '\r' && buf[i+2] == '\n':
			return i + 1
		}
	}
	return -1
}
