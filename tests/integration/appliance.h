// What the `sluice run` integration tests share: loopback sockets, a gtest
// fixture that starts the appliance from a TOML config (stdout, stderr and
// --stats in a private directory), stops it with SIGTERM and reads its
// counters, and a main() taking the sluice binary's path as its argument.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/files.h"

extern char** environ;

namespace sluice::testing {

// The sluice binary under test (the test's last argument).
inline std::string& sluice_binary() {
    static std::string path;
    return path;
}

// The non-empty lines of text.
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream ss(text);
    for (std::string l; std::getline(ss, l);)
        if (!l.empty()) out.push_back(l);
    return out;
}

// A port the kernel just handed out for `type` on 127.0.0.1 (free a moment ago).
inline uint16_t free_port(int type) {
    int fd = ::socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

inline sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

// A TCP connection to 127.0.0.1:port with TCP_NODELAY (every write leaves as
// its own segment), or -1.
inline int connect_tcp(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

inline void send_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

// The first counter `name` in stats JSON at or after `from` (e.g. the offset
// of a query's or a source's name), -1 when there is none.
inline long counter(const std::string& stats, const std::string& name, std::size_t from = 0) {
    const auto at = stats.find("\"" + name + "\":", from);
    if (at == std::string::npos) return -1;
    return std::stol(stats.substr(at + name.size() + 3));
}

// Where the object named `name` starts in stats JSON (a query, source or
// sink), for counter(): npos when absent.
inline std::size_t named(const std::string& stats, const std::string& name) {
    return stats.find("{\"name\":\"" + name + "\"");
}

// Polls `done` every 10 ms for up to `limit`; true once it held.
template <class Done>
bool wait_until(Done&& done, std::chrono::milliseconds limit = std::chrono::milliseconds(20000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

// Waits (up to 20 s) until `file` holds at least n lines: the appliance has
// taken what was sent, so a drain now loses nothing.
inline bool wait_for_lines(const std::string& file, std::size_t n) {
    return wait_until([&] { return lines_of(read_file(file)).size() >= n; });
}

// Starts args[0] with stdout and stderr to files; the pid, or -1.
inline pid_t spawn_process(std::vector<std::string> args, const std::string& out, const std::string& err) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, args[0].c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

class Appliance : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
    void TearDown() override {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    std::string path(const std::string& name) const { return dir_.file(name); }

    // Starts `sluice run` on config text; true once it printed "ready".
    bool start(const std::string& config) {
        write_file(path("app.toml"), config);
        pid_ = spawn_process({sluice_binary(), "run", "--config", path("app.toml"), "--stats", path("stats.json")},
                             path("stdout"), path("stderr"));
        if (pid_ < 0) return false;
        for (int i = 0; i < 1000; ++i) {  // up to 10 s
            if (read_file(path("stderr")).find("sluice: ready") != std::string::npos) return true;
            int status;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                pid_ = -1;
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    // SIGTERM, then the exit status (within 30 s).
    int stop() {
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 3000; ++i) {
            int status;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }

    // The appliance is still running: neither exited nor killed (a zombie is not running).
    bool running() {
        if (pid_ <= 0) return false;
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            pid_ = -1;
            return false;
        }
        return ::kill(pid_, 0) == 0;
    }

    // A "kB" line of /proc/PID/status (VmRSS: resident now, VmHWM: the peak
    // so far), in KiB; -1 when unreadable.
    long status_kib(const std::string& field) const {
        if (pid_ <= 0) return -1;
        const std::string s = read_file("/proc/" + std::to_string(pid_) + "/status");
        const auto at = s.find(field + ":");
        if (at == std::string::npos) return -1;
        return std::strtol(s.c_str() + at + field.size() + 1, nullptr, 10);
    }

    std::string err() const { return read_file(path("stderr")); }
    std::string stats() const { return read_file(path("stats.json")); }

    TempDir dir_{"sluice-run"};
    pid_t pid_ = -1;
    int exit_code_ = -1;
};

// main() of an appliance test: `TEST [gtest flags] PATH_TO_SLUICE`.
inline int appliance_test_main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s [gtest flags] PATH_TO_SLUICE\n", argv[0]);
        return 2;
    }
    sluice_binary() = argv[1];
    ::signal(SIGPIPE, SIG_IGN);
    return RUN_ALL_TESTS();
}

}  // namespace sluice::testing
