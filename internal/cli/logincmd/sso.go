package logincmd

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/client"
)

// SSOTimeout is how long `berth login --sso` waits for the browser to come
// back.
const SSOTimeout = 5 * time.Minute

// ssoLogin signs in through provider in the browser (RFC 8252): it
// listens on a loopback port, sends the browser to the server's start URL
// with that address and the S256 challenge of a fresh verifier, waits for
// the browser to bring back the one-time code, and redeems it with the
// verifier for an API token.
func ssoLogin(ctx context.Context, env cli.Env, c *client.Client, provider, token string, noBrowser bool) (apitypes.LoginResponse, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return apitypes.LoginResponse{}, fmt.Errorf("listen on the loopback interface: %w", err)
	}
	defer ln.Close()
	verifier := oauth2.GenerateVerifier()
	loopback := "http://" + ln.Addr().String() + "/callback"
	start := c.Server + "/api/v1/sso/" + url.PathEscape(provider) + "/start?" +
		url.Values{"cli": {loopback}, "challenge": {oauth2.S256ChallengeFromVerifier(verifier)}}.Encode()

	codes := make(chan string, 1)
	srv := &http.Server{Handler: callback(codes), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	fmt.Fprintf(env.Stderr, "Sign in through %s in your browser (请在浏览器中登录):\n  %s\n", provider, start)
	if !noBrowser && env.OpenURL != nil {
		if err := env.OpenURL(ctx, start); err != nil {
			fmt.Fprintf(env.Stderr, "could not open a browser (%v): open the URL above yourself\n", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, SSOTimeout)
	defer cancel()
	var code string
	select {
	case code = <-codes:
	case <-ctx.Done():
		return apitypes.LoginResponse{}, fmt.Errorf("no sign-in came back to %s within %s: %w", loopback, SSOTimeout, ctx.Err())
	}
	req := apitypes.SSOTokenRequest{Code: code, Verifier: verifier, Token: apitypes.TokenRequest{Name: token}}
	var resp apitypes.LoginResponse
	return resp, c.Do(ctx, "POST", "/sso/token", req, &resp)
}

// callback answers the browser's return to the loopback address and hands
// the first code on; a request without one (a favicon, a stray visit) is
// answered 400 and changes nothing.
func callback(codes chan<- string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := r.URL.Query().Get("code")
		if r.URL.Path != "/callback" || code == "" || len(code) > 256 {
			http.Error(w, "not a Berth sign-in", http.StatusBadRequest)
			return
		}
		select {
		case codes <- code:
		default:
			http.Error(w, "this sign-in is already done", http.StatusConflict)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>Berth</title><p>%s</p><p>%s</p>",
			html.EscapeString("已登录，可以关闭此页面并回到命令行。"), html.EscapeString("Signed in: you can close this page and return to the command line."))
	})
}
