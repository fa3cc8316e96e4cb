#pragma once
// libzstd's stable streaming API (ZSTD_compressStream2, ZSTD_decompressStream and their
// parameters) and its error codes, so failures can be told apart by kind, not by message.
#include <zstd.h>
#include <zstd_errors.h>
