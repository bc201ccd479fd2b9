package gitsrc_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
	"github.com/reconciler-dev/reconciler/internal/redact"
)

// sshAuthFixture is a deploy repo served over SSH, a client key it accepts and
// a known_hosts file that trusts it.
type sshAuthFixture struct {
	repo       *gittest.Repo
	commit     string
	srv        *gittest.SSHServer
	key        string // private key file
	knownHosts string
}

func newSSHAuthFixture(t *testing.T) sshAuthFixture {
	t.Helper()
	r, c1 := seedRepo(t)
	key, pub := gittest.NewSSHKey(t)
	srv := r.ServeSSH(t, pub)
	return sshAuthFixture{repo: r, commit: c1, srv: srv, key: key, knownHosts: writeAuthFile(t, "known_hosts", srv.KnownHostsLine+"\n")}
}

func writeAuthFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustNewAuth(t *testing.T, url string, o gitsrc.AuthOptions) transport.AuthMethod {
	t.Helper()
	auth, err := gitsrc.NewAuth(url, o)
	if err != nil {
		t.Fatalf("NewAuth(%s): %v", url, err)
	}
	return auth
}

// authCalls runs Head and Fetch on a fresh Source and returns their errors.
func authCalls(t *testing.T, url string, auth transport.AuthMethod) map[string]error {
	t.Helper()
	s := newSource(t, gitsrc.Options{URL: url, Auth: auth, CacheDir: cacheDir(t)})
	_, herr := s.Head(t.Context())
	_, ferr := s.Fetch(t.Context(), "")
	return map[string]error{"Head": herr, "Fetch": ferr}
}

// TestSSHAuth: with the right key and a known_hosts file that trusts the
// server, Head, Fetch and ReadFile work over a real SSH server, for a
// first clone and a later fetch into the cache.
func TestSSHAuth(t *testing.T) {
	t.Parallel()
	f := newSSHAuthFixture(t)
	auth := mustNewAuth(t, f.srv.URL, gitsrc.AuthOptions{SSHKeyFile: f.key, KnownHostsFile: f.knownHosts})
	s := newSource(t, gitsrc.Options{URL: f.srv.URL, Auth: auth, CacheDir: cacheDir(t)})
	if got := fetch(t, s, head(t, s)); got != f.commit {
		t.Fatalf("Fetch = %.12s, want %.12s", got, f.commit)
	}
	if got := readFile(t, s, f.commit, "current.conf"); got != "version 1\n" {
		t.Fatalf("ReadFile = %q, want %q", got, "version 1\n")
	}
	f.repo.WriteFile("current.conf", []byte("version 2\n"))
	c2 := f.repo.Commit("version 2")
	if got := fetch(t, s, head(t, s)); got != c2 {
		t.Fatalf("second Fetch = %.12s, want %.12s", got, c2)
	}
	if got := readFile(t, s, c2, "current.conf"); got != "version 2\n" {
		t.Fatalf("ReadFile at the second commit = %q, want %q", got, "version 2\n")
	}
	if f.srv.UploadPacks() < 3 {
		t.Errorf("the SSH server ran git-upload-pack %d times, want at least 3 (2 listings, 1 clone)", f.srv.UploadPacks())
	}
}

// TestSSHWrongKey: a key the server does not accept gives ErrAuth.
func TestSSHWrongKey(t *testing.T) {
	t.Parallel()
	f := newSSHAuthFixture(t)
	other, _ := gittest.NewSSHKey(t)
	auth := mustNewAuth(t, f.srv.URL, gitsrc.AuthOptions{SSHKeyFile: other, KnownHostsFile: f.knownHosts})
	for name, err := range authCalls(t, f.srv.URL, auth) {
		if !errors.Is(err, gitsrc.ErrAuth) || errors.Is(err, gitsrc.ErrHostKey) {
			t.Errorf("%s with a wrong key: %v, want ErrAuth", name, err)
		}
	}
}

