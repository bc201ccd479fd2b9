package gitsrc

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/reconciler-dev/reconciler/internal/redact"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"

	"github.com/reconciler-dev/reconciler/internal/errclass"
)

// TokenUser is the HTTP basic-auth user name sent with a token when the
// repo URL names no user. GitHub documents "x-access-token" for app and
// Actions tokens and ignores the name for personal tokens; GitLab and
// Gitea/Forgejo ignore the name when the password is a token. Hosts that
// want a particular name (Bitbucket's "x-token-auth", a GitLab deploy
// token's name) get it from the URL: https://x-token-auth@bitbucket.org/...
const TokenUser = "x-access-token"

// sshDialTimeout bounds the TCP connect of an SSH remote call: go-git's SSH
// transport does not obey the call's context until the session is set up.
const sshDialTimeout = 30 * time.Second

// ErrHostKey: an SSH server's host key is not trusted, because the
// known_hosts file has no key for the host, has another key for it (it
// changed: maybe a man-in-the-middle) or revokes it. Someone must check
// the key and fix the known_hosts file; retrying does not help.
var ErrHostKey = errclass.New(errclass.NeedsPerson, "ssh host key not trusted")

// AuthOptions are the operator's credential settings (cmd/reconciler
// passes its flags).
type AuthOptions struct {
	// SSHKeyFile (--ssh-key) is a private key in PEM or OpenSSH format,
	// without a passphrase. "" means the first of ~/.ssh/id_ed25519,
	// id_ecdsa and id_rsa that exist, as ssh(1) does.
	SSHKeyFile string
	// KnownHostsFile (--known-hosts) holds the trusted SSH host keys. ""
	// means ~/.ssh/known_hosts, which must then exist: host keys are
	// always checked.
	KnownHostsFile string
	// TokenFile (--git-token-file) holds an HTTPS token; surrounding
	// whitespace is trimmed. It wins over Token.
	TokenFile string
	// Token is an HTTPS token given directly (RECONCILER_GIT_TOKEN; the
	// caller reads the environment).
	Token string
	// NetrcFile supplies HTTPS basic auth for the repo's host when there is
	// no token. "" means $NETRC, or ~/.netrc if it exists.
	NetrcFile string
}

// NewAuth returns the transport.AuthMethod for the repo at rawURL, or nil
// when none applies (file://, a local path, git://, or HTTP(S) without any
// credentials configured).
//
// ssh:// and git@host:path get the SSH key with strict host key checking
// against the known_hosts file (read again on every connection, so an
// edited file counts at once); an unknown, changed or revoked host key
// fails the remote call with an error wrapping ErrHostKey that says how to
// fix it. A key file with a passphrase is an error.
//
// http(s):// gets, in this order: nothing if the URL carries a password
// (git's own precedence); the token (TokenFile, then Token) as the basic-auth
// password, with the URL's user name or TokenUser; the netrc entry for the
// host. A token sent over plain http:// can be read on the way, as with git.
//
// Errors name the files involved and never show a secret.
func NewAuth(rawURL string, o AuthOptions) (transport.AuthMethod, error) {
	u, err := normaliseURL(rawURL)
	if err != nil {
		return nil, err
	}
	ep, err := transport.NewEndpoint(u)
	if err != nil {
		return nil, fmt.Errorf("deploy repo URL %s: %w", redact.URL(u), err)
	}
	switch ep.Protocol {
	case "ssh":
		return sshAuth(ep, o)
	case "http", "https":
		return httpAuth(u, o)
	}
	return nil, nil
}

// httpAuth picks the basic auth for an http(s) URL, as NewAuth describes.
func httpAuth(raw string, o AuthOptions) (transport.AuthMethod, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("deploy repo URL %s: does not parse", redact.URL(raw))
	}
	var login string
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			return nil, nil
		}
		login = u.User.Username()
	}
	token, err := readToken(o)
	if err != nil {
		return nil, err
	}
	if token != "" {
		user := login
		if user == "" {
			user = TokenUser
		}
		return &githttp.BasicAuth{Username: user, Password: token}, nil
	}
	entries, err := readNetrc(o.NetrcFile)
	if err != nil {
		return nil, err
	}
	e, ok := lookupNetrc(entries, u.Hostname(), u.Host, login)
	if !ok || (e.login == "" && e.password == "") {
		return nil, nil
	}
	user := e.login
	switch {
	case user == "" && login != "":
		user = login
	case user == "":
		user = TokenUser
	}
	return &githttp.BasicAuth{Username: user, Password: e.password}, nil
}

