// Package console serves the built web console (web.Dist): Vite's hashed
// assets cached for a year, index.html never cached and answered for every
// other path so the console's client-side routes load, strict security
// headers on every answer, and a short page saying how to build the
// console when the binary was built without it.
package console

import (
	"bytes"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// CSP is the Content-Security-Policy of every answer: everything from the
// server itself, inline styles only (the component library writes its CSS
// in style elements), images also as data: URLs, no framing. Scripts may
// compile WebAssembly ('wasm-unsafe-eval', not 'unsafe-eval': no eval of
// JavaScript) for the terminal emulator of the recording player.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// Cache-Control values.
const (
	cacheAssets = "public, max-age=31536000, immutable"
	cacheIndex  = "no-cache"
)

// Handler serves the console built into fsys (the contents of web/dist:
// index.html and assets/). Only GET and HEAD are answered (405 otherwise):
// mount it at "/" — a "GET /" pattern would conflict with the API's
// method-less "/api/v1/" in net/http's ServeMux.
func Handler(fsys fs.FS) http.Handler {
	return &handler{fsys: fsys}
}

type handler struct{ fsys fs.FS }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secure(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	switch {
	case name == "assets" || strings.HasPrefix(name, "assets/"):
		h.asset(w, r, name)
	case name != "" && name != "index.html" && h.isFile(name):
		h.serveFile(w, r, name, cacheIndex)
	default:
		h.index(w, r)
	}
}

// secure sets the security headers of every answer.
func secure(hd http.Header) {
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
}

// asset serves one of Vite's hashed files, or 404: a missing asset is never
// answered with index.html, which the browser would run as a script.
func (h *handler) asset(w http.ResponseWriter, r *http.Request, name string) {
	if !h.isFile(name) {
		http.NotFound(w, r)
		return
	}
	if acceptsGzip(r) && h.isFile(name+".gz") {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		setType(w.Header(), name)
		h.serveFile(w, r, name+".gz", cacheAssets)
		return
	}
	h.serveFile(w, r, name, cacheAssets)
}

// index serves index.html, or says the console was not built.
func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	if !h.isFile("index.html") {
		notBuilt(w)
		return
	}
	h.serveFile(w, r, "index.html", cacheIndex)
}

func (h *handler) isFile(name string) bool {
	fi, err := fs.Stat(h.fsys, name)
	return err == nil && fi.Mode().IsRegular()
}

// serveFile writes the file name with cache; http.ServeContent answers
// HEAD, ranges and conditional requests.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, name, cache string) {
	data, err := fs.ReadFile(h.fsys, name)
	if err != nil {
		http.Error(w, "cannot read "+name, http.StatusInternalServerError)
		return
	}
	var mod time.Time
	if fi, err := fs.Stat(h.fsys, name); err == nil {
		mod = fi.ModTime()
	}
	w.Header().Set("Cache-Control", cache)
	setType(w.Header(), name)
	http.ServeContent(w, r, name, mod, bytes.NewReader(data))
}

// setType sets the content type by extension unless already set (a .gz
// sibling is served as its original).
func setType(hd http.Header, name string) {
	if hd.Get("Content-Type") != "" {
		return
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		hd.Set("Content-Type", t)
	}
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(coding) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// notBuilt answers 503 with a page saying how to build the console.
func notBuilt(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, notBuiltPage)
}

const notBuiltPage = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Berth</title></head>
<body>
<h1>控制台尚未构建 / Console not built</h1>
<p>此 berth 二进制文件不包含 Web 控制台，请运行 <code>make build</code> 后重新启动。API 位于 <code>/api/v1</code>。</p>
<p lang="en">This berth binary was built without the web console: run <code>make build</code> and restart. The API is at <code>/api/v1</code>.</p>
</body></html>
`