// TestSSHHostKeyRejected: a host key that known_hosts does not list, or
// lists differently, stops the call before any git command runs, with an
// error wrapping ErrHostKey that says what happened and how to fix it.
func TestSSHHostKeyRejected(t *testing.T) {
	t.Parallel()
	f := newSSHAuthFixture(t)
	_, otherKey := gittest.NewSSHKey(t)
	_, port, _ := strings.Cut(f.srv.Addr, ":")
	keyscan := "ssh-keyscan -p " + port + " 127.0.0.1 >> "
	for _, tc := range []struct {
		name, knownHosts string
		want             []string
	}{
		{"empty known_hosts", "", []string{"unknown", "--known-hosts", keyscan}},
		{"another host's key", knownhosts.Line([]string{"git.example.com"}, f.srv.HostKey) + "\n",
			[]string{"unknown", "--known-hosts", keyscan}},
		{"another port's key", knownhosts.Line([]string{"[127.0.0.1]:1"}, f.srv.HostKey) + "\n",
			[]string{"unknown", "--known-hosts", keyscan}},
		{"changed key", "# a comment\n" + knownhosts.Line([]string{knownhosts.Normalize(f.srv.Addr)}, otherKey) + "\n",
			[]string{"CHANGED", "man-in-the-middle", ":2 (--known-hosts)", ssh.FingerprintSHA256(otherKey),
				ssh.FingerprintSHA256(f.srv.HostKey), "ssh-keygen -R '[127.0.0.1]:" + port + "'", keyscan}},
		{"revoked key", "@revoked * " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(f.srv.HostKey))) + "\n" + f.srv.KnownHostsLine + "\n",
			[]string{"revoked", "man-in-the-middle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kh := writeAuthFile(t, "known_hosts", tc.knownHosts)
			auth := mustNewAuth(t, f.srv.URL, gitsrc.AuthOptions{SSHKeyFile: f.key, KnownHostsFile: kh})
			for name, err := range authCalls(t, f.srv.URL, auth) {
				t.Logf("%s: %v", name, err)
				if !errors.Is(err, gitsrc.ErrHostKey) || errors.Is(err, gitsrc.ErrUnreachable) {
					t.Errorf("%s: %v, want ErrHostKey and not ErrUnreachable", name, err)
					continue
				}
				for _, want := range append(tc.want, kh, redact.URL(f.srv.URL)) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: error %q does not say %q", name, err, want)
					}
				}
			}
			if n := f.srv.UploadPacks(); n != 0 {
				t.Errorf("the server ran git-upload-pack %d times for untrusted host keys, want 0", n)
			}
		})
	}
}

