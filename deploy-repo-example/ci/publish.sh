#!/usr/bin/env bash
# What the app repo's CI does after a green build, to deploy a version:
#   1. upload the binary to the artifact store under a name that carries the
#      version (never overwrite a published version: releases are immutable),
#   2. commit the bump, with the digest, to the deploy repo.
# Usage: ci/publish.sh VERSION BINARY   (run from a clone of the deploy repo)
# ARTIFACT_STORE picks the store by its form:
#   https://artifacts.example.com/web   a plain HTTP(S) store (the default)
#   oci://ghcr.io/acme/web              an OCI registry (oras push; oras login first)
#   s3://acme-releases/web              an S3 bucket (aws s3 cp, or mc cp)
set -euo pipefail
version=$1 binary=$2
store=${ARTIFACT_STORE:-https://artifacts.example.com/web}
digest=$(sha256sum "$binary" | cut -d' ' -f1)

case "$store" in
oci://*)
  ref="${store#oci://}"
  # oras titles the layer with the file name; the desired file pins the
  # manifest by the digest oras prints, never the tag.
  cp "$binary" web-linux-amd64
  manifest=$(oras push --format go-template='{{.digest}}' "$ref:$version" web-linux-amd64)
  bin=$(jq -n --arg r "$ref@$manifest" --arg d "$digest" '{oci: $r, file: "web-linux-amd64", sha256: $d}')
  ;;
s3://*)
  url="$store/$version/web-linux-amd64"
  aws s3 cp "$binary" "$url"
  bin=$(jq -n --arg u "$url" --arg d "$digest" '{s3: $u, sha256: $d}')
  ;;
*)
  url="$store/$version/web-linux-amd64"
  curl --fail --silent --show-error --upload-file "$binary" "$url"
  bin=$(jq -n --arg u "$url" --arg d "$digest" '{url: $u, sha256: $d}')
  ;;
esac

# The config of this version lives in the deploy repo, next to the bump.
cp "web/cfg-$(jq -r .version web/current.conf).json" "web/cfg-$version.json"
jq --arg v "$version" --argjson b "$bin" --arg c "web/cfg-$version.json" \
  '.version = $v | .bin = $b | .cfg = {path: $c}' \
  web/current.conf > web/current.conf.new
mv web/current.conf.new web/current.conf

git add web/
git commit -m "web $version"
git push origin HEAD:main
