// Package slapdtest starts Debian's OpenLDAP server, slapd, as the tests'
// own instance: a temporary slapd.conf and database, a free loopback port
// for ldap:// (with StartTLS) and one for ldaps://, a self-signed
// certificate, and the entries a test adds through the root DN. slapd is
// installed by scripts/slapd.sh when missing (make test runs it; so does
// Start).
package slapdtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"berth.dev/berth/internal/tlstest"
)

// Suffix is the directory's base DN; RootDN and RootPassword its manager.
const (
	Suffix       = "dc=berth,dc=test"
	RootDN       = "cn=manager," + Suffix
	RootPassword = "manager-secret"
)

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:PORT (StartTLS offered), LDAPS the ldaps://
	// one; CAFile trusts the server's certificate.
	URL, LDAPS, CAFile string
	t                  testing.TB
}

// Start starts slapd for the test and stops it at its end.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := slapdBinary(t)
	dir := t.TempDir()
	cert, key, _ := tlstest.SelfSigned(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(config(dir, cert, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "ldap://127.0.0.1:" + freePort(t), LDAPS: "ldaps://127.0.0.1:" + freePort(t), CAFile: cert, t: t}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-d", "0", "-f", conf, "-h", s.URL+"/ "+s.LDAPS+"/")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	s.waitReady(t, &out)
	return s
}

// slapdBinary finds slapd, installing it with scripts/slapd.sh if missing.
func slapdBinary(t testing.TB) string {
	for _, p := range []string{"/usr/sbin/slapd", "slapd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "scripts", "slapd.sh")
	if out, err := exec.Command(script).CombinedOutput(); err != nil {
		t.Fatalf("install slapd with %s: %v\n%s", script, err, out)
	}
	path, err := exec.LookPath("/usr/sbin/slapd")
	if err != nil {
		t.Fatalf("slapd is not installed after %s: %v", script, err)
	}
	return path
}

func config(dir, cert, key string) string {
	return strings.NewReplacer("DIR", dir, "CERT", cert, "KEY", key, "SUFFIX", Suffix, "ROOTDN", RootDN, "ROOTPW", RootPassword).Replace(`
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile DIR/slapd.pid
argsfile DIR/slapd.args
TLSCertificateFile CERT
TLSCertificateKeyFile KEY
database mdb
maxsize 10485760
suffix "SUFFIX"
rootdn "ROOTDN"
rootpw ROOTPW
directory DIR/db
access to attrs=userPassword by anonymous auth by self write by * none
access to * by dn.exact="cn=reader,SUFFIX" read by self read by * none
`)
}

func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// waitReady polls until the root DN can bind, for up to 30 seconds.
func (s *Server) waitReady(t testing.TB, out *bytes.Buffer) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := goldap.DialURL(s.URL)
		if err == nil {
			err = c.Bind(RootDN, RootPassword)
			c.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd does not answer at %s: %v\n%s", s.URL, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Root runs fn on a connection bound as the root DN.
func (s *Server) Root(fn func(*goldap.Conn) error) {
	s.t.Helper()
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(RootDN, RootPassword); err != nil {
		s.t.Fatal(err)
	}
	if err := fn(c); err != nil {
		s.t.Fatal(err)
	}
}

// Add adds an entry with attrs (name → values) as the root DN.
func (s *Server) Add(dn string, attrs map[string][]string) {
	s.t.Helper()
	s.Root(func(c *goldap.Conn) error {
		req := goldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			req.Attribute(k, v)
		}
		return c.Add(req)
	})
}

// Modify replaces (op "replace"), adds or deletes the values of attr of dn.
func (s *Server) Modify(dn, op, attr string, values ...string) {
	s.t.Helper()
	s.Root(func(c *goldap.Conn) error {
		req := goldap.NewModifyRequest(dn, nil)
		switch op {
		case "add":
			req.Add(attr, values)
		case "delete":
			req.Delete(attr, values)
		default:
			req.Replace(attr, values)
		}
		return c.Modify(req)
	})
}

// Seed adds the tree the tests share: ou=people and ou=groups, the service
// account cn=reader (password "reader-secret"), users alice, bob, carol and
// dave (password "<name>-password"; carol's employeeType is "disabled"), and
// groups: devs {alice}, ops {bob}, payments {cn=devs} (nested: alice is in
// payments through devs), bank {cn=payments} (two levels deep).
func (s *Server) Seed() {
	s.t.Helper()
	s.Add(Suffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "o": {"Berth test"}, "dc": {"berth"}})
	s.Add("cn=reader,"+Suffix, map[string][]string{"objectClass": {"person"}, "cn": {"reader"}, "sn": {"reader"}, "userPassword": {"reader-secret"}})
	s.Add("ou=people,"+Suffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	s.Add("ou=groups,"+Suffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		attrs := map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {u}, "cn": {strings.ToUpper(u[:1]) + u[1:] + " Test"},
			"sn": {"Test"}, "mail": {u + "@bank.test"}, "userPassword": {u + "-password"}}
		if u == "carol" {
			attrs["employeeType"] = []string{"disabled"}
		}
		s.Add(UserDN(u), attrs)
	}
	s.Add(GroupDN("devs"), map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"devs"}, "member": {UserDN("alice")}})
	s.Add(GroupDN("ops"), map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"ops"}, "member": {UserDN("bob")}})
	s.Add(GroupDN("payments"), map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"payments"}, "member": {GroupDN("devs")}})
	s.Add(GroupDN("bank"), map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"bank"}, "member": {GroupDN("payments")}})
}

// OtherCA writes a self-signed certificate to dir that did not sign the
// server's, and returns its file: a CA the server's certificate fails.
func OtherCA(t testing.TB, dir string) string {
	cert, _, _ := tlstest.SelfSigned(t, dir)
	return cert
}

// UserDN and GroupDN name the seeded entries.
func UserDN(uid string) string { return "uid=" + uid + ",ou=people," + Suffix }
func GroupDN(cn string) string { return "cn=" + cn + ",ou=groups," + Suffix }