// TestSSHKnownHostsReread: the known_hosts file is read on every
// connection, so adding the key the error asked for fixes a running Source.
func TestSSHKnownHostsReread(t *testing.T) {
	t.Parallel()
	f := newSSHAuthFixture(t)
	kh := writeAuthFile(t, "known_hosts", "")
	auth := mustNewAuth(t, f.srv.URL, gitsrc.AuthOptions{SSHKeyFile: f.key, KnownHostsFile: kh})
	s := newSource(t, gitsrc.Options{URL: f.srv.URL, Auth: auth})
	if _, err := s.Head(t.Context()); !errors.Is(err, gitsrc.ErrHostKey) {
		t.Fatalf("Head with an empty known_hosts: %v, want ErrHostKey", err)
	}
	if err := os.WriteFile(kh, []byte(f.srv.KnownHostsLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := head(t, s); got != f.commit {
		t.Fatalf("Head after the key was added = %.12s, want %.12s", got, f.commit)
	}
}

// TestSSHDefaultFiles: without --ssh-key and --known-hosts, ~/.ssh/id_ed25519
// and ~/.ssh/known_hosts are used; without ~/.ssh/known_hosts NewAuth
// refuses, naming --known-hosts. (Not parallel: it sets HOME.)
func TestSSHDefaultFiles(t *testing.T) {
	f := newSSHAuthFixture(t)
	home := t.TempDir()
	t.Setenv("HOME", home)

	_, err := gitsrc.NewAuth(f.srv.URL, gitsrc.AuthOptions{SSHKeyFile: f.key})
	if err == nil || !strings.Contains(err.Error(), "--known-hosts") || !strings.Contains(err.Error(), "always checked") {
		t.Fatalf("NewAuth without any known_hosts: %v, want an error naming --known-hosts", err)
	}
	_, err = gitsrc.NewAuth(f.srv.URL, gitsrc.AuthOptions{KnownHostsFile: f.knownHosts})
	if err == nil || !strings.Contains(err.Error(), "--ssh-key") {
		t.Fatalf("NewAuth without any key: %v, want an error naming --ssh-key", err)
	}
	_, err = gitsrc.NewAuth(f.srv.URL, gitsrc.AuthOptions{SSHKeyFile: f.key, KnownHostsFile: filepath.Join(home, "nope")})
	if err == nil || !strings.Contains(err.Error(), "--known-hosts") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("NewAuth with a missing --known-hosts file: %v, want an error naming it", err)
	}

	copyAuthFile(t, f.key, filepath.Join(home, ".ssh", "id_ed25519"))
	copyAuthFile(t, f.knownHosts, filepath.Join(home, ".ssh", "known_hosts"))
	auth := mustNewAuth(t, f.srv.URL, gitsrc.AuthOptions{})
	s := newSource(t, gitsrc.Options{URL: f.srv.URL, Auth: auth})
	if got := head(t, s); got != f.commit {
		t.Fatalf("Head with ~/.ssh defaults = %.12s, want %.12s", got, f.commit)
	}
}

func copyAuthFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSSHKeyFileErrors: unusable key files are refused up front, naming
// the file and the reason.
func TestSSHKeyFileErrors(t *testing.T) {
	t.Parallel()
	f := newSSHAuthFixture(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pass-phrase"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, file, want string }{
		{"passphrase", writeAuthFile(t, "id_pass", string(pem.EncodeToMemory(block))), "passphrase"},
		{"public key", writeAuthFile(t, "id.pub", string(ssh.MarshalAuthorizedKey(pub))), "public key"},
		{"garbage", writeAuthFile(t, "id_junk", "not a key\n"), "not a private key"},
		{"missing", filepath.Join(t.TempDir(), "id_missing"), "no such file"},
	} {
		_, err := gitsrc.NewAuth(f.srv.URL, gitsrc.AuthOptions{SSHKeyFile: tc.file, KnownHostsFile: f.knownHosts})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) ||
			!strings.Contains(err.Error(), "--ssh-key") {
			t.Errorf("%s: NewAuth: %v, want an error naming %s, --ssh-key and %q", tc.name, err, tc.file, tc.want)
		}
	}
}

