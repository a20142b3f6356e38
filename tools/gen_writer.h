// Block writer for sluice-gen: formats record ranges into ~1 MiB blocks and
// writes them to a file descriptor in record order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gen_records.h"

namespace sluice {

inline constexpr std::size_t kGenBlockBytes = std::size_t{1} << 20;

// Records per block for a data set: about kGenBlockBytes of output, estimated
// from a sample of the records starting at `start`.
uint64_t records_per_block(const RecordFormatter& formatter, uint64_t start) noexcept;

// Writes records [start, start + count), one per line, to fd. With threads > 1
// the workers format alternate blocks concurrently (records are random
// access) and take turns writing, so the bytes are identical to threads == 1;
// formatting then overlaps the kernel's copy into the page cache.
// Returns 0 or the errno of the first failed write.
int write_record_blocks(int fd, const RecordFormatter& formatter, uint64_t start, uint64_t count, unsigned threads);

}  // namespace sluice
