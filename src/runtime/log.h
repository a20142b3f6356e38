// The appliance's log: start-up, configuration, errors and periodic
// summaries on stderr, one line each, as
//   2026-11-21T06:10:00.123Z info sluice: <message>
// Never called per record.
#pragma once

namespace sluice {

enum class LogLevel { Info, Warn, Error };

void log_line(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

#define SLUICE_LOG_INFO(...) ::sluice::log_line(::sluice::LogLevel::Info, __VA_ARGS__)
#define SLUICE_LOG_WARN(...) ::sluice::log_line(::sluice::LogLevel::Warn, __VA_ARGS__)
#define SLUICE_LOG_ERROR(...) ::sluice::log_line(::sluice::LogLevel::Error, __VA_ARGS__)

}  // namespace sluice