// TestHTTPTokenAuth: a token from a file, from the environment's value or
// from a netrc file authenticates against a real smart-HTTP server; a wrong
// one gives ErrAuth; no error shows the token in any spelling.
func TestHTTPTokenAuth(t *testing.T) {
	t.Parallel()
	const token = "ghp_S3cr3t/T0ken+with=odd%chars"
	r, c1 := seedRepo(t)
	srv := r.ServeHTTP(t, gittest.WithBasicAuth(gitsrc.TokenUser, token))
	named := r.ServeHTTP(t, gittest.WithBasicAuth("bob", token))
	namedURL := strings.Replace(named.URL, "http://", "http://bob@", 1)
	noNetrc := writeAuthFile(t, "netrc", "") // so that $NETRC and ~/.netrc play no part

	good := []struct {
		name string
		url  string
		o    gitsrc.AuthOptions
	}{
		{"token file", srv.URL, gitsrc.AuthOptions{TokenFile: writeAuthFile(t, "token", "\n  "+token+"\n\n")}},
		{"token", srv.URL, gitsrc.AuthOptions{Token: token + "\n"}},
		{"token file wins", srv.URL, gitsrc.AuthOptions{TokenFile: writeAuthFile(t, "token", token), Token: "wrong"}},
		{"URL user with token", namedURL, gitsrc.AuthOptions{Token: token}},
		{"netrc", srv.URL, gitsrc.AuthOptions{NetrcFile: writeAuthFile(t, "netrc",
			"machine example.com login x password y\nmachine 127.0.0.1\n  login "+gitsrc.TokenUser+"\n  password "+token+"\n")}},
		{"netrc default", named.URL, gitsrc.AuthOptions{NetrcFile: writeAuthFile(t, "netrc", "default login bob password "+token+"\n")}},
	}
	for _, tc := range good {
		if tc.o.NetrcFile == "" {
			tc.o.NetrcFile = noNetrc
		}
		s := newSource(t, gitsrc.Options{URL: tc.url, Auth: mustNewAuth(t, tc.url, tc.o), CacheDir: cacheDir(t)})
		if got := fetch(t, s, head(t, s)); got != c1 {
			t.Errorf("%s: Fetch = %.12s, want %.12s", tc.name, got, c1)
		}
	}

	bad := []struct {
		name string
		o    gitsrc.AuthOptions
	}{
		{"no credentials", gitsrc.AuthOptions{NetrcFile: noNetrc}},
		{"wrong token file", gitsrc.AuthOptions{TokenFile: writeAuthFile(t, "token", token+"x")}},
		{"wrong token", gitsrc.AuthOptions{Token: "x" + token}},
		{"wrong netrc", gitsrc.AuthOptions{NetrcFile: writeAuthFile(t, "netrc", "machine 127.0.0.1 login bob password "+token+"\n")}},
	}
	for _, tc := range bad {
		for name, err := range authCalls(t, srv.URL, mustNewAuth(t, srv.URL, tc.o)) {
			if !errors.Is(err, gitsrc.ErrAuth) {
				t.Errorf("%s: %s: %v, want ErrAuth", tc.name, name, err)
			}
			assertNoSecret(t, err, token)
		}
	}
}

func assertNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), url.UserPassword("", secret).String()} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows the secret as %q", err, s)
		}
	}
}

// TestNewAuthChoices: which auth NewAuth picks, or refuses, by URL and
// options, without network.
func TestNewAuthChoices(t *testing.T) {
	t.Parallel()
	const token = "tok-3n-S3cret"
	netrc := writeAuthFile(t, "netrc", "machine git.example.com login alice password "+token+"\n")
	for _, tc := range []struct {
		name, url string
		o         gitsrc.AuthOptions
		want      string // the auth's user, "" for nil
	}{
		{"file URL", "file:///srv/deploy", gitsrc.AuthOptions{Token: token}, ""},
		{"local path", "/srv/deploy", gitsrc.AuthOptions{Token: token}, ""},
		{"git protocol", "git://git.example.com/deploy", gitsrc.AuthOptions{Token: token}, ""},
		{"URL password wins", "https://alice:pw@git.example.com/deploy", gitsrc.AuthOptions{Token: token, NetrcFile: netrc}, ""},
		{"token", "https://git.example.com/deploy", gitsrc.AuthOptions{Token: token, NetrcFile: netrc}, gitsrc.TokenUser},
		{"netrc by host", "https://GIT.example.com:8443/deploy", gitsrc.AuthOptions{NetrcFile: netrc}, "alice"},
		{"netrc other host", "https://other.example.com/deploy", gitsrc.AuthOptions{NetrcFile: netrc}, ""},
		{"netrc other login", "https://carol@git.example.com/deploy", gitsrc.AuthOptions{NetrcFile: netrc}, ""},
	} {
		auth, err := gitsrc.NewAuth(tc.url, tc.o)
		if err != nil {
			t.Errorf("%s: NewAuth: %v", tc.name, err)
			continue
		}
		got := ""
		if basic, ok := auth.(*githttp.BasicAuth); ok {
			got = basic.Username
			if basic.Password != token {
				t.Errorf("%s: password %q, want the token", tc.name, basic.Password)
			}
		} else if auth != nil {
			t.Errorf("%s: auth %T, want *http.BasicAuth", tc.name, auth)
		}
		if got != tc.want {
			t.Errorf("%s: auth %v, want user %q", tc.name, auth, tc.want)
		}
	}
}