// readToken returns the token from o.TokenFile, else o.Token, trimmed.
func readToken(o AuthOptions) (string, error) {
	if o.TokenFile == "" {
		return strings.TrimSpace(o.Token), nil
	}
	data, err := os.ReadFile(o.TokenFile)
	if err != nil {
		return "", fmt.Errorf("read git token file (--git-token-file): %w", err) // *PathError names the file
	}
	token := strings.TrimSpace(string(data))
	switch {
	case token == "":
		return "", fmt.Errorf("git token file %s (--git-token-file) is empty", o.TokenFile)
	case strings.ContainsAny(token, " \t\r\n"):
		return "", fmt.Errorf("git token file %s (--git-token-file) holds more than one word; it must hold only the token", o.TokenFile)
	}
	return token, nil
}

// sshKeyAuth authenticates with public keys and checks the host key
// against a known_hosts file. It implements go-git's ssh.AuthMethod.
type sshKeyAuth struct {
	user       string
	signers    []ssh.Signer
	knownHosts knownHostsFile
	hostPort   string // as go-git dials it, for the host key algorithms
}

// sshAuth builds the SSH auth for ep; it checks the key and the
// known_hosts file now, so that a mistake shows at start-up.
func sshAuth(ep *transport.Endpoint, o AuthOptions) (transport.AuthMethod, error) {
	port := ep.Port
	if port <= 0 {
		port = 22
	}
	hostPort := net.JoinHostPort(ep.Host, strconv.Itoa(port))
	kh, err := chooseKnownHosts(o.KnownHostsFile, hostPort)
	if err != nil {
		return nil, err
	}
	if _, _, err := kh.load(hostPort); err != nil {
		return nil, err
	}
	signers, err := sshSigners(o.SSHKeyFile)
	if err != nil {
		return nil, err
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	return &sshKeyAuth{user: user, signers: signers, knownHosts: kh, hostPort: hostPort}, nil
}

// Name implements transport.AuthMethod.
func (a *sshKeyAuth) Name() string { return gitssh.PublicKeysName }

// String implements transport.AuthMethod; it shows no key.
func (a *sshKeyAuth) String() string {
	return fmt.Sprintf("user: %s, name: %s, known_hosts: %s", a.user, a.Name(), a.knownHosts.path)
}

// ClientConfig implements go-git's ssh.AuthMethod; go-git calls it for
// every connection. The host key algorithms are limited to the types
// known_hosts lists for the host, so that a server with several host keys
// offers one we can check instead of setting off a false "changed" alarm.
func (a *sshKeyAuth) ClientConfig() (*ssh.ClientConfig, error) {
	callback, algos, err := a.knownHosts.load(a.hostPort)
	if err != nil {
		return nil, err
	}
	return &ssh.ClientConfig{
		User:              a.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(a.signers...)},
		HostKeyCallback:   callback,
		HostKeyAlgorithms: algos,
		Timeout:           sshDialTimeout,
	}, nil
}

// sshSigners reads the private key file, or the default identities.
func sshSigners(file string) ([]ssh.Signer, error) {
	if file != "" {
		s, err := readSSHKey(file)
		if err != nil {
			return nil, err
		}
		return []ssh.Signer{s}, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("ssh key: no --ssh-key given and no home directory to look in: %w", err)
	}
	var signers []ssh.Signer
	var errs []error
	for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		path := filepath.Join(home, ".ssh", name)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		s, err := readSSHKey(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		signers = append(signers, s)
	}
	switch {
	case len(signers) > 0:
		return signers, nil
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	}
	return nil, fmt.Errorf("ssh key: give --ssh-key FILE (there is no %s/.ssh/id_ed25519, id_ecdsa or id_rsa either)", home)
}

// readSSHKey parses a private key file; errors name the file and the flag.
func readSSHKey(path string) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ssh key (--ssh-key): %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("ssh key %s (--ssh-key) is protected by a passphrase, which an unattended reconciler cannot type: use a key without one", path)
	case err != nil && strings.HasPrefix(strings.TrimSpace(string(data)), "ssh-"):
		return nil, fmt.Errorf("ssh key %s (--ssh-key) is a public key; give the private key file", path)
	case err != nil:
		return nil, fmt.Errorf("ssh key %s (--ssh-key) is not a private key in PEM or OpenSSH format: %w", path, err)
	}
	return s, nil
}

// knownHostsFile is the known_hosts file in use, and whether the operator
// chose it (--known-hosts) or it is the default.
type knownHostsFile struct {
	path    string
	flagged bool
}

