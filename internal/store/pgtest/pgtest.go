// Package pgtest runs a private PostgreSQL server for a test that must
// stop and start it (a database outage): initdb into a directory of its
// own, the server on a free loopback port, stopped and removed when the
// test ends. The shared test server (storetest.PostgresURL) is never
// touched. The binaries are this machine's (Debian's postgresql package,
// /usr/lib/postgresql/<version>/bin, installed by scripts/postgres.sh);
// when they are missing the test fails: a test that silently does not run
// proves nothing.
//
// PostgreSQL refuses to run as root: under root the server runs as the
// postgres OS user, in a directory that user owns.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinGlob is where the server's binaries are looked for; the newest
// version wins.
var BinGlob = "/usr/lib/postgresql/*/bin"

// Server is a private PostgreSQL server.
type Server struct {
	t    testing.TB
	bin  string
	dir  string // owned by the server's user: data and log
	port int
	as   []string // the command prefix that runs as the server's user
}

// Start initialises a database cluster in a new directory and starts a
// server on a free loopback port, with trust authentication for user
// postgres. It is stopped (immediately) and removed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binDir(t)
	s := &Server{t: t, bin: bin}
	dir, err := os.MkdirTemp("", "berth-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		s.asPostgres(t)
	}
	s.run("initdb", "-D", s.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C")
	s.port = freePort(t)
	s.Start()
	t.Cleanup(func() {
		if s.running() {
			s.Stop()
		}
	})
	return s
}

// asPostgres makes the server run as the postgres OS user, in a
// directory it owns.
func (s *Server) asPostgres(t testing.TB) {
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root, and there is no postgres user to run PostgreSQL as (it refuses root): %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(s.dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		t.Fatalf("running as root, and runuser is missing to run PostgreSQL as user postgres: %v", err)
	}
	s.as = []string{runuser, "-u", "postgres", "--"}
}

// URL is the server's address for user postgres and database "postgres".
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// Start starts the stopped server on its port again and waits until it
// accepts connections (after crash recovery, when it was stopped
// immediately).
func (s *Server) Start() {
	s.t.Helper()
	s.run("pg_ctl", "start", "-w", "-t", "120", "-D", s.data(), "-l", filepath.Join(s.dir, "server.log"),
		"-o", fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories='%s' -c fsync=off -c max_connections=200",
			s.port, s.dir))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.URL())
		if err == nil {
			_ = conn.Close(ctx)
			return
		}
		if ctx.Err() != nil {
			s.t.Fatalf("the private PostgreSQL on %s does not answer after it started: %v\n%s", s.Addr(), err, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server the way a crash or a pulled cable would, as
// `pg_ctl stop -m immediate` does: every connection is cut at once, and
// the next Start recovers from the write-ahead log.
func (s *Server) Stop() {
	s.t.Helper()
	s.run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", s.data())
}

// Log is the server's log so far, for a failure message.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) running() bool {
	_, err := os.Stat(filepath.Join(s.data(), "postmaster.pid"))
	return err == nil
}

// run runs one of the server's binaries as its user.
func (s *Server) run(name string, args ...string) {
	s.t.Helper()
	argv := append(append(append([]string{}, s.as...), filepath.Join(s.bin, name)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, s.Log())
	}
}

// binDir is the newest version's binary directory.
func binDir(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob(BinGlob)
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			found = append(found, d)
		}
	}
	if len(found) == 0 {
		t.Fatalf("no PostgreSQL server binaries under %s: install them with scripts/postgres.sh (make test does)", BinGlob)
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) < version(found[j]) })
	return found[len(found)-1]
}

// version is the major version in a …/postgresql/<version>/bin path.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// freePort is a loopback port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
