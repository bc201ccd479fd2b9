#!/usr/bin/env bash
# What the app repo's CI does after a green build, to deploy a version:
#   1. upload the binary to the artifact store under a path that names the
#      version (never overwrite a published version: releases are immutable),
#   2. commit the bump, with the digest, to the deploy repo.
# Usage: ci/publish.sh VERSION BINARY   (run from a clone of the deploy repo)
set -euo pipefail
version=$1 binary=$2
store=${ARTIFACT_STORE:-https://artifacts.example.com/web}
url="$store/$version/web-linux-amd64"

digest=$(sha256sum "$binary" | cut -d' ' -f1)
curl --fail --silent --show-error --upload-file "$binary" "$url"   # or: aws s3 cp, gsutil cp, ...

# The config of this version lives in the deploy repo, next to the bump.
cp "web/cfg-$(jq -r .version web/current.conf).json" "web/cfg-$version.json"
jq --arg v "$version" --arg u "$url" --arg d "$digest" --arg c "web/cfg-$version.json" \
  '.version = $v | .bin = {url: $u, sha256: $d} | .cfg = {path: $c}' \
  web/current.conf > web/current.conf.new
mv web/current.conf.new web/current.conf

git add web/
git commit -m "web $version"
git push origin HEAD:main
