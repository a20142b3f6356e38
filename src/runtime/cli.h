// The `sluice` command line: query, explain, check, --help, --version.
#pragma once

namespace sluice {

int run_cli(int argc, char** argv);

}  // namespace sluice
