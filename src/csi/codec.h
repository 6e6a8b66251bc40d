/* SPDX-License-Identifier: Apache-2.0 */
/*
 * codec.h - internal to src/csi: our C request/reply structs <-> CSI v1
 * protobuf bytes (protobuf-c), kept apart from the gRPC transport so the
 * unit tests can check every field without a driver.
 *
 * Encoders validate what would make a malformed request (missing name, an
 * access mode outside the enum, NULL map entries, a request above
 * CSI_MAX_REQUEST_BYTES) and fail with CSI_ERR_LOCAL. On success *out is a
 * heap buffer of *len bytes (possibly 0 bytes, then *out may be NULL) that
 * the caller frees with free().
 *
 * Decoders accept any bytes: whatever does not decode, or lacks a required
 * field, fails with CSI_ERR_LOCAL and a message naming `method`; the output
 * struct is then left zeroed. On success the output is owned by the caller
 * (release functions in client.h). Inputs are borrowed.
 */
#ifndef CSI_CODEC_H
#define CSI_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "csi/client.h"

int csi_codec_encode_create_volume(const struct csi_create_volume_req *req,
				   uint8_t **out, size_t *len, struct err *e);
int csi_codec_encode_delete_volume(const char *volume_id, const struct strmap *secrets,
				   uint8_t **out, size_t *len, struct err *e);
int csi_codec_encode_get_capacity(const struct csi_get_capacity_req *req,
				  uint8_t **out, size_t *len, struct err *e);
int csi_codec_encode_list_volumes(int32_t max_entries, const char *starting_token,
				  uint8_t **out, size_t *len, struct err *e);
int csi_codec_encode_create_snapshot(const struct csi_create_snapshot_req *req,
				     uint8_t **out, size_t *len, struct err *e);
int csi_codec_encode_delete_snapshot(const char *snapshot_id, const struct strmap *secrets,
				     uint8_t **out, size_t *len, struct err *e);

int csi_codec_decode_probe(const uint8_t *p, size_t n, bool *ready, struct err *e);
int csi_codec_decode_plugin_info(const uint8_t *p, size_t n, char **name,
				 char **vendor_version, struct err *e);
int csi_codec_decode_plugin_caps(const uint8_t *p, size_t n, struct csi_plugin_caps *out,
				 struct err *e);
int csi_codec_decode_controller_caps(const uint8_t *p, size_t n,
				     struct csi_controller_caps *out, struct err *e);
int csi_codec_decode_create_volume(const uint8_t *p, size_t n, struct csi_volume *out,
				   struct err *e);
int csi_codec_decode_delete_volume(const uint8_t *p, size_t n, struct err *e);
int csi_codec_decode_get_capacity(const uint8_t *p, size_t n, struct csi_capacity *out,
				  struct err *e);
int csi_codec_decode_list_volumes(const uint8_t *p, size_t n, struct csi_volume_list *out,
				  struct err *e);
int csi_codec_decode_create_snapshot(const uint8_t *p, size_t n, struct csi_snapshot *out,
				     struct err *e);
int csi_codec_decode_delete_snapshot(const uint8_t *p, size_t n, struct err *e);
int csi_codec_decode_node_info(const uint8_t *p, size_t n, struct csi_node_info *out,
			       struct err *e);

#endif
