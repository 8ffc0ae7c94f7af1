// Package pipelinetest gives pipeline tests the real things they build
// against: a Git server (the git binary's http-backend behind net/http/cgi
// on loopback) holding repositories the test commits to, and Debian's
// docker-registry on a loopback port.
package pipelinetest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitServer serves the bare repositories under Root over smart HTTP.
type GitServer struct {
	Root string
	URL  string
	t    *testing.T

	mu   sync.Mutex
	held chan struct{} // closed when the hold ends; nil: not held
}

// StartGit starts a Git server on loopback for the test's lifetime.
func StartGit(t *testing.T) *GitServer {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is missing: %v", err)
	}
	root := t.TempDir()
	execPath := strings.TrimSpace(run(t, "", git, "--exec-path"))
	h := &cgi.Handler{
		Path: filepath.Join(execPath, "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	s := &GitServer{Root: root, t: t}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		held := s.held
		s.mu.Unlock()
		if held != nil {
			select {
			case <-held:
			case <-r.Context().Done():
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Hold makes the server hold every request it receives from now on (a
// clone in progress waits, as on a slow link) until the returned function
// is called, at the latest when the test ends.
func (s *GitServer) Hold() (release func()) {
	s.mu.Lock()
	held := make(chan struct{})
	s.held = held
	s.mu.Unlock()
	release = sync.OnceFunc(func() {
		s.mu.Lock()
		if s.held == held {
			s.held = nil
		}
		s.mu.Unlock()
		close(held)
	})
	s.t.Cleanup(release) // before the server closes: it waits for held requests
	return release
}

// Repo is a working copy whose pushes go to a bare repository of a GitServer.
type Repo struct {
	Dir string
	// URL is the repository's clone URL.
	URL string
	t   *testing.T
}

// NewRepo makes bare repository name.git on s (receiving pushes over
// HTTP) and a working copy of it with one commit of files on main.
func (s *GitServer) NewRepo(name string, files map[string]string) *Repo {
	t := s.t
	t.Helper()
	bare := filepath.Join(s.Root, name+".git")
	run(t, "", "git", "init", "--quiet", "--bare", "--initial-branch=main", bare)
	run(t, bare, "git", "config", "http.receivepack", "true")
	r := &Repo{Dir: t.TempDir(), URL: s.URL + "/" + name + ".git", t: t}
	run(t, r.Dir, "git", "init", "--quiet", "--initial-branch=main")
	run(t, r.Dir, "git", "remote", "add", "origin", r.URL)
	r.Commit(files, "first commit")
	return r
}

// Commit writes files, commits them and pushes main over HTTP; it returns
// the commit.
func (r *Repo) Commit(files map[string]string, msg string) string {
	t := r.t
	t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, r.Dir, "git", "add", "-A")
	run(t, r.Dir, "git", "-c", "user.name=Dora", "-c", "user.email=dora@bank.example", "commit", "--quiet", "-m", msg)
	run(t, r.Dir, "git", "push", "--quiet", "origin", "main")
	return strings.TrimSpace(run(t, r.Dir, "git", "rev-parse", "HEAD"))
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// StartRegistry runs Debian's docker-registry (scripts/registry.sh
// installs it) on a loopback port, storing under the test's temporary
// directory, and returns its host:port.
func StartRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("Debian's docker-registry is missing: run scripts/registry.sh (make test does): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s}\n",
		filepath.Join(dir, "data"), addr), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry did not answer on %s: %v\n%s", addr, err, logs.String())
		}
	}
}

// HelloGo is a small Go program: go.mod and main.go printing greeting.
func HelloGo(greeting string) map[string]string {
	return map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(" + fmt.Sprintf("%q", greeting) + ") }\n",
	}
}

// NodeSite is a Node static front end without dependencies (so npm ci
// needs no registry): npm run build writes dist/index.html showing
// greeting and dist/assets/app.js.
func NodeSite(greeting string) map[string]string {
	return map[string]string{
		"package.json": `{"name": "teller-site", "version": "1.0.0", "private": true, "scripts": {"build": "node build.js"}}` + "\n",
		"package-lock.json": `{"name": "teller-site", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {"": {"name": "teller-site", "version": "1.0.0"}}}` + "\n",
		"greeting.txt": greeting + "\n",
		"build.js": `const fs = require("fs");
fs.mkdirSync("dist/assets", {recursive: true});
const g = fs.readFileSync("greeting.txt", "utf8").trim();
fs.writeFileSync("dist/index.html", "<h1>" + g + "</h1>\n");
fs.writeFileSync("dist/assets/app.js", "console.log(" + JSON.stringify(g) + ");\n");
`,
	}
}

// MavenService is a Java program built by Maven with one dependency from
// Debian's packaged repository (commons-cli, scripts/maven.sh installs
// it): bank.teller.Main prints greeting, read from a resource, after
// parsing its arguments with commons-cli.
func MavenService(greeting string) map[string]string {
	return map[string]string{
		"pom.xml": `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bank</groupId><artifactId>teller</artifactId><version>1.0</version><packaging>jar</packaging>
  <properties><maven.compiler.release>17</maven.compiler.release><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding></properties>
  <dependencies><dependency><groupId>commons-cli</groupId><artifactId>commons-cli</artifactId><version>1.5.0</version></dependency></dependencies>
</project>
`,
		"src/main/resources/greeting.txt": greeting + "\n",
		"src/main/java/bank/teller/Main.java": `package bank.teller;

import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Options;

public class Main {
    public static void main(String[] args) throws Exception {
        new DefaultParser().parse(new Options(), args);
        System.out.println(new String(Main.class.getResourceAsStream("/greeting.txt").readAllBytes(), "UTF-8").trim());
    }
}
`,
	}
}
