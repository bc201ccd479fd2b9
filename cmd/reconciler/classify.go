package main

import (
	"errors"

	"github.com/reconciler-dev/reconciler/artifacts"
	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/internal/agecfg"
	"github.com/reconciler-dev/reconciler/reconcile"
)

// needsPerson are the errors of the wired parts that no wait fixes: the
// deploy repo, an artifact's publication, the credentials or the host's
// trust must change. Everything else (unreachable hosts, 5xx, timeouts, a
// full disk, a 404 of a URL artifact still being published) is retried; a registry's or
// bucket's 401, 403 or 404 needs a person (its reference is pinned).
var needsPerson = []error{
	gitsrc.ErrRefNotFound, gitsrc.ErrFileNotFound, gitsrc.ErrPathEscapes, gitsrc.ErrAuth,
	gitsrc.ErrRepoNotFound, gitsrc.ErrFileTooLarge, gitsrc.ErrHostKey,
	artifacts.ErrDigestMismatch, artifacts.ErrImmutable, artifacts.ErrTooLarge,
	artifacts.ErrUnsupportedScheme, artifacts.ErrInsecureRedirect,
	artifacts.ErrAccessDenied, artifacts.ErrNotFound, artifacts.ErrNotPinned,
	agecfg.ErrDecrypt,
}

// classify sorts an error for the engine: reconcile's own rules, then the
// wired parts' errors.
func classify(err error) reconcile.ErrorClass {
	if c := reconcile.Classify(err); c == reconcile.ClassNeedsPerson {
		return c
	}
	for _, e := range needsPerson {
		if errors.Is(err, e) {
			return reconcile.ClassNeedsPerson
		}
	}
	return reconcile.ClassRetry
}
