#include "gen_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice {
namespace {

int write_all(int fd, const char* p, std::size_t len) {
    while (len > 0) {
        const ssize_t n = ::write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n;
        len -= static_cast<std::size_t>(n);
    }
    return 0;
}

std::size_t format_block(const RecordFormatter& formatter, uint64_t first, uint64_t n, char* out) {
    char* p = out;
    for (uint64_t i = first; i < first + n; ++i) {
        p += formatter.format(i, p);
        *p++ = '\n';
    }
    return static_cast<std::size_t>(p - out);
}

// Whose turn it is to write: blocks leave in index order whatever order the
// workers finish formatting them in.
struct WriteTurn {
    std::mutex mu;
    std::condition_variable cv;
    uint64_t next_block = 0;
    int error = 0;
};

}  // namespace

uint64_t records_per_block(const RecordFormatter& formatter, uint64_t start) noexcept {
    constexpr uint64_t kSample = 256;
    char buf[kMaxGenRecordBytes];
    uint64_t bytes = 0;
    for (uint64_t k = 0; k < kSample; ++k) bytes += formatter.format(start + k, buf) + 1;
    const uint64_t average = (bytes + kSample - 1) / kSample;
    return std::max<uint64_t>(1, kGenBlockBytes / average);
}

int write_record_blocks(int fd, const RecordFormatter& formatter, uint64_t start, uint64_t count, unsigned threads) {
    if (count == 0) return 0;
    const uint64_t per_block = records_per_block(formatter, start);
    const uint64_t blocks = count / per_block + (count % per_block != 0);
    const unsigned workers = static_cast<unsigned>(std::clamp<uint64_t>(threads, 1, blocks));

    WriteTurn turn;
    auto work = [&](unsigned w) {
        std::vector<char> buf(per_block * (kMaxGenRecordBytes + 1));
        for (uint64_t b = w; b < blocks; b += workers) {
            const uint64_t n = std::min(per_block, count - b * per_block);
            const std::size_t len = format_block(formatter, start + b * per_block, n, buf.data());
            std::unique_lock lock(turn.mu);
            turn.cv.wait(lock, [&] { return turn.next_block == b || turn.error != 0; });
            if (turn.error != 0) return;
            // Everyone else waits for next_block to pass b, so the write needs no lock.
            lock.unlock();
            const int err = write_all(fd, buf.data(), len);
            lock.lock();
            if (err != 0) {
                turn.error = err;
            } else {
                turn.next_block = b + 1;
            }
            lock.unlock();
            turn.cv.notify_all();
            if (err != 0) return;
        }
    };

    std::vector<std::thread> helpers;
    for (unsigned w = 1; w < workers; ++w) helpers.emplace_back(work, w);
    work(0);
    for (auto& t : helpers) t.join();
    return turn.error;
}

}  // namespace sluice
