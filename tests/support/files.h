// Files a test writes and reads: a private temporary directory (removed
// with the object) and whole-file read and write.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace sluice::testing {

// $TMPDIR, else /tmp.
inline std::string temp_base() {
    const char* t = std::getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

class TempDir {
public:
    explicit TempDir(const std::string& prefix = "sluice-test") {
        std::string pattern = temp_base() + "/" + prefix + "-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // Empty when the directory could not be made.
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

// The whole file ("" when it cannot be read; `ok` tells the two apart).
inline std::string read_file(const std::filesystem::path& path, bool* ok = nullptr) {
    std::ifstream in(path, std::ios::binary);
    if (ok != nullptr) *ok = static_cast<bool>(in);
    std::ostringstream ss;
    if (in) ss << in.rdbuf();
    return ss.str();
}

inline bool write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
    return static_cast<bool>(out.flush());
}

}  // namespace sluice::testing
