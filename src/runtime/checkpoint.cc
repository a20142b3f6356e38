#include "checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sluice/hash.h"

namespace sluice {

namespace {

constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'C', 'P'};
constexpr char kEndMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'N', 'D'};
constexpr uint64_t kChecksumSeed = 0x5c0ffee5eed5u;
constexpr std::size_t kHeader = 8 + 4 + 4 + 8;
constexpr std::size_t kTrailer = 8 + 8;

class Writer {
public:
    explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
    template <class T>
    void put(T v) {
        const std::size_t at = out_.size();
        out_.resize(at + sizeof v);
        std::memcpy(out_.data() + at, &v, sizeof v);
    }
    void bytes(const void* p, std::size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        out_.insert(out_.end(), b, b + n);
    }
    void str(const std::string& s) {
        put(static_cast<uint32_t>(s.size()));
        bytes(s.data(), s.size());
    }

private:
    std::vector<uint8_t>& out_;
};

class Reader {
public:
    Reader(const uint8_t* p, std::size_t n) : p_(p), end_(p + n) {}
    template <class T>
    bool get(T& v) {
        if (static_cast<std::size_t>(end_ - p_) < sizeof v) return ok_ = false;
        std::memcpy(&v, p_, sizeof v);
        p_ += sizeof v;
        return true;
    }
    bool str(std::string& s) {
        uint32_t n = 0;
        if (!get(n) || static_cast<std::size_t>(end_ - p_) < n) return ok_ = false;
        s.assign(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return true;
    }
    bool bytes(std::vector<uint8_t>& v, uint64_t n) {
        if (static_cast<uint64_t>(end_ - p_) < n) return ok_ = false;
        v.assign(p_, p_ + n);
        p_ += n;
        return true;
    }
    // A count of elements, each at least `min_bytes` long: bounded by what is left.
    bool count(uint32_t& n, std::size_t min_bytes) {
        if (!get(n)) return false;
        if (uint64_t{n} * min_bytes > static_cast<uint64_t>(end_ - p_)) return ok_ = false;
        return true;
    }
    bool ok() const { return ok_; }
    bool at_end() const { return p_ == end_; }

private:
    const uint8_t* p_;
    const uint8_t* end_;
    bool ok_ = true;
};

Result<bool> fsync_dir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error{"checkpoint directory '" + dir + "': " + std::strerror(errno)};
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) return Error{"checkpoint directory '" + dir + "': fsync: " + std::strerror(saved)};
    return true;
}

}  // namespace

uint64_t query_fingerprint(const std::string& sql) { return hash64(sql.data(), sql.size(), kChecksumSeed); }

std::vector<uint8_t> encode_checkpoint(const Checkpoint& c) {
    std::vector<uint8_t> body;
    std::size_t items = 0;
    for (const CheckpointQuery& q : c.queries) items += q.items.size();
    body.reserve(items + 4096 + c.partitions.size() * (16 + 8 * c.queries.size()));
    Writer w(body);
    w.put(c.epoch);
    w.put(c.created_ms);
    w.str(c.member);
    w.str(c.group);
    w.put(static_cast<uint32_t>(c.topics.size()));
    for (std::size_t t = 0; t < c.topics.size(); ++t) {
        w.str(c.topics[t]);
        w.put(static_cast<uint32_t>(t < c.topic_partitions.size() ? c.topic_partitions[t] : 0));
    }
    w.put(static_cast<uint32_t>(c.queries.size()));
    for (const CheckpointQuery& q : c.queries) {
        w.str(q.name);
        w.put(q.fingerprint);
        w.put(q.closed_watermark);
        w.put(static_cast<uint64_t>(q.items.size()));
        w.bytes(q.items.data(), q.items.size());
    }
    w.put(static_cast<uint32_t>(c.partitions.size()));
    for (const CheckpointPartition& p : c.partitions) {
        w.put(p.topic);
        w.put(p.partition);
        w.put(p.next_offset);
        for (std::size_t q = 0; q < c.queries.size(); ++q)
            w.put(q < p.lane_max_event.size() ? p.lane_max_event[q] : INT64_MIN);
    }
    std::vector<uint8_t> out;
    out.reserve(kHeader + body.size() + kTrailer);
    Writer f(out);
    f.bytes(kMagic, sizeof kMagic);
    f.put(kCheckpointVersion);
    f.put(uint32_t{0});
    f.put(static_cast<uint64_t>(body.size()));
    f.bytes(body.data(), body.size());
    f.put(hash64(body.data(), body.size(), kChecksumSeed));
    f.bytes(kEndMagic, sizeof kEndMagic);
    return out;
}