// TestTokenFileErrors: an unusable token or netrc file is refused, naming
// the file and never its content.
func TestTokenFileErrors(t *testing.T) {
	t.Parallel()
	const secret = "S3cret-word"
	for _, tc := range []struct {
		name, file, want string
		o                func(string) gitsrc.AuthOptions
	}{
		{"empty token file", writeAuthFile(t, "token", " \n"), "empty",
			func(f string) gitsrc.AuthOptions { return gitsrc.AuthOptions{TokenFile: f} }},
		{"two words", writeAuthFile(t, "token", secret+"\n"+secret+"\n"), "more than one word",
			func(f string) gitsrc.AuthOptions { return gitsrc.AuthOptions{TokenFile: f} }},
		{"missing token file", filepath.Join(t.TempDir(), "token"), "no such file",
			func(f string) gitsrc.AuthOptions { return gitsrc.AuthOptions{TokenFile: f} }},
		{"missing netrc", filepath.Join(t.TempDir(), "netrc"), "no such file",
			func(f string) gitsrc.AuthOptions { return gitsrc.AuthOptions{NetrcFile: f} }},
		{"bad netrc", writeAuthFile(t, "netrc", "machine h login u\npasword "+secret+"\n"), "line 2",
			func(f string) gitsrc.AuthOptions { return gitsrc.AuthOptions{NetrcFile: f} }},
	} {
		_, err := gitsrc.NewAuth("https://git.example.com/deploy", tc.o(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: NewAuth: %v, want an error naming %s and saying %q", tc.name, err, tc.file, tc.want)
		}
		assertNoSecret(t, err, secret)
	}
}

// TestSSHURLForms: scp-like and ssh:// URLs get SSH auth with the URL's
// user ("git" if none), and advice for the host's own port.
func TestSSHURLForms(t *testing.T) {
	t.Parallel()
	key, _ := gittest.NewSSHKey(t)
	kh := writeAuthFile(t, "known_hosts", "")
	for url, user := range map[string]string{
		"git@git.example.com:org/deploy.git":       "git",
		"ssh://git.example.com/org/deploy.git":     "git",
		"ssh://deploy@git.example.com:2222/deploy": "deploy",
	} {
		auth := mustNewAuth(t, url, gitsrc.AuthOptions{SSHKeyFile: key, KnownHostsFile: kh})
		if auth == nil || auth.Name() != "ssh-public-keys" || !strings.Contains(auth.String(), "user: "+user+",") {
			t.Errorf("NewAuth(%s) = %v, want ssh-public-keys for user %s", url, auth, user)
		}
	}
	missing := filepath.Join(t.TempDir(), "known_hosts")
	for url, advice := range map[string]string{
		"git@git.example.com:org/deploy.git":       "ssh-keyscan git.example.com >> " + missing,
		"ssh://deploy@git.example.com:2222/deploy": "ssh-keyscan -p 2222 git.example.com >> " + missing,
	} {
		_, err := gitsrc.NewAuth(url, gitsrc.AuthOptions{SSHKeyFile: key, KnownHostsFile: missing})
		if err == nil || !strings.Contains(err.Error(), advice) || !strings.Contains(err.Error(), "--known-hosts") {
			t.Errorf("NewAuth(%s) with a missing known_hosts: %v, want advice %q", url, err, advice)
		}
	}
}