// flag describes where the file came from, for messages.
func (k knownHostsFile) flag() string {
	if k.flagged {
		return "--known-hosts"
	}
	return "the default without --known-hosts"
}

// chooseKnownHosts returns the --known-hosts file, or ~/.ssh/known_hosts;
// it must exist, because host keys are always checked.
func chooseKnownHosts(file, hostPort string) (knownHostsFile, error) {
	if file != "" {
		if _, err := os.Stat(file); err != nil {
			return knownHostsFile{}, fmt.Errorf("known_hosts file (--known-hosts): %w; create it with the server's key after checking its fingerprint: %s", err, keyscan(hostPort, file))
		}
		return knownHostsFile{path: file, flagged: true}, nil
	}
	home, err := os.UserHomeDir()
	if err == nil {
		path := filepath.Join(home, ".ssh", "known_hosts")
		if _, err = os.Stat(path); err == nil {
			return knownHostsFile{path: path}, nil
		}
	}
	return knownHostsFile{}, fmt.Errorf("ssh host keys are always checked, and there is no --known-hosts FILE nor ~/.ssh/known_hosts (%v): create one with the server's key after checking its fingerprint (%s) and pass it with --known-hosts", err, keyscan(hostPort, "FILE"))
}

// load reads the file and returns a strict host key callback and the host
// key algorithms known for hostPort.
func (k knownHostsFile) load(hostPort string) (ssh.HostKeyCallback, []string, error) {
	if _, err := os.Stat(k.path); err != nil { // go-git's own message would point at SSH_KNOWN_HOSTS
		return nil, nil, fmt.Errorf("known_hosts file (%s): %w", k.flag(), err)
	}
	db, err := gitssh.NewKnownHostsDb(k.path)
	if err != nil {
		return nil, nil, fmt.Errorf("known_hosts file %s (%s): %w", k.path, k.flag(), err)
	}
	check := db.HostKeyCallback()
	callback := func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := check(host, remote, key)
		var keyErr *xknownhosts.KeyError
		var revoked *xknownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &keyErr):
			return &hostKeyError{host: host, file: k, offered: key, known: keyErr.Want}
		case errors.As(err, &revoked):
			return &hostKeyError{host: host, file: k, offered: key, known: []xknownhosts.KnownKey{revoked.Revoked}, revoked: true}
		}
		return fmt.Errorf("check ssh host key of %s against %s: %w", host, k.path, err)
	}
	return callback, db.HostKeyAlgorithms(hostPort), nil
}

// hostKeyError is a host key that known_hosts does not trust.
type hostKeyError struct {
	host    string // host:port as dialled
	file    knownHostsFile
	offered ssh.PublicKey
	known   []xknownhosts.KnownKey // empty: the host is unknown
	revoked bool
}

func (e *hostKeyError) Unwrap() error { return ErrHostKey }

func (e *hostKeyError) Error() string {
	name := xknownhosts.Normalize(e.host)
	offered := e.offered.Type() + " " + ssh.FingerprintSHA256(e.offered)
	switch {
	case e.revoked:
		return fmt.Sprintf("ssh host key of %s is revoked (@revoked at %s:%d, %s): refusing to connect; this may be a man-in-the-middle attack",
			name, e.known[0].Filename, e.known[0].Line, e.file.flag())
	case len(e.known) > 0:
		k := e.known[0]
		return fmt.Sprintf("ssh host key of %s has CHANGED: %s:%d (%s) lists %s %s, the server offered %s; "+
			"this may be a man-in-the-middle attack; if the server's key was replaced on purpose, check the new fingerprint out of band, "+
			"remove the old key (ssh-keygen -R '%s' -f %s) and add the new one (%s)",
			name, k.Filename, k.Line, e.file.flag(), k.Key.Type(), ssh.FingerprintSHA256(k.Key), offered,
			name, e.file.path, keyscan(e.host, e.file.path))
	}
	return fmt.Sprintf("ssh host key of %s is unknown: %s (%s) has no key for it; the server offered %s; "+
		"if that is the server's key (check the fingerprint out of band), add it: %s",
		name, e.file.path, e.file.flag(), offered, keyscan(e.host, e.file.path))
}

// keyscan returns the command that appends hostPort's host keys to file.
func keyscan(hostPort, file string) string {
	host, port, err := net.SplitHostPort(hostPort)
	switch {
	case err != nil:
		return fmt.Sprintf("ssh-keyscan %s >> %s", hostPort, file)
	case port == "22":
		return fmt.Sprintf("ssh-keyscan %s >> %s", host, file)
	}
	return fmt.Sprintf("ssh-keyscan -p %s %s >> %s", port, host, file)
}