Result<Checkpoint> decode_checkpoint(const uint8_t* data, std::size_t len, const std::string& what) {
    const auto fail = [&](const std::string& why) -> Result<Checkpoint> {
        return Error{"checkpoint " + what + ": " + why};
    };
    if (len < kHeader || std::memcmp(data, kMagic, sizeof kMagic) != 0)
        return fail(len < sizeof kMagic ? "too short to be a checkpoint (" + std::to_string(len) + " bytes)"
                                        : "not a sluice checkpoint (bad magic)");
    uint32_t version;
    uint64_t body_len;
    std::memcpy(&version, data + 8, 4);
    std::memcpy(&body_len, data + 16, 8);
    if (version != kCheckpointVersion)
        return fail("format version " + std::to_string(version) + " (this sluice reads version " +
                    std::to_string(kCheckpointVersion) + ")");
    if (len < kHeader + kTrailer || len - kHeader - kTrailer < body_len)
        return fail("truncated: " + std::to_string(len) + " bytes, the header announces " +
                    std::to_string(kHeader + body_len + kTrailer));
    if (len != kHeader + body_len + kTrailer)
        return fail("trailing bytes after the checkpoint (" + std::to_string(len - kHeader - body_len - kTrailer) + ")");
    const uint8_t* body = data + kHeader;
    uint64_t sum;
    std::memcpy(&sum, body + body_len, 8);
    if (std::memcmp(body + body_len + 8, kEndMagic, sizeof kEndMagic) != 0) return fail("truncated (no end marker)");
    if (sum != hash64(body, body_len, kChecksumSeed)) return fail("checksum mismatch: the file is corrupt");

    Checkpoint c;
    Reader r(body, body_len);
    uint32_t topics = 0, queries = 0, partitions = 0;
    r.get(c.epoch);
    r.get(c.created_ms);
    r.str(c.member);
    r.str(c.group);
    if (r.count(topics, 8)) {
        for (uint32_t t = 0; t < topics && r.ok(); ++t) {
            std::string name;
            uint32_t n = 0;
            r.str(name);
            r.get(n);
            c.topics.push_back(std::move(name));
            c.topic_partitions.push_back(static_cast<int32_t>(n));
        }
    }
    if (r.count(queries, 32)) {
        for (uint32_t q = 0; q < queries && r.ok(); ++q) {
            CheckpointQuery cq;
            uint64_t n = 0;
            r.str(cq.name);
            r.get(cq.fingerprint);
            r.get(cq.closed_watermark);
            if (r.get(n)) r.bytes(cq.items, n);
            c.queries.push_back(std::move(cq));
        }
    }
    if (r.count(partitions, 16 + 8 * std::size_t{queries})) {
        for (uint32_t i = 0; i < partitions && r.ok(); ++i) {
            CheckpointPartition p;
            r.get(p.topic);
            r.get(p.partition);
            r.get(p.next_offset);
            p.lane_max_event.resize(queries);
            for (uint32_t q = 0; q < queries; ++q) r.get(p.lane_max_event[q]);
            if (p.topic >= c.topics.size()) return fail("partition of an unknown topic");
            c.partitions.push_back(std::move(p));
        }
    }
    if (!r.ok()) return fail("malformed body");
    if (!r.at_end()) return fail("malformed body (unread bytes)");
    return c;
}

std::string checkpoint_path(const std::string& dir, const std::string& member, uint64_t epoch) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(epoch));
    return dir + "/" + member + "." + hex + ".ckpt";
}

Result<bool> write_checkpoint_file(const std::string& dir, const std::string& member, uint64_t epoch,
                                   const std::vector<uint8_t>& bytes) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        return Error{"checkpoint directory '" + dir + "': " + std::strerror(errno)};
    const std::string path = checkpoint_path(dir, member, epoch);
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Error{"checkpoint '" + tmp + "': " + std::strerror(errno)};
    const uint8_t* p = bytes.data();
    std::size_t n = bytes.size();
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            const int saved = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return Error{"checkpoint '" + tmp + "': write: " + std::strerror(saved)};
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    if (::fsync(fd) != 0) {
        const int saved = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return Error{"checkpoint '" + tmp + "': fsync: " + std::strerror(saved)};
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int saved = errno;
        ::unlink(tmp.c_str());
        return Error{"checkpoint '" + path + "': rename: " + std::strerror(saved)};
    }
    return fsync_dir(dir);
}

Result<Checkpoint> read_checkpoint_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{"checkpoint " + path + ": " + std::strerror(errno)};
    std::vector<uint8_t> bytes;
    struct stat st{};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) bytes.reserve(static_cast<std::size_t>(st.st_size));
    uint8_t buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int saved = errno;
            ::close(fd);
            return Error{"checkpoint " + path + ": " + std::strerror(saved)};
        }
        if (n == 0) break;
        bytes.insert(bytes.end(), buf, buf + n);
    }
    ::close(fd);
    return decode_checkpoint(bytes.data(), bytes.size(), path);
}

std::vector<CheckpointFile> list_checkpoints(const std::string& dir) {
    std::vector<CheckpointFile> out;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return out;
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        // <member>.<16 hex>.ckpt
        if (name.size() < 1 + 1 + 16 + 5 || name.compare(name.size() - 5, 5, ".ckpt") != 0) continue;
        const std::string stem = name.substr(0, name.size() - 5);
        const std::size_t dot = stem.rfind('.');
        if (dot == std::string::npos || stem.size() - dot - 1 != 16 || dot == 0) continue;
        const std::string hex = stem.substr(dot + 1);
        if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
        CheckpointFile f;
        f.path = dir + "/" + name;
        f.member = stem.substr(0, dot);
        f.epoch = std::stoull(hex, nullptr, 16);
        out.push_back(std::move(f));
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(), [](const CheckpointFile& a, const CheckpointFile& b) {
        return a.member != b.member ? a.member < b.member : a.epoch < b.epoch;
    });
    return out;
}

}  // namespace sluice
