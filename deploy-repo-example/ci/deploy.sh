#!/bin/sh
# What the app repo's CI runs after a green build, to deploy a version:
#   1. upload the binary under a path that names the version (never
#      overwrite a published version: releases are immutable),
#   2. commit the bump to the deploy repo with `reconciler bump`: the digest
#      of the very bytes uploaded, this version's config committed next to
#      it, only the changed values of web/current.conf edited, the commit
#      signed and pushed (a push refused because someone pushed meanwhile
#      is redone on the new head). No clone of the deploy repo is needed.
#
# Usage: ci/deploy.sh VERSION BINARY CONFIG
#
# Settings come from the CI's variables and secrets, as RECONCILER_<FLAG>:
#   RECONCILER_REPO          the deploy repo (ssh://git@git.example.com/ops/deploy.git)
#   RECONCILER_SSH_KEY, RECONCILER_KNOWN_HOSTS   or RECONCILER_GIT_TOKEN for https
#   RECONCILER_SIGN_KEY      the key the agents' --verify-* flags trust
#   RECONCILER_ROLLOUT       set to <app>-<version> to start a staged rollout
set -eu
version=$1 binary=$2 config=$3
store=${ARTIFACT_STORE:-https://artifacts.example.com/web}
url="$store/$version/web-linux-amd64"

curl --fail --silent --show-error --upload-file "$binary" "$url"   # or: aws s3 cp, gsutil cp, ...

reconciler bump --path web/current.conf --version "$version" \
  --bin-url "$url" --bin-file "$binary" \
  --cfg-repo-file "$config" --cfg-path "web/cfg-$version.json"
