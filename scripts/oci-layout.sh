#!/usr/bin/env bash
# scripts/oci-layout.sh - write a one-layer OCI image archive (an OCI image
# layout in a tar) from a root filesystem directory, with Debian tools only
# (tar, gzip, sha256sum, jq): no container engine and no registry needed.
# The result loads with `ctr -n k8s.io images import`, `podman load` or
# `skopeo copy oci-layout:...`.
#
# Usage: scripts/oci-layout.sh ROOTFS NAME OUT.tar [KEY=VALUE ...]
#   NAME     image reference, e.g. docker.io/library/csi-provisioner:latest
#   KEY      user=UID:GID  entrypoint=JSON-array  cmd=JSON-array
#            label.<name>=value (repeatable)
# The layer is reproducible: sorted entries, fixed mtime
# (SOURCE_DATE_EPOCH, default 0), numeric owner root except where ROOTFS
# says otherwise (files keep their uid/gid; run as root to set them).
set -euo pipefail

if (( $# < 3 )); then
  echo "usage: $0 ROOTFS NAME OUT.tar [user=UID:GID] [entrypoint=JSON] [cmd=JSON] [label.K=V ...]" >&2
  exit 2
fi
ROOTFS=$1 NAME=$2 OUT=$3
shift 3
[[ -d $ROOTFS ]] || { echo "oci-layout: no such directory: $ROOTFS" >&2; exit 1; }
EPOCH=${SOURCE_DATE_EPOCH:-0}

user="" entrypoint=null cmd=null labels='{}'
for kv in "$@"; do
  k=${kv%%=*} v=${kv#*=}
  case $k in
    user) user=$v ;;
    entrypoint) entrypoint=$(jq -ce 'if type == "array" then . else error("not an array") end' <<<"$v") ;;
    cmd) cmd=$(jq -ce 'if type == "array" then . else error("not an array") end' <<<"$v") ;;
    label.*) labels=$(jq -c --arg k "${k#label.}" --arg v "$v" '. + {($k): $v}' <<<"$labels") ;;
    *) echo "oci-layout: unknown setting '$k'" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
layout=$work/layout
mkdir -p "$layout/blobs/sha256"

# blob FILE MEDIATYPE: move FILE into the layout; prints a descriptor.
blob() {
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1)
  s=$(stat -c %s "$1")
  mv "$1" "$layout/blobs/sha256/$d"
  jq -nc --arg m "$2" --arg d "sha256:$d" --argjson s "$s" '{mediaType: $m, digest: $d, size: $s}'
}

tar -C "$ROOTFS" --sort=name --mtime="@$EPOCH" --numeric-owner --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -cf "$work/layer.tar" .
diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$work/layer.tar"
layer=$(blob "$work/layer.tar.gz" application/vnd.oci.image.layer.v1.tar+gzip)

created=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)
jq -n --arg created "$created" --arg user "$user" --argjson ep "$entrypoint" --argjson cmd "$cmd" \
  --argjson labels "$labels" --arg diff "$diff_id" '{
    created: $created, architecture: "amd64", os: "linux",
    config: ({Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Labels: $labels}
      + (if $user != "" then {User: $user} else {} end)
      + (if $ep != null then {Entrypoint: $ep} else {} end)
      + (if $cmd != null then {Cmd: $cmd} else {} end)),
    rootfs: {type: "layers", diff_ids: [$diff]},
    history: [{created: $created, created_by: "scripts/oci-layout.sh"}]
  }' > "$work/config.json"
config=$(blob "$work/config.json" application/vnd.oci.image.config.v1+json)

jq -n --argjson c "$config" --argjson l "$layer" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: $c, layers: [$l]}' \
  > "$work/manifest.json"
manifest=$(blob "$work/manifest.json" application/vnd.oci.image.manifest.v1+json)

# Both annotations: containerd names the image after the first, the OCI
# tools after the second (its tag part).
jq -n --argjson m "$manifest" --arg name "$NAME" --arg tag "${NAME##*:}" '{
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [$m + {annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": $tag}}]
  }' > "$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"

mkdir -p "$(dirname "$OUT")"
tar -C "$layout" --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
