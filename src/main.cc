// sluice: a streaming SQL appliance. See README.md and `sluice --help`.
#include "runtime/cli.h"

int main(int argc, char** argv) { return sluice::run_cli(argc, argv); }
