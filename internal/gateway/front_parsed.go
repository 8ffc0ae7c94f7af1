package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"
)

// This file is the fast front end's fallback for upstream response heads
// its strict parser declines (larger than the read buffer, bare LF line
// ends, unusual status lines): net/http's reader parses them, as it does on
// the net/http front end, so such upstreams behave the same on both.

// readResponse reads the final response head with http.ReadResponse,
// skipping interim responses.
func readResponse(uc *upConn, method string) (*http.Response, error) {
	req := &http.Request{Method: method}
	for {
		resp, err := readResponseKeepingConnection(uc.br, req)
		if err != nil {
			return nil, fmt.Errorf("read upstream response: %w", err)
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("%w: 101 to a request that asked for no upgrade", errBadResponse)
		}
		if resp.StatusCode >= 200 {
			return resp, nil
		}
	}
}

// relayParsed writes a response read by net/http to the client.
func (g *Gateway) relayParsed(c *fconn, uc *upConn, resp *http.Response, hadDeadline bool) outcome {
	noBody := c.req.method == http.MethodHead || resp.StatusCode == http.StatusNoContent ||
		resp.StatusCode == http.StatusNotModified
	o := outcome{status: resp.StatusCode, keep: !c.req.close && !c.f.closing.Load()}
	chunked := !noBody && resp.ContentLength < 0
	writeParsedHead(c.bw, resp, chunked, !o.keep)
	var err error
	switch {
	case noBody:
	case chunked:
		cw := httputil.NewChunkedWriter(c.bw)
		o.bytes, err = copyFlushing(cw, c.bw, resp.Body, uc.br)
		if err == nil {
			err = finishChunked(cw, c.bw, resp.Trailer)
		}
	default:
		o.bytes, err = copyFlushing(c.bw, c.bw, resp.Body, uc.br)
	}
	if err != nil {
		g.log.Debug("response relay failed", "err", err.Error())
		uc.nc.Close()
		return outcome{status: o.status, bytes: o.bytes}
	}
	o.completed = true
	if resp.Close || uc.br.Buffered() > 0 {
		uc.nc.Close()
		return o
	}
	if hadDeadline {
		_ = uc.nc.SetDeadline(time.Time{})
	}
	c.f.t.put(uc)
	return o
}

func writeParsedHead(w *bufio.Writer, resp *http.Response, chunked, closeClient bool) {
	h := resp.Header
	for _, f := range h["Connection"] {
		for tok := range strings.SplitSeq(f, ",") {
			h.Del(strings.TrimSpace(tok))
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
	h.Del("Content-Length")
	_, _ = w.WriteString("HTTP/1.1 ")
	_, _ = w.WriteString(strconv.Itoa(resp.StatusCode))
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode))))
	_, _ = w.WriteString("\r\n")
	_ = h.Write(w)
	switch {
	case chunked:
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	case resp.ContentLength >= 0:
		_, _ = w.WriteString("Content-Length: " + strconv.FormatInt(resp.ContentLength, 10) + "\r\n")
	}
	if closeClient {
		_, _ = w.WriteString("Connection: close\r\n")
	}
	_, _ = w.WriteString("\r\n")
}

// copyFlushing copies body to dst, flushing out before it waits for the
// upstream (src is the reader body draws from).
func copyFlushing(dst io.Writer, out *bufio.Writer, body io.Reader, src *bufio.Reader) (int64, error) {
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	var done int64
	for {
		if src.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				return done, err
			}
		}
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return done, werr
			}
			done += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return done, nil
		}
		if err != nil {
			return done, err
		}
	}
}

func finishChunked(cw io.WriteCloser, w *bufio.Writer, trailer http.Header) error {
	if err := cw.Close(); err != nil {
		return err
	}
	if err := trailer.Write(w); err != nil {
		return err
	}
	_, err := w.WriteString("\r\n")
	return err
}
