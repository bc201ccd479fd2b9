package main

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// appCredential resolves --app-user: the uid, gid and supplementary groups
// the app the agent starts (--exec) runs as, so that it does not run as
// root. "" is nil: the app runs as the agent's user. os/user reads
// /etc/passwd and /etc/group (CGO_ENABLED=0); a user only NSS knows (LDAP,
// sssd) is not found by the release binary: give its uid.
func appCredential(name string) (*syscall.Credential, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil, &usageError{msg: fmt.Sprintf("--app-user %s: no such user", name)}
		}
	}
	uid, errU := strconv.ParseUint(u.Uid, 10, 32)
	gid, errG := strconv.ParseUint(u.Gid, 10, 32)
	if errU != nil || errG != nil {
		return nil, &usageError{msg: fmt.Sprintf("--app-user %s: uid %q or gid %q is not a number", name, u.Uid, u.Gid)}
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("--app-user %s: its groups: %w", name, err)
	}
	for _, id := range ids {
		g, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--app-user %s: group id %q is not a number", name, id)
		}
		cred.Groups = append(cred.Groups, uint32(g))
	}
	return cred, nil
}
